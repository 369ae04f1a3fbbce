"""Seeds of the FSDD main job: WER mean and standard deviation per config.

Trains the recipe's configs (default: the main job's baseline and MixRep)
with N seeds through egs2/fsdd_mixrep/asr1/run.sh (its stages 11-13, the
main job's schedule, experiments under --expdir, default exp_bench/seeds),
decodes every test set with CTC-only and joint CTC-attention search, and
prints WER per seed, mean and standard deviation per config, decoding and
test set. For comparisons at convergence, with intervals, see
benchmarks/fsdd_learning_curve.py.

    python benchmarks/fsdd_seeds.py                  # seeds 1-3 of baseline and MixRep
    python benchmarks/fsdd_seeds.py --seeds 1 --configs "conf/train_asr_baseline.yaml"
    python benchmarks/fsdd_seeds.py --expdir exp --seeds 0 1 2   # after ./run.sh: its models are seed 0
    python benchmarks/fsdd_seeds.py --report_only --expdir exp --seeds 0   # the main job's own run (seed 0)

Seed 0 is the configs' own seed: its experiments carry no suffix, as the main
job's, so with --expdir exp they are the main job's models (not retrained).

Runs are resumable: training resumes from checkpoints; a finished training
reruns as a no-op (the same averaged model).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "benchmarks"))

import numpy as np  # noqa: E402
from fsdd_learning_curve import utterance_scores  # noqa: E402

from espnet_mixrep.stages.scoring import wer_table  # noqa: E402
from espnet_mixrep.core.stats import paired_bootstrap  # noqa: E402

RECIPE = REPO / "egs2" / "fsdd_mixrep" / "asr1"
DEFAULT_CONFIGS = "conf/train_asr_baseline.yaml conf/train_asr_mixrep.yaml"


def run(cmd: List[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=RECIPE, check=True)


def summarise(expdir: Path, configs: List[str], seeds: List[int]) -> List[Tuple[str, str, str, Dict[int, float]]]:
    """[(config name, decoding, set, {seed: WER})] from the scored experiments.

    Experiments are named asr_<config>_seed<N> (run with --asr_args "--seed N");
    one without the suffix (the main job's, whose configs say seed 0) counts as seed 0."""
    rows = wer_table(expdir) if expdir.is_dir() else []
    found: Dict[Tuple[str, str, str], Dict[int, float]] = {}
    for row in rows:
        match = re.fullmatch(r"asr_(.+?)(?:_seed(\d+))?", str(row["experiment"]))
        if match:
            seed = int(match.group(2)) if match.group(2) else 0
            if seed in seeds:
                key = (match.group(1), str(row["decoding"]), str(row["set"]))
                found.setdefault(key, {})[seed] = float(row["wer"])
    names = [Path(c).stem for c in configs]
    return [(name, dec, dset, wers) for (name, dec, dset), wers in sorted(found.items()) if name in names]


def experiment_name(config: str, seed: int) -> str:
    return f"asr_{config}_seed{seed}" if seed else f"asr_{config}"


def change_vs_first(expdir: Path, names: List[str], name: str, decoding: str, dset: str, seeds: List[int]) -> str:
    """The relative WER change of config `name` against the first config, with its 95%
    paired-bootstrap interval over the seeds both have and the utterances of `dset`."""
    if name == names[0]:
        return ""
    scores = {}
    for config in (names[0], name):
        for seed in seeds:
            result = expdir / experiment_name(config, seed) / decoding / dset / "score_wer" / "result.txt"
            if result.is_file():
                scores[(config, seed)] = utterance_scores(result)
    common = [s for s in seeds if (names[0], s) in scores and (name, s) in scores]
    if not common:
        return ""
    utts = sorted(scores[(names[0], common[0])])
    words = np.array([sum(scores[(names[0], common[0])][u][:3]) for u in utts], dtype=float)

    def errors(config: str) -> np.ndarray:
        return np.array([[sum(scores[(config, s)][u][1:]) for u in utts] for s in common], dtype=float)

    cmp = paired_bootstrap(errors(names[0]), errors(name), words)
    verdict = "cannot tell" if not cmp.distinguishable else ("fewer errors" if cmp.change < 0 else "more errors")
    return f"{100 * cmp.change:+.1f}% [{100 * cmp.low:+.1f}, {100 * cmp.high:+.1f}] {verdict}"


def print_report(results: List[Tuple[str, str, str, Dict[int, float]]], expdir: Path, configs: List[str]) -> None:
    names = [Path(c).stem for c in configs]
    print(f"\n|config|decoding|set|WER per seed|mean|std|change vs {names[0]} [95% CI]|")
    print("|---|---|---|---|---|---|---|")
    for name, decoding, dset, per_seed in results:
        seeds = sorted(per_seed)
        wers = [per_seed[s] for s in seeds]
        seeds_text = ", ".join(f"{per_seed[s]:.2f} ({s})" for s in seeds)
        std = f"{statistics.stdev(wers):.2f}" if len(wers) > 1 else "n/a"
        change = change_vs_first(expdir, names, name, decoding, dset, seeds)
        print(f"|{name}|{decoding}|{dset}|{seeds_text}|{statistics.mean(wers):.2f}|{std}|{change}|")
    print("\nWER in %, the seed in brackets; std = sample standard deviation over seeds. Change: relative")
    print("WER change, pooled over the seeds both configs have, with the 95% percentile interval of")
    print("10000 paired-bootstrap replicates resampling seeds and utterances together")
    print("(espnet_mixrep.core.stats.paired_bootstrap); 'cannot tell' = the interval contains 0.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help="training configs (recipe-relative)")
    parser.add_argument("--expdir", default="exp_bench/seeds")
    parser.add_argument("--test_sets", default="valid test_seen test", help="sets decoded and scored")
    parser.add_argument("--train_parallel", default="true", choices=["true", "false"])
    parser.add_argument("--report_only", action="store_true")
    args = parser.parse_args()

    configs = args.configs.split()
    start = time.time()
    if not args.report_only:
        common = ["--expdir", args.expdir, "--asr_configs", args.configs, "--test_sets", args.test_sets]
        run(["./run.sh", *common, "--stage", "1", "--stop_stage", "10"])
        for seed in args.seeds:
            suffix = f"_seed{seed}" if seed else ""
            run(
                ["./run.sh", *common, "--stage", "11", "--stop_stage", "13", "--tag_suffix", suffix,
                 "--asr_args", f"--seed {seed}", "--train_parallel", args.train_parallel]
            )
        print(f"\nbenchmark wall time: {time.time() - start:.0f} s", flush=True)
    print(f"configs: {' '.join(configs)}; results under {RECIPE / args.expdir}")
    print_report(summarise(RECIPE / args.expdir, configs, args.seeds), RECIPE / args.expdir, configs)


if __name__ == "__main__":
    main()
