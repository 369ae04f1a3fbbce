"""Audio stages of the recipe driver: speed perturbation, formatting into
``dump/raw`` and length filtering. Each writes its output directory completely
under a temporary name and renames it at the end, so an interrupted stage
leaves nothing a rerun would trust.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from fractions import Fraction
from multiprocessing import get_context
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet_mixrep.recipes.datadir import (
    DataDirError,
    PathLike,
    Utterance,
    atomic_dir,
    read_kaldi_map,
    validate_data_dir,
    write_data_dir,
    write_kaldi_map,
)


def read_wav_entry(entry: str, source: str) -> Tuple[np.ndarray, int]:
    """Read a wav.scp value (a path, or a shell command ending in ``|``) as
    float32 [samples] mono; ``source`` names the wav.scp for error messages."""
    import soundfile

    try:
        if entry.endswith("|"):
            proc = subprocess.run(entry[:-1], shell=True, capture_output=True, check=True)
            audio, rate = soundfile.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=True)
        else:
            audio, rate = soundfile.read(entry, dtype="float32", always_2d=True)
    except subprocess.CalledProcessError as exc:
        raise DataDirError(f"{source}: command '{entry}' failed: {exc.stderr.decode(errors='replace').strip()}") from exc
    except Exception as exc:  # soundfile raises several types for broken files
        raise DataDirError(f"{source}: cannot read audio '{entry}' ({exc})") from exc
    if audio.shape[1] != 1:
        raise DataDirError(f"{source}: '{entry}' has {audio.shape[1]} channels; expected mono")
    return audio[:, 0], rate


def resample(audio: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    if orig_rate == new_rate:
        return audio
    import torch
    import torchaudio.functional

    return torchaudio.functional.resample(torch.from_numpy(audio), orig_rate, new_rate).numpy()


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


def _format_recording(job: Tuple[str, List[Tuple[Utterance, float]], str, str, int]) -> List[Tuple[str, str, int]]:
    """Read one wav.scp entry once and write every utterance cut from it (all speed factors)."""
    import soundfile

    entry, items, out_dir, source, fs = job
    recording, rate = read_wav_entry(entry, source)
    results = []
    for utt, speed in items:
        audio = recording
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


def _run_jobs(jobs: list, nj: int, desc: str) -> List[Tuple[str, str, int]]:
    from tqdm import tqdm

    if nj <= 1 or len(jobs) < 2:
        per_job = [_format_recording(job) for job in tqdm(jobs, desc=desc, mininterval=5)]
    else:
        with get_context("spawn").Pool(min(nj, len(jobs))) as pool:
            per_job = list(tqdm(pool.imap(_format_recording, jobs, chunksize=8), total=len(jobs), desc=desc, mininterval=5))
    return [result for results in per_job for result in results]


def format_data_dir(src: PathLike, dst: PathLike, fs: int, nj: int = 1, speed_factors: Sequence[float] = (1.0,)) -> int:
    """Write ``dst``: every utterance of ``src`` as a 16-bit PCM wav at ``fs``
    under ``dst/data/``, plus wav.scp, text, utt2spk, spk2utt,
    utt2num_samples, feats_type (raw) and audio_format, as ESPnet's raw dump.

    With several ``speed_factors`` (speed perturbation, stage 2) each
    utterance appears once per factor as ``sp<f>-<utt>`` (speaker
    ``sp<f>-<spk>``), as Kaldi's perturb_data_dir_speed.sh names them.
    Segments are cut here. Returns the number of utterances written.
    """
    src, dst = Path(src), Path(dst)
    utts, _ = _load_data_dir(src)
    source = str(src / "wav.scp")
    with atomic_dir(dst) as tmp:
        (tmp / "data").mkdir()
        # One job per recording: a long recording (e.g. a Switchboard side
        # behind sph2pipe) is decoded once, not once per segment.
        by_recording: Dict[str, List[Tuple[Utterance, float]]] = {}
        out_utts = {}
        final_data = dst.resolve() / "data"
        for speed in speed_factors:
            for utt in utts:
                new = utt
                if speed != 1.0:
                    new = Utterance(f"sp{speed}-{utt.utt_id}", f"sp{speed}-{utt.speaker}", utt.text, utt.wav, utt.segment)
                out_utts[new.utt_id] = new
                by_recording.setdefault(utt.wav, []).append((new, speed))
        jobs = [(entry, items, str(tmp / "data"), source, fs) for entry, items in by_recording.items()]
        results = _run_jobs(jobs, nj, f"format {src.name}")
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


def speed_perturb_data_dir(src: PathLike, dst: PathLike, factors: Sequence[float], fs: Optional[int] = None, nj: int = 1) -> int:
    """Stage 2: ``dst`` holds ``src`` at each speed factor, audio written out
    (no sox here: resampling is done with torchaudio)."""
    src = Path(src)
    if fs is None:
        first = next(iter(read_kaldi_map(src / "wav.scp").values()))
        fs = read_wav_entry(first, str(src / "wav.scp"))[1]
    return format_data_dir(src, dst, fs=fs, nj=nj, speed_factors=[float(f) for f in factors])


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
