"""CPU time of our SPHERE decoder (numba-compiled shorten, G.711 tables) per
audio minute, and of sph2pipe on the same files when it is on PATH; the JIT
warm-up (a cold compile, and a load from numba's on-disk cache); memory on a
long WSJ-like stream; and a WSJ-size stage-3 estimate for 2 and 32 cores.

    python benchmarks/bench_sphere_decode.py [--sphere_dir DIR] [--repeats 200]

The files are the real LDC ones of ../shared/data/sphere (20 kHz, mono and
two-channel). CPU seconds are user + sys of this process (or of the
children, for subprocesses): load on the machine affects them far less than
wall time, which is not reported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from ldc_fixtures import SpeechSource, write_shorten_sphere  # noqa: E402

from espnet_mixrep.stages.format import format_data_dir  # noqa: E402
from espnet_mixrep.core.datadir import Utterance, write_data_dir  # noqa: E402
from espnet_mixrep.core.shorten import warm_up_decoder  # noqa: E402
from espnet_mixrep.core.sphere import decode_sphere_bytes, sph2pipe_path, sphere_wav_command  # noqa: E402

# WSJ train_si284 (specs/recipes.md): 37416 utterances, about 81 h of 16 kHz mono.
WSJ_UTTERANCES, WSJ_HOURS = 37416, 81.0


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


WARM_UP_PROBE = """
import json, resource, time
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF); return u.ru_utime + u.ru_stime
t0 = cpu(); import numba; t1 = cpu()
from espnet_mixrep.core.shorten import warm_up_decoder; t2 = cpu()
warm_up_decoder(); t3 = cpu()
print(json.dumps({"import_numba": t1 - t0, "import_decoder": t2 - t1, "first_decode": t3 - t2}))
"""


def warm_up_costs() -> Dict[str, Dict[str, float]]:
    """CPU of a process's first decode: with an empty numba cache (compile), then with the cache it left."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        runs = {}
        for name in ("cold (compile)", "cached (load)"):
            out = subprocess.run([sys.executable, "-c", WARM_UP_PROBE], env=env, capture_output=True, check=True)
            runs[name] = json.loads(out.stdout)
    return runs


def ours_per_file(path: Path, repeats: int) -> float:
    data = path.read_bytes()
    decode_sphere_bytes(data, str(path))
    start = cpu_self()
    for _ in range(repeats):
        decode_sphere_bytes(data, str(path))
    return (cpu_self() - start) / repeats


def sph2pipe_per_file(sph2pipe: str, path: Path, repeats: int) -> float:
    start = cpu_children()
    for _ in range(repeats):
        subprocess.run([sph2pipe, "-f", "raw", "-p", str(path)], stdout=subprocess.DEVNULL, check=True)
    return (cpu_children() - start) / repeats


MEMORY_PROBE = """
import json, sys
from espnet_mixrep.core.shorten import warm_up_decoder
from espnet_mixrep.core.sphere import decode_sphere_bytes
def status(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key + ":"))
warm_up_decoder()
data = open(sys.argv[1], "rb").read()
open("/proc/self/clear_refs", "w").write("5")  # restart the peak-RSS count (VmHWM) from here
before = status("VmRSS")
samples, rate = decode_sphere_bytes(data)
print(json.dumps({"peak_kb": status("VmHWM") - before, "compressed": len(data), "output": samples.nbytes}))
"""


def long_wsj_like_file(root: Path, seconds: float) -> Path:
    """A 16 kHz mono shorten .wv1 of ``seconds`` of speech (FSDD digits when present)."""
    source = SpeechSource(16000)
    parts, total, take = [], 0, 0
    while total < seconds * 16000:
        parts.append(source.utterance([take % 10, (take + 3) % 10], take))
        total += len(parts[-1])
        take += 1
    path = root / f"long_{int(seconds)}s.wv1"
    write_shorten_sphere(path, np.concatenate(parts)[: int(seconds * 16000)], 16000)
    return path


def stage3_per_utterance(root: Path, utterances: int, seconds: float) -> float:
    """CPU of stage 3 (format, one job, in this process) per WSJ-like utterance: decode, write, bookkeeping."""
    one = long_wsj_like_file(root, seconds)
    utts = []
    for i in range(utterances):
        path = root / f"utt{i:03d}.wv1"
        shutil.copy(one, path)
        utts.append(Utterance(f"utt{i:03d}", "spk", "one two", sphere_wav_command(path)))
    write_data_dir(root / "data", utts)
    start = cpu_self()
    format_data_dir(root / "data", root / "dump", fs=16000, nj=1, use_sph2pipe=False)
    return (cpu_self() - start) / utterances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sphere_dir", type=Path, default=REPO.parent / "shared" / "data" / "sphere")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--memory_seconds", type=float, default=133.0, help="length of the long stream")
    args = parser.parse_args()
    files = sorted(args.sphere_dir.glob("*.sph"))
    if not files:
        sys.exit(f"no .sph files in {args.sphere_dir}: pass --sphere_dir")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; CPU s = user + sys")

    for name, costs in warm_up_costs().items():
        total = sum(costs.values())
        print(f"warm-up, {name}: {total:.2f} CPU s (import numba {costs['import_numba']:.2f}, "
              f"decoder module {costs['import_decoder']:.2f}, first decode {costs['first_decode']:.2f})")  # fmt: skip

    warm_up_decoder()
    sph2pipe = sph2pipe_path()
    print(f"{'file':<18} {'ch':>2} {'our ms':>7} {'our CPU s/audio min':>20} {'at 16 kHz mono':>15}"
          + (f" {'sph2pipe CPU s/audio min':>25} {'ratio':>6}" if sph2pipe else ""))  # fmt: skip
    per_minute_16k = []
    for path in files:
        samples, rate = decode_sphere_bytes(path.read_bytes(), str(path))
        frames, channels = samples.shape
        minutes = frames / rate / 60
        ours = ours_per_file(path, args.repeats)
        mono_16k = ours / (frames * channels) * 16000 * 60  # CPU per sample, as a minute of 16 kHz mono
        per_minute_16k.append(mono_16k)
        line = f"{path.stem:<18} {channels:>2} {ours * 1000:7.3f} {ours / minutes:20.4f} {mono_16k:15.4f}"
        if sph2pipe:
            theirs = sph2pipe_per_file(sph2pipe, path, max(20, args.repeats // 10))
            line += f" {theirs / minutes:25.4f} {ours / theirs:6.2f}"
        print(line)
    if not sph2pipe:
        print("sph2pipe is not on PATH: no sph2pipe figures from this run")

    with tempfile.TemporaryDirectory() as tmp:
        long_file = long_wsj_like_file(Path(tmp), args.memory_seconds)
        out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(long_file)], capture_output=True, check=True)
        memory = json.loads(out.stdout)
        peak = memory["peak_kb"] * 1024
        print(f"memory, {args.memory_seconds:.0f} s of 16 kHz mono shorten ({memory['compressed'] / 1e6:.2f} MB): "
              f"decoding peaks {peak / 1e6:.1f} MB above the RSS before it = {peak / memory['compressed']:.1f} bytes "
              f"per compressed byte, {peak / memory['output']:.2f} per output byte "
              f"(output {memory['output'] / 1e6:.1f} MB)")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        seconds = WSJ_HOURS * 3600 / WSJ_UTTERANCES
        per_utt = stage3_per_utterance(Path(tmp), 40, seconds)
        warm = warm_up_costs()["cached (load)"]
        job_start = sum(warm.values())
        print(f"stage 3 on WSJ-like utterances ({seconds:.1f} s, 16 kHz shorten, one job): {per_utt * 1000:.1f} ms CPU "
              f"per utterance ({per_utt / (seconds / 60):.3f} CPU s per audio minute, decode + wav write)")  # fmt: skip
        total = per_utt * WSJ_UTTERANCES
        for cores in (2, 32):
            estimate = (total + cores * job_start) / cores
            print(f"WSJ si284 stage 3 estimate ({WSJ_UTTERANCES} utterances, {WSJ_HOURS:.0f} h), --nj {cores} on {cores} "
                  f"cores: {total / 60:.1f} CPU min in all, about {estimate / 60:.1f} min")  # fmt: skip
    print(f"median over the files: {np.median(per_minute_16k):.4f} CPU s per minute of 16 kHz mono")


if __name__ == "__main__":
    main()
