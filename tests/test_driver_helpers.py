"""utils/driver_helpers.sh, shared by every recipe driver: Ctrl-C (a real SIGINT
to the process group) or a SIGTERM stops every process a driver started, and
bad --stage / --stop_stage values fail with the allowed range, in every driver."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from process_tree import as_terminal_job, descendants, wait_until_gone

REPO = Path(__file__).resolve().parent.parent
HELPERS = REPO / "egs2" / "TEMPLATE" / "asr1" / "utils" / "driver_helpers.sh"

# A "trainer" as a driver starts one: SIGINT ignored (what "&" does to it), a
# forked worker, and a ready file once both are up.
TRAINER = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
if os.fork() == 0:
    time.sleep(600)
    sys.exit(0)
open(sys.argv[1], "w").close()
time.sleep(600)
"""


def write_drivers(tmp: Path) -> Path:
    """outer.sh (like run.sh) starts two inner.sh (like asr.sh) in parallel, each a trainer."""
    (tmp / "trainer.py").write_text(TRAINER)
    (tmp / "inner.sh").write_text(f"""#!/usr/bin/env bash
set -euo pipefail
. {HELPERS}
# polls its job as asr.sh's run_with_progress does (a foreground sleep)
start_group {sys.executable} {tmp}/trainer.py "$1"
while kill -0 "$last_group_pid" 2>/dev/null; do sleep 1; done
wait_group "$last_group_pid"
""")
    (tmp / "outer.sh").write_text(f"""#!/usr/bin/env bash
set -euo pipefail
. {HELPERS}
# each job's lines prefixed in this driver's group, as run.sh's parallel trainings
start_group {tmp}/inner.sh {tmp}/ready.a > >(prefix_lines "[a] " > {tmp}/a.log) 2>&1
a=$last_group_pid
start_group {tmp}/inner.sh {tmp}/ready.b > >(prefix_lines "[b] " > {tmp}/b.log) 2>&1
b=$last_group_pid
wait_group "$a"
wait_group "$b"
""")
    for name in ("inner.sh", "outer.sh"):
        (tmp / name).chmod(0o755)
    return tmp / "outer.sh"


def start_tree(tmp: Path):
    outer = subprocess.Popen([str(write_drivers(tmp))], start_new_session=True, preexec_fn=as_terminal_job,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not ((tmp / "ready.a").exists() and (tmp / "ready.b").exists()):
        assert outer.poll() is None and time.monotonic() < deadline, "the process tree did not start"
        time.sleep(0.05)
    time.sleep(0.2)  # the forked workers
    tree = descendants(outer.pid)
    assert sum("trainer.py" in p.cmdline for p in tree) == 4, tree  # 2 trainers + 2 workers
    return outer, tree


@pytest.mark.parametrize("how, code", [("SIGINT to the process group", 130), ("SIGTERM to the driver", 143)])
def test_interrupt_leaves_no_process_behind(tmp_path: Path, how: str, code: int) -> None:
    outer, tree = start_tree(tmp_path)
    started = time.monotonic()
    if how.startswith("SIGINT"):
        os.killpg(outer.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    else:
        os.kill(outer.pid, signal.SIGTERM)  # what a scheduler's kill does
    assert outer.wait(timeout=30) == code, outer.stderr.read()
    left = wait_until_gone({p.pid for p in tree}, {p.pgid for p in tree} | {outer.pid}, timeout=5)
    assert not left, f"survivors after {how}: {left}"
    assert time.monotonic() - started < 15
    assert "interrupted" in outer.stderr.read()
    # the jobs' own reports came through their prefixed output
    assert "[a] " in (tmp_path / "a.log").read_text() and "stopped its jobs" in (tmp_path / "a.log").read_text()


def check_range(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f'. {HELPERS}; check_stage_range "$@"', "driver.sh", *args],
                          capture_output=True, text=True)


@pytest.mark.parametrize("args, message", [
    (("abc", "15", "1", "15"), "--stage 'abc': not a stage of this script (allowed: 1..15)"),
    (("16", "10000", "1", "15", "10000"), "--stage '16': not a stage of this script (allowed: 1..15)"),
    (("0", "3", "1", "15"), "--stage '0': not a stage"),
    (("2", "x1", "1", "15"), "--stop_stage 'x1': not a stage"),
    (("2", "99", "1", "15", "10000"), "--stop_stage '99': not a stage of this script (allowed: 1..15 (or 10000: up to the last stage))"),
    (("12", "11", "1", "15"), "--stage 12 --stop_stage 11 selects no stage"),
    (("-1", "3", "1", "15"), "--stage '-1'"),
])
def test_bad_stage_ranges_fail_naming_the_allowed_range(args, message) -> None:
    out = check_range(*args)
    assert out.returncode == 1 and message in out.stderr, out.stderr


@pytest.mark.parametrize("args", [("1", "15", "1", "15"), ("3", "10000", "1", "15", "10000"),
                                  ("11", "11", "1", "15"), ("08", "09", "1", "15")])
def test_good_stage_ranges_pass(args) -> None:
    out = check_range(*args)
    assert out.returncode == 0, out.stderr


# Every driver checks its stages before doing anything.
DRIVERS = [
    ("egs2/fsdd_mixrep/asr1", "./run.sh", "1..15"),
    ("egs2/fsdd_mixrep/asr1", "./asr.sh", "1..15"),
    ("egs2/wsj_mixrep/asr1", "./run.sh", "1..15"),
    ("egs2/swbd_mixrep/asr1", "./run.sh", "1..15"),
    ("egs2/fsdd_speechmix/cls1", "./run.sh", "1..8"),
    ("egs2/esc50_speechmix/cls1", "./run.sh", "1..8"),
    ("egs2/fsdd_learn2diss/ssl1", "./run.sh", "1..10"),
]


@pytest.mark.parametrize("recipe, driver, allowed", DRIVERS)
@pytest.mark.parametrize("stage", ["abc", "16"])
def test_every_driver_rejects_a_bad_stage(recipe: str, driver: str, allowed: str, stage: str) -> None:
    if stage == "16" and allowed == "1..15":
        stage = "17"
    before = sorted(p.name for p in (REPO / recipe).iterdir())
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    out = subprocess.run([driver, "--stage", stage], cwd=REPO / recipe, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert f"--stage '{stage}': not a stage of this script (allowed: {allowed})" in out.stderr
    assert "unbound variable" not in out.stderr and "Traceback" not in out.stderr
    assert sorted(p.name for p in (REPO / recipe).iterdir()) == before  # nothing written


def test_interrupted_slurm_runner_cancels_its_job(tmp_path: Path) -> None:
    """Killing ``sbatch --wait`` leaves the job running on the cluster: utils/slurm.pl cancels it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text("#!/usr/bin/env bash\necho '4242;cluster'\nexec sleep 600\n")
    (bin_dir / "scancel").write_text(f"#!/usr/bin/env bash\necho \"$@\" >> {tmp_path}/cancelled\n")
    for name in ("sbatch", "scancel"):
        (bin_dir / name).chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    runner = subprocess.Popen([sys.executable, "-m", "espnet_mixrep.bin.run_jobs", "slurm", "--gpu", "1",
                               str(tmp_path / "log" / "train.log"), "train", "everything"],
                              cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 30
    while not [p for p in descendants(runner.pid) if "sleep" in p.cmdline]:
        assert runner.poll() is None and time.monotonic() < deadline, runner.stderr.read()
        time.sleep(0.05)
    sbatch = descendants(runner.pid)
    os.kill(runner.pid, signal.SIGTERM)
    assert runner.wait(timeout=20) == 143
    assert (tmp_path / "cancelled").read_text().split() == ["4242"]
    assert "cancelled job 4242" in runner.stderr.read()
    assert not wait_until_gone({p.pid for p in sbatch}, set(), timeout=5)
