"""Kaldi-style job runners for the recipe: ``utils/run.pl`` (local, parallel)
and ``utils/slurm.pl`` (Slurm job arrays) call this module.

Interface (as Kaldi's run.pl / slurm.pl, which ESPnet's launcher expects)::

    run.pl [--gpu N] [--mem 4G] [--num_threads N] [--max_jobs_run N]
           [--num_nodes N] [--time 1:00:00] [--partition P] [--account A]
           [--name NAME] [JOB=1:n] <log> <command ...>

Every ``JOB`` in the log path and the command is replaced by the job index.
The log gets the command, start time, the command's output and
"# Ended (code N)", as Kaldi's. Exit status is non-zero if any job failed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Optional, Tuple

_JOB_RANGE = re.compile(r"^([A-Za-z_]+)=(\d+):(\d+)$")


def parse_runner_args(argv: List[str]) -> Tuple[argparse.Namespace, Optional[Tuple[str, int, int]], str, List[str]]:
    """Split ``argv`` into (options, (JOB, first, last) or None, log, command)."""
    options = {
        "gpu": "0", "mem": "", "num_threads": "1", "max_jobs_run": "", "num_nodes": "1",
        "time": "", "partition": "", "account": "", "name": "", "config": "",
    }
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        key = argv[i][2:].replace("-", "_")
        if "=" in key:
            key, value = key.split("=", 1)
            i += 1
        else:
            if i + 1 >= len(argv):
                raise SystemExit(f"run_jobs: option --{key} needs a value")
            value = argv[i + 1]
            i += 2
        if key not in options:
            raise SystemExit(f"run_jobs: unknown option --{key}")
        options[key] = value
    job_range = None
    if i < len(argv) and _JOB_RANGE.match(argv[i]):
        var, first, last = _JOB_RANGE.match(argv[i]).groups()
        job_range = (var, int(first), int(last))
        if job_range[1] > job_range[2]:
            raise SystemExit(f"run_jobs: empty job range {argv[i]}")
        i += 1
    if len(argv) - i < 2:
        raise SystemExit("usage: run.pl [options] [JOB=1:n] <log> <command ...>")
    return argparse.Namespace(**options), job_range, argv[i], argv[i + 1 :]


def _command_string(command: List[str]) -> str:
    # Kaldi joins a one-word command as shell text and quotes args otherwise.
    if len(command) == 1:
        return command[0]
    return " ".join(arg if re.fullmatch(r"[\w@%+=:,./|<>&;()\[\]$*'\"-]+", arg) else shlex.quote(arg) for arg in command)


def _substitute(text: str, var: Optional[str], index: Optional[int]) -> str:
    return text if var is None else re.sub(rf"\b{var}\b", str(index), text)


def run_local_job(log: str, command: str) -> int:
    log_path = Path(log)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with open(log_path, "w", encoding="utf-8") as f:
        f.write(f"# {command}\n# Started at {datetime.datetime.now().ctime()}\n#\n")
        f.flush()
        code = subprocess.call(["bash", "-c", command], stdout=f, stderr=subprocess.STDOUT)
        f.write(f"# Accounting: time={int(time.time() - start)} threads=1\n")
        f.write(f"# Ended (code {code}) at {datetime.datetime.now().ctime()}, elapsed time {int(time.time() - start)} seconds\n")
    return code


def run_local(opts: argparse.Namespace, job_range, log: str, command: List[str]) -> int:
    text = _command_string(command)
    var, first, last = job_range if job_range else (None, None, None)
    indices = list(range(first, last + 1)) if job_range else [None]
    max_jobs = int(opts.max_jobs_run) if opts.max_jobs_run else len(indices)
    with ThreadPoolExecutor(max_workers=max(1, max_jobs)) as pool:
        codes = list(pool.map(lambda i: run_local_job(_substitute(log, var, i), _substitute(text, var, i)), indices))
    failed = [i for i, c in zip(indices, codes) if c != 0]
    if failed:
        where = _substitute(log, var, failed[0])
        if job_range:
            print(f"run.pl: {len(failed)} / {len(indices)} failed, log is in {where}", file=sys.stderr)
        else:
            print(f"run.pl: job failed, log is in {where}", file=sys.stderr)
        return 1
    return 0


def build_sbatch_script(opts: argparse.Namespace, job_range, log: str, command: List[str], workdir: str) -> Tuple[str, List[str]]:
    """(batch script text, sbatch options) for a Slurm submission of the jobs."""
    var = job_range[0] if job_range else None
    text = _command_string(command)
    sbatch = ["--parsable", "--wait", f"--cpus-per-task={opts.num_threads}", f"--nodes={opts.num_nodes}", "--ntasks-per-node=1"]
    if job_range:
        limit = f"%{opts.max_jobs_run}" if opts.max_jobs_run else ""
        sbatch.append(f"--array={job_range[1]}-{job_range[2]}{limit}")
    if int(opts.gpu) > 0:
        sbatch.append(f"--gres=gpu:{opts.gpu}")
    for key, flag in (("mem", "--mem"), ("time", "--time"), ("partition", "--partition"), ("account", "--account"), ("name", "--job-name")):
        if getattr(opts, key):
            sbatch.append(f"{flag}={getattr(opts, key)}")
    job_index = "${SLURM_ARRAY_TASK_ID}" if job_range else ""
    log_expr = _substitute(log, var, job_index) if var else log
    cmd_expr = _substitute(text, var, job_index) if var else text
    script = "\n".join(
        [
            "#!/usr/bin/env bash",
            f"cd {shlex.quote(workdir)}",
            f'log="{log_expr}"',
            'mkdir -p "$(dirname "$log")"',
            f"echo {shlex.quote('# ' + text)} > \"$log\"",
            'echo "# Started at $(date)" >> "$log"',
            f"( {cmd_expr} ) >> \"$log\" 2>&1",
            "code=$?",
            'echo "# Ended (code $code) at $(date)" >> "$log"',
            "exit $code",
            "",
        ]
    )
    return script, sbatch


def run_slurm(opts: argparse.Namespace, job_range, log: str, command: List[str]) -> int:
    log_dir = Path(_substitute(log, job_range[0], 0) if job_range else log).parent
    q_dir = log_dir / "q"
    q_dir.mkdir(parents=True, exist_ok=True)
    script, sbatch = build_sbatch_script(opts, job_range, log, command, os.getcwd())
    name = Path(log).name.replace(job_range[0], "JOB") if job_range else Path(log).name
    script_path = q_dir / f"{name}.sh"
    script_path.write_text(script)
    out = str(q_dir / f"{name}.%A_%a.out") if job_range else str(q_dir / f"{name}.%j.out")
    # sbatch --wait --parsable prints the job id at submission, then waits for the
    # job. Killing sbatch does not stop the job: an interrupt cancels it.
    job_id = ""
    proc: Optional[subprocess.Popen] = None

    def cancel(signum: int, frame: object) -> None:
        if job_id:
            subprocess.call(["scancel", job_id])
            print(f"slurm.pl: interrupted, cancelled job {job_id}", file=sys.stderr)
        if proc is not None:
            proc.terminate()
        sys.exit(128 + signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, cancel)
    proc = subprocess.Popen(["sbatch", *sbatch, f"--output={out}", str(script_path)], stdout=subprocess.PIPE, text=True)
    job_id = proc.stdout.readline().strip().split(";")[0]
    proc.stdout.read()
    if proc.wait() != 0:
        print(f"slurm.pl: submission or job failed (sbatch exit {proc.returncode}); logs: {log}, {q_dir}", file=sys.stderr)
        return 1
    return 0


def main(argv: Optional[List[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("local", "slurm"):
        raise SystemExit("usage: python -m espnet_mixrep.bin.run_jobs {local,slurm} [options] [JOB=1:n] <log> <command ...>")
    backend = argv.pop(0)
    opts, job_range, log, command = parse_runner_args(argv)
    run = run_local if backend == "local" else run_slurm
    sys.exit(run(opts, job_range, log, command))


if __name__ == "__main__":
    main()
