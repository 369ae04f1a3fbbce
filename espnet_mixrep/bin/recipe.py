"""Command line for the recipe stages: ``python -m espnet_mixrep.bin.recipe <step> ...``.

The shell driver (egs2/TEMPLATE/asr1/asr.sh) calls one sub-command per step;
each is a thin wrapper over a function in :mod:`espnet_mixrep.recipes`, so
the steps are testable from Python. Bad input exits with status 1 and one
"ERROR: <file>: <problem>" line instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from espnet_mixrep.bin import exit_on_user_error


def _prepare_fsdd(args: argparse.Namespace) -> None:
    from espnet_mixrep.recipes.fsdd import (
        DEFAULT_SETS, DigitSet, find_or_download_fsdd, parse_index_range, prepare_fsdd,
    )

    sets = {}
    for name in DEFAULT_SETS:
        num = getattr(args, f"num_{name}")
        if num > 0:  # --num_test_seen 0 drops the seen-speaker test set
            sets[name] = DigitSet(
                tuple(getattr(args, f"{name}_speakers").split()), num, parse_index_range(getattr(args, f"{name}_takes"))
            )
    fsdd_dir = find_or_download_fsdd(args.fsdd_dir, args.repo_root, args.download_dir)
    print(f"FSDD recordings: {fsdd_dir}", file=sys.stderr)
    counts = prepare_fsdd(
        fsdd_dir, args.data_dir, sets, seed=args.seed, min_digits=args.min_digits, max_digits=args.max_digits,
        remove_dc=args.remove_dc_offset == "true",
    )
    for name, n in counts.items():
        print(f"{Path(args.data_dir) / name}: {n} utterances", file=sys.stderr)


def _validate(args: argparse.Namespace) -> None:
    from espnet_mixrep.core.datadir import validate_data_dir

    for data_dir in args.data_dirs:
        validate_data_dir(data_dir)


def _fix(args: argparse.Namespace) -> None:
    from espnet_mixrep.core.datadir import fix_data_dir

    for data_dir in args.data_dirs:
        result = fix_data_dir(data_dir)
        if result["dropped"]:
            print(f"{data_dir}: kept {result['kept']}, dropped {result['dropped']} incomplete utterances", file=sys.stderr)


def _speed_perturb(args: argparse.Namespace) -> None:
    from espnet_mixrep.stages.format import speed_perturb_data_dir

    factors = [float(f) for f in args.factors.split()]
    n = speed_perturb_data_dir(args.src, args.dst, factors, nj=args.nj, use_sph2pipe=args.use_sph2pipe == "true")
    print(f"{args.dst}: {n} utterances", file=sys.stderr)


def _format(args: argparse.Namespace) -> None:
    from espnet_mixrep.stages.format import format_data_dir

    format_data_dir(args.src, args.dst, fs=args.fs, nj=args.nj, use_sph2pipe=args.use_sph2pipe == "true")


def _filter(args: argparse.Namespace) -> None:
    from espnet_mixrep.stages.format import filter_data_dir

    result = filter_data_dir(args.src, args.dst, fs=args.fs, min_duration=args.min_duration, max_duration=args.max_duration)
    print(f"{args.dst}: kept {result['kept']}, dropped {result['dropped']}", file=sys.stderr)


def _token_list(args: argparse.Namespace) -> None:
    from espnet_mixrep.stages.tokens import make_token_list

    path = make_token_list(
        args.text, args.token_type, args.out_dir, nbpe=args.nbpe, bpemode=args.bpemode,
        non_linguistic_symbols=args.nlsyms or None, cleaner=args.cleaner or None,
    )
    print(path)


def _split_scp(args: argparse.Namespace) -> None:
    from espnet_mixrep.stages.format import split_scp

    print(split_scp(args.scp, args.pattern, args.num_splits))


def _merge_decode(args: argparse.Namespace) -> None:
    from espnet_mixrep.stages.decode import merge_decode_outputs

    merge_decode_outputs(args.logdir, args.num_jobs, args.out_dir)


def _none_if_unset(value: str) -> Optional[str]:
    """asr.sh passes "none" (its default) or "" for an unset option."""
    return None if value in ("", "none") else value


def _score(args: argparse.Namespace) -> None:
    from espnet_mixrep.stages.scoring import score_decode_dir

    scores = score_decode_dir(
        args.decode_dir, args.ref_text, args.utt2spk or None, args.bpemodel or None,
        non_linguistic_symbols=_none_if_unset(args.nlsyms), cleaner=_none_if_unset(args.cleaner),
    )  # fmt: skip
    for metric, score in scores.items():
        print(f"{args.decode_dir}: {metric.upper()} {score.total.percentages()['err']:.2f}%", file=sys.stderr)


def _results(args: argparse.Namespace) -> None:
    from espnet_mixrep.stages.scoring import format_wer_table, wer_table, write_exp_results, write_recipe_results

    for exp_dir in args.exp_dirs:
        write_exp_results(exp_dir)
    if args.results_md:
        write_recipe_results(args.results_md, args.exp_root)
        print(format_wer_table(wer_table(args.exp_root)))


def _lm_text(args: argparse.Namespace) -> None:
    from espnet_mixrep.stages.lm_text import make_lm_text

    count = make_lm_text(args.text_files, args.out)
    print(f"{args.out}: {count} lines", file=sys.stderr)


def _upload_hf(args: argparse.Namespace) -> None:
    from espnet_mixrep.stages.hub import upload_packed_model

    where = upload_packed_model(args.packed, args.repo, recipe=args.recipe, private=args.private, task=args.task, lang=args.lang)
    print(f"uploaded to {where}", file=sys.stderr)


USE_SPH2PIPE = dict(
    default="true", choices=["true", "false"],
    help="run the sph2pipe of sph2pipe wav.scp entries when it exists (false: decode them with our decoder)",
)  # fmt: skip


def _check_hub_access(args: argparse.Namespace) -> None:
    from espnet_mixrep.stages.hub import check_hub_access

    check_hub_access(args.repo)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m espnet_mixrep.bin.recipe", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)

    p = sub.add_parser("prepare_fsdd", help="stage 1 of egs2/fsdd_mixrep: connected-digit data dirs")
    p.add_argument("--fsdd_dir", default="", help="FSDD folder (holds recordings/); default $FSDD_DIR")
    p.add_argument("--repo_root", default=None, help="look for <repo_root>/../shared/data/fsdd")
    p.add_argument("--download_dir", default="downloads")
    p.add_argument("--data_dir", default="data")
    from espnet_mixrep.recipes.fsdd import DEFAULT_SETS

    for name, spec in DEFAULT_SETS.items():
        p.add_argument(f"--{name}_speakers", default=" ".join(spec.speakers))
        p.add_argument(f"--{name}_takes", default=f"{spec.indices.start}-{spec.indices.stop - 1}",
                       help="FSDD take indices FIRST-LAST the set draws from")
        p.add_argument(f"--num_{name}", type=int, default=spec.num_utterances, help="utterances (0: no such set)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min_digits", type=int, default=2)
    p.add_argument("--max_digits", type=int, default=5)
    p.add_argument("--remove_dc_offset", default="false", choices=["true", "false"],
                   help="subtract each recording's mean before joining")
    p.set_defaults(func=_prepare_fsdd)

    p = sub.add_parser("validate_data_dir", help="check a Kaldi data dir")
    p.add_argument("data_dirs", nargs="+")
    p.set_defaults(func=_validate)

    p = sub.add_parser("fix_data_dir", help="drop incomplete utterances, sort, rebuild spk2utt")
    p.add_argument("data_dirs", nargs="+")
    p.set_defaults(func=_fix)

    p = sub.add_parser("speed_perturb", help="stage 2")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--factors", default="0.9 1.0 1.1")
    p.add_argument("--nj", type=int, default=1)
    p.add_argument("--use_sph2pipe", **USE_SPH2PIPE)
    p.set_defaults(func=_speed_perturb)

    p = sub.add_parser("format", help="stage 3: audio into dump/raw")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--fs", type=int, required=True)
    p.add_argument("--nj", type=int, default=1, help="jobs: processes, each decoding its share of the recordings")
    p.add_argument("--use_sph2pipe", **USE_SPH2PIPE)
    p.set_defaults(func=_format)

    p = sub.add_parser("filter", help="stage 4: drop too short/long utterances and empty text")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--fs", type=int, required=True)
    p.add_argument("--min_duration", type=float, default=0.1)
    p.add_argument("--max_duration", type=float, default=20.0)
    p.set_defaults(func=_filter)

    p = sub.add_parser("token_list", help="stage 5")
    p.add_argument("--text", required=True)
    p.add_argument("--token_type", required=True, choices=["bpe", "char", "word"])
    p.add_argument("--out_dir", required=True)
    p.add_argument("--nbpe", type=int, default=30)
    p.add_argument("--bpemode", default="unigram")
    p.add_argument("--nlsyms", default="")
    p.add_argument("--cleaner", default="")
    p.set_defaults(func=_token_list)

    p = sub.add_parser("lm_text", help="stage 6: LM training text from Kaldi text files")
    p.add_argument("text_files", nargs="+")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_lm_text)

    p = sub.add_parser("split_scp", help="split a Kaldi map into JOB parts")
    p.add_argument("scp")
    p.add_argument("pattern", help="output path with JOB in it")
    p.add_argument("num_splits", type=int)
    p.set_defaults(func=_split_scp)

    p = sub.add_parser("merge_decode", help="stage 12: merge per-job decoding outputs")
    p.add_argument("--logdir", required=True)
    p.add_argument("--num_jobs", type=int, required=True)
    p.add_argument("--out_dir", required=True)
    p.set_defaults(func=_merge_decode)

    p = sub.add_parser("score", help="stage 13: WER/CER/TER with jiwer")
    p.add_argument("--decode_dir", required=True)
    p.add_argument("--ref_text", required=True)
    p.add_argument("--utt2spk", default="")
    p.add_argument("--bpemodel", default="")
    p.add_argument("--nlsyms", default="", help="non-linguistic symbols, removed for WER and CER (asr.sh --nlsyms_txt)")
    p.add_argument("--cleaner", default="", help="text cleaner applied to the references (asr.sh --cleaner)")
    p.set_defaults(func=_score)

    p = sub.add_parser("results", help="stage 13: <exp>/RESULTS.md per experiment and a summary of all")
    p.add_argument("exp_dirs", nargs="*")
    p.add_argument("--results_md", default="", help="also write this summary of every experiment (asr.sh: <expdir>/RESULTS.md)")
    p.add_argument("--exp_root", default="exp")
    p.set_defaults(func=_results)

    p = sub.add_parser("upload_hf", help="stage 15: publish a packed model")
    p.add_argument("--packed", required=True)
    p.add_argument("--repo", required=True, help="hub repo id, or file:///folder for a local target")
    p.add_argument("--recipe", default="", help="<corpus>/<task dir>, e.g. wsj_mixrep/asr1 (names the dataset)")
    p.add_argument("--task", default="asr", choices=["asr", "cls"])
    p.add_argument("--lang", default="noinfo", help="language of the model card")
    p.add_argument("--private", action="store_true")
    p.set_defaults(func=_upload_hf)

    p = sub.add_parser("check_hub_access", help="stage 15: fail early without a hub token or network")
    p.add_argument("--repo", required=True, help="hub repo id (a local file:///folder target always passes)")
    p.set_defaults(func=_check_hub_access)
    return parser


@exit_on_user_error
def main(cmd: Optional[List[str]] = None) -> None:
    
    args = get_parser().parse_args(cmd)
    args.func(args)


if __name__ == "__main__":
    main()
