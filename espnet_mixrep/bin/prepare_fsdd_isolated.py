"""Stage 1 of egs2/fsdd_learn2diss: FSDD isolated-digit data dirs (see espnet_mixrep.recipes.fsdd_isolated)."""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from espnet_mixrep.bin import exit_on_user_error
from espnet_mixrep.recipes.fsdd import find_or_download_fsdd
from espnet_mixrep.recipes.fsdd_isolated import prepare_fsdd_isolated


@exit_on_user_error
def main(cmd: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Prepare FSDD isolated-digit data dirs for Learn2Diss.")
    parser.add_argument("--fsdd_dir", default=None, help="FSDD folder (default: $FSDD_DIR, ../shared/data/fsdd, else download)")
    parser.add_argument("--repo_root", default=None, help="repository root for the shared-data default")
    parser.add_argument("--download_dir", default="downloads")
    parser.add_argument("--data_dir", default="data")
    args = parser.parse_args(cmd)
    fsdd_dir = find_or_download_fsdd(args.fsdd_dir, args.repo_root, args.download_dir)
    counts = prepare_fsdd_isolated(fsdd_dir, args.data_dir)
    print(f"{args.data_dir}/: " + ", ".join(f"{name} {n}" for name, n in counts.items()) + f" utterances from {fsdd_dir}")


if __name__ == "__main__":
    main()
