"""A small shorten encoder (versions 0-2; 16-bit signed or lossless u-law),
written for the tests of our decoder: it uses every command a real stream
can hold (DIFF0-3, QLPC, ZERO, BITSHIFT, BLOCKSIZE, VERBATIM) with the
running mean offset, where the real LDC test files use only some of them."""

from __future__ import annotations

from typing import List, Sequence, Union

import numpy as np

from espnet_mixrep.core.shorten import (
    BITSHIFTSIZE, CHANSIZE, ENERGYSIZE, FIXED_COEFFS, FN_BITSHIFT, FN_BLOCKSIZE, FN_DIFF0, FN_DIFF1, FN_DIFF2,
    FN_DIFF3, FN_QLPC, FN_QUIT, FN_VERBATIM, FN_ZERO, FNSIZE, LPCQSIZE, LPCQUANT, NSKIPSIZE, NWRAP, TYPE_AU1,
    TYPE_AU2, TYPE_S16HL, TYPESIZE, ULAW_OUTWARD, ULONGSIZE, VERBATIM_BYTE_SIZE, VERBATIM_CKSIZE_SIZE, XBYTESIZE,
)  # fmt: skip

QLPC_COEFFS = (40, -12)  # quantised by 2**LPCQUANT: 1.25 x[n-1] - 0.375 x[n-2]


def _cdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero), as shorten computes its means."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


class _BitWriter:
    def __init__(self) -> None:
        self.bits: List[int] = []

    def put(self, value: int, k: int) -> None:
        self.bits.extend((value >> (k - 1 - i)) & 1 for i in range(k))

    def uvar(self, value: int, k: int) -> None:
        self.bits.extend([0] * (value >> k) + [1])
        self.put(value & ((1 << k) - 1), k)

    def svar(self, value: int, k: int) -> None:
        self.uvar((value << 1) if value >= 0 else ((~value) << 1) | 1, k + 1)

    def ulong(self, value: int) -> None:
        k = value.bit_length()
        self.uvar(k, ULONGSIZE)
        self.uvar(value, k)

    def tobytes(self) -> bytes:
        return np.packbits(np.array(self.bits, dtype=np.uint8)).tobytes()


def _ulaw_indices(codes: np.ndarray, sample_type: int) -> np.ndarray:
    """u-law bytes -> the monotonic indices shorten's u-law types code (lossless: row 0 of the table)."""
    position = np.argsort(ULAW_OUTWARD[0])[codes.astype(np.int64)]  # where each byte sits in row 0
    if sample_type == TYPE_AU1:
        return position - 128
    return np.where(codes == 0x7F, -1, np.where(position >= 128, position - 128, position - 129))


def encode_shorten(
    samples: np.ndarray, version: int = 2, blocksize: Union[int, Sequence[int]] = 256, nmean: int = 4,
    bitshift: int = 0, sample_type: int = TYPE_S16HL, skip_bytes: bytes = b"",
) -> bytes:
    """Samples [frames, channels] -> shorten stream.

    ``samples``: int16, or u-law bytes for the u-law types (TYPE_AU1, TYPE_AU2);
    other ``sample_type`` values only label the stream. ``blocksize``: one
    size, or the size of each block in turn (the last repeats); the final
    block is cut to what is left. ``skip_bytes`` go in the header (nskip).
    """
    if sample_type in (TYPE_AU1, TYPE_AU2):
        samples = _ulaw_indices(np.asarray(samples), sample_type)
    samples = np.asarray(samples, dtype=np.int64)
    frames, channels = samples.shape
    sizes = [blocksize] if isinstance(blocksize, int) else list(blocksize)
    blocksize = sizes[0]
    w = _BitWriter()
    uint = (lambda v, k: w.uvar(v, k)) if version == 0 else (lambda v, k: w.ulong(v))
    uint(sample_type, TYPESIZE)
    uint(channels, CHANSIZE)
    if version > 0:
        uint(blocksize, 8)
        uint(len(QLPC_COEFFS), LPCQSIZE)
        uint(nmean, 0)
        uint(len(skip_bytes), NSKIPSIZE)
        for byte in skip_bytes:
            w.uvar(byte, XBYTESIZE)
    lpcqoffset = (1 << LPCQUANT) if version > 1 else 0
    w.uvar(FN_VERBATIM, FNSIZE)
    w.uvar(3, VERBATIM_CKSIZE_SIZE)
    for byte in b"SPH":
        w.uvar(byte, VERBATIM_BYTE_SIZE)
    if bitshift:
        w.uvar(FN_BITSHIFT, FNSIZE)
        w.uvar(bitshift, BITSHIFTSIZE)
    nwrap = max(NWRAP, len(QLPC_COEFFS))
    history = [[0] * nwrap for _ in range(channels)]
    offsets = [[0] * max(1, nmean) for _ in range(channels)]
    commands = [FN_DIFF0, FN_DIFF1, FN_DIFF2, FN_DIFF3, FN_QLPC]
    start, n_block = 0, 0
    while start < frames:
        wanted = min(sizes[min(n_block, len(sizes) - 1)], frames - start)
        if wanted != blocksize:
            w.uvar(FN_BLOCKSIZE, FNSIZE)
            uint(wanted, blocksize.bit_length() - 1)
            blocksize = wanted
        for chan in range(channels):
            block = [int(x) >> bitshift for x in samples[start : start + blocksize, chan]]
            if nmean == 0:
                coffset = offsets[chan][0]
            else:
                coffset = _cdiv(sum(offsets[chan]) + (0 if version < 2 else nmean // 2), nmean)
                if version >= 2:
                    coffset >>= bitshift
            hist = history[chan]
            cmd = FN_ZERO if not any(block) else commands[n_block % len(commands)]
            w.uvar(cmd, FNSIZE)
            if cmd != FN_ZERO:
                if cmd == FN_QLPC:
                    coeffs, shift, base = QLPC_COEFFS, LPCQUANT, lpcqoffset
                    buf = [h - coffset for h in hist]
                    target = [x - coffset for x in block]
                else:
                    coeffs, shift = FIXED_COEFFS[cmd], 0
                    base = coffset if cmd == FN_DIFF0 else 0
                    buf, target = list(hist), list(block)
                residuals = []
                for x in target:
                    acc = base + sum(c * buf[-1 - j] for j, c in enumerate(coeffs))
                    residuals.append(x - (acc >> shift))
                    buf.append(x)
                mean_abs = sum(abs(e) for e in residuals) / len(residuals)
                resn = max(0, int(np.log2(mean_abs + 1)))
                w.uvar(resn + (1 if version == 0 else 0), ENERGYSIZE)
                if cmd == FN_QLPC:
                    w.uvar(len(coeffs), LPCQSIZE)
                    for c in coeffs:
                        w.svar(c, LPCQUANT)
                for e in residuals:
                    w.svar(e, resn)
            if nmean > 0:
                mean = _cdiv(sum(block) + (0 if version < 2 else blocksize // 2), blocksize)
                offsets[chan] = offsets[chan][1:] + [mean << bitshift if version >= 2 else mean]
            history[chan] = (hist + block)[-nwrap:]
        start += blocksize
        n_block += 1
    w.uvar(FN_QUIT, FNSIZE)
    return b"ajkg" + bytes([version]) + w.tobytes()
