"""The classification recipe's stages (egs2/TEMPLATE/cls1/cls.sh); see espnet_mixrep.stages.cls.

    python -m espnet_mixrep.bin.cls_stages format --src data/train --dst dump/raw/train --fs 8000 --min_samples 8000
    python -m espnet_mixrep.bin.cls_stages token_list --train_text dump/raw/train/text --output data/token_list/token.txt
    python -m espnet_mixrep.bin.cls_stages shapes --train_dir dump/raw/train --valid_dir dump/raw/valid --output_dir exp/cls_stats_train
    python -m espnet_mixrep.bin.cls_stages check_labels --token_list ... --text dump/raw/test/text
    python -m espnet_mixrep.bin.cls_stages score --ref dump/raw/test/text --hyp exp/x/cls_test/text --out exp/x/cls_test/scoring
    python -m espnet_mixrep.bin.cls_stages results --exp exp/x
    python -m espnet_mixrep.bin.cls_stages cv_summary --exp exp/x_fold1 --exp exp/x_fold2 --output RESULTS.md
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional, Sequence

from espnet_mixrep.bin import exit_on_user_error
from espnet_mixrep.stages.cls import (
    UNK,
    check_labels,
    format_cls_data_dir,
    make_class_token_list,
    score_predictions,
    write_cv_summary,
    write_results,
    write_shape_files,
)


def _bool(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got '{value}'")
    return value.lower() == "true"


@exit_on_user_error
def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("format", help="stage 2: check clips and write dump/raw/<set>")
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--fs", type=int, required=True)
    p.add_argument("--min_samples", type=int, default=0)
    p.add_argument("--pad_short", type=_bool, default=False)
    p.add_argument("--nj", type=int, default=1, help="processes reading the clips")
    p.add_argument("--remove_dc", type=_bool, default=False, help="subtract each clip's mean before padding")
    p = sub.add_parser("token_list", help="stage 4: class token list")
    p.add_argument("--train_text", required=True)
    p.add_argument("--output", required=True)
    p = sub.add_parser("check_labels", help="stage 4: every label must be a class")
    p.add_argument("--token_list", required=True)
    p.add_argument("--text", action="append", required=True)
    p = sub.add_parser("score", help="stage 8: accuracy")
    p.add_argument("--ref", required=True)
    p.add_argument("--hyp", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("results", help="stage 8: RESULTS.md")
    p.add_argument("--exp", required=True)
    p = sub.add_parser("shapes", help="stage 5: shape files from the clip lengths")
    p.add_argument("--train_dir", required=True)
    p.add_argument("--valid_dir", required=True)
    p.add_argument("--output_dir", required=True)
    p = sub.add_parser("cv_summary", help="mean accuracy over folds")
    p.add_argument("--exp", action="append", required=True)
    p.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    if args.command == "format":
        n = format_cls_data_dir(
            args.src, args.dst, args.fs, args.min_samples, args.pad_short, nj=args.nj, remove_dc=args.remove_dc
        )
        print(f"{args.dst}: {n} clips")
    elif args.command == "token_list":
        tokens = make_class_token_list(args.train_text, args.output)
        print(f"{args.output}: {len(tokens) - 1} classes + {UNK}")
    elif args.command == "check_labels":
        check_labels(args.token_list, args.text)
    elif args.command == "score":
        m = score_predictions(args.ref, args.hyp, args.out)
        print(f"{args.hyp}: accuracy {m['accuracy']:.2f}% ({m['correct']}/{m['clips']})")
    elif args.command == "shapes":
        write_shape_files(args.train_dir, args.valid_dir, args.output_dir)
    elif args.command == "results":
        print(write_results(args.exp).read_text())
    else:
        write_cv_summary(args.exp, args.output)
        print(Path(args.output).read_text())


if __name__ == "__main__":
    main()
