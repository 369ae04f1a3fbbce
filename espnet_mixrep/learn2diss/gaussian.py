"""Correlated Gaussians: the closed-form reference for checking a CLUB estimator.

y = rho * x + sqrt(1 - rho^2) * e with x, e ~ N(0, I_d) gives d independent
pairs of correlation rho. Their mutual information is -d/2 log(1 - rho^2).
CLUB evaluated with the true conditional p(y|x) = N(rho x, (1 - rho^2) I) is
d rho^2 / (1 - rho^2): above the MI by E_x KL(p(y) || p(y|x)), which grows
with rho. A trained q converges to that value, not to the MI, as long as its
variance can reach 1 - rho^2 (our q's log-variance passes through tanh, so
variances below e^-1, i.e. rho above about 0.8, are clipped and the estimate
falls short of the limit while staying above the MI).

The CLUB paper's Gaussian figure (d = 20, MI 2..10) shows estimates close to
the MI because its q has a 7-unit hidden layer: too small to represent the
20-dimensional conditional mean, it captures part of the dependence only.
``benchmarks/club_gaussian.py`` reproduces both behaviours.
"""

from __future__ import annotations

import math
from typing import Tuple

import torch

from espnet_mixrep.learn2diss.losses import CLUBEstimator


def correlated_gaussians(n: int, dim: int, rho: float, generator: torch.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
    """n samples of (x, y), each ``dim``-dimensional, per-dimension correlation ``rho``."""
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must lie in (-1, 1), got {rho}")
    x = torch.randn(n, dim, generator=generator)
    y = rho * x + math.sqrt(1 - rho**2) * torch.randn(n, dim, generator=generator)
    return x, y


def gaussian_mi(dim: int, rho: float) -> float:
    """Closed-form mutual information (nats)."""
    return abs(0.5 * dim * math.log(1 - rho**2))  # abs: 0.0, not -0.0, at rho = 0


def rho_for_mi(dim: int, mi: float) -> float:
    """The per-dimension correlation whose closed-form MI is ``mi`` nats."""
    if mi < 0:
        raise ValueError(f"mutual information must be >= 0, got {mi}")
    return math.sqrt(1 - math.exp(-2 * mi / dim))


def gaussian_club_limit(dim: int, rho: float) -> float:
    """CLUB with the true conditional as q: the value a trained estimator converges to (nats)."""
    return dim * rho**2 / (1 - rho**2)


def fit_club_on_gaussians(
    rho: float,
    dim: int = 5,
    steps: int = 400,
    batch_size: int = 256,
    hidden_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
) -> CLUBEstimator:
    """Train q by maximum likelihood (Adam, fresh samples every step), as Learn2Diss trains its q."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    club = CLUBEstimator(dim, dim, hidden_size=hidden_size)
    return club.fit(lambda: correlated_gaussians(batch_size, dim, rho, generator), steps, lr=lr)
