"""Maths of Learn2Diss's losses: CLUB on Gaussians, pseudo-con and NT-Xent against direct loops."""

from __future__ import annotations

import math

import pytest
import torch

from espnet_mixrep.learn2diss.gaussian import (
    correlated_gaussians,
    fit_club_on_gaussians,
    gaussian_club_limit,
    gaussian_mi,
    rho_for_mi,
)
from espnet_mixrep.learn2diss.losses import CLUBEstimator, nt_xent_loss, pseudo_con_loss


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.7])
def test_club_bounds_gaussian_mi(rho: float) -> None:
    """Trained q: estimate >= closed-form MI, and equal to CLUB's own value for the true conditional.

    For y = rho x + sqrt(1-rho^2) e, I = -d/2 log(1-rho^2); CLUB with the true
    p(y|x) is d rho^2/(1-rho^2) (the gap is E_x KL(p(y) || p(y|x)) >= 0), so a
    well-trained q must land there, above the true MI, and at 0 for rho = 0.
    """
    dim = 5
    torch.set_num_threads(1)
    club = fit_club_on_gaussians(rho, dim)
    x, y = correlated_gaussians(4000, dim, rho, torch.Generator().manual_seed(123))
    with torch.no_grad():
        estimate = club.mi_upper_bound(x, y, sampled=False).item()
        sampled = torch.stack(
            [club.mi_upper_bound(x, y, sampled=True, generator=torch.Generator().manual_seed(s)) for s in range(5)]
        ).mean().item()
    true_mi = gaussian_mi(dim, rho)
    club_value = gaussian_club_limit(dim, rho)
    if rho == 0.0:
        assert abs(estimate) < 0.03
        assert abs(sampled) < 0.05
        return
    assert estimate >= true_mi
    assert estimate == pytest.approx(club_value, rel=0.1)
    assert sampled == pytest.approx(estimate, rel=0.1)  # vCLUB-S is unbiased for the full estimate


def test_club_at_high_rho_is_capped_by_q_variance_but_stays_above_mi() -> None:
    """rho = 0.9: 1 - rho^2 = 0.19 is below q's smallest variance e^-1 (tanh log-variance).

    With q's mean at rho x and variance e^-1, CLUB = d rho^2 e = 11.0 nats:
    well short of the limit d rho^2/(1-rho^2) = 21.3, still above the MI 4.15.
    """
    dim, rho = 5, 0.9
    torch.set_num_threads(1)
    club = fit_club_on_gaussians(rho, dim)
    x, y = correlated_gaussians(4000, dim, rho, torch.Generator().manual_seed(123))
    with torch.no_grad():
        estimate = club.mi_upper_bound(x, y, sampled=False).item()
    assert estimate == pytest.approx(dim * rho**2 * math.e, rel=0.1)
    assert gaussian_mi(dim, rho) < estimate < gaussian_club_limit(dim, rho)


def test_rho_for_mi_inverts_gaussian_mi() -> None:
    for mi in (0.0, 2.0, 10.0):
        assert gaussian_mi(20, rho_for_mi(20, mi)) == pytest.approx(mi)
    with pytest.raises(ValueError, match="must be >= 0"):
        rho_for_mi(20, -1.0)


def test_club_with_the_papers_small_q_is_not_an_upper_bound() -> None:
    """The CLUB paper's Gaussian setting: d = 20, true MI 2 nats, q with 7 hidden units.

    Such a q cannot represent the 20-dimensional conditional mean, so the
    estimate lands below the true MI (and far below CLUB's limit 4.43): its
    closeness to the MI in the paper's figure is not a property of CLUB.
    """
    dim, rho = 20, rho_for_mi(20, 2.0)
    torch.set_num_threads(1)
    club = fit_club_on_gaussians(rho, dim, steps=800, batch_size=64, hidden_size=7, lr=5e-3)
    x, y = correlated_gaussians(4000, dim, rho, torch.Generator().manual_seed(123))
    with torch.no_grad():
        estimate = club.mi_upper_bound(x, y, sampled=False).item()
    assert 0.5 < estimate < gaussian_mi(dim, rho) - 0.3


def test_club_gradient_routing() -> None:
    """q's loss reaches only q; the MI term reaches only the encoders' outputs."""
    club = CLUBEstimator(4, 3, hidden_size=8)
    x = torch.randn(16, 4, requires_grad=True)
    y = torch.randn(16, 3, requires_grad=True)
    (-club.log_likelihood(x.detach(), y.detach())).backward()
    assert x.grad is None and y.grad is None
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in club.parameters())

    club.zero_grad(set_to_none=True)
    club.mi_upper_bound(x, y, sampled=True, frozen_q=True).backward()
    assert all(p.grad is None for p in club.parameters())
    assert x.grad.abs().sum() > 0 and y.grad.abs().sum() > 0


def direct_pseudo_con(z: torch.Tensor, labels: list, tau: float) -> float:
    z = torch.nn.functional.normalize(z, dim=-1)
    n = len(labels)
    per_anchor = []
    for i in range(n):
        positives = [p for p in range(n) if p != i and labels[p] == labels[i]]
        if not positives:
            continue
        denom = sum(math.exp(float(z[i] @ z[a]) / tau) for a in range(n) if a != i)
        terms = [math.log(math.exp(float(z[i] @ z[p]) / tau) / denom) for p in positives]
        per_anchor.append(-sum(terms) / len(positives))
    return sum(per_anchor) / len(per_anchor)


def test_pseudo_con_matches_direct_computation() -> None:
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(7, 5, generator=gen)
    labels = [0, 1, 0, 2, 1, 0, 3]  # ids 2 and 3 occur once: those anchors have no positive
    loss = pseudo_con_loss(z, torch.tensor(labels), temperature=0.5)
    assert loss.item() == pytest.approx(direct_pseudo_con(z, labels, 0.5), rel=1e-5)


def test_pseudo_con_skips_anchors_without_positives_and_padding() -> None:
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(6, 4, generator=gen)
    labels = torch.tensor([5, 5, 7, -1, 9, -1])
    # -1 is padding and dropped; 7 and 9 have no positive; only the two 5s are anchors,
    # but every kept frame (5, 5, 7, 9) stays in the denominators.
    expected = direct_pseudo_con(z[[0, 1, 2, 4]], [5, 5, 7, 9], 0.5)
    assert pseudo_con_loss(z, labels, temperature=0.5).item() == pytest.approx(expected, rel=1e-5)
    # No anchor has a positive: the loss is 0 but still part of the graph (training does not crash).
    z.requires_grad_(True)
    unique = pseudo_con_loss(z, torch.tensor([0, 1, 2, 3, 4, 5]))
    assert unique.item() == 0.0 and unique.requires_grad


def test_pseudo_con_subsamples_anchors() -> None:
    z = torch.randn(100, 4, requires_grad=True)
    labels = torch.arange(100) % 3
    loss = pseudo_con_loss(z, labels, max_anchors=10, generator=torch.Generator().manual_seed(0))
    loss.backward()
    assert int((z.grad.abs().sum(1) > 0).sum()) == 10


def test_nt_xent_matches_direct_computation() -> None:
    gen = torch.Generator().manual_seed(2)
    v1, v2 = torch.randn(4, 3, generator=gen), torch.randn(4, 3, generator=gen)
    tau = 0.3
    z = torch.nn.functional.normalize(torch.cat([v1, v2]), dim=-1)
    n = 8
    total = 0.0
    for i in range(n):
        partner = (i + 4) % n
        denom = sum(math.exp(float(z[i] @ z[a]) / tau) for a in range(n) if a != i)
        total += -math.log(math.exp(float(z[i] @ z[partner]) / tau) / denom)
    assert nt_xent_loss(v1, v2, tau).item() == pytest.approx(total / n, rel=1e-5)
    aligned = nt_xent_loss(torch.eye(4), torch.eye(4), 0.1).item()
    assert aligned < 0.01


def test_refit_keeps_the_q_with_the_best_held_out_likelihood() -> None:
    # 200 correlated Gaussian pairs (d=5, rho=0.6): MI 1.12 nats, CLUB's limit 2.81.
    from espnet_mixrep.learn2diss.losses import refit_club_estimate

    generator = torch.Generator().manual_seed(1)
    fit = correlated_gaussians(200, 5, 0.6, generator)
    evaluation = correlated_gaussians(1000, 5, 0.6, generator)
    mi, limit = gaussian_mi(5, 0.6), gaussian_club_limit(5, 0.6)
    stopped = [refit_club_estimate(fit, evaluation, 64, steps=s) for s in (300, 4000)]
    assert stopped[0] == stopped[1]  # later steps, past the best held-out likelihood, are not kept
    assert mi < stopped[0] < limit
    # A ReLU q trained to the end on all pairs sharpens on them and overshoots even CLUB's limit.
    assert refit_club_estimate(fit, evaluation, 64, steps=4000, held_out=0.0, activation="relu", normalize_input=False) > limit
    with pytest.raises(ValueError, match="too few to hold out"):
        refit_club_estimate((fit[0][:2], fit[1][:2]), evaluation, 8, held_out=0.2)


def test_q_family_for_minimisation_keeps_a_gradient_where_relu_units_are_all_off() -> None:
    torch.manual_seed(0)
    relu = CLUBEstimator(4, 3, hidden_size=8)
    robust = CLUBEstimator(4, 3, hidden_size=8, activation="elu", normalize_input=True)
    robust.load_state_dict(relu.state_dict())  # same parameters: old checkpoints load
    with torch.no_grad():  # first layers that switch every unit off for the x below
        for q in (relu, robust):
            for net in (q.mean_net, q.logvar_net):
                net[0].weight.fill_(1.0)
                net[0].bias.zero_()
    x = -1.0 + 0.1 * torch.randn(6, 4)
    assert (relu.mean_net[0](x) < 0).all() and (relu.logvar_net[0](x) < 0).all()
    y = torch.randn(6, 3)
    for q, dead in ((relu, True), (robust, False)):
        q.zero_grad()
        (-q.log_likelihood(x, y)).backward()
        assert (q.mean_net[0].weight.grad.abs().sum() == 0) == dead
    with pytest.raises(ValueError, match="activation must be one of"):
        CLUBEstimator(4, 3, activation="gelu")
