"""Label-stratified splits shared by the CCA and MI scores."""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np


def stratified_parts(labels: Sequence[str], n_parts: int, seed: int) -> List[np.ndarray]:
    """Deal the indices of each label round-robin into ``n_parts`` parts.

    Every label with at least ``n_parts`` occurrences appears in every part, so
    each part sees roughly the full label distribution (Pasad et al. split the
    units the same way before their cross-validated CCA).
    """
    if n_parts < 2:
        raise ValueError(f"n_parts must be at least 2, got {n_parts}")
    if len(labels) < n_parts:
        raise ValueError(f"{len(labels)} labelled units cannot fill {n_parts} parts")
    rng = np.random.default_rng(seed)
    labels_array = np.asarray(labels)
    parts: List[List[int]] = [[] for _ in range(n_parts)]
    # A random starting part per label keeps the parts' sizes balanced when
    # many labels have counts that are not multiples of n_parts.
    for label in sorted(set(labels_array.tolist())):
        members = np.flatnonzero(labels_array == label)
        rng.shuffle(members)
        offset = int(rng.integers(n_parts))
        for position, index in enumerate(members):
            parts[(offset + position) % n_parts].append(int(index))
    return [np.sort(np.asarray(part, dtype=np.int64)) for part in parts]


def trial_splits(
    labels: Sequence[str], n_parts: int, n_trials: int, seed: int
) -> List[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(train, dev, test) index arrays for each trial.

    Each trial holds out one dev part and one test part, distinct across trials
    (so ``2 * n_trials <= n_parts``); the remaining parts train.
    """
    if n_trials < 1 or 2 * n_trials > n_parts:
        raise ValueError(f"{n_trials} trials need 2 distinct held-out parts each; only {n_parts} parts")
    parts = stratified_parts(labels, n_parts, seed)
    order = np.random.default_rng(seed + 1).permutation(n_parts)
    splits = []
    for trial in range(n_trials):
        dev_part, test_part = int(order[2 * trial]), int(order[2 * trial + 1])
        train = np.concatenate([parts[p] for p in range(n_parts) if p not in (dev_part, test_part)])
        splits.append((np.sort(train), parts[dev_part], parts[test_part]))
    return splits
