"""Mutual information between k-means clusters of a layer and unit labels.

As in Pasad et al.: MiniBatchKMeans is fitted on the training split of one
layer's unit representations, the held-out units are assigned to clusters,
and MI(cluster, label) on the held-out units is divided by H(label), giving a
number in [0, 1]. Repeated over k-means seeds; the split stays fixed so the
spread measures the clustering's randomness.

A finite sample overstates MI (by about (K - 1)(C - 1) / 2N nats for K
clusters, C labels, N units), so the score of the same clusters against
permuted labels is reported alongside as a chance level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import mutual_info_score

from espnet_mixrep.analysis.splits import trial_splits


@dataclass
class MutualInfoResult:
    """Normalised MI per seed, the chance level per seed, and the K used."""

    scores: List[float]
    chance_scores: List[float]
    n_clusters: int

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def spread(self) -> float:
        """Sample standard deviation over seeds (0 for a single seed)."""
        return float(np.std(self.scores, ddof=1)) if len(self.scores) > 1 else 0.0

    @property
    def chance_mean(self) -> float:
        return float(np.mean(self.chance_scores))

    @property
    def chance_spread(self) -> float:
        return float(np.std(self.chance_scores, ddof=1)) if len(self.chance_scores) > 1 else 0.0


def default_n_clusters(n_eval: int, n_labels: int) -> int:
    """K between C and 10 C (Pasad: about 10-13 C), small enough for the sample.

    With K <= N / (5 C) the finite-sample bias stays near 0.1 nats.
    """
    return int(max(n_labels, min(10 * n_labels, n_eval // (5 * n_labels))))


def normalised_mutual_info(clusters: Sequence[int], labels: Sequence[str]) -> float:
    """MI(cluster, label) / H(label); 0 where the labels have no entropy."""
    label_entropy = mutual_info_score(labels, labels)
    if label_entropy == 0.0:
        return 0.0
    return float(mutual_info_score(labels, clusters) / label_entropy)


def kmeans_mutual_info(
    representations: np.ndarray,
    labels: Sequence[str],
    n_clusters: Optional[int] = None,
    n_seeds: int = 3,
    n_parts: int = 10,
    seed: int = 0,
) -> MutualInfoResult:
    """Normalised MI of held-out units' clusters against their labels.

    The split is the first trial's of :func:`trial_splits` with the same seed as
    the CCA, so the k-means training units are the CCA's training units; the
    dev and test parts together are evaluated.
    """
    x = np.asarray(representations, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(labels):
        raise ValueError(f"representations of shape {x.shape} do not match {len(labels)} labels")
    train, dev, test = trial_splits(labels, n_parts, 1, seed)[0]
    held_out = np.sort(np.concatenate([dev, test]))
    label_array = np.asarray(labels)
    n_labels = len(set(labels))
    if n_clusters is None:
        n_clusters = default_n_clusters(len(held_out), n_labels)
    if not 2 <= n_clusters <= len(train):
        raise ValueError(f"k-means with {n_clusters} clusters needs between 2 and {len(train)} (training units)")
    permutation_rng = np.random.default_rng(seed)
    result = MutualInfoResult(scores=[], chance_scores=[], n_clusters=n_clusters)
    for kmeans_seed in range(seed, seed + n_seeds):
        kmeans = MiniBatchKMeans(
            n_clusters=n_clusters,
            random_state=kmeans_seed,
            batch_size=min(4096, len(train)),
            n_init=3,
        ).fit(x[train])
        clusters = kmeans.predict(x[held_out])
        held_out_labels = label_array[held_out]
        result.scores.append(normalised_mutual_info(clusters, held_out_labels))
        result.chance_scores.append(
            normalised_mutual_info(clusters, permutation_rng.permutation(held_out_labels))
        )
    return result
