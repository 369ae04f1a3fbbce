"""The BC recipes' warm-up + multi-step learning-rate schedule (``--scheduler warmup_multisteplr``)."""

from __future__ import annotations

import pytest
import torch

from espnet_mixrep.speechmix.schedule import WarmupMultiStepLR


def _optimizer(lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def _lrs(scheduler: WarmupMultiStepLR, optimizer: torch.optim.Optimizer, epochs: int) -> list:
    """The lr each epoch trains with, stepping once per epoch as ESPnet's trainer does."""
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


def test_warmup_trains_at_a_tenth_then_steps_after_each_milestone():
    optimizer = _optimizer(0.1)
    scheduler = WarmupMultiStepLR(optimizer, milestones=[3, 6], gamma=0.1, warmup_epochs=2)
    # Epoch e trains at 0.1 * 0.1 ** d, d = milestones passed (e > m), at least 1 while e <= 2.
    assert _lrs(scheduler, optimizer, 8) == pytest.approx([0.01, 0.01, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001])


def test_without_warmup_it_is_torchs_multisteplr():
    ours, stock = _optimizer(), _optimizer()
    expected = _lrs(torch.optim.lr_scheduler.MultiStepLR(stock, [2, 5], gamma=0.5), stock, 7)
    assert _lrs(WarmupMultiStepLR(ours, [2, 5], gamma=0.5), ours, 7) == pytest.approx(expected)


def test_resumed_schedule_continues_where_it_stopped():
    optimizer = _optimizer()
    scheduler = WarmupMultiStepLR(optimizer, milestones=[4], warmup_epochs=2)
    _lrs(scheduler, optimizer, 3)
    resumed_optimizer = _optimizer()
    resumed = WarmupMultiStepLR(resumed_optimizer, milestones=[4], warmup_epochs=2)
    resumed.load_state_dict(scheduler.state_dict())
    resumed_optimizer.load_state_dict(optimizer.state_dict())
    continued = _lrs(resumed, resumed_optimizer, 3)
    assert continued == pytest.approx([0.1, 0.01, 0.01])  # epochs 4-6
    assert continued == pytest.approx(_lrs(scheduler, optimizer, 3))


@pytest.mark.parametrize(
    "conf, message",
    [
        (dict(milestones=[6, 3]), "increasing"),
        (dict(milestones=[0]), "increasing"),
        (dict(milestones=[3], warmup_epochs=-1), "warmup_epochs"),
        (dict(milestones=[3], gamma=1.5), "gamma"),
    ],
)
def test_bad_scheduler_conf_is_refused(conf, message):
    with pytest.raises(ValueError, match=message):
        WarmupMultiStepLR(_optimizer(), **conf)


def test_espnet_builds_it_from_a_config():
    from espnet2.tasks.cls import CLSTask

    from espnet_mixrep.registration import register_all

    register_all()
    args = CLSTask.get_parser().parse_args(
        ["--scheduler", "warmup_multisteplr", "--scheduler_conf", "milestones=[3,6]", "--scheduler_conf",
         "warmup_epochs=2", "--optim", "sgd", "--optim_conf", "lr=0.1"]
    )
    model = torch.nn.Linear(2, 2)
    optimizers = CLSTask.build_optimizers(args, model)
    from espnet2.tasks.abs_task import scheduler_classes

    scheduler = scheduler_classes[args.scheduler](optimizers[0], **args.scheduler_conf)
    assert isinstance(scheduler, WarmupMultiStepLR)
    assert _lrs(scheduler, optimizers[0], 4) == pytest.approx([0.01, 0.01, 0.1, 0.01])
