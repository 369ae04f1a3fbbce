"""The compiled inner loop of the shorten decoder (:mod:`espnet_mixrep.core.shorten`).

numba compiles it on first use and caches the machine code on disk
(``cache=True``: ``__pycache__`` beside this file, or numba's user cache
directory where that is read-only), so later processes load it instead of
compiling. It lives apart from shorten.py because numba keys that cache on
the source file: editing the Python wrapper does not force a recompile.

Errors are returned as codes (numba cannot raise exceptions with run-time
messages from cached code); shorten.py turns them into ShortenError.
"""

from __future__ import annotations

import numba
import numpy as np

# numba compiles these format constants in as literals (they never change).
from espnet_mixrep.core.shorten import (
    BITSHIFTSIZE, ENERGYSIZE, FN_BITSHIFT, FN_BLOCKSIZE, FN_DIFF0, FN_DIFF1, FN_DIFF2, FN_DIFF3, FN_QUIT,
    FN_VERBATIM, FN_ZERO, FNSIZE, LPCQSIZE, LPCQUANT, MAX_BLOCK_SIZE, NWRAP, TYPE_AU1, TYPE_AU2, ULONGSIZE,
    VERBATIM_BYTE_SIZE, VERBATIM_CKSIZE_SIZE,
)  # fmt: skip

MAX_CODE_BITS = 32  # widest fixed-width field the bit reader takes in one read
NEGATIVE_ULAW_ZERO = 0x7F
# Padding after the stream, so that reads past its end (which the decoder then
# reports as truncation) never index outside the array.
PAD_BYTES = 16

ERR_NONE, ERR_TRUNCATED, ERR_COMMAND, ERR_LPC_ORDER, ERR_BLOCK_SIZE, ERR_BIT_SHIFT, ERR_RANGE, ERR_CODE_WIDTH = range(8)


@numba.njit(cache=True)
def _unary(data, pos, nbits):
    """Count zero bits up to the next one bit -> (count, position after it); nbits + 1 if the stream ends first."""
    count = 0
    while pos < nbits:
        offset = pos & 7
        byte = data[pos >> 3] & (0xFF >> offset)
        if byte == 0:
            count += 8 - offset
            pos += 8 - offset
        else:
            first_one = offset
            while not byte & (0x80 >> first_one):
                first_one += 1
            count += first_one - offset
            return count, pos - offset + first_one + 1
    return count, nbits + 1


@numba.njit(cache=True)
def _bits(data, pos, k):
    """The k (<= 32) bits at pos, most significant first -> (value, pos + k)."""
    if k == 0:
        return 0, pos
    byte = pos >> 3
    window = np.uint64(0)
    for i in range(5):
        window = (window << np.uint64(8)) | np.uint64(data[byte + i])
    shift = np.uint64(40 - (pos & 7) - k)
    return np.int64((window >> shift) & np.uint64((1 << k) - 1)), pos + k


@numba.njit(cache=True)
def _uvar(data, pos, nbits, k):
    """Rice code with k low bits -> (value, new position)."""
    high, pos = _unary(data, pos, nbits)
    low, pos = _bits(data, pos, k)
    return (high << k) | low, pos


@numba.njit(cache=True)
def _svar(data, pos, nbits, k):
    """Signed Rice code (sign in the lowest bit) -> (value, new position)."""
    value, pos = _uvar(data, pos, nbits, k + 1)
    if value & 1:
        return ~(value >> 1), pos
    return value >> 1, pos


@numba.njit(cache=True)
def _cdiv(a, b):
    """C integer division (truncates toward zero), as the reference decoder computes means."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


@numba.njit(cache=True, nogil=True)
def decode_blocks(data, pos, version, sample_type, channels, blocksize, maxnlpc, nmean, max_frames,
                  ulaw_outward, ulaw_to_linear):  # fmt: skip
    """Decode the command stream from bit ``pos`` of ``data`` (uint8, PAD_BYTES of zeros appended).

    Returns (int16 samples [frames, channels] of which ``frames`` are decoded,
    frames, error code, bit position of the failing command). Stops at the
    QUIT command or after ``max_frames`` frames (when > 0, the SPHERE header's
    sample_count). u-law types are expanded to linear PCM with ``ulaw_to_linear``.
    """
    nbits = (data.shape[0] - PAD_BYTES) * 8
    nwrap = max(NWRAP, maxnlpc)
    is_ulaw = sample_type == TYPE_AU1 or sample_type == TYPE_AU2
    # buffer[c, :nwrap] holds the last nwrap samples of channel c, the block follows.
    buffer = np.zeros((channels, nwrap + blocksize), np.int64)
    offsets = np.zeros((channels, max(1, nmean)), np.int64)
    qlpc = np.zeros(nwrap, np.int64)
    lpcqoffset = (1 << LPCQUANT) if version > 1 else 0
    capacity = max_frames if max_frames > 0 else 16 * blocksize
    out = np.zeros((capacity, channels), np.int16)
    frames = 0
    chan = 0
    bitshift = 0
    while max_frames <= 0 or frames < max_frames:
        start = pos
        cmd, pos = _uvar(data, pos, nbits, FNSIZE)
        if pos > nbits:
            return out, frames, ERR_TRUNCATED, start
        if cmd == FN_QUIT:
            break
        if cmd == FN_BLOCKSIZE:
            if version == 0:
                width = 0
                while (2 << width) <= blocksize:
                    width += 1
                new_size, pos = _uvar(data, pos, nbits, width)
            else:
                width, pos = _uvar(data, pos, nbits, ULONGSIZE)
                if width > MAX_CODE_BITS:
                    return out, frames, ERR_CODE_WIDTH, start
                new_size, pos = _uvar(data, pos, nbits, width)
            if pos > nbits:
                return out, frames, ERR_TRUNCATED, start
            if new_size <= 0 or new_size > MAX_BLOCK_SIZE:
                return out, frames, ERR_BLOCK_SIZE, start
            if nwrap + new_size > buffer.shape[1]:
                grown = np.zeros((channels, nwrap + new_size), np.int64)
                grown[:, :nwrap] = buffer[:, :nwrap]
                buffer = grown
            blocksize = new_size
            continue
        if cmd == FN_BITSHIFT:
            bitshift, pos = _uvar(data, pos, nbits, BITSHIFTSIZE)
            if bitshift >= (ulaw_outward.shape[0] if is_ulaw else 16):
                return out, frames, ERR_BIT_SHIFT, start
            continue
        if cmd == FN_VERBATIM:
            length, pos = _uvar(data, pos, nbits, VERBATIM_CKSIZE_SIZE)
            for _ in range(length):
                _, pos = _uvar(data, pos, nbits, VERBATIM_BYTE_SIZE)
                if pos > nbits:
                    return out, frames, ERR_TRUNCATED, start
            continue
        if cmd > FN_VERBATIM:
            return out, frames, ERR_COMMAND, start

        resn = 0
        if cmd != FN_ZERO:
            resn, pos = _uvar(data, pos, nbits, ENERGYSIZE)
            if version == 0:
                resn -= 1
            if resn < 0 or resn + 1 > MAX_CODE_BITS:
                return out, frames, ERR_CODE_WIDTH, start
        # Running mean of the last nmean blocks: the DIFF0 / QLPC offset.
        if nmean == 0:
            coffset = offsets[chan, 0]
        else:
            total = 0 if version < 2 else nmean // 2
            for i in range(nmean):
                total += offsets[chan, i]
            coffset = _cdiv(total, nmean)
            if version >= 2:
                coffset >>= bitshift
        b = buffer[chan]
        if cmd == FN_ZERO:
            for i in range(nwrap, nwrap + blocksize):
                b[i] = 0
        elif cmd == FN_DIFF0:
            for i in range(nwrap, nwrap + blocksize):
                residual, pos = _svar(data, pos, nbits, resn)
                b[i] = residual + coffset
        elif cmd == FN_DIFF1:
            for i in range(nwrap, nwrap + blocksize):
                residual, pos = _svar(data, pos, nbits, resn)
                b[i] = residual + b[i - 1]
        elif cmd == FN_DIFF2:
            for i in range(nwrap, nwrap + blocksize):
                residual, pos = _svar(data, pos, nbits, resn)
                b[i] = residual + 2 * b[i - 1] - b[i - 2]
        elif cmd == FN_DIFF3:
            for i in range(nwrap, nwrap + blocksize):
                residual, pos = _svar(data, pos, nbits, resn)
                b[i] = residual + 3 * (b[i - 1] - b[i - 2]) + b[i - 3]
        else:  # FN_QLPC
            order, pos = _uvar(data, pos, nbits, LPCQSIZE)
            if order > nwrap:
                return out, frames, ERR_LPC_ORDER, start
            for j in range(order):
                coefficient, pos = _svar(data, pos, nbits, LPCQUANT)
                qlpc[j] = coefficient
            # As the reference decoder: the predictor runs on the history minus
            # the offset, and that history is changed in place.
            for j in range(order):
                b[nwrap - 1 - j] -= coffset
            for i in range(nwrap, nwrap + blocksize):
                acc = lpcqoffset
                for j in range(order):
                    acc += qlpc[j] * b[i - j - 1]
                residual, pos = _svar(data, pos, nbits, resn)
                b[i] = residual + (acc >> LPCQUANT)
            if coffset != 0:
                for i in range(nwrap, nwrap + blocksize):
                    b[i] += coffset
        if pos > nbits:
            return out, frames, ERR_TRUNCATED, start

        if nmean > 0:
            total = 0 if version < 2 else blocksize // 2
            for i in range(nwrap, nwrap + blocksize):
                total += b[i]
            for i in range(1, nmean):
                offsets[chan, i - 1] = offsets[chan, i]
            mean = _cdiv(total, blocksize)
            offsets[chan, nmean - 1] = mean << bitshift if version >= 2 else mean

        if frames + blocksize > out.shape[0]:
            if max_frames > 0 and frames + blocksize > max_frames:
                count = max_frames - frames
            else:
                grown_out = np.zeros((max(2 * out.shape[0], frames + blocksize), channels), np.int16)
                grown_out[:frames] = out[:frames]
                out = grown_out
                count = blocksize
        else:
            count = blocksize
        for i in range(count):
            x = b[nwrap + i]
            if is_ulaw:
                if sample_type == TYPE_AU2 and x == -1:
                    code = NEGATIVE_ULAW_ZERO
                else:
                    # AU2 keeps -1 for the negative zero, so its other negatives sit one lower.
                    index = x + (129 if sample_type == TYPE_AU2 and x < 0 else 128)
                    if index < 0 or index > 255:
                        return out, frames, ERR_RANGE, start
                    code = np.int64(ulaw_outward[bitshift, index])
                out[frames + i, chan] = ulaw_to_linear[code]
            else:
                x <<= bitshift
                if x < -32768 or x > 32767:
                    return out, frames, ERR_RANGE, start
                out[frames + i, chan] = x
        # Keep the last nwrap samples (before the bit shift) for the next block's predictor.
        for i in range(nwrap):
            b[i] = b[i + blocksize]
        if chan == channels - 1:
            frames += count
        chan = (chan + 1) % channels
    return out, frames, ERR_NONE, pos
