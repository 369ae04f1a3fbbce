"""Hub5 eval2000 scoring of a decode directory: all / SWBD / CallHome WER with
the glm filtering (hubscr.pl when installed, our equivalent otherwise)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from espnet_mixrep.recipes.datadir import DataDirError
from espnet_mixrep.recipes.hub5_scoring import score_hub5


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decode_dir", required=True, help="holds 'text' (utterance id and words per line)")
    parser.add_argument("--data_dir", required=True, help="data/local/eval2000 (stm, glm, segments written by stage 1)")
    parser.add_argument("--out_dir", default=None, help="default: <decode_dir>/score_hub5")
    parser.add_argument("--scorer", default="auto", choices=["auto", "sclite", "python"])
    args = parser.parse_args(argv)
    out_dir = Path(args.out_dir or Path(args.decode_dir) / "score_hub5")
    use_sclite = None if args.scorer == "auto" else args.scorer == "sclite"
    try:
        score_hub5(Path(args.decode_dir) / "text", args.data_dir, out_dir, use_sclite=use_sclite)
    except DataDirError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    print((out_dir / "result.txt").read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
