"""Projection-weighted CCA (Morcos et al., 2018) with held-out scoring.

The protocol follows Pasad et al. (ASRU 2021; public toolkit
ankitapasad/layerwise-analysis): representations and one-hot unit labels are
split into label-stratified parts; in each trial, CCA projections are fitted
on the training parts for every pair of ridge values (one per view) from the
grid, the pair with the best PWCCA on the dev part is kept, and its PWCCA on
the test part is the trial's score.

Conventions: data matrices are (n_samples, n_dims); a view's covariance is
rescaled by its largest absolute entry before the ridge is added, so epsilon is
relative to the view's scale (as in the SVCCA code both toolkits derive from).
Directions whose rescaled covariance eigenvalue falls below ``RANK_TOL``
(e.g. the all-ones direction of centred one-hot labels) are dropped instead of
being whitened by 1 / sqrt(epsilon).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

import numpy as np

from espnet_mixrep.analysis.splits import trial_splits

EPSILON_GRID: Tuple[float, ...] = (1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5)
# Below the smallest ridge value: such directions would be pure noise after
# whitening.
RANK_TOL = 1e-12


@dataclass
class CCAProjection:
    """Canonical directions fitted on one data set, applicable to any other."""

    mean_x: np.ndarray
    mean_y: np.ndarray
    proj_x: np.ndarray  # (dx, k): columns are canonical weight vectors of x
    proj_y: np.ndarray  # (dy, k)
    train_correlations: np.ndarray  # (k,), descending


class _CCAProblem:
    """Covariances of one training set, eigendecomposed once for every ridge value."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
        if len(x) < 2:
            raise ValueError("CCA needs at least 2 samples")
        self.mean_x, self.mean_y = x.mean(0), y.mean(0)
        xc, yc = x - self.mean_x, y - self.mean_y
        n = len(x) - 1
        cov_xx, cov_yy, cov_xy = xc.T @ xc / n, yc.T @ yc / n, xc.T @ yc / n
        self.scale_x = float(np.abs(cov_xx).max())
        self.scale_y = float(np.abs(cov_yy).max())
        if self.scale_x == 0.0 or self.scale_y == 0.0:
            raise ValueError("CCA input has no variance (a constant view)")
        self.eig_x = _kept_eigh(cov_xx / self.scale_x)
        self.eig_y = _kept_eigh(cov_yy / self.scale_y)
        self.cov_xy = cov_xy / np.sqrt(self.scale_x * self.scale_y)

    def solve(self, epsilon_x: float, epsilon_y: float) -> CCAProjection:
        whiten_x = _inverse_sqrt(self.eig_x, epsilon_x)  # (dx, rx)
        whiten_y = _inverse_sqrt(self.eig_y, epsilon_y)  # (dy, ry)
        u, s, vt = np.linalg.svd(whiten_x.T @ self.cov_xy @ whiten_y, full_matrices=False)
        # Weights act on data rescaled by 1/sqrt(scale): fold that in so they
        # apply to raw centred data.
        return CCAProjection(
            mean_x=self.mean_x,
            mean_y=self.mean_y,
            proj_x=whiten_x @ u / np.sqrt(self.scale_x),
            proj_y=whiten_y @ vt.T / np.sqrt(self.scale_y),
            train_correlations=s,
        )


def fit_cca(x: np.ndarray, y: np.ndarray, epsilon_x: float = 0.0, epsilon_y: float = 0.0) -> CCAProjection:
    """Ridge-regularised CCA by SVD of the whitened cross-covariance."""
    return _CCAProblem(x, y).solve(epsilon_x, epsilon_y)


def canonical_correlations(projection: CCAProjection, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Correlation of each pair of canonical variates on (possibly held-out) data."""
    hx, hy = _variates(projection, x, y)
    hx = hx - hx.mean(0)
    hy = hy - hy.mean(0)
    norms = np.linalg.norm(hx, axis=0) * np.linalg.norm(hy, axis=0)
    dots = np.einsum("ij,ij->j", hx, hy)
    # A variate constant on this data correlates with nothing.
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def pwcca_score(projection: CCAProjection, x: np.ndarray, y: np.ndarray) -> float:
    """PWCCA of fitted directions on data (x, y).

    The correlations are weighted by how much of the lower-dimensional view's
    variables each (orthonormalised) canonical variate accounts for: alpha_i =
    sum_j |<h_i, z_j>| (Morcos et al., 2018, eq. 1), normalised to sum to 1.
    """
    x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
    correlations = canonical_correlations(projection, x, y)
    hx, hy = _variates(projection, x, y)
    if y.shape[1] < x.shape[1]:
        variates, data = hy, y
    else:
        variates, data = hx, x
    variates = variates - variates.mean(0)
    data = data - data.mean(0)
    basis, _ = np.linalg.qr(variates)
    weights = np.abs(basis.T @ data).sum(1)
    total = weights.sum()
    if total == 0.0:
        return 0.0
    return float(np.sum(weights / total * correlations))


def one_hot(labels: Sequence[str]) -> Tuple[np.ndarray, List[str]]:
    """(n, n_classes) float indicator matrix and the sorted class names."""
    classes = sorted(set(labels))
    index = {label: i for i, label in enumerate(classes)}
    matrix = np.zeros((len(labels), len(classes)))
    matrix[np.arange(len(labels)), [index[label] for label in labels]] = 1.0
    return matrix, classes


@dataclass
class PWCCAResult:
    """Test PWCCA of each trial and the ridge pair the dev part chose for it."""

    test_scores: List[float]
    dev_scores: List[float]
    epsilons: List[Tuple[float, float]] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.test_scores))

    @property
    def spread(self) -> float:
        """Sample standard deviation over trials (0 for a single trial)."""
        return float(np.std(self.test_scores, ddof=1)) if len(self.test_scores) > 1 else 0.0


def pwcca_against_labels(
    representations: np.ndarray,
    labels: Sequence[str],
    n_parts: int = 10,
    n_trials: int = 3,
    epsilons: Sequence[float] = EPSILON_GRID,
    seed: int = 0,
) -> PWCCAResult:
    """Cross-validated PWCCA between representations and one-hot labels."""
    x = _as_matrix(representations, "representations")
    if len(x) != len(labels):
        raise ValueError(f"{len(x)} representations but {len(labels)} labels")
    if len(set(labels)) < 2:
        raise ValueError("PWCCA against labels needs at least 2 distinct labels")
    y, _ = one_hot(labels)
    result = PWCCAResult(test_scores=[], dev_scores=[])
    for train, dev, test in trial_splits(labels, n_parts, n_trials, seed):
        problem = _CCAProblem(x[train], y[train])
        best: Tuple[float, Tuple[float, float], CCAProjection] = (-np.inf, (0.0, 0.0), None)
        for epsilon_pair in itertools.product(epsilons, repeat=2):
            projection = problem.solve(*epsilon_pair)
            dev_score = pwcca_score(projection, x[dev], y[dev])
            if dev_score > best[0]:
                best = (dev_score, epsilon_pair, projection)
        dev_score, epsilon_pair, projection = best
        result.dev_scores.append(dev_score)
        result.epsilons.append(epsilon_pair)
        result.test_scores.append(pwcca_score(projection, x[test], y[test]))
    return result


def _as_matrix(array: np.ndarray, name: str) -> np.ndarray:
    matrix = np.asarray(array, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be a (samples, dims) matrix, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return matrix


def _kept_eigh(cov: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(cov)
    keep = values > RANK_TOL * max(values.max(), 0.0)
    return values[keep], vectors[:, keep]


def _inverse_sqrt(eig: Tuple[np.ndarray, np.ndarray], epsilon: float) -> np.ndarray:
    values, vectors = eig
    return vectors / np.sqrt(values + epsilon)


def _variates(projection: CCAProjection, x: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    k = min(projection.proj_x.shape[1], projection.proj_y.shape[1])
    hx = (np.asarray(x, dtype=np.float64) - projection.mean_x) @ projection.proj_x[:, :k]
    hy = (np.asarray(y, dtype=np.float64) - projection.mean_y) @ projection.proj_y[:, :k]
    return hx, hy
