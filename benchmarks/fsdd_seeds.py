"""Seeds benchmark on the FSDD recipe: baseline vs MixSpeech vs MixRep.

Trains every config with N seeds (default 3) through egs2/fsdd_mixrep/asr1/run.sh
(stages 1-13, experiments under --expdir, default exp_bench), decodes the
unseen test speaker with CTC-only and joint CTC-attention search, and prints
mean and standard deviation of WER per config and decoding, plus each mixing
config's relative WER reduction against the baseline (the paper reports 6.5%
relative on WSJ eval92 for MixRep).

    python benchmarks/fsdd_seeds.py                       # 3 seeds, conf/tuning/train_asr_bench_*.yaml
    python benchmarks/fsdd_seeds.py --seeds 1 --configs "conf/train_asr_baseline.yaml conf/train_asr_mixrep.yaml"
    python benchmarks/fsdd_seeds.py --report_only         # only summarise what is already scored

Runs are resumable: rerunning skips nothing by itself but training resumes
from checkpoints and finished trainings are re-averaged identically.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from espnet_mixrep.recipes.scoring import wer_table  # noqa: E402

RECIPE = REPO / "egs2" / "fsdd_mixrep" / "asr1"
DEFAULT_CONFIGS = " ".join(f"conf/tuning/train_asr_bench_{m}.yaml" for m in ("baseline", "mixspeech", "mixrep"))
DEFAULT_DECODES = "conf/decode_ctc.yaml conf/decode_joint.yaml"


def run(cmd: List[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=RECIPE, check=True)


def summarise(expdir: Path, configs: List[str], seeds: List[int]) -> List[Tuple[str, str, List[float]]]:
    """[(config name, decoding, [WER per seed])] from the scored experiments.

    Experiments are named asr_<config>_seed<N> (run with --asr_args "--seed N");
    one without the suffix (e.g. the main job's) counts as the config's own
    seed, shown as seed 0. An empty ``seeds`` takes every seed found."""
    rows = wer_table(expdir, set_name="test") if expdir.is_dir() else []
    by_key: Dict[Tuple[str, str], Dict[int, float]] = {}
    for row in rows:
        match = re.fullmatch(r"asr_(.+?)(?:_seed(\d+))?", str(row["experiment"]))
        if match:
            seed = int(match.group(2)) if match.group(2) else 0
            by_key.setdefault((match.group(1), str(row["decoding"])), {})[seed] = float(row["wer"])
    out = []
    for config in configs:
        name = Path(config).stem
        for (cfg, decoding), per_seed in sorted(by_key.items()):
            if cfg == name:
                out.append((name, decoding, [per_seed[s] for s in sorted(per_seed) if not seeds or s in seeds]))
    return out


def print_report(results: List[Tuple[str, str, List[float]]], baseline: str) -> None:
    def mean_std(values: List[float]) -> Tuple[float, float]:
        if not values:
            return math.nan, math.nan
        return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else math.nan

    base = {decoding: mean_std(wers)[0] for name, decoding, wers in results if name == baseline}
    print("\n|config|decoding|seeds|WER per seed|mean WER|std|rel. reduction vs baseline|")
    print("|---|---|---|---|---|---|---|")
    for name, decoding, wers in results:
        mean, std = mean_std(wers)
        rel = ""
        if name != baseline and decoding in base and base[decoding] > 0:
            rel = f"{100.0 * (base[decoding] - mean) / base[decoding]:+.1f}%"
        per_seed = ", ".join(f"{w:.2f}" for w in wers)
        std_text = f"{std:.2f}" if len(wers) > 1 else "n/a (1 seed)"
        print(f"|{name}|{decoding}|{len(wers)}|{per_seed}|{mean:.2f}|{std_text}|{rel}|")
    print("\nrel. reduction = (baseline mean WER - config mean WER) / baseline mean WER; positive = fewer errors.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (1..N)")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help="training configs; the first is the baseline")
    parser.add_argument("--inference_configs", default=DEFAULT_DECODES)
    parser.add_argument("--expdir", default="exp_bench")
    parser.add_argument("--local_data_opts", default="", help='e.g. "--num_train 1500"')
    parser.add_argument("--train_parallel", default="true", choices=["true", "false"])
    parser.add_argument("--report_only", action="store_true")
    args = parser.parse_args()

    configs = args.configs.split()
    seeds = list(range(1, args.seeds + 1))
    start = time.time()
    if not args.report_only:
        common = ["--expdir", args.expdir, "--asr_configs", args.configs, "--inference_configs", args.inference_configs]
        if args.local_data_opts:
            common += ["--local_data_opts", args.local_data_opts]
        run(["./run.sh", *common, "--stage", "1", "--stop_stage", "10"])
        for seed in seeds:
            run(
                ["./run.sh", *common, "--stage", "11", "--stop_stage", "13", "--tag_suffix", f"_seed{seed}",
                 "--asr_args", f"--seed {seed}", "--train_parallel", args.train_parallel]
            )
        print(f"\nbenchmark wall time: {time.time() - start:.0f} s", flush=True)
    print(f"configs: {' '.join(configs)}; results under {RECIPE / args.expdir}")
    print_report(summarise(RECIPE / args.expdir, configs, [] if args.report_only else seeds), baseline=Path(configs[0]).stem)


if __name__ == "__main__":
    main()
