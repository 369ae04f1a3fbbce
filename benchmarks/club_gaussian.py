"""CLUB against the closed-form MI of correlated Gaussians, for several rho.

For each rho: train Learn2Diss's q (the CLUBEstimator the recipe uses) by
maximum likelihood on fresh samples, then evaluate on 4000 held-out pairs
the full-pair CLUB estimate and the vCLUB-S estimate (mean of 10
permutations). Printed next to them: the closed-form MI and the value CLUB
converges to with a perfect q, d rho^2 / (1 - rho^2) (see
espnet_mixrep/learn2diss/gaussian.py for why they differ). Usage::

    python benchmarks/club_gaussian.py [--dim 5] [--steps 2000] [--rhos 0 0.1 0.2 0.3 0.5 0.7 0.8 0.9]
"""

from __future__ import annotations

import argparse

import torch

from espnet_mixrep.learn2diss.gaussian import correlated_gaussians, fit_club_on_gaussians, gaussian_club_limit, gaussian_mi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dim", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rhos", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"d = {args.dim}, q trained {args.steps} steps x 256 fresh pairs, evaluated on 4000 held-out pairs (nats)")
    print("| rho | closed-form MI | CLUB limit d rho^2/(1-rho^2) | CLUB (all pairs) | vCLUB-S | CLUB - MI |")
    print("|---|---|---|---|---|---|")
    for rho in args.rhos:
        club = fit_club_on_gaussians(rho, args.dim, steps=args.steps, seed=args.seed)
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
