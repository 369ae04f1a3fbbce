"""The random-number policy of every training-time draw in espnet_mixrep
(MixRep's mixing plans; SpeechMix's crops, augmentation, partners, ratios)."""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch


class EpochGenerator:
    """A numpy Generator reseeded whenever the trainer reseeds torch, one stream per DDP rank.

    ESPnet calls set_all_random_seed(seed + epoch) before every epoch, so
    torch.initial_seed() names the epoch: a run resumed at an epoch boundary
    draws exactly what an uninterrupted one draws, and each rank of a
    multi-GPU run draws its own.
    """

    def __init__(self) -> None:
        self._rng: Optional[np.random.Generator] = None
        self._seed: Optional[int] = None

    def __call__(self) -> np.random.Generator:
        seed = torch.initial_seed()
        if self._rng is None or seed != self._seed:
            rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
            self._rng = np.random.default_rng([seed, rank])
            self._seed = seed
        return self._rng

    def torch_generator(self) -> torch.Generator:
        """A CPU torch.Generator seeded from this stream (for torch-side draws)."""
        return torch.Generator().manual_seed(int(self().integers(2**63 - 1)))
