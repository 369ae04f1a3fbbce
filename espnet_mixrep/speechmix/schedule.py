"""``--scheduler warmup_multisteplr``: the learning-rate schedule of the BC-learning recipes.

Tokozume et al.'s EnvNet-v2 recipes (bc_learning_sound) train epoch e
(1-based) at ``lr * gamma ** d``, where d counts the milestones already passed
(e > milestone) and is at least 1 during the first ``warmup_epochs`` epochs:
a warm-up at lr / 10 that keeps BC learning's mixed batches from blowing up
the freshly initialised network, then steps x0.1 (the authors put them at
30, 60 and 90 % of training). ESPnet's ``multisteplr`` has no warm-up and
its ``warmupsteplr`` warms up linearly per iteration, hence this class.
"""

from __future__ import annotations

from typing import List, Sequence

import torch
from espnet2.schedulers.abs_scheduler import AbsEpochStepScheduler
from typeguard import typechecked


class WarmupMultiStepLR(torch.optim.lr_scheduler.LRScheduler, AbsEpochStepScheduler):
    """Multi-step decay with a constant warm-up at ``gamma`` x lr; stepped once per epoch."""

    @typechecked
    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        warmup_epochs: int = 0,
        last_epoch: int = -1,
    ) -> None:
        if list(milestones) != sorted(set(milestones)) or any(m < 1 for m in milestones):
            raise ValueError(f"scheduler_conf milestones must be increasing epochs >= 1, got {list(milestones)}")
        if warmup_epochs < 0:
            raise ValueError(f"scheduler_conf warmup_epochs must be >= 0, got {warmup_epochs}")
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"scheduler_conf gamma must be in (0, 1], got {gamma}")
        self.milestones = list(milestones)
        self.gamma = gamma
        self.warmup_epochs = warmup_epochs
        super().__init__(optimizer, last_epoch)

    def factor(self, epoch: int) -> float:
        """The lr multiplier while training ``epoch`` (1-based)."""
        decays = sum(epoch > m for m in self.milestones)
        if epoch <= self.warmup_epochs:
            decays = max(decays, 1)
        return self.gamma**decays

    def get_lr(self) -> List[float]:
        # last_epoch counts finished epochs: 0 while epoch 1 trains.
        return [base * self.factor(self.last_epoch + 1) for base in self.base_lrs]
