"""Comparing two training methods: error rates pooled over seeds and
utterances, and a paired bootstrap interval for their difference.

The benchmarks train each method with the same seeds and score both on the
same test utterances, so the errors come as (seeds, utterances) arrays that
are paired on both axes. One bootstrap replicate draws seeds with replacement
and, independently, utterances with replacement, and applies the same draw to
both methods; the interval is the percentile interval of the replicates. It
therefore covers both sources of noise: which seeds were run (training
noise) and which utterances were tested (test-set noise).

A quantity with one value per run (an MI estimate of a whole test set) has
only the seeds to resample; ``paired_t_interval`` gives the Student-t
interval of its mean paired difference instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as scipy_stats

Change = Literal["relative", "difference"]


@dataclass(frozen=True)
class Comparison:
    """``new`` against ``base``: pooled rates, the change, and its interval."""

    base_rate: float
    new_rate: float
    change: float  # relative: (new - base) / base; difference: new - base
    low: float
    high: float
    level: float
    replicates: int

    @property
    def distinguishable(self) -> bool:
        """The interval excludes 0 (no change)."""
        return self.low > 0 or self.high < 0


def pooled_rate(errors: np.ndarray, counts: np.ndarray) -> float:
    """Errors over reference units, pooled over every seed and utterance."""
    total = float(np.sum(counts))
    if total <= 0:
        raise ValueError("pooled_rate: no reference units (every count is 0)")
    return float(np.sum(errors)) / total


def _change(base: np.ndarray, new: np.ndarray, kind: Change) -> np.ndarray:
    if kind == "difference":
        return new - base
    with np.errstate(divide="ignore", invalid="ignore"):
        return (new - base) / base


def paired_bootstrap(
    base_errors: np.ndarray,
    new_errors: np.ndarray,
    counts: np.ndarray,
    kind: Change = "relative",
    replicates: int = 10000,
    level: float = 0.95,
    seed: int = 0,
) -> Comparison:
    """Compare two methods scored on the same utterances with the same seeds.

    ``base_errors`` and ``new_errors`` are (seeds, utterances) arrays of error
    counts (word errors per utterance, or 0/1 for a misclassified item);
    ``counts`` is the number of reference units per utterance (utterances,)
    or per seed and utterance (seeds, utterances). Returns the pooled rates,
    the change of ``new`` against ``base`` (relative or absolute) and its
    ``level`` percentile interval over ``replicates`` paired resamplings of
    seeds and utterances.
    """
    base_errors = np.asarray(base_errors, dtype=float)
    new_errors = np.asarray(new_errors, dtype=float)
    if base_errors.ndim != 2 or base_errors.shape != new_errors.shape:
        raise ValueError(
            f"paired_bootstrap: expected two (seeds, utterances) arrays of one shape, "
            f"got {base_errors.shape} and {new_errors.shape}"
        )
    counts = np.broadcast_to(np.asarray(counts, dtype=float), base_errors.shape)
    if not 0 < level < 1:
        raise ValueError(f"paired_bootstrap: level={level} must be in (0, 1)")
    num_seeds, num_utts = base_errors.shape
    base_rate = pooled_rate(base_errors, counts)
    new_rate = pooled_rate(new_errors, counts)
    if kind == "relative" and base_rate == 0:
        raise ValueError("paired_bootstrap: the base makes no error, a relative change is undefined (use kind='difference')")
    point = float(_change(np.array(base_rate), np.array(new_rate), kind))

    rng = np.random.default_rng(seed)
    # Multiplicities instead of index arrays: replicate r weights cell (s, u)
    # by how often seed s and utterance u were drawn.
    seed_weights = rng.multinomial(num_seeds, np.full(num_seeds, 1.0 / num_seeds), size=replicates)
    utt_weights = rng.multinomial(num_utts, np.full(num_utts, 1.0 / num_utts), size=replicates)

    def rates(errors: np.ndarray) -> np.ndarray:
        num = np.einsum("rs,su,ru->r", seed_weights, errors, utt_weights)
        den = np.einsum("rs,su,ru->r", seed_weights, counts, utt_weights)
        return num / den

    changes = _change(rates(base_errors), rates(new_errors), kind)
    changes = changes[np.isfinite(changes)]
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(changes, [tail, 100.0 - tail])
    return Comparison(base_rate, new_rate, point, float(low), float(high), level, int(changes.size))


@dataclass(frozen=True)
class MeanDifference:
    """Mean of ``new - base`` over paired runs, and its Student-t interval."""

    mean: float
    low: float
    high: float
    level: float
    runs: int

    @property
    def distinguishable(self) -> bool:
        return self.low > 0 or self.high < 0


def paired_t_interval(base: np.ndarray, new: np.ndarray, level: float = 0.95) -> MeanDifference:
    """Student-t interval of the mean paired difference ``new - base`` (one value per seed each)."""
    base, new = np.asarray(base, dtype=float), np.asarray(new, dtype=float)
    if base.ndim != 1 or base.shape != new.shape:
        raise ValueError(f"paired_t_interval: expected two 1-d arrays of one length, got {base.shape} and {new.shape}")
    if base.size < 2:
        raise ValueError(f"paired_t_interval: needs at least 2 paired runs, got {base.size}")
    if not 0 < level < 1:
        raise ValueError(f"paired_t_interval: level={level} must be in (0, 1)")
    diff = new - base
    half = scipy_stats.t.ppf(0.5 + level / 2, df=diff.size - 1) * diff.std(ddof=1) / np.sqrt(diff.size)
    mean = float(diff.mean())
    return MeanDifference(mean, mean - float(half), mean + float(half), level, int(diff.size))
