"""Run a recipe of egs2/ in a scratch copy (symlinks to the repository's files),
so that its data/, dump/ and exp/ land in a temporary directory."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence, Tuple

from conftest import REPO_ROOT


def scratch_recipe(name: str, root: Path) -> Path:
    """<root>/egs2/<name>/asr1 whose entries link to the repository's recipe (outputs excepted)."""
    source = REPO_ROOT / "egs2" / name / "asr1"
    target = root / "egs2" / name / "asr1"
    target.mkdir(parents=True)
    for entry in source.iterdir():
        if entry.name not in ("data", "dump", "exp", "README.md", "RESULTS.md"):
            (target / entry.name).symlink_to(entry)
    return target


def run_recipe(recipe: Path, args: Sequence[str], log_name: str, timeout: int = 600) -> Tuple[float, float, str]:
    """./run.sh args in ``recipe``; -> (wall seconds, CPU seconds of all its processes, log text).
    Fails the test with the log tail on error."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["OMP_NUM_THREADS"] = "1"
    start = time.monotonic()
    cpu_start = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        ["./run.sh", *args], cwd=recipe, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout
    )
    seconds = time.monotonic() - start
    cpu_end = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_end.ru_utime + cpu_end.ru_stime) - (cpu_start.ru_utime + cpu_start.ru_stime)
    log = proc.stdout.decode(errors="replace")
    (recipe / log_name).write_text(log)
    if proc.returncode != 0:
        raise AssertionError(f"./run.sh {' '.join(args)} failed ({proc.returncode}):\n{log[-4000:]}")
    return seconds, cpu, log
