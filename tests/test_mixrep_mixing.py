"""Unit tests of MixRep's mixing maths (plans, padding, merged lengths)."""

import numpy as np
import pytest
import torch

from espnet_mixrep.mixrep.mixing import (
    MixPlan,
    check_mix_hyperparameters,
    draw_mix_plan,
    mix_padded,
    num_mixed_rows,
    parse_mix_layers,
)


@pytest.mark.parametrize(
    "value, expected",
    [("0", [0]), ("0,9", [0, 9]), ("9, 0", [0, 9]), (9, [9]), ([0, 12], [0, 12]), ((3,), [3])],
)
def test_parse_mix_layers_accepts_authors_forms(value, expected):
    assert parse_mix_layers(value, num_blocks=12) == expected


@pytest.mark.parametrize("value", ["13", [-1], "0,x", "", 2.5, None, True])
def test_parse_mix_layers_rejects_bad_values_naming_them(value):
    with pytest.raises(ValueError, match="mix_layers"):
        parse_mix_layers(value, num_blocks=12)


def test_layer_out_of_range_message_names_allowed_range():
    with pytest.raises(ValueError, match=r"layer 13 does not exist \(allowed: 0\.\.12"):
        parse_mix_layers("0,13", num_blocks=12)


@pytest.mark.parametrize(
    "alpha, tau, domain, match",
    [(0.0, 0.1, "feats", "mix_alpha"), (-1, 0.1, "feats", "mix_alpha"), (2, 1.5, "feats", "mix_tau"),
     (2, -0.1, "feats", "mix_tau"), (2, 0.1, "spectrogram", "mix_layer0_domain")],
)
def test_hyperparameter_errors(alpha, tau, domain, match):
    with pytest.raises(ValueError, match=match):
        check_mix_hyperparameters(alpha, tau, domain)


def test_num_mixed_rows_rounding_and_edge_cases():
    assert num_mixed_rows(1, 1.0) == 0  # a batch of one never mixes
    assert num_mixed_rows(20, 0.0) == 0
    assert num_mixed_rows(20, 0.15) == 3
    assert num_mixed_rows(3, 0.15) == 0  # 0.45 rounds to zero: no mixing this step
    assert num_mixed_rows(10, 0.45) == 5  # 4.5 rounds half up
    assert num_mixed_rows(8, 1.0) == 8


def test_draw_plan_partners_differ_and_rows_unique():
    rng = np.random.default_rng(0)
    for _ in range(200):
        plan = draw_mix_plan(rng, [0, 9], batch_size=7, alpha=2.0, tau=0.5, lambda_per_utterance=False)
        assert plan is not None and plan.layer in (0, 9)
        assert len(set(plan.rows.tolist())) == len(plan.rows) == 4
        assert (plan.rows != plan.partners).all()
        assert ((plan.partners >= 0) & (plan.partners < 7)).all()
        assert torch.all(plan.lam == plan.lam[0])  # one lambda per step
        assert 0 < float(plan.lam[0]) < 1


def test_draw_plan_layer_uniform_and_lambda_beta_moments():
    rng = np.random.default_rng(1)
    plans = [draw_mix_plan(rng, [0, 5, 9], 16, 2.0, 0.25, True) for _ in range(3000)]
    layers = np.array([p.layer for p in plans])
    for layer in (0, 5, 9):
        assert abs((layers == layer).mean() - 1 / 3) < 0.04
    lam = torch.cat([p.lam for p in plans]).numpy()
    # Beta(2, 2): mean 0.5, variance 1/20
    assert abs(lam.mean() - 0.5) < 0.01 and abs(lam.var() - 0.05) < 0.005
    assert len(set(plans[0].lam.tolist())) == 4  # per-utterance lambda


def test_draw_plan_none_when_nothing_mixed():
    rng = np.random.default_rng(0)
    assert draw_mix_plan(rng, [0], 1, 2.0, 1.0, False) is None
    assert draw_mix_plan(rng, [0], 8, 2.0, 0.0, False) is None


def _plan(rows, partners, lam, layer=0):
    return MixPlan(layer, torch.tensor(rows), torch.tensor(partners), torch.tensor(lam, dtype=torch.float32))


def test_mix_padded_zeroes_padding_and_merges_lengths():
    x = torch.randn(3, 6, 2) + 10  # padding is non-zero, as after subsampling
    lengths = torch.tensor([6, 2, 4])
    plan = _plan([1], [2], [0.3])
    out, merged = mix_padded(x, lengths, plan)
    assert merged.tolist() == [6, 4, 4]
    expected = torch.zeros(6, 2)
    expected[:2] += 0.3 * x[1, :2]
    expected[:4] += 0.7 * x[2, :4]
    torch.testing.assert_close(out[1], expected)
    # rows without a partner are untouched, padding included
    torch.testing.assert_close(out[0], x[0])
    torch.testing.assert_close(out[2], x[2])


def test_mix_padded_lambda_one_keeps_length_and_values():
    x = torch.randn(2, 5, 3)
    lengths = torch.tensor([2, 5])
    out, merged = mix_padded(x, lengths, _plan([0], [1], [1.0]))
    assert merged.tolist() == [2, 5]
    torch.testing.assert_close(out[0, :2], x[0, :2])
    assert torch.all(out[0, 2:] == 0)


def test_mix_padded_waveform_shape_and_gradients():
    x = torch.randn(4, 100, requires_grad=True)
    lengths = torch.tensor([100, 80, 60, 40])
    out, merged = mix_padded(x, lengths, _plan([0, 3], [3, 1], [0.6, 0.2]))
    assert merged.tolist() == [100, 80, 60, 80]
    out.sum().backward()
    # row 1 contributes as itself (weight 1) and as partner of row 3 (weight 0.8), valid part only
    torch.testing.assert_close(x.grad[1, :80], torch.full((80,), 1.8))
    assert torch.all(x.grad[1, 80:] == 1.0)
