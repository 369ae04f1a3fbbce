"""FSDD digit classification on the unseen speaker: baseline vs BC vs plain mixup vs SpeechMix.

Runs the FSDD recipe (egs2/fsdd_speechmix/cls1) for N seeds of each config
(stages 6-8: real ESPnet training, 10-crop inference, scoring) after preparing
the data once (stages 1-5), then prints the test accuracy on nicolas per run
and the mean and standard deviation per method.

    python benchmarks/speechmix_fsdd_seeds.py --seeds 3
    python benchmarks/speechmix_fsdd_seeds.py --seeds 2 --max_epoch 12 --configs baseline speechmix
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

RECIPE = Path(__file__).resolve().parent.parent / "egs2" / "fsdd_speechmix" / "cls1"
CONFIGS = ("baseline", "bc", "plain", "speechmix")


def _run(args: List[str], log: Path) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    with open(log, "w") as out:
        proc = subprocess.run(["./run.sh", *args], cwd=RECIPE, env=env, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise SystemExit(f"ERROR: ./run.sh {' '.join(args)} failed, see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per config (N)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    parser.add_argument("--max_epoch", type=int, default=None, help="override the configs' max_epoch (24)")
    parser.add_argument("--tag", default="bench", help="experiment name prefix under exp/")
    args = parser.parse_args()

    logs = RECIPE / "exp" / f"{args.tag}_logs"
    logs.mkdir(parents=True, exist_ok=True)
    _run(["--stop_stage", "5"], logs / "prep.log")
    accuracies: Dict[str, List[float]] = {c: [] for c in args.configs}
    print(f"{'config':<10} {'seed':>4} {'test acc %':>10} {'minutes':>8}", flush=True)
    for seed in range(1, args.seeds + 1):
        for config in args.configs:
            tag = f"{args.tag}_{config}_seed{seed}"
            cls_args = f"--seed {seed}"
            if args.max_epoch:
                # Keep the configs' lr steps (x0.1 at 1/2 and 3/4 of training) for shorter runs.
                e = args.max_epoch
                cls_args += f" --max_epoch {e} --scheduler_conf milestones=[{e // 2},{3 * e // 4}]"
            start = time.time()
            _run(["--stage", "6", "--stop_stage", "8", "--cls_config", f"conf/train_{config}.yaml",
                  "--cls_tag", tag, "--cls_args", cls_args, "--eval_valid", "false"], logs / f"{tag}.log")
            metrics = json.loads((RECIPE / "exp" / f"cls_{tag}" / "cls_test" / "scoring" / "metrics.json").read_text())
            accuracies[config].append(metrics["accuracy"])
            print(f"{config:<10} {seed:>4} {metrics['accuracy']:>10.2f} {(time.time() - start) / 60:>8.1f}", flush=True)
    print(f"\nunseen speaker (nicolas), {args.seeds} seed(s) per method")
    print(f"{'config':<10} {'mean acc %':>10} {'std':>6}")
    for config, values in accuracies.items():
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"{config:<10} {statistics.mean(values):>10.2f} {std:>6.2f}")


if __name__ == "__main__":
    main()
