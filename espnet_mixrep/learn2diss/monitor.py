"""Watching CLUB during training: a refit-q estimate on the validation set, logged per epoch.

The q trained alongside the encoders can be outrun by them: its estimate then
falls, even below zero, while the representations still share as much
information as before. Every ``interval`` epochs the validation pass keeps
CLUB's (x, y) pairs; a fresh q is fitted on half of the utterances and scored
on the other half (``club_mi_refit``), and the running q is scored on that same
half (``club_mi_running``). Both appear in the training log and in the
reporter, next to ``valid.club_mi``. A running estimate below zero is a q that
no longer bounds anything: the monitor warns, or stops the training.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import torch
from espnet2.train.trainer import Trainer

from espnet_mixrep.learn2diss.losses import CLUBEstimator, refit_club_estimate

ON_NEGATIVE = ("warn", "stop")
# (utterance ids, x, y) of one validation batch.
PairBatch = Tuple[Sequence[str], torch.Tensor, torch.Tensor]


class NegativeMIEstimate(RuntimeError):
    """The running CLUB estimate fell below zero: q no longer bounds the MI."""


def in_fit_half(utt_id: str) -> bool:
    """Which half of the validation set fits the fresh q: fixed by the id, whatever the batch order."""
    return zlib.crc32(utt_id.encode("utf-8")) % 2 == 0


def split_pairs(batches: Sequence[PairBatch]) -> Tuple[Tuple[torch.Tensor, torch.Tensor], Tuple[torch.Tensor, torch.Tensor]]:
    """Fit and evaluation halves of the collected pairs, each in utterance-id order."""
    rows = sorted((u, x[i], y[i]) for ids, x, y in batches for i, u in enumerate(ids))
    halves = {True: [], False: []}
    for utt_id, x, y in rows:
        halves[in_fit_half(utt_id)].append((x, y))
    for name, half in (("fit", halves[True]), ("evaluation", halves[False])):
        if len(half) < 2:
            raise ValueError(
                f"the CLUB refit monitor needs at least 2 validation utterances in its {name} half, "
                f"got {len(half)} of {len(rows)}: use a larger validation set or refit_interval 0"
            )
    stack = lambda half: (torch.stack([x for x, _ in half]), torch.stack([y for _, y in half]))  # noqa: E731
    return stack(halves[True]), stack(halves[False])


@dataclass(frozen=True)
class ClubMonitor:
    """When and how to refit q on the validation pairs (the model's ``refit_*`` options)."""

    interval: int
    hidden_size: int
    steps: int = 1000
    lr: float = 1e-3
    weight_decay: float = 1e-4
    on_negative: str = "warn"

    def __post_init__(self) -> None:
        if self.interval < 0:
            raise ValueError(f"refit_interval must be >= 0 (0 = off), got {self.interval}")
        if self.steps < 1:
            raise ValueError(f"refit_steps must be >= 1, got {self.steps}")
        if self.on_negative not in ON_NEGATIVE:
            raise ValueError(f"on_negative_mi must be one of {ON_NEGATIVE}, got '{self.on_negative}'")

    def due(self, epoch: int) -> bool:
        return self.interval > 0 and epoch % self.interval == 0

    def evaluate(self, batches: Sequence[PairBatch], running_q: CLUBEstimator, seed: int = 0) -> Dict[str, float]:
        fit, evaluation = split_pairs(batches)
        with torch.no_grad():
            running = running_q.mi_upper_bound(*evaluation, sampled=False).item()
        refit = refit_club_estimate(
            fit, evaluation, self.hidden_size, self.steps, self.lr, self.weight_decay, seed=seed
        )
        return {"club_mi_refit": refit, "club_mi_running": running}

    def check(self, stats: Dict[str, float], epoch: int) -> None:
        running = stats["club_mi_running"]
        if running >= 0:
            return
        message = (
            f"epoch {epoch}: the running CLUB estimate on the validation set is {running:.4f} nats, below 0 "
            f"(refit q: {stats['club_mi_refit']:.4f}): q no longer bounds the MI because the encoders "
            "outran it; raise q_steps or q's learning rate (optim2_conf)"
        )
        if self.on_negative == "stop":
            raise NegativeMIEstimate(message + ", or set on_negative_mi: warn to go on")
        logging.warning(message)


def _gather(batches: List[PairBatch]) -> List[PairBatch]:
    """Every process's pairs (the validation set is sharded under DDP)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return batches
    gathered: List[List[PairBatch]] = [[] for _ in range(torch.distributed.get_world_size())]
    cpu = [(ids, x.cpu(), y.cpu()) for ids, x, y in batches]
    torch.distributed.all_gather_object(gathered, cpu)
    return [b for part in gathered for b in part]


class Learn2DissTrainer(Trainer):
    """ESPnet's Trainer plus the model's CLUB monitor after each due validation pass."""

    @classmethod
    def validate_one_epoch(cls, model, iterator, reporter, options, distributed_option) -> None:
        core = getattr(model, "module", model)  # DataParallel / DDP wrap the model
        monitor = getattr(core, "club_monitor", None)
        epoch = reporter.get_epoch()
        if monitor is None or not monitor.due(epoch) or options.no_forward_run:
            super().validate_one_epoch(model, iterator, reporter, options, distributed_option)
            return
        core.start_collecting_pairs()
        try:
            super().validate_one_epoch(model, iterator, reporter, options, distributed_option)
        finally:
            batches = core.stop_collecting_pairs()
        stats = monitor.evaluate(_gather(batches), core.club)
        logging.info(
            f"epoch {epoch}: CLUB on valid, refit q {stats['club_mi_refit']:.4f}, running q {stats['club_mi_running']:.4f}"
        )
        reporter.register(stats)
        reporter.next()
        monitor.check(stats, epoch)
