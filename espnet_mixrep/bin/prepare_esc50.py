"""Stage 1 of egs2/esc50_speechmix: download ESC-50 and write the 5-fold data dirs (see espnet_mixrep.recipes.esc50)."""

from __future__ import annotations

import argparse
from pathlib import Path

from espnet_mixrep.bin import exit_on_user_error
from espnet_mixrep.recipes.esc50 import SUBSETS, download_esc50, prepare_esc50


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description="Download ESC-50 and prepare 5-fold data dirs.")
    parser.add_argument("--esc50_dir", default=None, help="existing ESC-50 folder (default: download)")
    parser.add_argument("--download_dir", default="downloads")
    parser.add_argument("--data_dir", default="data")
    parser.add_argument("--subset", default="esc50", choices=SUBSETS)
    args = parser.parse_args()
    esc50_dir = Path(args.esc50_dir) if args.esc50_dir else download_esc50(args.download_dir)
    counts = prepare_esc50(esc50_dir, args.data_dir, args.subset)
    print(f"{args.subset} from {esc50_dir}: {counts}")


if __name__ == "__main__":
    main()
