"""Losses of Learn2Diss: pseudo-con (frame level), NT-Xent (utterance level), CLUB.

pseudo-con is a supervised-contrastive loss whose "supervision" is offline
k-means cluster ids; NT-Xent contrasts two crops of one utterance against the
other utterances of the batch; CLUB (Cheng et al., ICML 2020) is an upper bound
on the mutual information between the two encoders' outputs. Gradient reversal
(Ganin & Lempitsky, 2015) serves the adversarial speaker control.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch.func import functional_call


def pseudo_con_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    temperature: float = 0.1,
    max_anchors: Optional[int] = None,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Supervised-contrastive loss over frames labelled with k-means ids.

    For anchor i with positives P(i) (other selected frames of the same id):
    L_i = -1/|P(i)| sum_p log( exp(z_i.z_p/tau) / sum_{a != i} exp(z_i.z_a/tau) ),
    averaged over anchors that have at least one positive (an anchor without
    positives has no defined loss and is skipped).

    Args:
        embeddings: (N, D) frame projections (any scale; normalised here).
        labels: (N,) cluster ids; negative ids mark padding and are dropped.
        temperature: tau.
        max_anchors: subsample this many frames first (memory is N^2).
    Returns:
        Scalar loss; 0 (with a graph) when no anchor has a positive.
    """
    valid = labels >= 0
    z, y = embeddings[valid], labels[valid]
    if max_anchors is not None and z.size(0) > max_anchors:
        keep = torch.randperm(z.size(0), generator=generator, device="cpu")[:max_anchors].to(z.device)
        z, y = z[keep], y[keep]
    if z.size(0) < 2:
        return embeddings.sum() * 0.0
    z = F.normalize(z, dim=-1)
    logits = z @ z.t() / temperature
    self_mask = torch.eye(z.size(0), dtype=torch.bool, device=z.device)
    # log softmax over a != i: exclude the anchor itself from the denominator.
    log_prob = logits - torch.logsumexp(logits.masked_fill(self_mask, float("-inf")), dim=1, keepdim=True)
    positives = (y[:, None] == y[None, :]) & ~self_mask
    num_pos = positives.sum(1)
    has_pos = num_pos > 0
    if not has_pos.any():
        return embeddings.sum() * 0.0
    per_anchor = -(log_prob * positives).sum(1)[has_pos] / num_pos[has_pos]
    return per_anchor.mean()


def nt_xent_loss(view1: torch.Tensor, view2: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """SimCLR's NT-Xent: each view's partner is its positive, the other 2B-2 views negatives."""
    if view1.shape != view2.shape:
        raise ValueError(f"NT-Xent views differ in shape: {tuple(view1.shape)} vs {tuple(view2.shape)}")
    batch = view1.size(0)
    z = F.normalize(torch.cat([view1, view2], dim=0), dim=-1)
    logits = z @ z.t() / temperature
    logits = logits.masked_fill(torch.eye(2 * batch, dtype=torch.bool, device=z.device), float("-inf"))
    targets = torch.cat([torch.arange(batch, 2 * batch), torch.arange(0, batch)]).to(z.device)
    return F.cross_entropy(logits, targets)


def _detached(module: torch.nn.Module) -> Dict[str, torch.Tensor]:
    return {name: param.detach() for name, param in module.named_parameters()}


ACTIVATIONS = {"relu": torch.nn.ReLU, "elu": torch.nn.ELU}


class CLUBEstimator(torch.nn.Module):
    """CLUB with a diagonal Gaussian variational q(y|x) (mean and tanh log-variance MLPs).

    Against encoders that minimise its estimate, use ``activation="elu"`` and
    ``normalize_input=True`` (Learn2Diss's default): with ReLU the encoders
    learn to move x where every hidden unit of q is off, q's mean no longer
    depends on x, the estimate is exactly 0 and q gets no gradient to recover
    (seen on FSDD at mi_weight 0.1). Layer
    normalisation of x (no parameters) keeps its scale from being used either.

    ``log_likelihood`` is q's own training objective (maximised on detached
    inputs); ``mi_upper_bound`` is the CLUB estimate that the encoders minimise.
    """

    def __init__(
        self, x_dim: int, y_dim: int, hidden_size: int = 128, activation: str = "relu", normalize_input: bool = False
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"CLUB q: activation must be one of {sorted(ACTIVATIONS)}, got '{activation}'")
        act = ACTIVATIONS[activation]
        self.normalize_input = normalize_input
        self.mean_net = torch.nn.Sequential(
            torch.nn.Linear(x_dim, hidden_size), act(), torch.nn.Linear(hidden_size, y_dim)
        )
        self.logvar_net = torch.nn.Sequential(
            torch.nn.Linear(x_dim, hidden_size),
            act(),
            torch.nn.Linear(hidden_size, y_dim),
            torch.nn.Tanh(),
        )

    def _gaussian(self, x: torch.Tensor, frozen: bool):
        if self.normalize_input:
            x = F.layer_norm(x, x.shape[-1:])
        if frozen:
            # Same q, but its parameters enter as constants: the MI term's
            # gradient reaches the encoders (through x and y) and never q.
            mean = functional_call(self.mean_net, _detached(self.mean_net), (x,))
            logvar = functional_call(self.logvar_net, _detached(self.logvar_net), (x,))
        else:
            mean, logvar = self.mean_net(x), self.logvar_net(x)
        return mean, logvar

    def log_likelihood(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean log q(y|x) over the batch (Gaussian constant included)."""
        mean, logvar = self._gaussian(x, frozen=False)
        return (-0.5 * ((y - mean) ** 2 / logvar.exp() + logvar + torch.log(torch.tensor(2 * torch.pi)))).sum(-1).mean()

    def fit(
        self, next_batch: Callable[[], Tuple[torch.Tensor, torch.Tensor]], steps: int, lr: float, weight_decay: float = 0.0
    ) -> "CLUBEstimator":
        """Train q alone by maximum likelihood (Adam, ``steps`` batches from ``next_batch``), outside
        joint training: to check the estimator, or to refit q on frozen embeddings."""
        optim = torch.optim.Adam(self.parameters(), lr=lr, weight_decay=weight_decay)
        for _ in range(steps):
            x, y = next_batch()
            loss = -self.log_likelihood(x, y)
            optim.zero_grad()
            loss.backward()
            optim.step()
        return self

    def mi_upper_bound(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        sampled: bool = True,
        frozen_q: bool = True,
        generator: Optional[torch.Generator] = None,
    ) -> torch.Tensor:
        """CLUB estimate E_p(x,y)[log q(y|x)] - E_p(x)E_p(y)[log q(y|x)].

        sampled=True is vCLUB-S (one negative per x from a random permutation
        of the batch, O(B)); sampled=False averages over all B^2 pairs.
        """
        mean, logvar = self._gaussian(x, frozen=frozen_q)
        inv_var = (-logvar).exp()
        positive = -0.5 * ((y - mean) ** 2 * inv_var).sum(-1)
        if sampled:
            perm = torch.randperm(y.size(0), generator=generator, device="cpu").to(y.device)
            negative = -0.5 * ((y[perm] - mean) ** 2 * inv_var).sum(-1)
        else:
            # (B_x, B_y, D): q(y_j | x_i) for every pair.
            negative = -0.5 * ((y[None, :, :] - mean[:, None, :]) ** 2 * inv_var[:, None, :]).sum(-1).mean(1)
        return (positive - negative).mean()


def refit_club_estimate(
    fit_pairs: Tuple[torch.Tensor, torch.Tensor],
    eval_pairs: Tuple[torch.Tensor, torch.Tensor],
    hidden_size: int,
    steps: int = 2000,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    held_out: float = 0.2,
    check_every: int = 25,
    activation: str = "elu",
    normalize_input: bool = True,
) -> float:
    """CLUB on ``eval_pairs`` (all pairs) with a fresh q fitted, full batch, on ``fit_pairs``.

    The check that a q trained alongside the encoders cannot give: a q that
    lagged behind them under-estimates, a fresh one fitted on frozen
    representations does not. q is fitted on all but a ``held_out`` share of
    the fit pairs and the state with the best held-out likelihood (checked
    every ``check_every`` steps, up to ``steps``) is kept: trained past that
    point, q sharpens on its own pairs and *inflates* CLUB on new ones (seen on
    FSDD; on Gaussians it passes CLUB's own limit, see
    tests/test_learn2diss_losses.py). ``held_out=0`` fits all ``steps`` on
    every pair. The caller's random state is left as it was.
    """
    fit_x, fit_y = (t.detach().float() for t in fit_pairs)
    eval_x, eval_y = (t.detach().float() for t in eval_pairs)
    if not 0 <= held_out < 1:
        raise ValueError(f"held_out={held_out} must be in [0, 1)")
    num_held = int(round(held_out * fit_x.size(0)))
    if held_out > 0 and not 1 <= num_held < fit_x.size(0):
        raise ValueError(f"refit: {fit_x.size(0)} fit pairs are too few to hold out {held_out:.0%} of them")
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        torch.manual_seed(seed)
        order = torch.randperm(fit_x.size(0))
        held, train = order[:num_held], order[num_held:]
        club = CLUBEstimator(fit_x.size(1), fit_y.size(1), hidden_size, activation, normalize_input).to(fit_x.device)
        optim = torch.optim.Adam(club.parameters(), lr=lr, weight_decay=weight_decay)
        best_nll, best_state = float("inf"), None
        for step in range(1, steps + 1):
            loss = -club.log_likelihood(fit_x[train], fit_y[train])
            optim.zero_grad()
            loss.backward()
            optim.step()
            if num_held and (step % check_every == 0 or step == steps):
                with torch.no_grad():
                    nll = -club.log_likelihood(fit_x[held], fit_y[held]).item()
                if nll < best_nll:
                    best_nll, best_state = nll, {k: v.clone() for k, v in club.state_dict().items()}
        if best_state is not None:
            club.load_state_dict(best_state)
    with torch.no_grad():
        return club.mi_upper_bound(eval_x, eval_y, sampled=False).item()


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> Tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity forward; the gradient flowing back is multiplied by -``scale``."""
    return _GradientReversal.apply(x, scale)
