"""G.711 u-law and A-law tables, as SPHERE readers (sph2pipe, shorten) use them."""

from __future__ import annotations

import numpy as np


def _ulaw_table() -> np.ndarray:
    """u-law byte -> 16-bit linear sample (0x00 / 0x80 the extremes, 0x7F / 0xFF the zeros)."""
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> np.ndarray:
    """A-law byte -> 16-bit linear sample (even bits inverted, as G.711 sends them)."""
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (codes >> 4) & 0x07
    magnitude = ((codes & 0x0F) << 4) + np.where(segment == 0, 8, 0x108)
    magnitude = np.where(segment > 1, magnitude << np.maximum(segment - 1, 0), magnitude)
    return np.where(codes & 0x80, magnitude, -magnitude).astype(np.int16)


ULAW_TO_LINEAR = _ulaw_table()
ALAW_TO_LINEAR = _alaw_table()


def linear_to_ulaw(samples: np.ndarray) -> np.ndarray:
    """16-bit linear -> u-law bytes (inverse of ULAW_TO_LINEAR up to quantisation; clips at 32635)."""
    x = np.asarray(samples).astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)
