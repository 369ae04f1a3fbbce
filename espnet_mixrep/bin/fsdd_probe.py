"""Probe data for the layer-wise analysis of FSDD models (see espnet_mixrep.recipes.fsdd_probe)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional

from espnet_mixrep.recipes.fsdd import find_or_download_fsdd
from espnet_mixrep.bin import exit_on_user_error
from espnet_mixrep.recipes import fsdd_probe
from espnet_mixrep.recipes.fsdd_probe import prepare_fsdd_probe


@exit_on_user_error
def main(cmd: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=fsdd_probe.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
