"""Write per-utterance speaker ids (ESPnet's text_int) for the adversarial speaker control.

Speakers are numbered in sorted order of the --index_utt2spk file (the training
set's), and every --apply file is written with that numbering. Example::

    python -m espnet_mixrep.bin.l2d_speaker_ids --index_utt2spk data/train/utt2spk \\
        --apply data/train/utt2spk=dump/train/speaker --apply data/valid/utt2spk=dump/valid/speaker
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional, Tuple

from espnet_mixrep.core.datadir import speaker_index, write_speaker_ids


def parse_apply(spec: str) -> Tuple[Path, Path]:
    src, sep, out = spec.partition("=")
    if not sep or not src or not out:
        raise argparse.ArgumentTypeError(f"--apply expects UTT2SPK=OUT, got '{spec}'")
    return Path(src), Path(out)


def main(cmd: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index_utt2spk", type=Path, required=True, help="utt2spk whose speakers are numbered")
    parser.add_argument("--apply", type=parse_apply, action="append", required=True, help="UTT2SPK=OUT")
    args = parser.parse_args(cmd)
    index = speaker_index(args.index_utt2spk)
    for src, out in args.apply:
        out.parent.mkdir(parents=True, exist_ok=True)
        count = write_speaker_ids(src, index, out)
        print(f"{out}: {count} utterances, {len(index)} speakers")


if __name__ == "__main__":
    main()
