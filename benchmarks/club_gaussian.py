"""CLUB against the closed-form MI of correlated Gaussians, for several rho.

For each rho: train Learn2Diss's q (the CLUBEstimator the recipe uses) by
maximum likelihood on fresh samples, then evaluate on 4000 held-out pairs
the full-pair CLUB estimate and the vCLUB-S estimate (mean of 10
permutations). Printed next to them: the closed-form MI and the value CLUB
converges to with a perfect q, d rho^2 / (1 - rho^2) (see
espnet_mixrep/learn2diss/gaussian.py for why they differ). Usage::

    python benchmarks/club_gaussian.py [--dim 5] [--steps 2000] [--rhos 0 0.1 0.2 0.3 0.5 0.7 0.8 0.9]

The CLUB paper's setting (d = 20, true MI 2..10 nats, q with hidden size 15
split into two 7-unit MLPs, batches of 64, Adam 5e-3, 4000 steps per level),
against the same with a q large enough for the conditional::

    python benchmarks/club_gaussian.py --dim 20 --mis 2 4 6 8 10 --hidden_size 7 --batch_size 64 --lr 5e-3 --steps 4000
    python benchmarks/club_gaussian.py --dim 20 --mis 2 4 6 8 10 --hidden_size 128 --batch_size 64 --lr 5e-3 --steps 4000
"""

from __future__ import annotations

import argparse

import torch

from espnet_mixrep.learn2diss.gaussian import (
    correlated_gaussians,
    fit_club_on_gaussians,
    gaussian_club_limit,
    gaussian_mi,
    rho_for_mi,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dim", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden_size", type=int, default=64, help="width of q's mean and log-variance MLPs")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=3e-3)
    levels = parser.add_mutually_exclusive_group()
    levels.add_argument("--rhos", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9])
    levels.add_argument("--mis", type=float, nargs="+", help="true MI levels (nats) instead of --rhos")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rhos = [rho_for_mi(args.dim, mi) for mi in args.mis] if args.mis else args.rhos
    print(
        f"d = {args.dim}, q of hidden size {args.hidden_size} trained {args.steps} steps x {args.batch_size} "
        f"fresh pairs (Adam {args.lr:g}), evaluated on 4000 held-out pairs (nats)"
    )
    print("| rho | closed-form MI | CLUB limit d rho^2/(1-rho^2) | CLUB (all pairs) | vCLUB-S | CLUB - MI |")
    print("|---|---|---|---|---|---|")
    for rho in rhos:
        club = fit_club_on_gaussians(
            rho, args.dim, args.steps, args.batch_size, args.hidden_size, lr=args.lr, seed=args.seed
        )
        x, y = correlated_gaussians(4000, args.dim, rho, torch.Generator().manual_seed(args.seed + 1000))
        with torch.no_grad():
            full = club.mi_upper_bound(x, y, sampled=False).item()
            sampled = torch.stack(
                [club.mi_upper_bound(x, y, sampled=True, generator=torch.Generator().manual_seed(s)) for s in range(10)]
            ).mean().item()
        mi = gaussian_mi(args.dim, rho)
        print(f"| {rho:.2f} | {mi:.3f} | {gaussian_club_limit(args.dim, rho):.3f} | {full:.3f} | {sampled:.3f} | {full - mi:+.3f} |")


if __name__ == "__main__":
    main()
