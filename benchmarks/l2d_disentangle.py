"""Learn2Diss on FSDD over seeds: what the MI term, and the speaker adversary, remove.

Runs egs2/fsdd_learn2diss/ssl1/run.sh: stages 1-2 (data, k-means labels,
speaker ids) once, then stages 3-7 for each seed under --expdir/seed<N>
(stage-1 training, the joint runs of --mi_weights and --adversary_weights,
embeddings, probes). Reports, per run, mean +- std over the seeds of:
- the linear probes' test accuracies: frame encoder speaker and digit,
  utterance encoder speaker and digit (chance: speaker 0.25, digit 0.10);
- CLUB with the run's q and with a fresh q refitted on the frozen train
  pairs (nats, test pairs), and the training-time monitor's last refit
  estimate on the validation set;
the speaker adversary's own validation accuracy at the last epoch; and how
much speaker and digit the frame encoder's own target holds (a linear probe
on each utterance's k-means label histogram, train -> valid);
and each run's difference from mi0 (the matched run without the MI term)
with 95% intervals: a paired bootstrap over seeds and test utterances for
the accuracies, a Student-t interval over seeds for the CLUB estimates (one
number per run). "yes"/"no" says whether the interval excludes 0.

    python benchmarks/l2d_disentangle.py                    # seeds 0 1 2, two seeds at a time
    python benchmarks/l2d_disentangle.py --report_only      # the table of what has finished

Resumable: trainings resume from their checkpoints, a finished one reruns as
a no-op; embeddings and probes are recomputed (seconds).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from espnet_mixrep.core.stats import paired_bootstrap, paired_t_interval  # noqa: E402

RECIPE = REPO / "egs2" / "fsdd_learn2diss" / "ssl1"
PROBES = ("frames_speaker", "frames_digit", "utterance_speaker", "utterance_digit")
ESTIMATES = ("club_mi_test", "club_mi_test_refit_q", "monitor_refit")
TRAINING = ("adversary_acc",)
LABELS = {
    "frames_speaker": "frame enc: speaker",
    "frames_digit": "frame enc: digit",
    "utterance_speaker": "utt enc: speaker",
    "utterance_digit": "utt enc: digit",
    "club_mi_test": "CLUB (run's q)",
    "club_mi_test_refit_q": "CLUB (refit q)",
    "monitor_refit": "monitor refit (valid, last epoch)",
    "adversary_acc": "adversary's own acc (valid, last epoch)",
}


def run(cmd: List[str], log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    print("+", " ".join(cmd), f"> {log}", flush=True)
    with open(log, "a", encoding="utf-8") as f:
        if subprocess.run(cmd, cwd=RECIPE, stdout=f, stderr=subprocess.STDOUT).returncode != 0:
            raise RuntimeError(f"failed: {' '.join(cmd)} (see {log})")


def last_valid_stat(train_log: Path, name: str) -> float:
    """A statistic of the last validation in an l2d_train log (nan if it is not there)."""
    text = train_log.read_text(encoding="utf-8") if train_log.is_file() else ""
    found = re.findall(rf"\[valid\].*?\b{name}=([-0-9.e+]+)", text)
    return float(found[-1]) if found else float("nan")


def kmeans_label_probe(recipe: Path) -> Dict[str, float]:
    """Speaker and digit accuracy of a logistic regression on each utterance's k-means label
    histogram, fitted on train and scored on valid: what the pseudo-con target itself carries."""
    from sklearn.linear_model import LogisticRegression

    from espnet_mixrep.core.datadir import read_kaldi_map

    def load(split: str):
        labels = {u: np.array(v.split(), dtype=int) for u, v in read_kaldi_map(recipe / "dump" / split / "kmeans").items()}
        return labels, read_kaldi_map(recipe / "data" / split / "utt2spk"), read_kaldi_map(recipe / "data" / split / "text")

    train, valid = load("train"), load("valid")
    n_clusters = 1 + max(int(v.max()) for part in (train, valid) for v in part[0].values())

    def histograms(part):
        ids = sorted(part[0])
        return ids, np.stack([np.bincount(part[0][u], minlength=n_clusters) / len(part[0][u]) for u in ids])

    (train_ids, train_x), (valid_ids, valid_x) = histograms(train), histograms(valid)
    result = {}
    for target, column in (("speaker", 1), ("digit", 2)):
        probe = LogisticRegression(max_iter=3000).fit(train_x, [train[column][u] for u in train_ids])
        result[target] = float(np.mean(probe.predict(valid_x) == np.array([valid[column][u] for u in valid_ids])))
    return result


def load_seed(expdir: Path) -> Optional[Dict[str, dict]]:
    probe = expdir / "probe" / "probe.json"
    if not probe.is_file():
        return None
    rows = {}
    for row in json.loads(probe.read_text(encoding="utf-8")):
        train_log = expdir / f"l2d_{row['run']}" / "train.log"
        row["monitor_refit"] = last_valid_stat(train_log, "club_mi_refit")
        row["adversary_acc"] = last_valid_stat(train_log, "adversary_acc")
        rows[row["run"]] = row
    return rows


def mean_std(values: List[float]) -> str:
    if all(np.isnan(values)):
        return "-"
    return f"{np.mean(values):.3f} +- {np.std(values, ddof=1):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def interval(low: float, high: float, mean: float) -> str:
    low, high, mean = low + 0.0, high + 0.0, mean + 0.0  # no "-0.000"
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}] {'yes' if low > 0 or high < 0 else 'no'}"


def report(results: Dict[int, Dict[str, dict]], base: str = "mi0") -> str:
    seeds = sorted(results)
    runs = [r for r in results[seeds[0]] if all(r in results[s] for s in seeds)]
    lines = [f"Seeds: {' '.join(map(str, seeds))}. Mean +- sample std over seeds.", ""]
    cols = PROBES + ESTIMATES + TRAINING
    lines += ["| run | " + " | ".join(LABELS[c] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for r in runs:
        lines.append(f"| {r} | " + " | ".join(mean_std([results[s][r][c] for s in seeds]) for c in cols) + " |")
    if base not in runs or len(seeds) < 2:
        return "\n".join(lines)
    cols = PROBES + ESTIMATES
    lines += ["", f"Difference from {base}, 95% interval, excludes 0?", ""]
    lines += ["| run | " + " | ".join(LABELS[c] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for r in runs:
        if r in (base, "stage1"):
            continue
        cells = []
        for c in PROBES:
            ids = results[seeds[0]][base]["utt_ids"]
            if any(results[s][x]["utt_ids"] != ids for s in seeds for x in (base, r)):
                raise ValueError(f"{c}: the runs were probed on different test utterances")
            errors = lambda run_name: np.array([1 - np.array(results[s][run_name]["correct"][c]) for s in seeds])  # noqa: E731
            cmp = paired_bootstrap(errors(base), errors(r), np.ones(len(ids)), kind="difference")
            # An accuracy difference is minus the error-rate difference.
            cells.append(interval(-cmp.high, -cmp.low, -cmp.change))
        for c in ESTIMATES:
            d = paired_t_interval(np.array([results[s][base][c] for s in seeds]), np.array([results[s][r][c] for s in seeds]))
            cells.append(interval(d.low, d.high, d.mean))
        lines.append(f"| {r} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--mi_weights", default="0 0.1 1", help="run.sh --mi_weights (0 is the base of the comparison)")
    parser.add_argument("--adversary_weights", default="1", help="run.sh --adversary_weights")
    parser.add_argument("--expdir", type=Path, default=Path("exp_bench/l2d"), help="relative to the recipe")
    parser.add_argument("--jobs", type=int, default=2, help="seeds trained at the same time (one CPU thread each)")
    parser.add_argument("--report_only", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args()

    start = time.time()
    if not args.report_only:
        opts = ["--mi_weights", args.mi_weights, "--adversary_weights", args.adversary_weights]
        run(["./run.sh", "--stage", "1", "--stop_stage", "2", *opts], RECIPE / args.expdir / "prep.log")

        def one_seed(seed: int) -> None:
            expdir = args.expdir / f"seed{seed}"
            run(["./run.sh", "--stage", "3", "--stop_stage", "7", "--seed", str(seed), "--expdir", str(expdir), *opts],
                RECIPE / expdir / "run.log")

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            list(pool.map(one_seed, args.seeds))
    results = {s: r for s in args.seeds if (r := load_seed(RECIPE / args.expdir / f"seed{s}")) is not None}
    if not results:
        sys.exit(f"no finished seed under {RECIPE / args.expdir}")
    kmeans = kmeans_label_probe(RECIPE)
    text = report(results) + (
        f"\n\nThe frame encoder's own target: a linear probe on each utterance's k-means label histogram "
        f"(train -> valid) gets speaker {kmeans['speaker']:.3f}, digit {kmeans['digit']:.3f} "
        "(chance 0.25 / 0.10)."
    )
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    if not args.report_only:
        print(f"l2d_disentangle.py finished in {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
