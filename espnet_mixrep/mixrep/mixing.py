"""The mixing step of MixRep, independent of any encoder.

A :class:`MixPlan` says, for one training step, at which layer to mix, which
rows of the batch are replaced by a mix with which partner row, and with what
weight. :func:`mix_padded` applies it to any padded batch (waveforms, features
or hidden states) and returns the merged lengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

LAYER0_DOMAINS = ("feats", "waveform")


@dataclass
class MixPlan:
    """The random draws of one training step.

    Row ``rows[n]`` becomes ``lam[n] * h[rows[n]] + (1 - lam[n]) * h[partners[n]]``;
    every other row is left untouched.
    """

    layer: int
    rows: torch.Tensor  # (M,) long
    partners: torch.Tensor  # (M,) long, partners[n] != rows[n]
    lam: torch.Tensor  # (M,) float, weight of the row's own input and transcript
    applied: bool = False


def parse_mix_layers(mix_layers: Union[int, str, Sequence[int]], num_blocks: int) -> List[int]:
    """Turn ``"0,9"``, ``9`` or ``[0, 9]`` into a sorted list of valid layer indices."""
    if isinstance(mix_layers, bool):
        raise ValueError(f"mix_layers={mix_layers!r}: expected layer indices such as \"0,9\" or [0, 9]")
    if isinstance(mix_layers, int):
        items: List[object] = [mix_layers]
    elif isinstance(mix_layers, str):
        items = [s.strip() for s in mix_layers.split(",")]
    elif isinstance(mix_layers, (list, tuple)):
        items = list(mix_layers)
    else:
        raise ValueError(f"mix_layers={mix_layers!r}: expected layer indices such as \"0,9\" or [0, 9]")
    layers = []
    for item in items:
        try:
            layer = int(item)  # type: ignore[call-overload]
            if isinstance(item, float) and item != layer:
                raise ValueError
        except (TypeError, ValueError):
            raise ValueError(
                f"mix_layers={mix_layers!r}: {item!r} is not a layer index "
                f"(allowed: integers 0..{num_blocks}; 0 = encoder input, k = output of block k)"
            ) from None
        if not 0 <= layer <= num_blocks:
            raise ValueError(
                f"mix_layers={mix_layers!r}: layer {layer} does not exist "
                f"(allowed: 0..{num_blocks} for an encoder of {num_blocks} blocks)"
            )
        layers.append(layer)
    if not layers:
        raise ValueError(f"mix_layers={mix_layers!r}: give at least one layer index")
    return sorted(set(layers))


def check_mix_hyperparameters(alpha: float, tau: float, layer0_domain: str) -> None:
    if not alpha > 0:
        raise ValueError(f"mix_alpha={alpha!r}: must be > 0 (lambda ~ Beta(alpha, alpha))")
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"mix_tau={tau!r}: must be in [0, 1] (the fraction of rows that are mixed)")
    if layer0_domain not in LAYER0_DOMAINS:
        raise ValueError(f"mix_layer0_domain={layer0_domain!r}: must be one of {LAYER0_DOMAINS}")


def num_mixed_rows(batch_size: int, tau: float) -> int:
    """round(tau * B), rounding halves up; 0 for a batch of one."""
    if batch_size < 2:
        return 0
    return min(batch_size, int(np.floor(tau * batch_size + 0.5)))


def draw_mix_plan(
    rng: np.random.Generator,
    layers: Sequence[int],
    batch_size: int,
    alpha: float,
    tau: float,
    lambda_per_utterance: bool,
) -> Optional[MixPlan]:
    """Draw layer, rows, partners and lambda for one step; None if nothing is mixed."""
    num_rows = num_mixed_rows(batch_size, tau)
    if num_rows == 0:
        return None
    layer = int(layers[rng.integers(len(layers))])
    rows = rng.permutation(batch_size)[:num_rows]
    # An offset in 1..B-1 picks a partner uniformly among the other rows.
    partners = (rows + rng.integers(1, batch_size, size=num_rows)) % batch_size
    lam = rng.beta(alpha, alpha, size=num_rows if lambda_per_utterance else 1)
    lam = np.broadcast_to(lam, (num_rows,))
    return MixPlan(
        layer=layer,
        rows=torch.from_numpy(rows.astype(np.int64)),
        partners=torch.from_numpy(partners.astype(np.int64)),
        lam=torch.tensor(lam, dtype=torch.float32),
    )


def mix_padded(x: torch.Tensor, lengths: torch.Tensor, plan: MixPlan) -> Tuple[torch.Tensor, torch.Tensor]:
    """Mix rows of a padded batch ``x`` (B, T, ...) as the plan says.

    Padded frames of both inputs are zeroed first (after subsampling they are
    not zero), and a mixed row's length becomes the longer of the two. Rows
    without a partner are returned unchanged, padding included, so that they
    are trained exactly as without mixing.
    """
    rows = plan.rows.to(x.device)
    partners = plan.partners.to(x.device)
    lengths = lengths.to(x.device)
    time = torch.arange(x.size(1), device=x.device)
    valid = (time[None, :] < lengths[:, None]).to(x.dtype)  # (B, T)
    valid = valid.view(*valid.shape, *([1] * (x.dim() - 2)))
    lam = plan.lam.to(device=x.device, dtype=x.dtype).view(-1, *([1] * (x.dim() - 1)))
    mixed = lam * (x[rows] * valid[rows]) + (1 - lam) * (x[partners] * valid[partners])
    x = x.index_copy(0, rows, mixed)
    # An input with weight 0 (lambda exactly 0 or 1) does not stretch the row.
    own_len = torch.where(plan.lam.to(x.device) > 0, lengths[rows], torch.zeros_like(lengths[rows]))
    partner_len = torch.where(plan.lam.to(x.device) < 1, lengths[partners], torch.zeros_like(lengths[rows]))
    merged = lengths.index_copy(0, rows, torch.maximum(own_len, partner_len))
    return x, merged
