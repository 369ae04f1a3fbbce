"""NIST SPHERE audio (WSJ .wv1, Switchboard / Hub5 .sph): header, PCM, u-law
and A-law reading, WAV output and the wav.scp command that decodes a file.

LDC ships many SPHERE files shorten-compressed (``sample_coding`` containing
``embedded-shorten``). When ``sph2pipe`` is on PATH the wav.scp entries use
it for every file (as Kaldi / ESPnet recipes do). Without it they name our
own reader (``python -m espnet_mixrep.bin.sph2wav``), which decodes what
sph2pipe does for these corpora: plain PCM / u-law / A-law and 16-bit PCM or
u-law shorten (compiled, :mod:`espnet_mixrep.core.shorten`). Stage 3
recognises both kinds of entry and decodes them in its own process
(:func:`parse_sphere_command`).
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

from espnet_mixrep.core.g711 import ALAW_TO_LINEAR, ULAW_TO_LINEAR, linear_to_ulaw
from espnet_mixrep.core.shorten import (
    HEADER_WINDOW,
    MAX_CHANNELS,
    SAMPLE_TYPES,
    ShortenError,
    decode_shorten,
    read_shorten_header,
)

PathLike = Union[str, os.PathLike]
CODING_ALIASES = {"mu-law": "ulaw", "mulaw": "ulaw", "a-law": "alaw"}


class SphereError(ValueError):
    """A file is not a SPHERE file we can read."""


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
        return int(self.fields.get("sample_n_bytes", 1 if self.base_coding in ("ulaw", "alaw") else 2))

    @property
    def coding(self) -> str:
        return str(self.fields.get("sample_coding", "pcm")).lower()

    @property
    def is_shorten(self) -> bool:
        return "shorten" in self.coding

    @property
    def base_coding(self) -> str:
        """pcm, ulaw or alaw (or what else the header says), without the compression part."""
        base = self.coding.split(",")[0].strip()
        return CODING_ALIASES.get(base, base)

    @property
    def is_ulaw(self) -> bool:
        return self.base_coding == "ulaw"


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


def _at_file_byte(error: ShortenError, header: SphereHeader) -> str:
    """A shorten error with its position counted in bytes of the SPHERE file (as ``xxd -s`` takes it)."""
    return error.located(f"byte {header.header_size + error.stream_offset} of the file")


def _coding_problem(header: SphereHeader, body_head: bytes) -> Optional[str]:
    """Why our decoder cannot read a file with this header (None when it can).

    ``body_head`` is the start of the data after the header (HEADER_WINDOW
    bytes suffice). The stage-1 check and the decoder both ask this, so stage 1
    accepts exactly what stage 3 decodes.
    """
    coding, width = header.base_coding, header.sample_n_bytes
    if coding not in ("pcm", "ulaw", "alaw"):
        return f"unsupported SPHERE sample_coding '{header.coding}' (pcm, ulaw and alaw are read, plain or shorten)"
    if coding == "pcm" and width not in (1, 2) or coding != "pcm" and width != 1:
        return f"{width}-byte {coding} samples are not supported"
    if not 0 < header.channel_count <= MAX_CHANNELS:
        return f"bad channel_count {header.channel_count}"
    if not header.is_shorten:
        return None
    if coding == "alaw" or width != 2 and coding == "pcm":
        return f"shorten-compressed {width}-byte {coding} ({header.coding}) is not supported"
    if not body_head.startswith(b"ajkg"):
        return f"says {header.coding} but holds no shorten stream"
    try:
        stream = read_shorten_header(body_head)
    except ShortenError as e:
        return _at_file_byte(e, header)
    if (coding == "ulaw") != stream.is_ulaw:
        return f"says {header.coding} but its shorten stream holds {SAMPLE_TYPES[stream.sample_type]} samples"
    if stream.channels != header.channel_count:
        return f"shorten stream has {stream.channels} channel(s), header says {header.channel_count}"
    return None


def decode_sphere_bytes(data: bytes, name: str = "<bytes>") -> Tuple[np.ndarray, int]:
    """Decode a whole SPHERE file held in memory -> (int16 [samples, channels], rate).

    Codings: PCM (1 or 2 bytes, either byte order), u-law and A-law, each plain
    or (PCM and u-law) shorten-compressed; companded samples come back as
    16-bit linear with the G.711 tables, as ``sph2pipe -p`` writes them.
    """
    header = parse_sphere_header(data, name)
    body = memoryview(data)[header.header_size :]
    problem = _coding_problem(header, bytes(body[:HEADER_WINDOW]))
    if problem:
        raise SphereError(f"{name}: {problem}")
    channels, coding = header.channel_count, header.base_coding
    if header.is_shorten:
        try:
            samples = decode_shorten(body, max_frames=max(header.sample_count, 0))
        except ShortenError as e:
            raise SphereError(f"{name}: {_at_file_byte(e, header)}") from None
        samples = samples.reshape(-1)
    elif coding == "ulaw":
        samples = ULAW_TO_LINEAR[np.frombuffer(body, dtype=np.uint8)]
    elif coding == "alaw":
        samples = ALAW_TO_LINEAR[np.frombuffer(body, dtype=np.uint8)]
    elif header.sample_n_bytes == 2:
        order = str(header.fields.get("sample_byte_format", "01"))
        samples = np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2" if order == "01" else ">i2").astype(np.int16)
    else:
        samples = (np.frombuffer(body, dtype=np.int8).astype(np.int16) << 8).astype(np.int16)
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


def read_audio_bytes(data: bytes, name: str) -> Tuple[np.ndarray, int]:
    """SPHERE or WAV bytes -> (int16 [samples, channels], rate)."""
    if data.startswith(b"NIST_1A"):
        return decode_sphere_bytes(data, name)
    import soundfile

    samples, rate = soundfile.read(io.BytesIO(data), dtype="int16", always_2d=True)
    return samples, rate


def sph2pipe_path() -> Optional[str]:
    return shutil.which("sph2pipe")


OUR_DECODER = "espnet_mixrep.bin.sph2wav"


def sphere_wav_command(path: PathLike, channel: Optional[int] = None, rate: Optional[int] = None) -> str:
    """The wav.scp entry (a command ending in '|') that writes ``path`` as WAV to stdout.

    Uses sph2pipe when it is on PATH. Without it, an uncompressed mono file is
    returned as its plain path (libsndfile reads PCM and u-law SPHERE), and
    anything else goes through our reader (``python -m
    espnet_mixrep.bin.sph2wav``). ``rate`` resamples (our resampler, after
    sph2pipe when sph2pipe decodes). :func:`parse_sphere_command` reads these
    entries back.
    """
    sph2pipe = sph2pipe_path()
    if sph2pipe is None and rate is None and channel in (None, 1):
        header = read_sphere_header(path)
        if not header.is_shorten and header.channel_count == 1:
            return os.path.abspath(path)
    path = shlex.quote(os.path.abspath(path))
    python = shlex.quote(sys.executable)
    ours = f"{python} -m {OUR_DECODER}"
    channel_opt = f" --channel {channel}" if channel is not None else ""
    rate_opt = f" --rate {rate}" if rate is not None else ""
    if sph2pipe:
        command = f"{shlex.quote(sph2pipe)} -f wav -p" + (f" -c {channel}" if channel is not None else "") + f" {path} |"
        if rate is not None:
            command += f" {ours}{rate_opt} - |"
        return command
    return f"{ours}{channel_opt}{rate_opt} {path} |"


@dataclass(frozen=True)
class SphereCommand:
    """A wav.scp entry that :func:`sphere_wav_command` wrote, read back."""

    path: str
    channel: Optional[int]
    rate: Optional[int]
    sph2pipe: Optional[str]  # the sph2pipe program it runs (None: our reader)


def _pipeline(entry: str) -> Optional[List[List[str]]]:
    """A wav.scp command entry as its commands' argument lists (None if it is no plain pipeline)."""
    lexer = shlex.shlex(entry, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    if not tokens or tokens[-1] != "|":
        return None
    commands: List[List[str]] = [[]]
    for token in tokens[:-1]:
        if token == "|":
            commands.append([])
        else:
            commands[-1].append(token)
    return commands if all(commands) else None


def _our_options(args: List[str]) -> Optional[Tuple[Optional[int], Optional[int], str]]:
    """``[--channel N] [--rate HZ] FILE`` -> (channel, rate, FILE)."""
    values: Dict[str, Optional[int]] = {"--channel": None, "--rate": None}
    while len(args) > 1 and args[0] in values and args[1].isdigit():
        values[args[0]] = int(args[1])
        args = args[2:]
    if len(args) != 1:
        return None
    return values["--channel"], values["--rate"], args[0]


def parse_sphere_command(entry: str) -> Optional[SphereCommand]:
    """The SPHERE file, channel and rate of a wav.scp entry written by :func:`sphere_wav_command`.

    None for any other entry (a plain path, or a command of someone else's),
    which is then run as it stands.
    """
    commands = _pipeline(entry)
    if commands is None:
        return None
    first = commands[0]
    if first[1:3] == ["-m", OUR_DECODER] and len(commands) == 1:
        options = _our_options(first[3:])
        if options is None or options[2] == "-":
            return None
        channel, rate, path = options
        return SphereCommand(path, channel, rate, None)
    if os.path.basename(first[0]) != "sph2pipe" or first[1:4] != ["-f", "wav", "-p"] or len(commands) > 2:
        return None
    args, channel = first[4:], None
    if len(args) == 3 and args[0] == "-c" and args[1].isdigit():
        args, channel = args[2:], int(args[1])
    if len(args) != 1:
        return None
    rate = None
    if len(commands) == 2:
        second = commands[1]
        options = _our_options(second[3:]) if second[1:3] == ["-m", OUR_DECODER] else None
        if options is None or options[0] is not None or options[2] != "-" or options[1] is None:
            return None
        rate = options[1]
    return SphereCommand(args[0], channel, rate, first[0])


def check_sphere_readable(path: PathLike) -> Optional[str]:
    """A problem with ``path`` that would stop stage 3 decoding it (None when it will decode).

    Reads the SPHERE header and the start of a shorten stream only: called
    on every corpus file before anything is written. It accepts exactly what
    our decoder reads (also what sph2pipe reads, so with or without sph2pipe
    stage 3 decodes every file it passes).
    """
    try:
        header = read_sphere_header(path)
        with open(path, "rb") as f:
            f.seek(header.header_size)
            body_head = f.read(HEADER_WINDOW)
    except (OSError, SphereError) as e:
        return str(e)
    problem = _coding_problem(header, body_head)
    return f"{path}: {problem}" if problem else None


def write_wav_stream(out: BinaryIO, samples: np.ndarray, sample_rate: int) -> None:
    out.write(wav_bytes(samples, sample_rate))
    out.flush()
