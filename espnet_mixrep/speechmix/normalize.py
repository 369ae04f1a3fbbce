"""``normalize: waveform_mvn``: per-clip mean and variance normalisation of raw waveforms.

ESPnet's ``utterance_mvn`` computes the same statistics but is written for
(B, T, D) features; on a (B, T) waveform batch it is about 80 times slower
(benchmarks/waveform_mvn.py), longer than EnvNet-v2's own forward pass. With the SpeechMix model it runs on each crop
(ESPnet's ``encode`` normalises after the crop and any waveform mix), so a
quiet speaker's clips reach the network at the same level as a loud one's.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from espnet2.layers.abs_normalize import AbsNormalize
from typeguard import typechecked


class WaveformMVN(AbsNormalize):
    """Zero mean and unit variance per row of a (B, T) batch, over its first ``ilens`` samples."""

    @typechecked
    def __init__(self, norm_means: bool = True, norm_vars: bool = True, eps: float = 1.0e-8) -> None:
        super().__init__()
        self.norm_means = norm_means
        self.norm_vars = norm_vars
        self.eps = eps

    def forward(self, x: torch.Tensor, ilens: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 2:
            raise ValueError(
                f"normalize waveform_mvn takes raw waveforms (batch, samples), got shape {tuple(x.shape)}: "
                "use utterance_mvn or global_mvn for features"
            )
        if ilens is None:
            ilens = x.new_full((x.shape[0],), x.shape[1], dtype=torch.long)
        inside = (torch.arange(x.shape[1], device=x.device)[None, :] < ilens[:, None]).to(x.dtype)
        count = ilens.clamp_min(1).to(x.dtype)[:, None]
        x = x * inside
        if self.norm_means:
            x = (x - x.sum(dim=1, keepdim=True) / count) * inside
        if self.norm_vars:
            mean = 0.0 if self.norm_means else x.sum(dim=1, keepdim=True) / count
            std = (((x - mean) * inside).pow(2).sum(dim=1, keepdim=True) / count).sqrt().clamp_min(self.eps)
            x = x / std
        return x, ilens
