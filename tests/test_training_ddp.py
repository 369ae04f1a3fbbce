"""MixRep under real DDP: 2 CPU processes with the gloo backend started by torchrun.

With batches of 3 split over 2 ranks, rank 1 gets one utterance per step and
cannot mix while rank 0 mixes: both must still issue the same collectives
(ESPnet averages the stats key by key across ranks), or training hangs. A run
stopped after epoch 1 and resumed must reproduce the uninterrupted run bit for
bit, and each rank must draw its own mixing plans.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import tiny_training as tt

pytestmark = pytest.mark.e2e

DDP = ["--dist_backend", "gloo", "--multiprocessing_distributed", "false"]


def torchrun(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node 2 <args>``; a hang fails the test at ``timeout``."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    try:
        proc = subprocess.run(cmd, env=tt.env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"torchrun did not finish in {timeout} s (a DDP hang?): {' '.join(cmd)}")
    if proc.returncode != 0:
        pytest.fail(f"torchrun failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="module")
def ddp_runs(fsdd_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ddp")
    opts = tt.prepare(root, fsdd_dir)
    # our entry point, as the recipes run it: stock espnet2.bin.asr_train never
    # closes the process group, and a gloo rank that exits while rank 0 still
    # averages models can abort at interpreter exit (seen in CI; README, DDP)
    straight = torchrun("-m", "espnet_mixrep.bin.asr_train", *opts, *DDP, "--output_dir", str(root / "straight"))
    torchrun("-m", "espnet_mixrep.bin.asr_train", *opts, *DDP, "--output_dir", str(root / "resumed"),
             "--max_epoch", "1")
    resumed = torchrun("-m", "espnet_mixrep.bin.asr_train", *opts, *DDP, "--output_dir", str(root / "resumed"),
                       "--resume", "true")
    return root, straight.stderr, resumed.stderr


def test_ddp_with_a_rank_that_cannot_mix_finishes(ddp_runs) -> None:
    root, log, _ = ddp_runs
    assert "The training was finished at 2 epochs" in log
    stats = tt.epoch_stats(root / "straight")
    for epoch in (1, 2):
        train = tt.train_stats(stats, epoch)
        # 2 steps a rank; rank 1 reported NaN mixing stats, rank 0 real ones
        # (ESPnet's cross-rank average skips NaN, scaled as if every rank had reported)
        assert train["total_count"] == 2 * epoch
        assert math.isfinite(train["mix_layer"]) and math.isfinite(train["mix_lambda"]) and train["mix_lambda"] > 0


def test_ddp_resumed_run_is_bit_identical(ddp_runs) -> None:
    root, _, log = ddp_runs
    assert f"espnet_mixrep: resuming from {root / 'resumed' / 'checkpoint.pth'} (epoch 1 done)" in log
    straight, resumed = tt.epoch_stats(root / "straight"), tt.epoch_stats(root / "resumed")
    assert tt.train_stats(resumed, 2) == tt.train_stats(straight, 2)
    assert tt.same_weights(tt.weights(root / "resumed" / "2epoch.pth"), tt.weights(root / "straight" / "2epoch.pth"))


PLANS = """
import json, sys
import torch
import torch.distributed as dist
from espnet_mixrep.mixrep.encoder import MixRepConformerEncoder

dist.init_process_group("gloo")
encoder = MixRepConformerEncoder(20, output_size=16, attention_heads=2, linear_units=32, num_blocks=2,
                                 mix_layers="0,1,2", mix_tau=0.5, mix_lambda_per_utterance=True)
torch.manual_seed(7)  # the trainer seeds every rank alike
plans = [encoder.draw_mix_plan(6) for _ in range(4)]
mine = [[p.layer, p.rows.tolist(), p.partners.tolist(), p.lam.tolist()] for p in plans]
every = [None, None]
dist.all_gather_object(every, mine)
if dist.get_rank() == 0:
    print("PLANS " + json.dumps(every))
dist.destroy_process_group()
"""


def test_each_rank_draws_its_own_plans(tmp_path: Path) -> None:
    script = tmp_path / "plans.py"
    script.write_text(PLANS)
    out = torchrun(str(script), timeout=600).stdout
    rank0, rank1 = json.loads(next(line for line in out.splitlines() if line.startswith("PLANS "))[6:])
    assert rank0 != rank1
