"""FSDD digit classification on the unseen speaker: baseline vs BC vs plain mixup vs SpeechMix.

Runs the FSDD recipe (egs2/fsdd_speechmix/cls1) for every training-set size,
config and seed (stages 6-8: real ESPnet training, 10-crop inference,
scoring) after preparing the data once (stages 1-5), then prints per size and
method the accuracy on nicolas and on the validation set (held-out takes of
the training speakers), the best epoch, and each method's accuracy difference
from the baseline with a 95% paired-bootstrap interval over seeds and test
clips (``espnet_mixrep.core.stats.paired_bootstrap``) and the commonest confusions
on nicolas.

Each run trains until the validation accuracy has not improved for
``--patience`` epochs (at most the config's max_epoch) and is decoded with its
best checkpoint. A size of n takes trains on ``data/train_t<n>`` (the first n
training takes of every digit and speaker; 45 = the whole training set); its
epochs are made as long as the whole set's (``--num_iters_per_epoch``), so the
patience and max_epoch mean the same number of updates at every size.
Finished runs are kept: a rerun resumes with the missing ones. Data are
prepared only where missing; a second invocation that needs a new training
size while another one trains would replace dump/raw under it, so let the
first finish (or prepare every size up front).

    python benchmarks/speechmix_fsdd_seeds.py                            # sizes 8 and 45 takes, 3 seeds, 4 methods
    python benchmarks/speechmix_fsdd_seeds.py --train_takes 45 --jobs 2
    python benchmarks/speechmix_fsdd_seeds.py --report_only              # the table from what has finished
"""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from espnet_mixrep.core.datadir import read_kaldi_map
from espnet_mixrep.core.stats import paired_bootstrap

RECIPE = Path(__file__).resolve().parent.parent / "egs2" / "fsdd_speechmix" / "cls1"
CONFIGS = ("baseline", "bc", "plain", "speechmix")
FULL_TAKES = 45  # training takes per digit and speaker (takes 45-49 are the validation set)
BATCH_SIZE = 32  # the configs' batch_size


def _train_set(takes: int) -> str:
    return "train" if takes == FULL_TAKES else f"train_t{takes}"


@dataclass(frozen=True)
class Run:
    takes: int
    config: str
    seed: int
    tag: str

    @property
    def train_set(self) -> str:
        return _train_set(self.takes)

    @property
    def exp(self) -> Path:
        return RECIPE / "exp" / f"cls_{self.tag}"

    def done(self) -> bool:
        return (self.exp / "cls_test" / "scoring" / "metrics.json").is_file()


def _prepared(dset: str) -> bool:
    """Stages 2-5 have written ``dset`` (dump/raw and, for training sets, its shape files)."""
    dumped = (RECIPE / "dump" / "raw" / dset / "text").is_file()
    shapes = RECIPE / "exp" / f"cls_stats_{dset}" / "train" / "speech_shape"
    return dumped and (dset in ("valid", "test") or shapes.is_file())


def _run(args: List[str], log: Path) -> float:
    """``./run.sh <args>`` in the recipe; -> minutes taken."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    start = time.time()
    with open(log, "w") as out:
        proc = subprocess.run(["./run.sh", *args], cwd=RECIPE, env=env, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise SystemExit(f"ERROR: ./run.sh {' '.join(args)} failed, see {log}")
    return (time.time() - start) / 60


def _train(run: Run, args: argparse.Namespace, full_iters: int, logs: Path) -> str:
    cls_args = f"--seed {run.seed} --patience {args.patience} --early_stopping_criterion valid acc max"
    if args.max_epoch:
        # Keep the configs' lr steps (x0.1 at 1/2 and 3/4 of training) for other lengths.
        e = args.max_epoch
        cls_args += f" --max_epoch {e} --scheduler_conf milestones=[{e // 2},{3 * e // 4}]"
    if run.takes != FULL_TAKES:
        cls_args += f" --num_iters_per_epoch {full_iters}"
    minutes = _run(["--stage", "6", "--stop_stage", "8", "--train_set", run.train_set,
                    "--cls_config", f"conf/train_{run.config}.yaml", "--cls_tag", run.tag,
                    "--cls_args", cls_args, "--retrain", "true"], logs / f"{run.tag}.log")
    return f"{run.tag}: {minutes:.1f} min"


@lru_cache(maxsize=None)
def _labels(dset: str) -> Dict[str, str]:
    """Clip id -> reference class of ``dset``."""
    return read_kaldi_map(RECIPE / "dump" / "raw" / dset / "text")


@lru_cache(maxsize=None)
def _predictions(run: Run, dset: str) -> Dict[str, str]:
    """Clip id -> the class the run predicted (read once per run and set)."""
    return {u: h.strip() for u, h in read_kaldi_map(run.exp / f"cls_{dset}" / "text", allow_empty_value=True).items()}


def _correct(run: Run, dset: str) -> Dict[str, int]:
    """Clip id -> 1 if the run classified it right."""
    hyps = _predictions(run, dset)
    return {u: int(hyps[u] == label) for u, label in _labels(dset).items()}


def _commonest_errors(done: List[Run], top: int = 3) -> str:
    """The ``top`` commonest (reference -> hypothesis) confusions on nicolas, pooled over the runs."""
    refs = _labels("test")
    errors: Counter = Counter()
    for run in done:
        hyps = _predictions(run, "test")
        errors.update((refs[u], hyps[u]) for u in refs if hyps[u] != refs[u])
    return ", ".join(f"{ref}->{hyp or '(none)'} {n}" for (ref, hyp), n in errors.most_common(top))


def _best_epoch(run: Run) -> str:
    best = run.exp / "valid.acc.best.pth"
    epochs = sorted(int(p.name.split("epoch")[0]) for p in run.exp.glob("*epoch.pth"))
    last = epochs[-1] if epochs else "?"
    target = os.readlink(best) if best.is_symlink() else "?"
    return f"{target.split('epoch')[0]}/{last}"


def _mean_std(values: List[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else math.nan
    return f"{statistics.mean(values):.2f} +- {std:.2f}"


def report(runs: List[Run], configs: List[str]) -> str:
    lines = ["| training takes per digit and speaker | method | valid acc % | nicolas acc % | nicolas per seed | "
             "best/last epoch per seed | nicolas vs baseline, points [95% CI] | commonest errors on nicolas |",
             "|---|---|---|---|---|---|---|---|"]
    for takes in sorted({r.takes for r in runs}):
        by_config = {c: [r for r in runs if r.takes == takes and r.config == c and r.done()] for c in configs}
        base = {r.seed: _correct(r, "test") for r in by_config.get("baseline", [])}
        for config, done in by_config.items():
            if not done:
                continue
            test = {r.seed: base[r.seed] if config == "baseline" else _correct(r, "test") for r in done}
            acc = [100.0 * sum(c.values()) / len(c) for c in test.values()]
            valid = [100.0 * sum(c.values()) / len(c) for c in (_correct(r, "valid") for r in done)]
            vs = ""
            paired = [r for r in done if r.seed in base]
            if config != "baseline" and paired:
                ids = sorted(base[paired[0].seed])
                base_err = np.array([[1 - base[r.seed][u] for u in ids] for r in paired])
                new_err = np.array([[1 - test[r.seed][u] for u in ids] for r in paired])
                cmp = paired_bootstrap(base_err, new_err, np.ones(len(ids)), kind="difference")
                verdict = "cannot tell" if not cmp.distinguishable else ("better" if cmp.change < 0 else "worse")
                vs = (f"{-100 * cmp.change:+.2f} [{-100 * cmp.high:+.2f}, {-100 * cmp.low:+.2f}] {verdict} "
                      f"({len(paired)} seeds)")
            lines.append(f"| {takes} | {config} | {_mean_std(valid)} | {_mean_std(acc)} | "
                         f"{', '.join(f'{a:.1f}' for a in acc)} | {', '.join(_best_epoch(r) for r in done)} | {vs} | "
                         f"{_commonest_errors(done)} |")
    missing = [r.tag for r in runs if not r.done()]
    if missing:
        lines.append(f"\nnot finished ({len(missing)}): {' '.join(missing)}")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    parser.add_argument("--train_takes", type=int, nargs="+", default=[8, FULL_TAKES],
                        help=f"training-set sizes, in takes per digit and speaker (1-{FULL_TAKES}; {FULL_TAKES} = all)")
    parser.add_argument("--patience", type=int, default=15, help="epochs without a better validation accuracy")
    parser.add_argument("--max_epoch", type=int, default=None, help="override the configs' max_epoch (40)")
    parser.add_argument("--jobs", type=int, default=2, help="trainings at a time (one CPU thread each)")
    parser.add_argument("--tag", default="bench", help="experiment name prefix under exp/")
    parser.add_argument("--report_only", action="store_true", help="print the table from the finished runs")
    args = parser.parse_args(argv)
    bad = [n for n in args.train_takes if not 1 <= n <= FULL_TAKES]
    if bad:
        parser.error(f"--train_takes {bad}: sizes must be 1-{FULL_TAKES} takes")

    runs = [Run(n, c, s, f"{args.tag}_t{n}_{c}_seed{s}")
            for n in args.train_takes for s in args.seeds for c in args.configs]
    logs = RECIPE / "exp" / f"{args.tag}_logs"
    logs.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        # Only what is missing: stage 2 replaces dump/raw/<set>, which would pull the
        # clips from under trainings that another invocation still runs.
        sizes = [n for n in args.train_takes if not _prepared(_train_set(n))]
        if sizes or not all(_prepared(s) for s in ("train", "valid", "test")):
            subsets = " ".join(str(n) for n in args.train_takes if n != FULL_TAKES)
            prep = ["--stop_stage", "5"] + (["--local_data_opts", f"--train_subsets {subsets}"] if subsets else [])
            print(f"data: {_run(prep, logs / 'prep.log'):.1f} min", flush=True)
            for n in args.train_takes:
                if n != FULL_TAKES:
                    _run(["--stage", "2", "--stop_stage", "5", "--train_set", f"train_t{n}"], logs / f"prep_t{n}.log")
        full_iters = math.ceil(len(read_kaldi_map(RECIPE / "dump" / "raw" / "train" / "text")) / BATCH_SIZE)
        todo = [r for r in runs if not r.done()]
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for line in pool.map(lambda r: _train(r, args, full_iters, logs), todo):
                print(line, flush=True)
    table = report(runs, args.configs)
    (logs / "table.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
