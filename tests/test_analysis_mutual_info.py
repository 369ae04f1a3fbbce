"""k-means mutual information normalised by H(label), on data whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from espnet_mixrep.analysis.mutual_info import default_n_clusters, kmeans_mutual_info, normalised_mutual_info
from espnet_mixrep.analysis.pwcca import one_hot


def synthetic_layer(noise: float, n: int = 2000, n_labels: int = 10, dims: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = [f"w{i}" for i in rng.integers(n_labels, size=n)]
    embedding = 3.0 * rng.normal(size=(n_labels, dims))
    return one_hot(labels)[0] @ embedding + noise * rng.normal(size=(n, dims)), labels


def test_normalised_mutual_info_limits() -> None:
    labels = ["a", "b", "c", "a", "b", "c"]
    assert normalised_mutual_info([0, 1, 2, 0, 1, 2], labels) == pytest.approx(1.0)
    assert normalised_mutual_info([0, 0, 0, 0, 0, 0], labels) == pytest.approx(0.0)
    # Splitting a label over two clusters keeps all information about the label.
    assert normalised_mutual_info([0, 1, 2, 3, 4, 5], labels) == pytest.approx(1.0)
    assert normalised_mutual_info([0, 1, 0, 1], ["a", "a", "a", "a"]) == 0.0


def test_linearly_embedded_labels_give_mi_near_one() -> None:
    x, labels = synthetic_layer(noise=0.1)
    result = kmeans_mutual_info(x, labels, n_seeds=3)
    assert len(result.scores) == 3
    assert result.mean > 0.95
    assert result.chance_mean < 0.1


def test_shuffled_labels_give_mi_near_zero() -> None:
    x, labels = synthetic_layer(noise=0.1)
    shuffled = list(np.random.default_rng(1).permutation(labels))
    result = kmeans_mutual_info(x, shuffled, n_seeds=3)
    assert result.mean < 0.1
    # ...and indistinguishable from the reported chance level.
    assert abs(result.mean - result.chance_mean) < 0.05


def test_noise_lowers_mi_and_seeds_vary() -> None:
    clean = kmeans_mutual_info(*synthetic_layer(noise=0.1), n_seeds=2).mean
    noisy = kmeans_mutual_info(*synthetic_layer(noise=6.0), n_seeds=3)
    assert noisy.mean < clean
    assert noisy.spread > 0.0


def test_cluster_count_default_and_checks() -> None:
    assert default_n_clusters(n_eval=400, n_labels=10) == 10
    assert default_n_clusters(n_eval=400, n_labels=4) == 20
    assert default_n_clusters(n_eval=100000, n_labels=10) == 100  # capped at 10 C
    x, labels = synthetic_layer(noise=0.1, n=200)
    with pytest.raises(ValueError, match="clusters"):
        kmeans_mutual_info(x, labels, n_clusters=1000)
