"""A-weighted sound-pressure gain, as BC learning and SpeechMix compute it.

The gain of a signal is the loudest frame's A-weighted power in dB; the mix of
two sounds is weighted by it so that a loud sound does not drown a quiet one.

Hidden feature maps: like the authors' code, a hidden map is flattened row by
row (C-order, i.e. (channel, height, width) or (time, dim)) and treated as a
waveform at the data's sample rate, with the same n_fft. Maps shorter than one
frame are zero-padded to one frame (the authors' code would return no frame).
"""

from __future__ import annotations

import math

import torch

# Gain floor: 10 log10(1e-8) = -80 dB, as in BC learning.
MIN_DB = -80.0


def default_n_fft(sample_rate: int) -> int:
    """2048 at 16 kHz, 4096 at 44.1 kHz, 1024 at 8 kHz: the power of two nearest 2048 * fs / 16000."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    return 2 ** int(round(math.log2(2048 * sample_rate / 16000)))


def a_weighting_db(freqs: torch.Tensor, min_db: float = MIN_DB) -> torch.Tensor:
    """A-weighting in dB at ``freqs`` (Hz); f^2 := 1 at DC; clipped below at ``min_db``."""
    f2 = freqs.to(torch.float64) ** 2
    f2 = torch.where(f2 == 0, torch.ones_like(f2), f2)
    weight = 2.0 + 20.0 * (
        2 * math.log10(12194.0)
        + 2 * torch.log10(f2)
        - torch.log10(f2 + 12194.0**2)
        - torch.log10(f2 + 20.6**2)
        - 0.5 * torch.log10(f2 + 107.7**2)
        - 0.5 * torch.log10(f2 + 737.9**2)
    )
    return torch.clamp(weight, min=min_db)


@torch.no_grad()
def sound_pressure_gain_db(signals: torch.Tensor, sample_rate: int, n_fft: int | None = None) -> torch.Tensor:
    """Per-row A-weighted gain in dB of ``signals`` (B, ...), flattened per row.

    Frames of ``n_fft`` (hop n_fft/2, periodic Hann) start at 0 while
    start + n_fft <= length; frame gain = max(sum_k P_k 10^(A_k/10), 1e-8);
    the row's gain is the maximum over frames, in dB. No gradient flows.
    """
    n_fft = n_fft or default_n_fft(sample_rate)
    rows = signals.detach().reshape(signals.shape[0], -1).to(torch.float64)
    if rows.shape[1] < n_fft:
        rows = torch.nn.functional.pad(rows, (0, n_fft - rows.shape[1]))
    frames = rows.unfold(1, n_fft, n_fft // 2)  # (B, n_frames, n_fft)
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64, device=rows.device)
    power = torch.fft.rfft(frames * window, dim=-1).abs() ** 2
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64, device=rows.device)
    weights = 10.0 ** (a_weighting_db(freqs) / 10.0)
    frame_gain = torch.clamp((power * weights).sum(-1), min=10.0 ** (MIN_DB / 10.0))
    return (10.0 * torch.log10(frame_gain)).max(dim=1).values.to(signals.dtype)
