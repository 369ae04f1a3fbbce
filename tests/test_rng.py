"""The one random-number policy of training-time draws (core.rng.EpochGenerator)."""

from __future__ import annotations

import torch

from espnet_mixrep.core.rng import EpochGenerator


def test_the_stream_restarts_when_torch_is_reseeded_to_another_epoch() -> None:
    stream = EpochGenerator()
    torch.manual_seed(11)  # ESPnet: set_all_random_seed(seed + epoch) before each epoch
    first = stream().random(4).tolist()
    assert stream().random(4).tolist() != first  # within the epoch the stream goes on
    torch.manual_seed(12)
    assert stream().random(4).tolist() != first
    torch.manual_seed(11)
    assert stream().random(4).tolist() == first  # back to that epoch's seed: its draws again
    torch.manual_seed(11)
    assert EpochGenerator()().random(4).tolist() == first  # a resumed process draws the same


def test_torch_generators_come_from_the_stream() -> None:
    torch.manual_seed(3)
    a = torch.rand(3, generator=EpochGenerator().torch_generator())
    torch.manual_seed(3)
    stream = EpochGenerator()
    assert torch.equal(a, torch.rand(3, generator=stream.torch_generator()))
    assert not torch.equal(a, torch.rand(3, generator=stream.torch_generator()))
