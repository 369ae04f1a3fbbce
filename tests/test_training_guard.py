"""Interrupted and resumed training with ESPnet's trainer on a tiny MixRep model
and real FSDD audio: exact resume, checkpoint recovery, config drift, the lock.

The uninterrupted run uses the stock ``python -m espnet2.bin.asr_train``; the
others our ``espnet_mixrep.bin.asr_train`` (ESPnet's trainer behind the guard
of espnet_mixrep/stages/training.py). The runs compared for exact resume are
fresh processes; the recovery, drift and lock checks run main() in this one
(on one thread, as the subprocesses) to keep the module fast.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

import tiny_training as tt
from espnet_mixrep.stages.training import (
    LOCK_NAME,
    atomic_torch_saves,
    config_differences,
    experiment_lock,
    recover_training_state,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def runs(fsdd_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """exp/straight: 2 epochs in one go; exp/resumed: 1 epoch, then resumed for the 2nd."""
    root = tmp_path_factory.mktemp("guard")
    opts = tt.prepare(root, fsdd_dir)
    tt.train(opts, root / "straight", module="espnet2.bin.asr_train")
    tt.train(opts, root / "resumed", "--max_epoch", "1")
    resumed = tt.train(opts, root / "resumed", "--resume", "true")
    return root, opts, resumed.stderr


def copy_exp(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def test_resumed_run_is_bit_identical_to_uninterrupted_run(runs) -> None:
    root, _, log = runs
    straight, resumed = tt.epoch_stats(root / "straight"), tt.epoch_stats(root / "resumed")
    assert tt.train_stats(resumed, 2) == tt.train_stats(straight, 2)
    assert tt.train_stats(resumed, 2)["mix_layer"] == tt.train_stats(resumed, 2)["mix_layer"]  # mixed (not NaN)
    assert {k: v for k, v in resumed[2]["valid"].items() if k != "time"} == \
        {k: v for k, v in straight[2]["valid"].items() if k != "time"}
    for name in ("1epoch.pth", "2epoch.pth", "valid.acc.ave.pth"):
        assert tt.same_weights(tt.weights(root / "resumed" / name), tt.weights(root / "straight" / name)), name
    assert f"espnet_mixrep: resuming from {root / 'resumed' / 'checkpoint.pth'} (epoch 1 done)" in log


def test_atomic_saves_keep_the_previous_checkpoint_and_survive_a_failed_save(tmp_path: Path) -> None:
    target = tmp_path / "checkpoint.pth"

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("killed mid-save")

    with atomic_torch_saves():
        torch.save({"epoch": 1}, target)
        torch.save({"epoch": 2}, target)
        with pytest.raises(RuntimeError, match="killed mid-save"):
            torch.save({"epoch": 3, "bad": Unpicklable()}, target)
    assert torch.load(target)["epoch"] == 2
    assert torch.load(tmp_path / "checkpoint_prev.pth")["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pth", "checkpoint_prev.pth"]


def test_truncated_newest_epoch_file_is_the_only_file_set_aside(runs, tmp_path: Path) -> None:
    root, _, _ = runs
    exp = copy_exp(root / "resumed", tmp_path / "exp")
    before = {p.name: p.read_bytes() for p in exp.iterdir() if p.is_file() and not p.is_symlink()}
    data = (exp / "2epoch.pth").read_bytes()
    (exp / "2epoch.pth").write_bytes(data[: len(data) // 3])
    notes = recover_training_state(exp)
    assert any("2epoch.pth: unreadable, set aside as 2epoch.pth.unreadable" in n for n in notes), notes
    assert f"{exp / '2epoch.pth'}: rewritten from checkpoint.pth" in notes
    assert notes[-1] == f"resuming from {exp / 'checkpoint.pth'} (epoch 2 done)"
    assert tt.same_weights(tt.weights(exp / "2epoch.pth"), tt.weights(root / "resumed" / "2epoch.pth"))
    for name, content in before.items():
        if name != "2epoch.pth":
            assert (exp / name).read_bytes() == content, name


def test_truncated_checkpoint_resumes_from_the_previous_one(runs, tmp_path: Path, capfd) -> None:
    root, opts, _ = runs
    exp = copy_exp(root / "resumed", tmp_path / "exp")
    data = (exp / "checkpoint.pth").read_bytes()
    (exp / "checkpoint.pth").write_bytes(data[: len(data) // 2])  # a save cut short
    tt.train_in_process(opts, exp, "--resume", "true")
    log = capfd.readouterr().err
    assert f"{exp / 'checkpoint.pth'}: unreadable (a save cut short?), set aside as checkpoint.pth.unreadable" in log
    assert f"resuming from {exp / 'checkpoint_prev.pth'} (epoch 1 done)" in log
    assert sorted(tt.epoch_stats(exp)) == [1, 2]
    assert (exp / "1epoch.pth").exists() and (exp / "checkpoint.pth.unreadable").exists()
    assert tt.train_stats(tt.epoch_stats(exp), 2) == tt.train_stats(tt.epoch_stats(root / "straight"), 2)
    assert tt.same_weights(tt.weights(exp / "2epoch.pth"), tt.weights(root / "straight" / "2epoch.pth"))


def test_changed_config_is_refused_then_retrained_on_request(runs, tmp_path: Path, capfd) -> None:
    root, opts, _ = runs
    exp = copy_exp(root / "resumed", tmp_path / "exp")
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(dict(tt.CONFIG, encoder_conf=dict(tt.CONFIG["encoder_conf"], mix_tau=0.3))))
    opts = list(opts)
    opts[opts.index("--config") + 1] = str(changed)
    saved = {p.name: p.read_bytes() for p in exp.iterdir() if p.is_file() and not p.is_symlink()}

    with pytest.raises(SystemExit) as refused:
        tt.train_in_process(opts, exp, "--resume", "true")
    err = capfd.readouterr().err
    assert refused.value.code == 1
    assert "(differing keys: encoder_conf.mix_tau: 0.5 -> 0.3)" in err
    assert "--retrain true" in err and "--asr_tag" in err
    for name, content in saved.items():  # config.yaml still describes the saved model
        if not name.startswith("."):  # the lock and the guard's copy of the trained config
            assert (exp / name).read_bytes() == content, name

    tt.train_in_process(opts, exp, "--resume", "true", "--retrain", "true")
    assert f"moved the old training state to {exp / 'superseded_1'}" in capfd.readouterr().err
    assert sorted(tt.epoch_stats(exp)) == [1, 2]  # trained again from epoch 1
    assert yaml.safe_load((exp / "config.yaml").read_text())["encoder_conf"]["mix_tau"] == 0.3
    assert (exp / "superseded_1" / "checkpoint.pth").exists() and (exp / "superseded_1" / "2epoch.pth").exists()
    assert yaml.safe_load((exp / "superseded_1" / "config.yaml").read_text())["encoder_conf"]["mix_tau"] == 0.5


def test_config_differences_ignore_runtime_keys() -> None:
    trained = {"max_epoch": 10, "ngpu": 1, "seed": 0, "optim_conf": {"lr": 0.002}, "keep_nbest_models": 10}
    new = {"max_epoch": 20, "ngpu": 4, "seed": 1, "optim_conf": {"lr": 0.001}, "keep_nbest_models": 5, "x": 1}
    assert config_differences(trained, new) == ["seed: 0 -> 1", "optim_conf.lr: 0.002 -> 0.001", "x: (absent) -> 1"]


HOLDER = """
import sys, time
from espnet_mixrep.stages.training import experiment_lock
with experiment_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(600)
"""


def test_a_second_trainer_is_refused_and_a_dead_holders_lock_taken_over(runs, tmp_path: Path, capfd) -> None:
    root, opts, _ = runs
    exp = copy_exp(root / "resumed", tmp_path / "exp")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(exp)], stdout=subprocess.PIPE, text=True, env=tt.env())
    try:
        # (after ESPnet's import-time chatter)
        assert any(line.strip() == "locked" for line in iter(holder.stdout.readline, ""))
        with pytest.raises(SystemExit) as second:
            tt.train_in_process(opts, exp, "--resume", "true")
        assert second.value.code == 1
        assert f"ERROR: {exp} is in use by another trainer (pid {holder.pid} on " in capfd.readouterr().err
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # dies holding the lock: its record stays
        holder.wait()
    assert f"pid {holder.pid} " in (exp / LOCK_NAME).read_text()
    with experiment_lock(exp) as stale:
        assert stale is not None and stale.startswith(f"pid {holder.pid} on ")
        assert f"pid {os.getpid()} " in (exp / LOCK_NAME).read_text()
    assert (exp / LOCK_NAME).read_text() == ""  # released
