"""Kaldi-style data directories: write them atomically, read and validate them.

A data directory holds ``wav.scp``, ``text``, ``utt2spk``, ``spk2utt`` and
optionally ``segments`` (then ``wav.scp`` maps recording ids). Every file is
sorted by key (C locale, as Kaldi's ``utils/fix_data_dir.sh`` wants).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Dict, Iterable, Iterator, List, Optional, Tuple, Union

PathLike = Union[str, os.PathLike]


class DataDirError(ValueError):
    """A data directory (or a corpus file feeding one) is malformed."""


@contextmanager
def atomic_dir(final: PathLike) -> Iterator[Path]:
    """Yield an empty temporary sibling of ``final``; on success it replaces ``final``.

    An interrupted or failed writer leaves ``final`` as it was (or absent), never
    half-written, so a rerun cannot trust a partial output.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def atomic_file(path: PathLike, newline: Optional[str] = None, binary: bool = False) -> Iterator[IO]:
    """Yield a file (UTF-8 text, or bytes with ``binary``) open on a temporary sibling of ``path``;
    on success it replaces ``path``.

    A writer that fails or is interrupted leaves ``path`` as it was (or absent).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline=newline)) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path: PathLike, content: str) -> None:
    """Write a text file through a temporary sibling, then rename it into place."""
    with atomic_file(path) as f:
        f.write(content)


@dataclass(frozen=True)
class Utterance:
    """One utterance of a data directory.

    ``wav`` is the wav.scp entry: a path, or a command ending in ``|``. With
    ``segment`` = (recording_id, start_s, end_s), ``wav`` is the recording's
    entry and the utterance is cut from it.
    """

    utt_id: str
    speaker: str
    text: str
    wav: str
    segment: Optional[Tuple[str, float, float]] = None


def read_kaldi_map(path: PathLike, allow_empty_value: bool = False) -> Dict[str, str]:
    """Read ``key value...`` lines into a dict; duplicates and blank values are errors."""
    path = Path(path)
    if not path.is_file():
        raise DataDirError(f"{path}: file not found")
    entries: Dict[str, str] = {}
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise DataDirError(
                    f"{path}:{lineno}: not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                    "Kaldi data dirs must be UTF-8 (convert with e.g. iconv -f latin1 -t utf-8)"
                ) from exc
            if not line.strip():
                continue
            key, _, value = line.partition(" ")
            value = value.strip()
            if not value and not allow_empty_value:
                raise DataDirError(f"{path}:{lineno}: '{key}' has an empty value")
            if key in entries:
                raise DataDirError(f"{path}:{lineno}: duplicate key '{key}'")
            entries[key] = value
    return entries


def write_kaldi_map(path: PathLike, entries: Dict[str, str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for key in sorted(entries):
            f.write(f"{key} {entries[key]}\n")


def speaker_index(utt2spk: PathLike) -> Dict[str, int]:
    """Speaker -> integer id, numbered in sorted order of the speakers of this utt2spk."""
    speakers = sorted(set(read_kaldi_map(utt2spk).values()))
    if not speakers:
        raise DataDirError(f"{utt2spk}: no utterances")
    return {speaker: i for i, speaker in enumerate(speakers)}


def write_speaker_ids(utt2spk: PathLike, index: Dict[str, int], out: PathLike) -> int:
    """Write ``utt id`` lines (ESPnet's text_int) for every utterance of utt2spk; returns their number.

    A speaker missing from ``index`` (not in the set it was built from) is an
    error: an id the classifier never saw would silently pass for another speaker.
    """
    utt2spk = Path(utt2spk)
    entries = read_kaldi_map(utt2spk)
    unknown = sorted({spk for spk in entries.values() if spk not in index})
    if unknown:
        raise DataDirError(
            f"{utt2spk}: speaker(s) {', '.join(unknown[:5])} are not in the speaker list ({len(index)} speakers: "
            f"{', '.join(sorted(index)[:5])}...); speaker ids are numbered on the training set"
        )
    with atomic_file(out) as f:
        for utt in sorted(entries):
            f.write(f"{utt} {index[entries[utt]]}\n")
    return len(entries)


def write_data_dir(data_dir: PathLike, utterances: Iterable[Utterance]) -> None:
    """Write a complete data directory, replacing any previous one atomically.

    Checks before writing: unique ids, no whitespace in ids, non-empty texts,
    one wav entry per recording. The directory appears only when complete, so
    an interrupted run never leaves a half-written directory behind.
    """
    data_dir = Path(data_dir)
    utts: List[Utterance] = list(utterances)
    if not utts:
        raise DataDirError(f"{data_dir}: no utterances to write")
    wav_scp: Dict[str, str] = {}
    text: Dict[str, str] = {}
    utt2spk: Dict[str, str] = {}
    segments: Dict[str, str] = {}
    for utt in utts:
        for name, value in (("utterance id", utt.utt_id), ("speaker", utt.speaker)):
            if not value or any(c.isspace() for c in value):
                raise DataDirError(f"{data_dir}: bad {name} '{value}' (empty or has whitespace)")
        if utt.utt_id in text:
            raise DataDirError(f"{data_dir}: duplicate utterance id '{utt.utt_id}'")
        if not utt.text.strip():
            raise DataDirError(f"{data_dir}: utterance '{utt.utt_id}' has an empty transcript")
        text[utt.utt_id] = " ".join(utt.text.split())
        utt2spk[utt.utt_id] = utt.speaker
        if utt.segment is None:
            wav_scp[utt.utt_id] = utt.wav
        else:
            rec_id, start, end = utt.segment
            if not end > start >= 0:
                raise DataDirError(f"{data_dir}: utterance '{utt.utt_id}' has bad segment times {start}..{end}")
            if wav_scp.get(rec_id, utt.wav) != utt.wav:
                raise DataDirError(f"{data_dir}: recording '{rec_id}' has two different wav entries")
            wav_scp[rec_id] = utt.wav
            segments[utt.utt_id] = f"{rec_id} {start:.2f} {end:.2f}"
    if segments and len(segments) != len(text):
        raise DataDirError(f"{data_dir}: either every utterance has a segment or none has")
    spk2utt: Dict[str, List[str]] = {}
    for utt_id in sorted(utt2spk):
        spk2utt.setdefault(utt2spk[utt_id], []).append(utt_id)

    with atomic_dir(data_dir) as tmp_dir:
        write_kaldi_map(tmp_dir / "wav.scp", wav_scp)
        write_kaldi_map(tmp_dir / "text", text)
        write_kaldi_map(tmp_dir / "utt2spk", utt2spk)
        write_kaldi_map(tmp_dir / "spk2utt", {s: " ".join(u) for s, u in spk2utt.items()})
        if segments:
            write_kaldi_map(tmp_dir / "segments", segments)


def check_wav_complete(path: PathLike, source: PathLike) -> None:
    """Raise DataDirError if the RIFF/WAVE file ``path`` (listed in ``source``) holds
    fewer data bytes than its header announces: libsndfile reads such a file
    without complaint, just shorter. Other formats are left to their readers."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        offset = 12
        while offset + 8 <= size:
            f.seek(offset)
            chunk_id, chunk_size = f.read(4), int.from_bytes(f.read(4), "little")
            if chunk_id == b"data":
                available = size - offset - 8
                # 0xFFFFFFFF: a streamed wav of unknown length (nothing to compare)
                if chunk_size != 0xFFFFFFFF and chunk_size > available:
                    raise DataDirError(
                        f"{source}: '{path}' is truncated: its header announces {chunk_size} bytes of audio, "
                        f"the file holds {available}"
                    )
                return
            offset += 8 + chunk_size + (chunk_size & 1)
    raise DataDirError(f"{source}: '{path}' is truncated: no audio (data chunk) within its {size} bytes")


def validate_data_dir(data_dir: PathLike) -> None:
    """Raise DataDirError naming the file if ids disagree across the files, a
    file is not UTF-8, or a listed wav file is truncated."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataDirError(f"{data_dir}: data directory not found")
    text = read_kaldi_map(data_dir / "text")
    utt2spk = read_kaldi_map(data_dir / "utt2spk")
    wav_scp = read_kaldi_map(data_dir / "wav.scp")
    for entry in wav_scp.values():
        if entry.lower().endswith(".wav") and os.path.isfile(entry):
            check_wav_complete(entry, data_dir / "wav.scp")
    _same_keys(data_dir / "utt2spk", utt2spk, data_dir / "text", text)
    if (data_dir / "segments").exists():
        segments = read_kaldi_map(data_dir / "segments")
        _same_keys(data_dir / "segments", segments, data_dir / "text", text)
        for utt_id, value in segments.items():
            fields = value.split()
            if len(fields) != 3:
                raise DataDirError(f"{data_dir / 'segments'}: '{utt_id}' needs 'recording start end'")
            if fields[0] not in wav_scp:
                raise DataDirError(
                    f"{data_dir / 'segments'}: '{utt_id}' names recording '{fields[0]}' missing from {data_dir / 'wav.scp'}"
                )
    else:
        _same_keys(data_dir / "wav.scp", wav_scp, data_dir / "text", text)
    if (data_dir / "spk2utt").exists():
        spk2utt = read_kaldi_map(data_dir / "spk2utt")
        inverted = {u: s for s, us in spk2utt.items() for u in us.split()}
        if inverted != utt2spk:
            raise DataDirError(f"{data_dir / 'spk2utt'}: does not match {data_dir / 'utt2spk'}")


def _same_keys(path_a: Path, a: Dict[str, str], path_b: Path, b: Dict[str, str]) -> None:
    only_a = sorted(set(a) - set(b))
    only_b = sorted(set(b) - set(a))
    if only_a or only_b:
        parts = []
        if only_a:
            parts.append(f"{len(only_a)} ids only in {path_a} (e.g. {only_a[:3]})")
        if only_b:
            parts.append(f"{len(only_b)} ids only in {path_b} (e.g. {only_b[:3]})")
        raise DataDirError(f"utterance ids do not match between {path_a} and {path_b}: " + "; ".join(parts))


def fix_data_dir(data_dir: PathLike) -> Dict[str, int]:
    """Keep only utterances present in every file, like Kaldi's fix_data_dir.sh.

    Sorts the files, drops utterances with an empty transcript or missing from
    one of wav.scp (or segments) / text / utt2spk, drops recordings no
    utterance uses, and rebuilds spk2utt. Rewrites the directory atomically.
    Returns {"kept": n, "dropped": m}; raises DataDirError if nothing is left.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataDirError(f"{data_dir}: data directory not found")
    text = read_kaldi_map(data_dir / "text", allow_empty_value=True)
    utt2spk = read_kaldi_map(data_dir / "utt2spk")
    wav_scp = read_kaldi_map(data_dir / "wav.scp")
    has_segments = (data_dir / "segments").exists()
    segments = read_kaldi_map(data_dir / "segments") if has_segments else {}
    recorded = set(segments) if has_segments else set(wav_scp)
    keep = sorted(u for u in set(text) & set(utt2spk) & recorded if text[u].strip())
    if has_segments:
        keep = [u for u in keep if segments[u].split()[0] in wav_scp]
    if not keep:
        raise DataDirError(f"{data_dir}: no utterance is complete across wav.scp/text/utt2spk")
    utterances = []
    for utt_id in keep:
        if has_segments:
            rec_id, start, end = segments[utt_id].split()
            utterances.append(
                Utterance(utt_id, utt2spk[utt_id], text[utt_id], wav_scp[rec_id], (rec_id, float(start), float(end)))
            )
        else:
            utterances.append(Utterance(utt_id, utt2spk[utt_id], text[utt_id], wav_scp[utt_id]))
    write_data_dir(data_dir, utterances)
    all_ids = set(text) | set(utt2spk) | recorded
    return {"kept": len(keep), "dropped": len(all_ids) - len(keep)}
