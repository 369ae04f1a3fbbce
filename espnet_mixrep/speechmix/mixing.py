"""Between-class mixing: pairs, ratios, the gain-aware and plain mixes, targets, loss."""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F

MIX_MODES = ("none", "speechmix", "plain")


def _device(generator: torch.Generator | None, like: torch.Tensor) -> torch.device:
    """Draw where the generator lives (a CPU generator can serve a CUDA batch)."""
    return generator.device if generator is not None else like.device


def pick_partners(labels: torch.Tensor, generator: torch.Generator | None = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """For each row, a random partner row with a different label.

    Returns (partner index (B,), has_partner (B,) bool). A row whose label
    every other row shares keeps itself as partner; callers leave it unmixed.
    """
    different = labels[:, None] != labels[None, :]
    has_partner = different.any(dim=1)
    scores = torch.rand(different.shape, generator=generator, device=_device(generator, labels)).to(labels.device)
    scores = scores.masked_fill(~different, -1.0)
    partner = scores.argmax(dim=1)
    own = torch.arange(labels.shape[0], device=labels.device)
    return torch.where(has_partner, partner, own), has_partner


def draw_ratios(
    has_partner: torch.Tensor, eps: float = 1e-3, generator: torch.Generator | None = None
) -> torch.Tensor:
    """r ~ U(0, 1) per row, clamped to [eps, 1 - eps]; r = 1 (no mix) for rows without a partner."""
    r = torch.rand(has_partner.shape, generator=generator, device=_device(generator, has_partner)).to(has_partner.device)
    r = r.clamp(eps, 1.0 - eps)
    return torch.where(has_partner, r, torch.ones_like(r))


def _per_row(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.to(like.dtype).reshape(-1, *([1] * (like.dim() - 1)))


def gain_aware_mix(
    h: torch.Tensor, h_partner: torch.Tensor, gain_db: torch.Tensor, gain_partner_db: torch.Tensor, r: torch.Tensor
) -> torch.Tensor:
    """SpeechMix / BC mix: p = 1 / (1 + 10^((G_i - G_j)/20) (1 - r)/r); (p h_i + (1-p) h_j) / sqrt(p^2 + (1-p)^2)."""
    r64 = r.to(torch.float64)
    ratio = 10.0 ** ((gain_db.to(torch.float64) - gain_partner_db.to(torch.float64)) / 20.0)
    p = 1.0 / (1.0 + ratio * (1.0 - r64) / r64)
    norm = torch.sqrt(p**2 + (1.0 - p) ** 2)
    p, norm = _per_row(p, h), _per_row(norm, h)
    return (p * h + (1.0 - p) * h_partner) / norm


def plain_mix(h: torch.Tensor, h_partner: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Manifold mixup: r h_i + (1 - r) h_j, no gain, no normalisation."""
    r = _per_row(r, h)
    return r * h + (1.0 - r) * h_partner


def soft_targets(onehot: torch.Tensor, partner: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """t_i = r_i y_i + (1 - r_i) y_j (uses r, not the gain-corrected p)."""
    r = r.to(onehot.dtype)[:, None]
    return r * onehot + (1.0 - r) * onehot[partner]


def kl_loss(targets: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """KL(t || softmax(z)) averaged over the batch (0 log 0 := 0)."""
    return F.kl_div(F.log_softmax(logits, dim=-1), targets, reduction="batchmean")
