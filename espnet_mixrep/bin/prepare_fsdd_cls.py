"""Stage 1 of egs2/fsdd_speechmix: FSDD digit classification data dirs (see espnet_mixrep.recipes.fsdd_cls)."""

from __future__ import annotations

import argparse

from espnet_mixrep.bin import exit_on_user_error
from espnet_mixrep.recipes.fsdd import find_or_download_fsdd
from espnet_mixrep.recipes.fsdd_cls import prepare_fsdd_cls


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description="Prepare FSDD digit classification data dirs.")
    parser.add_argument("--fsdd_dir", default=None, help="FSDD folder (default: $FSDD_DIR, ../shared/data/fsdd, else download)")
    parser.add_argument("--download_dir", default="downloads")
    parser.add_argument("--data_dir", default="data")
    parser.add_argument("--train_speakers", default="george,jackson,lucas")
    parser.add_argument("--test_speakers", default="nicolas")
    parser.add_argument("--takes_per_digit", type=int, default=50)
    parser.add_argument("--train_subsets", type=int, nargs="*", default=[],
                        help="also write train_t<n>: the first n training takes per digit and speaker")
    parser.add_argument("--repo_root", default=None, help="repository root for the shared-data default")
    args = parser.parse_args()
    fsdd_dir = find_or_download_fsdd(args.fsdd_dir, args.repo_root, args.download_dir)
    counts = prepare_fsdd_cls(
        fsdd_dir,
        args.data_dir,
        args.train_speakers.split(","),
        args.test_speakers.split(","),
        takes_per_digit=args.takes_per_digit,
        train_subsets=args.train_subsets,
    )
    print(f"FSDD classification from {fsdd_dir}: {counts}")


if __name__ == "__main__":
    main()
