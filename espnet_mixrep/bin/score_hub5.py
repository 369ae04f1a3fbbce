"""Hub5 eval2000 scoring of a decode directory: all / SWBD / CallHome WER with
the glm filtering (hubscr.pl when installed, our equivalent otherwise)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional

from espnet_mixrep.bin import exit_on_user_error
from espnet_mixrep.recipes.hub5_scoring import score_hub5


@exit_on_user_error
def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decode_dir", required=True, help="holds 'text' (utterance id and words per line)")
    parser.add_argument("--data_dir", required=True, help="data/local/eval2000 (stm, glm, segments written by stage 1)")
    parser.add_argument("--out_dir", default=None, help="default: <decode_dir>/score_hub5")
    parser.add_argument("--scorer", default="auto", choices=["auto", "sclite", "python"])
    args = parser.parse_args(argv)
    out_dir = Path(args.out_dir or Path(args.decode_dir) / "score_hub5")
    use_sclite = None if args.scorer == "auto" else args.scorer == "sclite"
    score_hub5(Path(args.decode_dir) / "text", args.data_dir, out_dir, use_sclite=use_sclite)
    print((out_dir / "result.txt").read_text(), end="")


if __name__ == "__main__":
    main()
