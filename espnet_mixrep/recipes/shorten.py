"""Decoder for shorten-compressed audio as embedded in NIST SPHERE files (WSJ's
.wv1): the fallback when sph2pipe is not installed.

Shorten (T. Robinson, 1994) codes blocks of samples as Rice-coded residuals of
a fixed polynomial (DIFF0-3) or quantised LPC (QLPC) predictor, with a running
mean offset (nmean blocks) and an optional bit shift. This implementation
follows the format of shorten versions 1 and 2 (16-bit signed sample types);
it runs in pure Python (about 0.5 s per 10 s of 16 kHz audio), so
sph2pipe stays the first choice when it is on PATH. Other sample types (e.g.
u-law shorten) raise an error naming sph2pipe.
"""

from __future__ import annotations

from typing import List

import numpy as np

MAGIC = b"ajkg"
FNSIZE, ENERGYSIZE, LPCQSIZE, LPCQUANT, BITSHIFTSIZE = 2, 3, 2, 5, 2
TYPESIZE, CHANSIZE, NSKIPSIZE, ULONGSIZE = 4, 0, 1, 2
VERBATIM_CKSIZE_SIZE, VERBATIM_BYTE_SIZE = 5, 8
FN_DIFF0, FN_DIFF1, FN_DIFF2, FN_DIFF3, FN_QUIT, FN_BLOCKSIZE, FN_BITSHIFT, FN_QLPC, FN_ZERO, FN_VERBATIM = range(10)
TYPE_S16HL, TYPE_S16LH = 3, 5
DEFAULT_BLOCK_SIZE, NWRAP = 256, 3
FIXED_COEFFS = {FN_DIFF0: (), FN_DIFF1: (1,), FN_DIFF2: (2, -1), FN_DIFF3: (3, -3, 1)}


class ShortenError(ValueError):
    """A shorten stream we cannot decode."""


def _cdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero), as the reference decoder computes means."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


class _BitReader:
    """MSB-first bit reader with the Rice/unary codes of shorten."""

    def __init__(self, data: bytes) -> None:
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        n = len(bits)
        # next_one[p]: position of the first 1 bit at or after p (n when none): unary codes in O(1).
        marks = np.where(bits == 1, np.arange(n), n)
        self.next_one: List[int] = np.minimum.accumulate(marks[::-1])[::-1].tolist() + [n]
        self.data = data + b"\0" * 8
        self.n = n
        self.pos = 0

    def bits(self, k: int) -> int:
        if k == 0:
            return 0
        p = self.pos
        window = int.from_bytes(self.data[p >> 3 : (p >> 3) + 6], "big")
        self.pos = p + k
        return (window >> (48 - (p & 7) - k)) & ((1 << k) - 1)

    def uvar(self, k: int) -> int:
        p = self.pos
        one = self.next_one[p] if p < self.n else self.n
        if one >= self.n:
            raise ShortenError("shorten stream ends inside a code")
        self.pos = one + 1
        return ((one - p) << k) | self.bits(k)

    def svar(self, k: int) -> int:
        v = self.uvar(k + 1)
        return ~(v >> 1) if v & 1 else v >> 1

    def ulong(self) -> int:
        return self.uvar(self.uvar(ULONGSIZE))


def decode_shorten(stream: bytes) -> np.ndarray:
    """A shorten stream (starting with 'ajkg') -> int samples [frames, channels]."""
    if not stream.startswith(MAGIC):
        raise ShortenError("not a shorten stream (no 'ajkg' magic)")
    version = stream[4]
    if version > 2:
        raise ShortenError(f"shorten format version {version} is not supported")
    r = _BitReader(stream[5:])
    uint = (lambda k: r.uvar(k)) if version == 0 else (lambda k: r.ulong())
    ftype = uint(TYPESIZE)
    if ftype not in (TYPE_S16HL, TYPE_S16LH):
        raise ShortenError(f"shorten sample type {ftype} is not supported (16-bit signed only)")
    channels = uint(CHANSIZE)
    blocksize, maxnlpc, nmean = DEFAULT_BLOCK_SIZE, 0, 0
    if version > 0:
        blocksize = uint(8)  # log2(DEFAULT_BLOCK_SIZE)
        maxnlpc = uint(LPCQSIZE)
        nmean = uint(0)
        for _ in range(uint(NSKIPSIZE)):
            r.bits(8)
    if not 0 < channels <= 8 or not 0 < blocksize <= 65535:
        raise ShortenError(f"bad shorten header: {channels} channels, block size {blocksize}")
    nwrap = max(NWRAP, maxnlpc)
    lpcqoffset = (1 << LPCQUANT) if version > 1 else 0
    history = [[0] * nwrap for _ in range(channels)]
    offsets = [[0] * max(1, nmean) for _ in range(channels)]
    out: List[List[int]] = [[] for _ in range(channels)]
    bitshift = 0
    chan = 0
    while True:
        cmd = r.uvar(FNSIZE)
        if cmd == FN_QUIT:
            break
        if cmd == FN_VERBATIM:
            for _ in range(r.uvar(VERBATIM_CKSIZE_SIZE)):
                r.uvar(VERBATIM_BYTE_SIZE)
            continue
        if cmd == FN_BITSHIFT:
            bitshift = r.uvar(BITSHIFTSIZE)
            continue
        if cmd == FN_BLOCKSIZE:
            blocksize = uint(max(blocksize.bit_length() - 1, 0))
            continue
        if cmd > FN_VERBATIM:
            raise ShortenError(f"unknown shorten command {cmd} at bit {r.pos}")
        resn = 0
        if cmd != FN_ZERO:
            resn = r.uvar(ENERGYSIZE) - (1 if version == 0 else 0)
        if nmean == 0:
            coffset = offsets[chan][0]
        else:
            total = sum(offsets[chan]) + (0 if version < 2 else nmean // 2)
            coffset = _cdiv(total, nmean)
            if version >= 2:
                coffset >>= bitshift
        hist = history[chan]
        block: List[int]
        if cmd == FN_ZERO:
            block = [0] * blocksize
        else:
            if cmd == FN_QLPC:
                order = r.uvar(LPCQSIZE)
                if order > nwrap:
                    raise ShortenError(f"LPC order {order} above the header's maximum {nwrap}")
                coeffs = tuple(r.svar(LPCQUANT) for _ in range(order))
                shift, base = LPCQUANT, lpcqoffset
                past = [h - coffset for h in hist]
            else:
                coeffs = FIXED_COEFFS[cmd]
                shift, base = 0, (coffset if cmd == FN_DIFF0 else 0)
                past = list(hist)
            order = len(coeffs)
            buf = past[len(past) - order :] if order else []
            block = []
            for _ in range(blocksize):
                acc = base
                for j in range(order):
                    acc += coeffs[j] * buf[-1 - j]
                x = r.svar(resn) + (acc >> shift)
                buf.append(x)
                block.append(x)
            if cmd == FN_QLPC and coffset:
                block = [x + coffset for x in block]
        if nmean > 0:
            total = sum(block) + (0 if version < 2 else blocksize // 2)
            mean = _cdiv(total, blocksize)
            offsets[chan] = offsets[chan][1:] + [mean << bitshift if version >= 2 else mean]
        history[chan] = (hist + block)[-nwrap:]
        out[chan].extend(x << bitshift for x in block)
        chan = (chan + 1) % channels
    frames = min(len(o) for o in out)
    return np.stack([np.asarray(o[:frames], dtype=np.int64) for o in out], axis=1)
