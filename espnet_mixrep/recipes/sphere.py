"""NIST SPHERE audio (WSJ .wv1, Switchboard / Hub5 .sph): header, PCM and
u-law reading, WAV output and the wav.scp command that decodes a file.

LDC ships many SPHERE files shorten-compressed (``sample_coding`` containing
``embedded-shorten``). When ``sph2pipe`` is on PATH the wav.scp entries use
it for every file (as Kaldi / ESPnet recipes do). Without it our own reader
handles PCM and u-law files and 16-bit PCM shorten (WSJ, through
:mod:`espnet_mixrep.recipes.shorten`, pure Python and much slower than
sph2pipe); other shorten files (e.g. u-law) are named in a clear error that
says how to get ``sph2pipe``.
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Dict, List, Optional, Tuple, Union

import numpy as np

from espnet_mixrep.recipes.shorten import ShortenError, decode_shorten

PathLike = Union[str, os.PathLike]

SPH2PIPE_HELP = (
    "sph2pipe is not on PATH. Build it from Kaldi (`make -C <kaldi>/tools sph2pipe`, "
    "then add tools/sph2pipe_v2.5 to PATH) or with ESPnet's tools/installers/install_sph2pipe.sh, "
    "and rerun; our own reader handles only uncompressed (PCM / u-law) SPHERE files."
)


class SphereError(ValueError):
    """A file is not a SPHERE file we can read."""


class ShortenNotSupportedError(SphereError):
    """A shorten-compressed SPHERE file and no sph2pipe to decode it."""


@dataclass(frozen=True)
class SphereHeader:
    fields: Dict[str, Union[int, float, str]]
    header_size: int

    @property
    def sample_rate(self) -> int:
        return int(self.fields.get("sample_rate", 0))

    @property
    def channel_count(self) -> int:
        return int(self.fields.get("channel_count", 1))

    @property
    def sample_count(self) -> int:
        return int(self.fields.get("sample_count", -1))

    @property
    def sample_n_bytes(self) -> int:
        return int(self.fields.get("sample_n_bytes", 2))

    @property
    def coding(self) -> str:
        return str(self.fields.get("sample_coding", "pcm")).lower()

    @property
    def is_shorten(self) -> bool:
        return "shorten" in self.coding

    @property
    def is_ulaw(self) -> bool:
        return self.coding.split(",")[0] in ("ulaw", "mu-law", "mulaw")


def parse_sphere_header(data: bytes, name: str = "<bytes>") -> SphereHeader:
    """Parse the ASCII header at the start of ``data`` (at least its first 1024 bytes)."""
    if not data.startswith(b"NIST_1A"):
        raise SphereError(f"{name}: not a NIST SPHERE file (no NIST_1A magic)")
    lines = data[:16].split(b"\n")
    try:
        header_size = int(lines[1].strip())
    except (IndexError, ValueError):
        raise SphereError(f"{name}: SPHERE header size line is malformed") from None
    if len(data) < header_size:
        raise SphereError(f"{name}: truncated SPHERE header ({len(data)} < {header_size} bytes)")
    fields: Dict[str, Union[int, float, str]] = {}
    for raw in data[:header_size].split(b"\n")[2:]:
        line = raw.decode("latin-1").strip()
        if line == "end_head":
            break
        if not line or line.startswith(";"):
            continue
        key, _, rest = line.partition(" ")
        kind, _, value = rest.partition(" ")
        if kind == "-i":
            fields[key] = int(value)
        elif kind == "-r":
            fields[key] = float(value)
        elif kind.startswith("-s"):
            length = int(kind[2:])
            fields[key] = value[:length]
        else:
            raise SphereError(f"{name}: bad SPHERE header line '{line}'")
    else:
        raise SphereError(f"{name}: SPHERE header has no end_head")
    return SphereHeader(fields=fields, header_size=header_size)


def read_sphere_header(path: PathLike) -> SphereHeader:
    with open(path, "rb") as f:
        head = f.read(1024)
        if head.startswith(b"NIST_1A"):
            size = int(head[8:16].split(b"\n")[0].strip() or 1024)
            if size > len(head):
                head += f.read(size - len(head))
    return parse_sphere_header(head, str(path))


def _ulaw_table() -> np.ndarray:
    """G.711 mu-law byte -> 16-bit linear sample (the table sph2pipe uses)."""
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


ULAW_TO_LINEAR = _ulaw_table()


def linear_to_ulaw(samples: np.ndarray) -> np.ndarray:
    """16-bit linear -> G.711 mu-law bytes (inverse of ULAW_TO_LINEAR up to quantisation)."""
    x = samples.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    exponent = np.clip(exponent, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


def shorten_decodable(header: SphereHeader) -> bool:
    """Our shorten decoder handles 16-bit PCM (WSJ); other shorten codings need sph2pipe."""
    return header.coding.split(",")[0] == "pcm" and header.sample_n_bytes == 2


def decode_sphere_bytes(data: bytes, name: str = "<bytes>") -> Tuple[np.ndarray, int]:
    """Decode a whole SPHERE file held in memory -> (int16 [samples, channels], rate)."""
    header = parse_sphere_header(data, name)
    body = data[header.header_size :]
    channels = header.channel_count
    if header.is_shorten:
        if not shorten_decodable(header):
            raise ShortenNotSupportedError(
                f"{name}: SPHERE file is shorten-compressed ({header.coding}), which our decoder "
                f"handles only for 16-bit PCM; {SPH2PIPE_HELP}"
            )
        try:
            samples = decode_shorten(body)
        except ShortenError as e:
            raise SphereError(f"{name}: {e}") from None
        if samples.shape[1] != channels:
            raise SphereError(f"{name}: shorten stream has {samples.shape[1]} channel(s), header says {channels}")
        samples = np.clip(samples, -32768, 32767).astype(np.int16).reshape(-1)
    elif header.is_ulaw:
        samples = ULAW_TO_LINEAR[np.frombuffer(body, dtype=np.uint8)]
    elif header.coding.split(",")[0] == "pcm":
        width = header.sample_n_bytes
        if width == 2:
            order = str(header.fields.get("sample_byte_format", "01"))
            samples = np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2" if order == "01" else ">i2")
            samples = samples.astype(np.int16)
        elif width == 1:
            samples = (np.frombuffer(body, dtype=np.int8).astype(np.int16) << 8).astype(np.int16)
        else:
            raise SphereError(f"{name}: {width}-byte PCM samples are not supported")
    else:
        raise SphereError(f"{name}: unsupported SPHERE sample_coding '{header.coding}'")
    frames = len(samples) // channels
    if header.sample_count >= 0 and frames < header.sample_count:
        raise SphereError(f"{name}: header says {header.sample_count} samples, file holds {frames}")
    if header.sample_count >= 0:
        frames = header.sample_count
    return samples[: frames * channels].reshape(frames, channels), header.sample_rate


def read_sphere(path: PathLike, channel: Optional[int] = None) -> Tuple[np.ndarray, int]:
    """Read a SPHERE file -> (int16 samples, rate); ``channel`` is 1-based as in sph2pipe -c.

    Without ``channel`` the result is [samples, channels]; with it, [samples].
    """
    samples, rate = decode_sphere_bytes(Path(path).read_bytes(), str(path))
    if channel is None:
        return samples, rate
    if not 1 <= channel <= samples.shape[1]:
        raise SphereError(f"{path}: has {samples.shape[1]} channel(s), channel {channel} requested")
    return samples[:, channel - 1], rate


def write_sphere(
    path: PathLike,
    samples: np.ndarray,
    sample_rate: int,
    coding: str = "pcm",
    extra_fields: Optional[Dict[str, Union[int, str]]] = None,
) -> None:
    """Write int16 samples ([n] or [n, channels]) as an uncompressed SPHERE file (pcm or ulaw)."""
    samples = np.asarray(samples, dtype=np.int16)
    if samples.ndim == 1:
        samples = samples[:, None]
    frames, channels = samples.shape
    if coding == "pcm":
        body = samples.astype("<i2").tobytes()
        fields = {"sample_n_bytes": ("-i", 2), "sample_byte_format": ("-s2", "01")}
    elif coding == "ulaw":
        body = linear_to_ulaw(samples.reshape(-1)).tobytes()
        fields = {"sample_n_bytes": ("-i", 1), "sample_byte_format": ("-s1", "1")}
    else:
        raise ValueError(f"coding must be 'pcm' or 'ulaw', not '{coding}'")
    fields.update(
        {
            "sample_count": ("-i", frames),
            "sample_rate": ("-i", sample_rate),
            "channel_count": ("-i", channels),
            "sample_coding": (f"-s{len(coding)}", coding),
        }
    )
    for key, value in (extra_fields or {}).items():
        fields[key] = ("-i", value) if isinstance(value, int) else (f"-s{len(value)}", value)
    lines = ["NIST_1A", "   1024"] + [f"{k} {t} {v}" for k, (t, v) in fields.items()] + ["end_head"]
    header = ("\n".join(lines) + "\n").encode("ascii")
    if len(header) > 1024:
        raise ValueError("SPHERE header longer than 1024 bytes")
    Path(path).write_bytes(header.ljust(1024, b" ") + body)


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """int16 samples ([n] or [n, channels]) as a RIFF/WAV byte string (no seeking, so pipe-safe)."""
    samples = np.asarray(samples, dtype=np.int16)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    data = samples.astype("<i2").tobytes()
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, sample_rate * 2 * channels, 2 * channels, 16)
    header += b"data" + struct.pack("<I", len(data))
    return header + data


def resample_int16(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling of int16 audio along its first axis (e.g. 8 kHz -> 16 kHz)."""
    if rate_in == rate_out:
        return samples
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate_in, rate_out)
    out = resample_poly(samples.astype(np.float64), rate_out // g, rate_in // g, axis=0)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def read_audio_bytes(data: bytes, name: str) -> Tuple[np.ndarray, int]:
    """SPHERE or WAV bytes -> (int16 [samples, channels], rate)."""
    if data.startswith(b"NIST_1A"):
        return decode_sphere_bytes(data, name)
    import soundfile

    samples, rate = soundfile.read(io.BytesIO(data), dtype="int16", always_2d=True)
    return samples, rate


def sph2pipe_path() -> Optional[str]:
    return shutil.which("sph2pipe")


def sphere_wav_command(path: PathLike, channel: Optional[int] = None, rate: Optional[int] = None) -> str:
    """The wav.scp entry (a command ending in '|') that writes ``path`` as WAV to stdout.

    Uses sph2pipe when it is on PATH (it also decodes shorten). Without it, an
    uncompressed mono file is returned as its plain path (libsndfile reads PCM
    and u-law SPHERE), and anything else goes through our reader (``python -m
    espnet_mixrep.bin.sph2wav``). ``rate`` resamples (our resampler, after
    sph2pipe when sph2pipe decodes).
    """
    sph2pipe = sph2pipe_path()
    if sph2pipe is None and rate is None and channel in (None, 1):
        header = read_sphere_header(path)
        if not header.is_shorten and header.channel_count == 1:
            return os.path.abspath(path)
    path = shlex.quote(os.path.abspath(path))
    python = shlex.quote(sys.executable)
    ours = f"{python} -m espnet_mixrep.bin.sph2wav"
    channel_opt = f" --channel {channel}" if channel is not None else ""
    rate_opt = f" --rate {rate}" if rate is not None else ""
    if sph2pipe:
        command = f"{shlex.quote(sph2pipe)} -f wav -p" + (f" -c {channel}" if channel is not None else "") + f" {path} |"
        if rate is not None:
            command += f" {ours}{rate_opt} - |"
        return command
    return f"{ours}{channel_opt}{rate_opt} {path} |"


def check_sphere_readable(path: PathLike) -> Optional[str]:
    """A problem with ``path`` that would stop decoding it (None when it will decode).

    Reads only the header: called on every corpus file before anything is written.
    """
    try:
        header = read_sphere_header(path)
    except (OSError, SphereError) as e:
        return str(e)
    if header.is_shorten and sph2pipe_path() is None:
        if not shorten_decodable(header):
            return f"{path}: shorten-compressed SPHERE ({header.coding}) and no sph2pipe on PATH"
        with open(path, "rb") as f:
            f.seek(header.header_size)
            if f.read(4) != b"ajkg":
                return f"{path}: says {header.coding} but holds no shorten stream"
    return None


def shorten_hint(problems: List[str]) -> List[str]:
    """The one line saying how to get sph2pipe, when any problem is a shorten file without it."""
    return [f"  {SPH2PIPE_HELP}"] if any("shorten-compressed" in p for p in problems) else []


def write_wav_stream(out: BinaryIO, samples: np.ndarray, sample_rate: int) -> None:
    out.write(wav_bytes(samples, sample_rate))
    out.flush()
