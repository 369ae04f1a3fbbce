"""Learning curve on FSDD connected digits: SpecAugment baseline, MixSpeech, MixRep.

For each training-set size (nested subsets of the recipe's training set:
the N-utterance set is part of every larger one; validation and test sets
are the same at every size) the benchmark trains every method with every
seed through the recipe's own run.sh, until the validation accuracy (the
recipe's model-selection criterion) has not improved for --patience epochs
(at most --max_epoch). An "epoch" is a fixed
--iters_per_epoch updates at every size, so the learning-rate schedule and
the patience mean the same number of steps whether the set has 200 or 1800
utterances. Each model (average of the best checkpoints by validation
accuracy, as in the recipe) decodes the seen-speaker test set (test_seen)
and the unseen speaker nicolas (test) with CTC-only and joint CTC-attention
search.

The report gives, per size, method, decoding and test set: WER per seed,
mean and standard deviation, error types pooled over seeds, epochs trained,
and each mixing method's relative WER change against the baseline with a 95%
paired-bootstrap interval that resamples seeds and utterances together
(espnet_mixrep.core.stats.paired_bootstrap; the same seeds and test utterances
for both methods). A change whose interval contains 0 cannot be told apart
from the baseline.

    python benchmarks/fsdd_learning_curve.py                      # 3 sizes x 4 methods x 3 seeds
    python benchmarks/fsdd_learning_curve.py --sizes 200 --seeds 1 --methods baseline mixrep
    python benchmarks/fsdd_learning_curve.py --report_only        # the table from what is finished

Work goes to egs2/fsdd_mixrep/asr1/exp_bench/curve/n<size>/ (a recipe copy per
size with its own data/, dump/ and exp/) and run logs to .../logs/. Rerunning
resumes: finished trainings and decodings are kept (a training is finished
when run.sh exited 0, marked by .curve_trained in its exp dir); an interrupted
training resumes from its checkpoint. --jobs trainings run side by side, one
CPU thread each.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from espnet_mixrep.recipes.fsdd import resolve_fsdd_dir  # noqa: E402
from espnet_mixrep.core.stats import paired_bootstrap  # noqa: E402

RECIPE = REPO / "egs2" / "fsdd_mixrep" / "asr1"
TEMPLATE = REPO / "egs2" / "TEMPLATE" / "asr1"
METHODS = {
    "baseline": "conf/train_asr_baseline.yaml",
    "mixspeech": "conf/train_asr_mixspeech.yaml",
    "mixrep_hidden": "conf/train_asr_mixrep_hidden.yaml",
    "mixrep": "conf/train_asr_mixrep.yaml",
}
DECODES = {"ctc": "conf/decode_ctc.yaml", "joint": "conf/decode_joint.yaml"}
TEST_SETS = ("test_seen", "test")
SCORES_RE = re.compile(r"^Scores: \(#C #S #D #I\) (\d+) (\d+) (\d+) (\d+)$")


@dataclass
class Run:
    size: int
    method: str
    seed: int
    workdir: Path

    @property
    def recipe(self) -> Path:
        return self.workdir / f"n{self.size}"

    @property
    def tag(self) -> str:
        return f"{Path(METHODS[self.method]).stem}_seed{self.seed}"

    @property
    def exp(self) -> Path:
        return self.recipe / "exp" / f"asr_{self.tag}"

    def result_file(self, decoding: str, test_set: str) -> Optional[Path]:
        found = sorted(self.exp.glob(f"{Path(DECODES[decoding]).stem}_asr_model_*/{test_set}/score_wer/result.txt"))
        return found[0] if found else None


def recipe_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["VIRTUAL_ENV"] = sys.prefix  # path.sh then keeps this interpreter
    env["OMP_NUM_THREADS"] = "1"
    fsdd = resolve_fsdd_dir(None, REPO)
    if fsdd is not None:
        env["FSDD_DIR"] = str(fsdd.resolve())
    return env


def make_recipe_copy(path: Path) -> None:
    """A recipe dir whose shared files link to the real recipe (as ESPnet links egs2/TEMPLATE)."""
    path.mkdir(parents=True, exist_ok=True)
    for name in ("asr.sh", "path.sh", "db.sh", "utils", "scripts"):
        if not (path / name).exists():
            (path / name).symlink_to(TEMPLATE / name)
    for name in ("run.sh", "cmd.sh", "local", "conf"):
        if not (path / name).exists():
            (path / name).symlink_to(RECIPE / name)


def run_logged(cmd: List[str], cwd: Path, log: Path) -> bool:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        out.write(f"+ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.run(cmd, cwd=cwd, env=recipe_env(), stdout=out, stderr=subprocess.STDOUT)
    return proc.returncode == 0


def prepare_size(size: int, workdir: Path) -> None:
    recipe = workdir / f"n{size}"
    marker = recipe / "exp" / ".curve_prepared"
    if marker.exists():
        return
    make_recipe_copy(recipe)
    print(f"[n{size}] data, tokens and stats (stages 1-10)", flush=True)
    ok = run_logged(
        ["./run.sh", "--stage", "1", "--stop_stage", "10", "--local_data_opts", f"--num_train {size}"],
        recipe, workdir / "logs" / f"n{size}_prep.log",
    )
    if not ok:
        raise SystemExit(f"ERROR: data preparation for size {size} failed, see {workdir / 'logs'}")
    marker.write_text("done\n")


def train_and_decode(run: Run, args: argparse.Namespace) -> Tuple[Run, bool, float]:
    start = time.time()
    log = run.workdir / "logs" / f"n{run.size}_{run.tag}.log"
    common = [
        "--asr_configs", METHODS[run.method], "--tag_suffix", f"_seed{run.seed}",
        "--test_sets", " ".join(TEST_SETS), "--inference_nj", "1",
    ]
    trained = run.exp / ".curve_trained"
    if not trained.exists():
        print(f"[n{run.size}] train {run.tag}", flush=True)
        schedule = (
            f"--seed {run.seed} --max_epoch {args.max_epoch} --patience {args.patience} "
            f"--early_stopping_criterion valid acc max --num_iters_per_epoch {args.iters_per_epoch}"
        )
        if not run_logged(["./run.sh", "--stage", "11", "--stop_stage", "11", *common, "--asr_args", schedule], run.recipe, log):
            return run, False, time.time() - start
        trained.write_text(schedule + "\n")
    if any(run.result_file(d, s) is None for d in DECODES for s in TEST_SETS):
        print(f"[n{run.size}] decode {run.tag}", flush=True)
        decodes = " ".join(DECODES.values())
        if not run_logged(["./run.sh", "--stage", "12", "--stop_stage", "13", *common, "--inference_configs", decodes], run.recipe, log):
            return run, False, time.time() - start
    return run, True, time.time() - start


# -- report ---------------------------------------------------------------------


def utterance_scores(result_txt: Path) -> Dict[str, Tuple[int, int, int, int]]:
    """utt id -> (correct, substitutions, deletions, insertions) from a sclite-style result.txt."""
    scores: Dict[str, Tuple[int, int, int, int]] = {}
    utt = None
    for line in result_txt.read_text().splitlines():
        if line.startswith("id: ("):
            utt = line[5:-1]
        elif utt is not None:
            match = SCORES_RE.match(line)
            if match:
                scores[utt] = tuple(int(g) for g in match.groups())  # type: ignore[assignment]
                utt = None
    if not scores:
        raise ValueError(f"{result_txt}: no per-utterance 'Scores:' lines")
    return scores


def training_summary(exp: Path) -> Dict[str, object]:
    """Epochs trained, best epoch by validation accuracy, and whether patience stopped it."""
    log = (exp / "train.log").read_text(errors="replace")
    epochs = [int(m) for m in re.findall(r"(\d+)epoch results", log)]
    accs = {int(e): float(a) for e, a in re.findall(r"(\d+)epoch results: .*?\[valid\].*? acc=([0-9.]+)", log)}
    best = max(accs, key=lambda e: accs[e]) if accs else None
    return {"epochs": max(epochs) if epochs else 0, "best_epoch": best, "early_stopped": "has not been improved" in log}


def collect(runs: List[Run]) -> Dict[Tuple[int, str, str, str], Dict[int, Dict[str, Tuple[int, int, int, int]]]]:
    """(size, method, decoding, set) -> seed -> per-utterance scores, for every finished decode."""
    table: Dict[Tuple[int, str, str, str], Dict[int, Dict[str, Tuple[int, int, int, int]]]] = {}
    for run in runs:
        for decoding in DECODES:
            for test_set in TEST_SETS:
                result = run.result_file(decoding, test_set)
                if result is not None:
                    table.setdefault((run.size, run.method, decoding, test_set), {})[run.seed] = utterance_scores(result)
    return table


def error_matrix(per_seed: Dict[int, Dict[str, Tuple[int, int, int, int]]], seeds: List[int], utts: List[str]) -> np.ndarray:
    return np.array([[sum(per_seed[s][u][1:]) for u in utts] for s in seeds], dtype=float)


def report(runs: List[Run], args: argparse.Namespace) -> str:
    table = collect(runs)
    lines = [
        "| size | method | decoding | set | WER per seed | mean | std | S / D / I % | epochs (best) | rel. change vs baseline [95% CI] |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in args.sizes:
        for decoding in DECODES:
            for test_set in TEST_SETS:
                base = table.get((size, "baseline", decoding, test_set), {})
                for method in args.methods:
                    per_seed = table.get((size, method, decoding, test_set))
                    if not per_seed:
                        continue
                    seeds = sorted(per_seed)
                    utts = sorted(next(iter(per_seed.values())))
                    words = np.array([sum(per_seed[seeds[0]][u][:3]) for u in utts], dtype=float)
                    errors = error_matrix(per_seed, seeds, utts)
                    wers = [100.0 * e.sum() / words.sum() for e in errors]
                    kinds = np.array([[per_seed[s][u][1:] for u in utts] for s in seeds]).sum(axis=(0, 1))
                    kinds_text = " / ".join(f"{100.0 * k / (words.sum() * len(seeds)):.1f}" for k in kinds)
                    train = [training_summary(Run(size, method, s, args.workdir).exp) for s in seeds]
                    epochs_text = ", ".join(
                        f"{t['epochs']}{'' if t['early_stopped'] else '!'} ({t['best_epoch']})" for t in train
                    )
                    change = ""
                    common = sorted(set(seeds) & set(base))
                    if method != "baseline" and common:
                        cmp = paired_bootstrap(
                            error_matrix(base, common, utts), error_matrix(per_seed, common, utts), words,
                            replicates=args.bootstrap, seed=0,
                        )
                        verdict = "cannot tell" if not cmp.distinguishable else ("fewer errors" if cmp.change < 0 else "more errors")
                        change = f"{100 * cmp.change:+.1f}% [{100 * cmp.low:+.1f}, {100 * cmp.high:+.1f}] {verdict}"
                        if len(common) < len(seeds):
                            change += f" (seeds {common})"
                    std = f"{statistics.stdev(wers):.2f}" if len(wers) > 1 else "n/a"
                    lines.append(
                        f"| {size} | {method} | {decoding} | {test_set} | {', '.join(f'{w:.2f}' for w in wers)} | "
                        f"{statistics.mean(wers):.2f} | {std} | {kinds_text} | {epochs_text} | {change} |"
                    )
    lines += [
        "",
        "WER in %. rel. change = (method WER - baseline WER) / baseline WER, WERs pooled over seeds;",
        f"interval: 95% percentile interval of {args.bootstrap} paired bootstrap replicates resampling seeds",
        "and test utterances (the same draw for both methods); 'cannot tell' = the interval contains 0.",
        f"epochs: trained per seed ('!' = reached --max_epoch {args.max_epoch} before the validation accuracy stopped",
        f"improving for {args.patience} epochs), in brackets the epoch of best validation accuracy;",
        f"one epoch = {args.iters_per_epoch} updates at every size.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 600, 1800], help="training utterances per point")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS),
                        help="baseline, mixspeech (S={0}), mixrep_hidden (S={k}), mixrep (S={0,k}); configs in conf/")
    parser.add_argument("--max_epoch", type=int, default=40)
    parser.add_argument("--patience", type=int, default=5, help="epochs without a higher validation accuracy before stopping")
    parser.add_argument("--iters_per_epoch", type=int, default=57, help="updates per epoch (57 = one pass of 1800 utterances)")
    parser.add_argument("--jobs", type=int, default=2, help="trainings side by side (one CPU thread each)")
    parser.add_argument("--bootstrap", type=int, default=10000, help="bootstrap replicates")
    parser.add_argument("--workdir", type=Path, default=RECIPE / "exp_bench" / "curve")
    parser.add_argument("--report_only", action="store_true", help="only print the table of what is finished")
    args = parser.parse_args()
    if "baseline" not in args.methods:
        parser.error("--methods must include baseline (the reference of every comparison)")
    args.workdir = args.workdir.resolve()

    runs = [Run(size, method, seed, args.workdir) for size in args.sizes for seed in args.seeds for method in args.methods]
    start = time.time()
    failed: List[Run] = []
    if not args.report_only:
        for size in args.sizes:
            prepare_size(size, args.workdir)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for run, ok, seconds in pool.map(lambda r: train_and_decode(r, args), runs):
                print(f"[n{run.size}] {run.tag}: {'done' if ok else 'FAILED'} in {seconds / 60:.1f} min", flush=True)
                if not ok:
                    failed.append(run)
        print(f"benchmark wall time: {(time.time() - start) / 60:.1f} min", flush=True)
    text = report(runs, args)
    print(text)
    (args.workdir / "RESULTS_curve.md").write_text(text + "\n")
    summary = {f"n{r.size}/{r.tag}": training_summary(r.exp) for r in runs if (r.exp / "train.log").exists()}
    (args.workdir / "training_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    if failed:
        raise SystemExit(f"ERROR: {len(failed)} run(s) failed: " + ", ".join(f"n{r.size}/{r.tag}" for r in failed))


if __name__ == "__main__":
    main()
