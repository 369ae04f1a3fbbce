"""Audio stages of the recipe driver: speed perturbation, formatting into
``dump/raw`` and length filtering. Each writes its output directory completely
under a temporary name and renames it at the end, so an interrupted stage
leaves nothing a rerun would trust.
"""

from __future__ import annotations

import os
import queue as queue_module
import shutil
import sys
import traceback
from collections import Counter
from fractions import Fraction
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from espnet_mixrep.core.datadir import (
    DataDirError,
    PathLike,
    Utterance,
    atomic_dir,
    read_kaldi_map,
    validate_data_dir,
    write_data_dir,
    write_kaldi_map,
)
from espnet_mixrep.core.audio import WavEntryReader, read_wav_entry, resample
from espnet_mixrep.core.shorten import warm_up_decoder
from espnet_mixrep.core.sphere import parse_sphere_command


def _load_data_dir(data_dir: Path) -> Tuple[List[Utterance], Dict[str, str]]:
    validate_data_dir(data_dir)
    text = read_kaldi_map(data_dir / "text")
    utt2spk = read_kaldi_map(data_dir / "utt2spk")
    wav_scp = read_kaldi_map(data_dir / "wav.scp")
    segments = read_kaldi_map(data_dir / "segments") if (data_dir / "segments").exists() else {}
    utts = []
    for utt_id in sorted(text):
        if segments:
            rec, start, end = segments[utt_id].split()
            utts.append(Utterance(utt_id, utt2spk[utt_id], text[utt_id], wav_scp[rec], (rec, float(start), float(end))))
        else:
            utts.append(Utterance(utt_id, utt2spk[utt_id], text[utt_id], wav_scp[utt_id]))
    return utts, wav_scp


# One recording of a job: its wav.scp entry and the utterances (with speed factor) cut from it.
Recording = Tuple[str, List[Tuple[Utterance, float]]]
Written = Tuple[str, str, int]  # utterance id, wav path, number of samples


class JobOptions(NamedTuple):
    out_dir: str  # where the wavs go
    source: str  # the wav.scp, for error messages
    fs: int
    use_sph2pipe: bool


def _format_recording(recording: Recording, reader: WavEntryReader, options: JobOptions) -> List[Written]:
    """Read one wav.scp entry once and write every utterance cut from it (all speed factors)."""
    import soundfile

    entry, items = recording
    out_dir, source, fs, _ = options
    audio_of_recording, rate = reader.read(entry, source)
    results = []
    for utt, speed in items:
        audio = audio_of_recording
        if utt.segment is not None:
            _, start, end = utt.segment
            audio = audio[int(round(start * rate)) : int(round(end * rate))]
        if speed != 1.0:
            # Kaldi/sox "speed": play faster or slower, pitch moves with tempo.
            ratio = Fraction(speed).limit_denominator(100)
            audio = resample(audio, ratio.numerator, ratio.denominator)
        audio = resample(audio, rate, fs)
        if audio.size == 0:
            raise DataDirError(f"{source}: utterance '{utt.utt_id}' has no samples")
        path = Path(out_dir) / f"{utt.utt_id}.wav"
        soundfile.write(str(path), np.clip(audio, -1.0, 1.0), fs, subtype="PCM_16")
        results.append((utt.utt_id, str(path), int(audio.size)))
    return results


def _format_job(
    recordings: List[Recording], options: JobOptions, report: Callable[[int], None]
) -> Tuple[List[Written], Counter]:
    """One job: its recordings in order, in this process; ``report`` gets the utterances written per recording."""
    reader = WavEntryReader(options.use_sph2pipe)
    written: List[Written] = []
    for recording in recordings:
        done = _format_recording(recording, reader, options)
        written += done
        report(len(done))
    return written, reader.counts


def _job_process(index: int, recordings: List[Recording], options: JobOptions, queue) -> None:
    """Entry point of a job's process: progress, then its results or its error, on ``queue``."""
    parent = os.getppid()

    def report(n: int) -> None:
        if os.getppid() != parent:  # the driver is gone (killed): stop writing
            raise SystemExit(1)
        queue.put(("progress", index, n))

    try:
        queue.put(("done", index, _format_job(recordings, options, report)))
    except DataDirError as exc:
        queue.put(("data error", index, str(exc)))
    except BaseException:  # anything else: the driver shows the traceback
        queue.put(("failed", index, traceback.format_exc()))


def _audio_file(entry: str) -> str:
    command = parse_sphere_command(entry)
    return command.path if command is not None else entry


def split_jobs(recordings: List[Recording], nj: int) -> List[List[Recording]]:
    """At most ``nj`` contiguous runs of recordings, about equal in number; entries reading one
    SPHERE file (the sides of a conversation) stay in one job, so it is decoded once."""
    files = [_audio_file(entry) for entry, _ in recordings]
    n = max(1, min(nj, len(recordings)))
    bounds = [int(b) for b in np.linspace(0, len(recordings), n + 1)]
    for i in range(1, n):
        bounds[i] = max(bounds[i], bounds[i - 1])
        while 0 < bounds[i] < len(files) and files[bounds[i]] == files[bounds[i] - 1]:
            bounds[i] += 1
    jobs = [recordings[bounds[i] : bounds[i + 1]] for i in range(n)]
    return [job for job in jobs if job]


def _run_jobs(jobs: List[List[Recording]], options: JobOptions, desc: str) -> Tuple[List[Written], Counter]:
    """Run each job in a process of its own (in this one when there is one job), with a progress bar."""
    from tqdm import tqdm

    total = sum(len(items) for job in jobs for _, items in job)
    with tqdm(total=total, desc=desc, unit="utt", mininterval=5) as bar:
        if len(jobs) == 1:
            return _format_job(jobs[0], options, bar.update)
        if any(parse_sphere_command(entry) for job in jobs for entry, _ in job):
            warm_up_decoder()  # compile (or load) once here rather than in every job at the same time
        context = get_context("spawn")
        queue = context.Queue()
        processes = [
            context.Process(target=_job_process, args=(i, job, options, queue), daemon=True)
            for i, job in enumerate(jobs)
        ]
        for process in processes:
            process.start()
        results: Dict[int, Tuple[List[Written], Counter]] = {}
        try:
            while len(results) < len(jobs):
                try:
                    kind, index, payload = queue.get(timeout=10)
                except queue_module.Empty:
                    dead = [i for i, p in enumerate(processes) if p.exitcode not in (None, 0) and i not in results]
                    if dead:
                        raise RuntimeError(f"{desc}: job {dead[0] + 1} died (exit code {processes[dead[0]].exitcode})")
                    continue
                if kind == "progress":
                    bar.update(payload)
                elif kind == "done":
                    results[index] = payload
                elif kind == "data error":
                    raise DataDirError(payload)
                else:
                    raise RuntimeError(f"{desc}: job {index + 1} failed:\n{payload}")
        finally:
            for process in processes:
                if process.is_alive() and len(results) < len(jobs):
                    process.terminate()
                process.join()
    written = [w for i in range(len(jobs)) for w in results[i][0]]
    return written, sum((results[i][1] for i in range(len(jobs))), Counter())


def format_data_dir(
    src: PathLike,
    dst: PathLike,
    fs: int,
    nj: int = 1,
    speed_factors: Sequence[float] = (1.0,),
    use_sph2pipe: bool = True,
) -> int:
    """Write ``dst``: every utterance of ``src`` as a 16-bit PCM wav at ``fs``
    under ``dst/data/``, plus wav.scp, text, utt2spk, spk2utt,
    utt2num_samples, feats_type (raw) and audio_format, as ESPnet's raw dump.

    The recordings are split into ``nj`` jobs, each one process that decodes
    its list (SPHERE in-process, see :class:`WavEntryReader`); a recording is
    read once however many segments it has. With several ``speed_factors``
    (speed perturbation, stage 2) each utterance appears once per factor as
    ``sp<f>-<utt>`` (speaker ``sp<f>-<spk>``), as Kaldi's
    perturb_data_dir_speed.sh names them. ``dst`` appears complete or not at
    all. Returns the number of utterances written.
    """
    src, dst = Path(src), Path(dst)
    utts, _ = _load_data_dir(src)
    source = str(src / "wav.scp")
    by_recording: Dict[str, List[Tuple[Utterance, float]]] = {}
    out_utts = {}
    for speed in speed_factors:
        for utt in utts:
            new = utt
            if speed != 1.0:
                new = Utterance(f"sp{speed}-{utt.utt_id}", f"sp{speed}-{utt.speaker}", utt.text, utt.wav, utt.segment)
            out_utts[new.utt_id] = new
            by_recording.setdefault(utt.wav, []).append((new, speed))
    jobs = split_jobs(list(by_recording.items()), nj)
    final_data = dst.resolve() / "data"
    with atomic_dir(dst) as tmp:
        (tmp / "data").mkdir()
        options = JobOptions(str(tmp / "data"), source, fs, use_sph2pipe)
        results, counts = _run_jobs(jobs, options, f"format {src.name}")
        num_samples = {utt_id: str(n) for utt_id, _, n in results}
        written = [
            Utterance(u.utt_id, u.speaker, u.text, str(final_data / f"{u.utt_id}.wav")) for u in out_utts.values()
        ]
        # write_data_dir wants a fresh directory: write the maps into a subdir, then move them up.
        write_data_dir(tmp / "maps", written)
        for name in os.listdir(tmp / "maps"):
            os.replace(tmp / "maps" / name, tmp / name)
        (tmp / "maps").rmdir()
        write_kaldi_map(tmp / "utt2num_samples", num_samples)
        (tmp / "feats_type").write_text("raw\n")
        (tmp / "audio_format").write_text("wav\n")
    ways = ", ".join(f"{way}: {n}" for way, n in sorted(counts.items()))
    print(f"{dst}: {len(written)} utterances from {len(by_recording)} recordings in {len(jobs)} job(s) ({ways})",
          file=sys.stderr)  # fmt: skip
    return len(written)


def filter_data_dir(
    src: PathLike, dst: PathLike, fs: int, min_duration: float = 0.1, max_duration: float = 20.0
) -> Dict[str, int]:
    """Copy a formatted dump dir keeping utterances with min <= duration <= max
    seconds and a non-empty transcript (ESPnet asr.sh stage 4). The wav files
    stay where they are; wav.scp points at them."""
    src, dst = Path(src), Path(dst)
    validate_data_dir(src)
    num_samples = read_kaldi_map(src / "utt2num_samples")
    text = read_kaldi_map(src / "text", allow_empty_value=True)
    wav_scp = read_kaldi_map(src / "wav.scp")
    utt2spk = read_kaldi_map(src / "utt2spk")
    keep = [
        u
        for u in sorted(text)
        if text[u].strip() and min_duration * fs <= int(num_samples[u]) <= max_duration * fs
    ]
    if not keep:
        raise DataDirError(f"{src}: every utterance was dropped by the length/empty-text filter")
    with atomic_dir(dst) as tmp:
        write_data_dir(tmp / "maps", [Utterance(u, utt2spk[u], text[u], wav_scp[u]) for u in keep])
        for name in os.listdir(tmp / "maps"):
            os.replace(tmp / "maps" / name, tmp / name)
        (tmp / "maps").rmdir()
        write_kaldi_map(tmp / "utt2num_samples", {u: num_samples[u] for u in keep})
        for name in ("feats_type", "audio_format"):
            if (src / name).exists():
                shutil.copy(src / name, tmp / name)
    return {"kept": len(keep), "dropped": len(text) - len(keep)}


def speed_perturb_data_dir(
    src: PathLike,
    dst: PathLike,
    factors: Sequence[float],
    fs: Optional[int] = None,
    nj: int = 1,
    use_sph2pipe: bool = True,
) -> int:
    """Stage 2: ``dst`` holds ``src`` at each speed factor, audio written out
    (no sox here: resampling is done with torchaudio)."""
    src = Path(src)
    if fs is None:
        first = next(iter(read_kaldi_map(src / "wav.scp").values()))
        fs = read_wav_entry(first, str(src / "wav.scp"), use_sph2pipe)[1]
    factors = [float(f) for f in factors]
    return format_data_dir(src, dst, fs=fs, nj=nj, speed_factors=factors, use_sph2pipe=use_sph2pipe)


def split_scp(scp: PathLike, out_pattern: str, num_splits: int) -> int:
    """Split a Kaldi map into ``num_splits`` contiguous parts; ``out_pattern``
    holds ``JOB`` (replaced by 1..n). Fewer parts when there are fewer lines.
    Returns the number of parts written."""
    lines = [line for line in Path(scp).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise DataDirError(f"{scp}: empty, nothing to split")
    n = max(1, min(num_splits, len(lines)))
    bounds = np.linspace(0, len(lines), n + 1).astype(int)
    for i in range(n):
        Path(out_pattern.replace("JOB", str(i + 1))).write_text(
            "".join(line + "\n" for line in lines[bounds[i] : bounds[i + 1]]), encoding="utf-8"
        )
    return n
