"""Audio I/O shared by every layer: wav.scp entries (paths, SPHERE files,
sph2pipe and other commands) read as float32 mono, DC-offset removal and
resampling."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections import Counter
from typing import Iterator, Optional, Tuple

import numpy as np

from espnet_mixrep.core.datadir import DataDirError, PathLike, read_kaldi_map
from espnet_mixrep.core.sphere import SphereError, parse_sphere_command, read_sphere


def _is_sphere_file(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(7) == b"NIST_1A"
    except OSError:
        return False  # soundfile names the problem


class WavEntryReader:
    """Reads wav.scp values (a path, or a shell command ending in ``|``) as
    float32 [samples] mono.

    SPHERE entries, the ones :func:`~espnet_mixrep.core.sphere.sphere_wav_command`
    writes and plain SPHERE paths, are decoded in this process by our decoder:
    no process start per utterance. A sph2pipe entry runs sph2pipe when that
    program exists and ``use_sph2pipe`` is set. The last SPHERE file decoded
    is kept, so the two sides of a conversation (consecutive entries) decode it
    once. ``counts`` tells how many entries took each way.
    """

    def __init__(self, use_sph2pipe: bool = True) -> None:
        self.use_sph2pipe = use_sph2pipe
        self.counts: Counter = Counter()
        self._last: Tuple[Optional[str], Optional[Tuple[np.ndarray, int]]] = (None, None)

    def read(self, entry: str, source: str) -> Tuple[np.ndarray, int]:
        """``source`` names the wav.scp for error messages."""
        command = parse_sphere_command(entry) if entry.endswith("|") else None
        if command is not None and not (command.sph2pipe and self.use_sph2pipe and shutil.which(command.sph2pipe)):
            samples, rate = self._sphere(command.path, source)
            if command.channel is not None:
                if not 1 <= command.channel <= samples.shape[1]:
                    channels = samples.shape[1]
                    raise DataDirError(f"{source}: {command.path} has {channels} channel(s), not {command.channel}")
                samples = samples[:, command.channel - 1 : command.channel]
            if command.rate is not None:
                samples, rate = resample(samples, rate, command.rate), command.rate
            self.counts["entries decoded in-process"] += 1
            return self._mono(samples.astype(np.float32) / 32768, entry, source), rate
        if entry.endswith("|"):
            self.counts["entries run by sph2pipe" if command is not None else "other commands"] += 1
            audio, rate = self._run(entry, source)
            return self._mono(audio, entry, source), rate
        if _is_sphere_file(entry):
            samples, rate = self._sphere(entry, source)
            self.counts["entries decoded in-process"] += 1
            return self._mono(samples.astype(np.float32) / 32768, entry, source), rate
        import soundfile

        try:
            audio, rate = soundfile.read(entry, dtype="float32", always_2d=True)
        except Exception as exc:  # soundfile raises several types for broken files
            raise DataDirError(f"{source}: cannot read audio '{entry}' ({exc})") from exc
        self.counts["audio files"] += 1
        return self._mono(audio, entry, source), rate

    def _sphere(self, path: str, source: str) -> Tuple[np.ndarray, int]:
        if self._last[0] != path:
            try:
                self._last = (path, read_sphere(path))
            except (OSError, SphereError) as exc:
                raise DataDirError(f"{source}: {exc}") from exc
            self.counts["SPHERE files read"] += 1
        return self._last[1]

    @staticmethod
    def _run(entry: str, source: str) -> Tuple[np.ndarray, int]:
        import soundfile

        try:
            proc = subprocess.run(entry[:-1], shell=True, capture_output=True, check=True)
            return soundfile.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=True)
        except subprocess.CalledProcessError as exc:
            raise DataDirError(f"{source}: command '{entry}' failed: {exc.stderr.decode(errors='replace').strip()}") from exc
        except Exception as exc:  # soundfile raises several types for broken output
            raise DataDirError(f"{source}: cannot read audio '{entry}' ({exc})") from exc

    @staticmethod
    def _mono(audio: np.ndarray, entry: str, source: str) -> np.ndarray:
        if audio.shape[1] != 1:
            raise DataDirError(f"{source}: '{entry}' has {audio.shape[1]} channels; expected mono")
        return audio[:, 0]


def read_wav_entry(entry: str, source: str, use_sph2pipe: bool = True) -> Tuple[np.ndarray, int]:
    """One wav.scp value as float32 [samples] mono (see :class:`WavEntryReader`)."""
    return WavEntryReader(use_sph2pipe).read(entry, source)


def iter_wav_scp(wav_scp: PathLike, use_sph2pipe: bool = True) -> Iterator[Tuple[str, np.ndarray, int]]:
    """(utt_id, float32 mono samples, sample rate) for each entry of a wav.scp, in file order."""
    reader = WavEntryReader(use_sph2pipe)
    for utt_id, entry in read_kaldi_map(wav_scp).items():
        audio, rate = reader.read(entry, str(wav_scp))
        yield utt_id, audio, rate


def remove_dc_offset(audio: np.ndarray) -> np.ndarray:
    """16-bit PCM ``audio`` minus its mean (rounded, clipped to int16).

    A recording with a DC offset that is joined to silence or zero-padded gets
    a step at each edge, a broadband click the model learns from. FSDD's
    nicolas records at about -238 (0.7 % of full scale), the other speakers at 0.
    """
    offset = int(round(float(np.mean(audio, dtype=np.float64))))
    if offset == 0:
        return audio
    return np.clip(audio.astype(np.int32) - offset, -32768, 32767).astype(np.int16)


def resample(audio: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Band-limited resampling along the first axis (torchaudio's windowed sinc).

    float audio stays float; int16 audio comes back as int16 (rounded, clipped).
    """
    if orig_rate == new_rate:
        return audio
    import torch
    import torchaudio.functional

    samples = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32).T)
    out = torchaudio.functional.resample(samples, orig_rate, new_rate).numpy().T
    if audio.dtype == np.int16:
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)
    return np.ascontiguousarray(out)
