"""A probe set for the layer-wise analysis of FSDD models: isolated digits of every speaker.

Each FSDD recording holds one spoken digit, so the utterance-level labels come
with the data directory itself: ``text`` is the digit word, ``utt2spk`` the
speaker. wav.scp points at the original recordings; nothing is copied::

    python -m espnet_mixrep.analysis.fsdd_probe --fsdd_dir /path/to/fsdd --out data/probe
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional, Sequence

from espnet_mixrep.recipes.datadir import DataDirError, PathLike, Utterance, write_data_dir
from espnet_mixrep.recipes.fsdd import DIGIT_WORDS, check_fsdd_dir, find_or_download_fsdd, list_recordings


def prepare_fsdd_probe(
    fsdd_dir: PathLike,
    data_dir: PathLike,
    speakers: Optional[Sequence[str]] = None,
    indices: Optional[Sequence[int]] = None,
) -> int:
    """Write one data directory of isolated-digit recordings; returns its size.

    ``speakers`` defaults to every speaker found, ``indices`` (the recording
    index of each digit and speaker) to all of them.
    """
    check_fsdd_dir(fsdd_dir, speakers or ())
    recordings = list_recordings(fsdd_dir)
    chosen = set(indices) if indices is not None else None
    utterances = [
        Utterance(f"{speaker}-{digit}-{index:02d}", speaker, DIGIT_WORDS[digit], str(Path(path).resolve()))
        for speaker in (speakers or sorted(recordings))
        for digit, index, path in recordings[speaker]
        if chosen is None or index in chosen
    ]
    if not utterances:
        raise DataDirError(f"{fsdd_dir}: no recordings with indices {sorted(chosen or [])}")
    write_data_dir(data_dir, utterances)
    return len(utterances)


def main(cmd: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fsdd_dir", default=None, help="FSDD folder (default: $FSDD_DIR, else ../shared/data/fsdd, else download)")
    parser.add_argument("--repo_root", type=Path, default=Path.cwd(), help="FSDD is looked for at <repo_root>/../shared/data/fsdd")
    parser.add_argument("--download_dir", type=Path, default=Path("downloads"), help="where the public release goes if needed")
    parser.add_argument("--out", type=Path, required=True, help="data directory to write")
    parser.add_argument("--speakers", nargs="*", default=None)
    parser.add_argument("--max_index", type=int, default=None, help="keep recordings with index <= this")
    args = parser.parse_args(cmd)
    fsdd_dir = find_or_download_fsdd(args.fsdd_dir, args.repo_root, args.download_dir)
    indices = range(args.max_index + 1) if args.max_index is not None else None
    count = prepare_fsdd_probe(fsdd_dir, args.out, args.speakers, indices)
    print(f"{args.out}: {count} utterances")


if __name__ == "__main__":
    main()
