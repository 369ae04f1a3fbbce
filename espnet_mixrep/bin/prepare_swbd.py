"""Stage 1 of egs2/swbd_mixrep: LDC97S62 + eval2000 -> data/{train_nodup,train_dev,train_40h,train_80h,eval2000}
(see espnet_mixrep.recipes.swbd)."""

from __future__ import annotations

import argparse
from typing import List, Optional

from espnet_mixrep.bin import exit_on_user_error
from espnet_mixrep.recipes.swbd import prepare_swbd


def _subsets(spec: str) -> dict:
    """'train_40h:40,train_80h:80' -> {'train_40h': 40.0, 'train_80h': 80.0}."""
    out = {}
    for item in spec.split(","):
        if item.strip():
            name, _, hours = item.partition(":")
            out[name.strip()] = float(hours)
    return out


@exit_on_user_error
def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swbd", required=True, help="LDC97S62 directory (the .sph files anywhere below it)")
    parser.add_argument("--ms98", default=None, help="swb_ms98_transcriptions (default: <swbd>/transcriptions/swb_ms98_transcriptions)")
    parser.add_argument("--eval2000_speech", required=True, help="LDC2002S09/hub5e_00 (holding english/)")
    parser.add_argument("--eval2000_text", required=True, help="LDC2002T43 (holding 2000_hub5_eng_eval_tr/reference/)")
    parser.add_argument("--data_dir", default="data")
    parser.add_argument("--dev_utts", type=int, default=4000, help="train_dev = this many first utterances")
    parser.add_argument("--max_dup", type=int, default=300, help="copies of one transcript kept in train_nodup")
    parser.add_argument("--subsets", default="train_40h:40,train_80h:80", help="name:hours,... drawn from train_nodup")
    parser.add_argument("--letters", default=None, help="letter pronunciations (e.g. ESPnet's MSU_single_letter.txt)")
    args = parser.parse_args(argv)
    counts = prepare_swbd(
        args.swbd, args.eval2000_speech, args.eval2000_text, args.data_dir, ms98_dir=args.ms98,
        dev_utts=args.dev_utts, max_dup=args.max_dup, subsets=_subsets(args.subsets), letters_file=args.letters,
    )  # fmt: skip
    for name, n in counts.items():
        print(f"{name}: {n} utterances")


if __name__ == "__main__":
    main()
