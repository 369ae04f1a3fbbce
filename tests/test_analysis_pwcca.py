"""PWCCA: against independent CCA computations, and on data whose answer is known.

Tolerances: the direct SVD in ``fit_cca`` and the Bjorck-Golub (QR) reference
below are both exact algorithms, so canonical correlations and in-sample PWCCA
must agree to 1e-10 (measured: ~1e-15); scikit-learn's CCA is iterative
(NIPALS, run here to tol 1e-12), so its correlations are compared to 1e-6
(measured: ~2e-13).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cross_decomposition import CCA

from espnet_mixrep.analysis.pwcca import (
    canonical_correlations,
    fit_cca,
    one_hot,
    pwcca_against_labels,
    pwcca_score,
)
from espnet_mixrep.analysis.splits import stratified_parts, trial_splits


def reference_cca(x: np.ndarray, y: np.ndarray):
    """Bjorck & Golub (1973): canonical correlations = singular values of Qx^T Qy."""
    qx, _ = np.linalg.qr(x - x.mean(0))
    qy, _ = np.linalg.qr(y - y.mean(0))
    u, s, vt = np.linalg.svd(qx.T @ qy, full_matrices=False)
    return s, qx @ u, qy @ vt.T  # correlations, orthonormal canonical variates of x and y


def reference_pwcca(x: np.ndarray, y: np.ndarray) -> float:
    """Morcos et al. (2018) eq. 1 on the lower-dimensional view, from the QR solution."""
    correlations, hx, hy = reference_cca(x, y)
    variates, data = (hy, y) if y.shape[1] < x.shape[1] else (hx, x)
    weights = np.abs(variates.T @ (data - data.mean(0))).sum(1)
    return float(np.sum(weights / weights.sum() * correlations))


def correlated_views(n: int = 500, dx: int = 12, dy: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n, 4))
    x = shared @ rng.normal(size=(4, dx)) + rng.normal(size=(n, dx))
    y = shared @ rng.normal(size=(4, dy)) + 0.5 * rng.normal(size=(n, dy))
    return x, y


def test_canonical_correlations_match_direct_qr_reference() -> None:
    x, y = correlated_views()
    projection = fit_cca(x, y)
    expected, _, _ = reference_cca(x, y)
    np.testing.assert_allclose(projection.train_correlations, expected, atol=1e-10)
    # The fitted directions reproduce those correlations when applied to the data.
    np.testing.assert_allclose(canonical_correlations(projection, x, y), expected, atol=1e-10)


def test_canonical_correlations_match_scikit_learn() -> None:
    x, y = correlated_views(n=400, dx=6, dy=4, seed=1)
    expected = fit_cca(x, y).train_correlations[:3]
    x_scores, y_scores = CCA(n_components=3, scale=False, max_iter=5000, tol=1e-12).fit(x, y).transform(x, y)
    sk_corr = [abs(np.corrcoef(x_scores[:, i], y_scores[:, i])[0, 1]) for i in range(3)]
    np.testing.assert_allclose(sk_corr, expected, atol=1e-6)


def test_in_sample_pwcca_matches_reference() -> None:
    for dx, dy in ((12, 5), (4, 9)):  # weights on y, then on x (the lower-dimensional view)
        x, y = correlated_views(dx=dx, dy=dy, seed=dx)
        projection = fit_cca(x, y)
        assert pwcca_score(projection, x, y) == pytest.approx(reference_pwcca(x, y), abs=1e-10)


def test_one_hot_labels_rank_deficiency_is_handled() -> None:
    """Centred one-hot labels have rank C - 1; dropping a column spans the same space."""
    rng = np.random.default_rng(2)
    labels = [str(i) for i in rng.integers(5, size=300)]
    y, classes = one_hot(labels)
    assert classes == ["0", "1", "2", "3", "4"]
    x = y @ rng.normal(size=(5, 8)) + rng.normal(size=(300, 8))
    projection = fit_cca(x, y)
    assert projection.proj_y.shape[1] == 4  # the all-ones direction is dropped, not whitened
    expected, _, _ = reference_cca(x, y[:, :-1])
    np.testing.assert_allclose(projection.train_correlations, expected, atol=1e-10)


def test_scale_of_representations_does_not_matter() -> None:
    """The ridge is relative to each view's scale, so rescaling a layer changes nothing."""
    rng = np.random.default_rng(3)
    labels = [str(i) for i in rng.integers(6, size=400)]
    x = one_hot(labels)[0] @ rng.normal(size=(6, 16)) + rng.normal(size=(400, 16))
    small = pwcca_against_labels(x, labels, seed=1)
    large = pwcca_against_labels(1e4 * x, labels, seed=1)
    np.testing.assert_allclose(small.test_scores, large.test_scores, atol=1e-6)


def synthetic_layer(noise: float, n: int = 2000, n_labels: int = 10, dims: int = 64, seed: int = 0):
    """Labels embedded linearly (random embedding per label) plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    labels = [f"w{i}" for i in rng.integers(n_labels, size=n)]
    embedding = rng.normal(size=(n_labels, dims))
    return one_hot(labels)[0] @ embedding + noise * rng.normal(size=(n, dims)), labels


def test_linearly_embedded_labels_give_pwcca_near_one() -> None:
    x, labels = synthetic_layer(noise=0.1)
    result = pwcca_against_labels(x, labels)
    assert len(result.test_scores) == 3
    assert result.mean > 0.98
    assert all(pair[0] in (1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5) for pair in result.epsilons)


def test_shuffled_labels_give_pwcca_near_zero() -> None:
    x, labels = synthetic_layer(noise=0.1)
    shuffled = list(np.random.default_rng(1).permutation(labels))
    result = pwcca_against_labels(x, shuffled)
    assert abs(result.mean) < 0.1


def test_pwcca_decreases_with_noise() -> None:
    scores = [pwcca_against_labels(*synthetic_layer(noise)).mean for noise in (0.1, 2.0, 8.0)]
    assert scores[0] > scores[1] > scores[2]


def test_stratified_parts_partition_and_balance() -> None:
    labels = ["a"] * 100 + ["b"] * 37 + ["c"] * 3
    parts = stratified_parts(labels, 10, seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(140))
    for part in parts:
        assert sum(labels[i] == "a" for i in part) == 10
        assert sum(labels[i] == "b" for i in part) in (3, 4)
    train, dev, test = trial_splits(labels, 10, 3, seed=0)[0]
    assert not (set(train) & set(dev) or set(train) & set(test) or set(dev) & set(test))
    splits = trial_splits(labels, 10, 3, seed=0)
    held_out = [tuple(dev) for _, dev, _ in splits] + [tuple(test) for _, _, test in splits]
    assert len(set(held_out)) == 6  # every trial holds out different parts
    with pytest.raises(ValueError, match="held-out parts"):
        trial_splits(labels, 4, 3, seed=0)
