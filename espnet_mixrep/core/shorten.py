"""Decoder for shorten-compressed audio as embedded in NIST SPHERE files (WSJ
.wv1, many Switchboard / CALLHOME / Fisher .sph): what stage 3 uses when
sph2pipe is not installed, sample for sample what sph2pipe writes.

Shorten (T. Robinson, 1994) codes blocks of samples as Rice-coded residuals of
a fixed polynomial (DIFF0-3) or quantised LPC (QLPC) predictor, with a running
mean offset (nmean blocks) and an optional bit shift. Versions 0-2 are read,
with 16-bit signed samples (either byte order) or u-law (the AU1 / AU2 types,
expanded to 16-bit linear as ``sph2pipe -p`` does).

The header is parsed here in Python (the stage-1 check reads only that); the
block loop is compiled by numba in :mod:`espnet_mixrep.core.shorten_kernel`,
imported on the first decode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from espnet_mixrep.core.g711 import ULAW_TO_LINEAR, linear_to_ulaw

MAGIC = b"ajkg"
MAX_VERSION = 2
FNSIZE, ENERGYSIZE, LPCQSIZE, LPCQUANT, BITSHIFTSIZE = 2, 3, 2, 5, 2
TYPESIZE, CHANSIZE, NSKIPSIZE, ULONGSIZE, XBYTESIZE = 4, 0, 1, 2, 7
VERBATIM_CKSIZE_SIZE, VERBATIM_BYTE_SIZE = 5, 8
FN_DIFF0, FN_DIFF1, FN_DIFF2, FN_DIFF3, FN_QUIT, FN_BLOCKSIZE, FN_BITSHIFT, FN_QLPC, FN_ZERO, FN_VERBATIM = range(10)
TYPE_AU1, TYPE_S16HL, TYPE_S16LH, TYPE_AU2 = 0, 3, 5, 8
DEFAULT_BLOCK_SIZE, NWRAP, MAX_CHANNELS, MAX_BLOCK_SIZE = 256, 3, 8, 65535
HEADER_WINDOW = 4096  # bytes of the stream that hold its header (what the stage-1 check reads)
FIXED_COEFFS = {FN_DIFF0: (), FN_DIFF1: (1,), FN_DIFF2: (2, -1), FN_DIFF3: (3, -3, 1)}
SAMPLE_TYPES = {
    TYPE_AU1: "u-law (AU1)",
    TYPE_S16HL: "16-bit signed, big-endian",
    TYPE_S16LH: "16-bit signed, little-endian",
    TYPE_AU2: "u-law (AU2)",
}
UNSUPPORTED_TYPES = {
    1: "8-bit signed", 2: "8-bit unsigned", 4: "16-bit unsigned, big-endian",
    6: "16-bit unsigned, little-endian", 7: "u-law stored as linear",
}  # fmt: skip
ULAW_TYPES = (TYPE_AU1, TYPE_AU2)


class ShortenError(ValueError):
    """A shorten stream we cannot decode.

    ``stream_offset``: the byte of the stream where the failing header field
    or block command starts; ``decoded_frames``: samples per channel decoded before it.
    """

    def __init__(self, problem: str, stream_offset: int, decoded_frames: Optional[int] = None) -> None:
        self.problem = problem
        self.stream_offset = stream_offset
        self.decoded_frames = decoded_frames
        super().__init__(self.located(f"byte {stream_offset} of the shorten stream"))

    def located(self, where: str) -> str:
        """The message with the position given as ``where``."""
        after = f" (after {self.decoded_frames} samples per channel)" if self.decoded_frames is not None else ""
        return f"{self.problem} at {where}{after}"


@dataclass(frozen=True)
class ShortenHeader:
    version: int
    sample_type: int
    channels: int
    blocksize: int
    maxnlpc: int
    nmean: int
    data_bit: int  # where the command stream starts, in bits from the magic

    @property
    def is_ulaw(self) -> bool:
        return self.sample_type in ULAW_TYPES


class _HeaderBits:
    """MSB-first reader of the few header fields (the block loop has its own, compiled)."""

    def __init__(self, head: bytes, whole_stream: bool, pos: int) -> None:
        self.value = int.from_bytes(head, "big")
        self.n = 8 * len(head)
        self.whole_stream = whole_stream
        self.pos = pos

    def bits(self, k: int) -> int:
        if self.pos + k > self.n:
            if self.whole_stream:
                raise ShortenError("shorten stream ends inside its header", self.pos // 8)
            raise ShortenError(f"shorten header longer than {HEADER_WINDOW} bytes is not supported", self.pos // 8)
        self.pos += k
        return (self.value >> (self.n - self.pos)) & ((1 << k) - 1)

    def uvar(self, k: int) -> int:
        zeros = 0
        while not self.bits(1):
            zeros += 1
        return (zeros << k) | self.bits(k)

    def ulong(self) -> int:
        return self.uvar(self.uvar(ULONGSIZE))


def read_shorten_header(stream: bytes) -> ShortenHeader:
    """The header of a shorten stream (bytes-like; its first HEADER_WINDOW bytes suffice).

    ShortenError if we cannot decode the stream.
    """
    head = bytes(stream[:HEADER_WINDOW])
    if not head.startswith(MAGIC):
        raise ShortenError("not a shorten stream (no 'ajkg' magic)", 0)
    if len(head) < 5:
        raise ShortenError("shorten stream ends inside its header", len(head))
    version = head[4]
    if version > MAX_VERSION:
        raise ShortenError(f"shorten format version {version} is not supported (0-{MAX_VERSION} are)", 4)
    r = _HeaderBits(head, len(stream) <= HEADER_WINDOW, 40)
    uint = r.uvar if version == 0 else (lambda _: r.ulong())
    sample_type = uint(TYPESIZE)
    if sample_type not in SAMPLE_TYPES:
        kind = UNSUPPORTED_TYPES.get(sample_type, "unknown")
        raise ShortenError(
            f"shorten sample type {sample_type} ({kind}) is not supported (16-bit signed PCM and u-law are)", 5
        )
    channels = uint(CHANSIZE)
    blocksize, maxnlpc, nmean = DEFAULT_BLOCK_SIZE, 0, 0
    if version > 0:
        blocksize = uint(8)
        maxnlpc = uint(LPCQSIZE)
        nmean = uint(0)
        for _ in range(uint(NSKIPSIZE)):
            r.uvar(XBYTESIZE)
    if not 0 < channels <= MAX_CHANNELS or not 0 < blocksize <= MAX_BLOCK_SIZE or maxnlpc > 1024 or nmean > 1024:
        raise ShortenError(
            f"bad shorten header: {channels} channels, block size {blocksize}, LPC order {maxnlpc}, {nmean} means", 5
        )
    return ShortenHeader(version, sample_type, channels, blocksize, maxnlpc, nmean, r.pos)


def _ulaw_outward() -> np.ndarray:
    """[bit shift, index + 128] -> u-law byte: how shorten's u-law types store samples.

    The encoder maps each u-law byte to a monotonic index; with a bit shift
    of s it orders first the bytes whose linear values are multiples of
    2**(s + 3) (the ones a lossy encoder keeps), as shorten's mkbshift builds
    its table. Rows 1-12 serve lossy streams; lossless ones use row 0.
    """
    max_shift = np.zeros(256, dtype=np.int64)
    for shift in range(13):
        max_shift[linear_to_ulaw(np.arange(-(1 << 15), 1 << 15, 1 << (shift + 3)))] = shift
    table = np.zeros((13, 256), dtype=np.uint8)
    for shift in range(13):
        index = np.zeros(256, dtype=np.int64)
        positives = [c for c in range(255, 127, -1) if max_shift[c] >= shift]
        positives += [c for c in range(255, 127, -1) if max_shift[c] < shift]
        index[positives] = np.arange(len(positives))
        negatives = [c for c in range(126, -1, -1) if max_shift[c] >= shift] + [127]
        negatives += [c for c in range(126, -1, -1) if max_shift[c] < shift]
        index[negatives] = -1 - np.arange(len(negatives))
        table[shift, index + 128] = np.arange(256)
    return table


ULAW_OUTWARD = _ulaw_outward()


def _run_kernel(data: np.ndarray, header: ShortenHeader, max_frames: int) -> Tuple[np.ndarray, int, int, int]:
    from espnet_mixrep.core.shorten_kernel import decode_blocks

    return decode_blocks(
        data, header.data_bit, header.version, header.sample_type, header.channels, header.blocksize,
        header.maxnlpc, header.nmean, max_frames, ULAW_OUTWARD, ULAW_TO_LINEAR,
    )  # fmt: skip


def warm_up_decoder() -> None:
    """Compile the block loop, or load it from numba's on-disk cache: what a process's first decode pays."""
    from espnet_mixrep.core.shorten_kernel import PAD_BYTES

    data = np.zeros(1 + PAD_BYTES, dtype=np.uint8)
    data[0] = 0b0100_0000  # the QUIT command alone
    _run_kernel(data, ShortenHeader(MAX_VERSION, TYPE_S16HL, 1, DEFAULT_BLOCK_SIZE, 0, 0, 0), 0)


def decode_shorten(stream: bytes, max_frames: int = 0) -> np.ndarray:
    """A shorten stream (bytes-like, starting with 'ajkg') -> int16 samples [frames, channels].

    u-law streams come back as 16-bit linear PCM. With ``max_frames`` > 0 (the
    SPHERE sample_count) decoding stops there, and memory is the output plus
    the compressed stream.
    """
    from espnet_mixrep.core import shorten_kernel as kernel

    header = read_shorten_header(stream)
    data = np.zeros(len(stream) + kernel.PAD_BYTES, dtype=np.uint8)
    data[: len(stream)] = np.frombuffer(stream, dtype=np.uint8)
    out, frames, error, bit = _run_kernel(data, header, max_frames)
    if error != kernel.ERR_NONE:
        problem = {
            kernel.ERR_TRUNCATED: "shorten stream ends inside a code",
            kernel.ERR_COMMAND: "unknown shorten command",
            kernel.ERR_LPC_ORDER: f"LPC order above the header's maximum {max(NWRAP, header.maxnlpc)}",
            kernel.ERR_BLOCK_SIZE: "bad shorten block size",
            kernel.ERR_BIT_SHIFT: "bit shift out of range",
            kernel.ERR_RANGE: "decoded sample out of range (corrupted stream)",
            kernel.ERR_CODE_WIDTH: "Rice code wider than 32 bits (corrupted stream)",
        }[error]
        raise ShortenError(problem, bit // 8, frames)
    return out[:frames]
