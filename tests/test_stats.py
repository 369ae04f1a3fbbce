"""The statistics of the benchmarks on inputs whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from espnet_mixrep.core.stats import paired_bootstrap, paired_t_interval, pooled_rate


def test_pooled_rate_sums_over_seeds_and_utterances() -> None:
    errors = np.array([[1, 0, 2], [0, 0, 1]])
    assert pooled_rate(errors, np.array([[4, 2, 4], [4, 2, 4]])) == pytest.approx(4 / 20)
    with pytest.raises(ValueError, match="no reference units"):
        pooled_rate(errors, np.zeros((2, 3)))


def test_identical_methods_give_zero_with_a_zero_width_interval() -> None:
    rng = np.random.default_rng(1)
    errors = rng.integers(0, 3, size=(3, 50))
    result = paired_bootstrap(errors, errors.copy(), counts=np.full(50, 4), replicates=2000)
    assert result.change == 0 and result.low == 0 and result.high == 0
    assert not result.distinguishable


def test_a_uniform_halving_is_exactly_minus_fifty_percent() -> None:
    base = np.full((3, 40), 2.0)
    result = paired_bootstrap(base, base / 2, counts=np.full(40, 5), replicates=500)
    assert result.base_rate == pytest.approx(0.4) and result.new_rate == pytest.approx(0.2)
    assert result.change == pytest.approx(-0.5)
    assert result.low == pytest.approx(-0.5) and result.high == pytest.approx(-0.5)
    assert result.distinguishable


def test_seed_noise_widens_the_interval() -> None:
    # Seed 0 halves nothing, seed 1 doubles the errors: pooled, no change; but
    # resampling the two seeds gives {0,0} -> -100%, {1,1} -> +100% a quarter of the time each.
    base = np.ones((2, 30))
    new = np.stack([np.zeros(30), np.full(30, 2.0)])
    result = paired_bootstrap(base, new, counts=np.full(30, 3), replicates=4000, seed=3)
    assert result.change == pytest.approx(0.0)
    assert result.low == pytest.approx(-1.0) and result.high == pytest.approx(1.0)
    assert not result.distinguishable


def test_interval_width_matches_the_normal_approximation_for_independent_items() -> None:
    # One seed, n items, 0/1 errors: the difference of two error rates has
    # standard error sqrt(var(d) / n) with d the per-item difference.
    rng = np.random.default_rng(7)
    n = 2000
    base = (rng.random((1, n)) < 0.30).astype(float)
    new = (rng.random((1, n)) < 0.25).astype(float)
    result = paired_bootstrap(base, new, counts=np.ones(n), kind="difference", replicates=4000, seed=5)
    d = (new - base)[0]
    half_width = 1.959964 * d.std(ddof=1) / np.sqrt(n)
    assert result.change == pytest.approx(d.mean())
    assert (result.high - result.low) / 2 == pytest.approx(half_width, rel=0.1)
    assert result.low < result.change < result.high


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="one shape"):
        paired_bootstrap(np.zeros((2, 3)), np.zeros((3, 3)), counts=np.ones(3))
    with pytest.raises(ValueError, match="relative change is undefined"):
        paired_bootstrap(np.zeros((2, 3)), np.ones((2, 3)), counts=np.ones(3))
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap(np.ones((2, 3)), np.ones((2, 3)), counts=np.ones(3), level=95)


def test_paired_t_interval_on_known_differences() -> None:
    # differences 1, 2, 3: mean 2, sample std 1, t(0.975, 2 df) = 4.302653
    result = paired_t_interval(np.array([10.0, 10.0, 10.0]), np.array([11.0, 12.0, 13.0]))
    half = 4.302653 / np.sqrt(3)
    assert result.mean == pytest.approx(2.0)
    assert (result.low, result.high) == pytest.approx((2.0 - half, 2.0 + half), rel=1e-6)
    assert not result.distinguishable  # [-0.48, 4.48] holds 0
    constant = paired_t_interval(np.array([1.0, 2.0]), np.array([0.5, 1.5]))
    assert (constant.mean, constant.low, constant.high) == pytest.approx((-0.5, -0.5, -0.5))
    assert constant.distinguishable
    with pytest.raises(ValueError, match="at least 2 paired runs"):
        paired_t_interval(np.array([1.0]), np.array([2.0]))
    with pytest.raises(ValueError, match="one length"):
        paired_t_interval(np.array([1.0, 2.0]), np.array([2.0]))
