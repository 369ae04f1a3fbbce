"""Stage 1 of egs2/wsj_mixrep: WSJ0 + WSJ1 -> data/{train_si284,train_si84,test_dev93,test_eval92},
data/nlsyms.txt and data/local/other_text/text (see espnet_mixrep.recipes.wsj)."""

from __future__ import annotations

import argparse
from typing import List, Optional

from espnet_mixrep.bin import exit_on_user_error
from espnet_mixrep.recipes.wsj import prepare_wsj


@exit_on_user_error
def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wsj0", required=True, help="LDC93S6B directory holding the discs 11-1.1 ... 11-13.1")
    parser.add_argument("--wsj1", required=True, help="LDC94S13B directory holding the discs 13-1.1 ... 13-34.1")
    parser.add_argument("--data_dir", default="data")
    parser.add_argument("--lm_text", default="true", choices=["true", "false"], help="write the extra LM text")
    args = parser.parse_args(argv)
    counts = prepare_wsj(args.wsj0, args.wsj1, args.data_dir, lm_text=args.lm_text == "true")
    for name, n in counts.items():
        print(f"{name}: {n} utterances")


if __name__ == "__main__":
    main()
