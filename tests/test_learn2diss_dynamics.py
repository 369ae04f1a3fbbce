"""Learn2Diss training dynamics: q's inner steps, the CLUB refit monitor, the gradient-reversal control."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from espnet2.train.distributed_utils import DistributedOption
from espnet2.train.reporter import Reporter

from espnet_mixrep.learn2diss.extractors import build_extractor
from espnet_mixrep.learn2diss.losses import refit_club_estimate, reverse_gradient
from espnet_mixrep.learn2diss.model import Learn2DissModel, running_batch_norm
from espnet_mixrep.learn2diss.monitor import ClubMonitor, Learn2DissTrainer, NegativeMIEstimate, in_fit_half
from espnet_mixrep.learn2diss.task import Learn2DissTask
from espnet_mixrep.core.datadir import DataDirError, speaker_index, write_speaker_ids
from test_learn2diss_model import TINY_EXTRACTOR, TINY_MODEL, batch, kmeans_for


def model_with(**conf) -> Learn2DissModel:
    torch.manual_seed(0)
    return Learn2DissModel(build_extractor("logmel", TINY_EXTRACTOR), stage="joint", **{**TINY_MODEL, **conf})


def with_optimizers(model: Learn2DissModel):
    args = Learn2DissTask.get_parser().parse_args(["--optim", "adam"])
    return Learn2DissTask.build_optimizers(args, model)


def inputs(lengths=(4000, 3200, 2400), ids=("a", "b", "c")):
    speech, speech_lengths = batch(lengths)
    kmeans, kmeans_lengths = kmeans_for(speech_lengths.tolist())
    return dict(speech=speech, speech_lengths=speech_lengths, kmeans=kmeans, kmeans_lengths=kmeans_lengths, utt_id=list(ids))


def test_q_steps_run_the_configured_number_of_q_updates_before_the_encoder_step() -> None:
    model = model_with(q_steps=3)
    _, q_optimizer = with_optimizers(model)
    steps = []
    q_optimizer.register_step_post_hook(lambda *args: steps.append(1))
    q_before = [p.detach().clone() for p in model.club.parameters()]
    encoder_before = [p.detach().clone() for p in model.frame_encoder.parameters()]
    model.train()
    for _ in range(2):
        loss, stats, _ = model(**inputs())
    assert len(steps) == 6  # 3 per training batch
    assert any(not torch.equal(a, b) for a, b in zip(q_before, model.club.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(encoder_before, model.frame_encoder.parameters()))
    loss.backward()
    # The encoders' loss leaves q untouched, so the trainer's step of q's optimiser is a no-op.
    assert all(p.grad is None for p in model.club.parameters())
    assert any(p.grad is not None for p in model.frame_encoder.parameters())
    model.eval()
    with torch.no_grad():
        model(**inputs())
    assert len(steps) == 6  # no q step while validating


def test_q_steps_zero_keeps_q_in_the_summed_loss() -> None:
    model = model_with(q_steps=0)
    with_optimizers(model)
    loss, _, _ = model(**inputs())
    loss.backward()
    assert all(p.grad is not None for p in model.club.parameters())


def test_q_steps_without_the_task_optimizer_is_a_clear_error() -> None:
    model = model_with(q_steps=2)
    with pytest.raises(RuntimeError, match="q_steps > 0 needs q's optimizer"):
        model(**inputs())
    with pytest.raises(ValueError, match="q_steps must be >= 0"):
        model_with(q_steps=-1)


def validation_batches():
    ids = [("u00", "u01", "u02", "u03"), ("u04", "u05", "u06", "u07")]
    return [(list(i), inputs((4000, 3600, 3200, 2400), i)) for i in ids]


def test_refit_monitor_logs_the_estimate_of_a_direct_computation() -> None:
    model = model_with(refit_interval=1, refit_steps=50)
    batches = validation_batches()
    ids = [u for names, _ in batches for u in names]
    assert {in_fit_half(u) for u in ids} == {True, False}
    reporter = Reporter()
    reporter.set_epoch(1)
    options = Learn2DissTrainer.build_options(Learn2DissTask.get_parser().parse_args([]))
    with reporter.observe("valid") as sub:
        Learn2DissTrainer.validate_one_epoch(
            model, [(names, {k: v for k, v in b.items() if k != "utt_id"}) for names, b in batches],
            sub, options, DistributedOption(),
        )
    logged = reporter.get_value("valid", "club_mi_refit")
    running = reporter.get_value("valid", "club_mi_running")

    # Direct: the same pairs (CLUB's y is the batch's equal-length crop), split by id, a fresh q
    # on the fit half, CLUB on the other.
    model.eval()
    rows = {}
    with torch.no_grad():
        for names, b in batches:
            layers, lengths = model.extract(b["speech"], b["speech_lengths"])
            frames, frame_lengths = model.frame_encoder(layers, lengths)
            crops = model._equal_crops(model.utterance_encoder.selector(layers), lengths, 1.0)
            x, y = model.club_pair(frames[-1], frame_lengths, model.utterance_encoder.forward_features(*crops))
            rows.update({u: (x[i], y[i]) for i, u in enumerate(names)})
    half = lambda fit: [rows[u] for u in sorted(rows) if in_fit_half(u) == fit]  # noqa: E731
    stack = lambda h: (torch.stack([x for x, _ in h]), torch.stack([y for _, y in h]))  # noqa: E731
    direct = refit_club_estimate(stack(half(True)), stack(half(False)), TINY_MODEL["club_hidden_size"], steps=50)
    assert logged == pytest.approx(direct, rel=1e-5, abs=1e-6)
    with torch.no_grad():
        direct_running = model.club.mi_upper_bound(*stack(half(False)), sampled=False).item()
    assert running == pytest.approx(direct_running, rel=1e-5, abs=1e-6)


def test_refit_leaves_the_random_state_alone() -> None:
    x, y = torch.randn(8, 4), torch.randn(8, 3)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    refit_club_estimate((x, y), (x, y), hidden_size=8, steps=5)
    assert torch.equal(torch.rand(3), expected)


def test_monitor_skips_epochs_off_its_interval() -> None:
    monitor = ClubMonitor(interval=2, hidden_size=8)
    assert [monitor.due(e) for e in (1, 2, 3, 4)] == [False, True, False, True]
    assert not ClubMonitor(interval=0, hidden_size=8).due(3)
    with pytest.raises(ValueError, match="on_negative_mi must be one of"):
        ClubMonitor(interval=1, hidden_size=8, on_negative="ignore")


def test_negative_running_estimate_warns_or_stops(caplog: pytest.LogCaptureFixture) -> None:
    stats = {"club_mi_running": -0.2, "club_mi_refit": 40.0}
    with caplog.at_level(logging.WARNING):
        ClubMonitor(interval=1, hidden_size=8, on_negative="warn").check(stats, epoch=3)
    assert "epoch 3: the running CLUB estimate on the validation set is -0.2000 nats, below 0" in caplog.text
    with pytest.raises(NegativeMIEstimate, match="outran it"):
        ClubMonitor(interval=1, hidden_size=8, on_negative="stop").check(stats, epoch=3)
    ClubMonitor(interval=1, hidden_size=8, on_negative="stop").check({**stats, "club_mi_running": 0.0}, epoch=3)


def test_refit_monitor_needs_both_halves() -> None:
    model = model_with(refit_interval=1, refit_steps=5)
    model.eval()
    one_half = tuple([u for u in (f"u{i}" for i in range(100)) if in_fit_half(u)][:3])
    model.start_collecting_pairs()
    with torch.no_grad():
        model(**inputs(ids=one_half))
    batches = model.stop_collecting_pairs()
    with pytest.raises(ValueError, match="needs at least 2 validation utterances"):
        model.club_monitor.evaluate(batches, model.club)


def test_gradient_reversal_flips_the_sign_of_the_gradient() -> None:
    x = torch.randn(5, 3, requires_grad=True)
    weights = torch.randn(5, 3)
    (reverse_gradient(x, 0.5) * weights).sum().backward()
    assert torch.allclose(x.grad, -0.5 * weights)
    assert torch.equal(reverse_gradient(x, 0.5), x)  # identity forward


def test_speaker_adversary_reverses_the_encoders_gradient_only() -> None:
    model = model_with(adversary_weight=1.0, num_speakers=4)
    speaker = torch.tensor([[0], [3], [1]])
    x = torch.randn(3, model.frame_encoder.output_size(), requires_grad=True)
    loss, _ = model._speaker_adversary_loss(x, speaker)
    grad_reversed = torch.autograd.grad(loss, [x, *model.speaker_adversary.parameters()])
    plain = F.cross_entropy(model.speaker_adversary(x), speaker[:, 0])
    grad_plain = torch.autograd.grad(plain, [x, *model.speaker_adversary.parameters()])
    assert torch.allclose(grad_reversed[0], -grad_plain[0])  # the encoder side: reversed
    for a, b in zip(grad_reversed[1:], grad_plain[1:]):
        assert torch.allclose(a, b)  # the classifier itself learns to classify


def test_speaker_adversary_in_forward_and_its_errors() -> None:
    model = model_with(adversary_weight=1.0, num_speakers=4)
    with_optimizers(model)
    loss, stats, _ = model(**inputs(), speaker=torch.tensor([[0], [1], [2]]))
    assert "loss_adversary" in stats and "adversary_acc" in stats
    loss.backward()
    assert all(p.grad is not None for p in model.speaker_adversary.parameters())
    with pytest.raises(ValueError, match="needs 'speaker' ids in the data"):
        model(**inputs())
    with pytest.raises(ValueError, match=r"speaker id 4 is outside \[0, 4\)"):
        model(**inputs(), speaker=torch.tensor([[0], [4], [2]]))
    with pytest.raises(ValueError, match="needs num_speakers >= 2"):
        model_with(adversary_weight=1.0)


def test_speaker_ids_are_numbered_on_the_training_set(tmp_path: Path) -> None:
    train, valid, other = tmp_path / "train", tmp_path / "valid", tmp_path / "other"
    train.write_text("b_1 bob\na_1 alice\nb_2 bob\n")
    valid.write_text("a_9 alice\nb_9 bob\n")
    other.write_text("c_1 carol\n")
    index = speaker_index(train)
    assert index == {"alice": 0, "bob": 1}
    write_speaker_ids(valid, index, tmp_path / "out")
    assert (tmp_path / "out").read_text() == "a_9 0\nb_9 1\n"
    with pytest.raises(DataDirError, match="other: speaker.* carol are not in the speaker list"):
        write_speaker_ids(other, index, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_club_embedding_normalises_with_running_batchnorm_statistics() -> None:
    model = model_with()
    speech, lengths = batch()
    layers, feat_lengths = model.extract(speech, lengths)
    selected = model.utterance_encoder.selector(layers)
    model.eval()
    with torch.no_grad():
        at_test_time = model.utterance_encoder.forward_features(selected, feat_lengths)
    model.train()
    with torch.no_grad():
        with running_batch_norm(model.utterance_encoder):
            inside = model.utterance_encoder.forward_features(selected, feat_lengths)
        with_batch_statistics = model.utterance_encoder.forward_features(selected, feat_lengths)
    assert torch.allclose(inside, at_test_time, atol=1e-6)
    assert not torch.allclose(with_batch_statistics, at_test_time, atol=1e-3)
    assert all(m.training for m in model.utterance_encoder.modules())  # restored
    with pytest.raises(ValueError, match="club_batchnorm must be one of"):
        model_with(club_batchnorm="frozen")


def test_utterance_crops_of_a_batch_need_no_padding() -> None:
    model = model_with()
    model.eval()
    speech, lengths = batch((4000, 3200, 2400))
    layers, feat_lengths = model.extract(speech, lengths)
    selected = model.utterance_encoder.selector(layers)
    crops, crop_lengths = model._equal_crops(selected, feat_lengths, 0.5)
    shortest = int(feat_lengths.min())
    assert crops.shape[1] == shortest // 2 and crop_lengths.tolist() == [shortest // 2] * 3
    for i, length in enumerate(feat_lengths.tolist()):  # centred in eval
        start = (length - shortest // 2) // 2
        assert torch.equal(crops[i], selected[i, start : start + shortest // 2])
    with torch.no_grad():
        together = model.utterance_encoder.forward_features(crops, crop_lengths)
        alone = torch.cat([model.utterance_encoder.forward_features(crops[i : i + 1], crop_lengths[i : i + 1]) for i in range(3)])
    assert torch.allclose(together, alone, atol=1e-5)  # an embedding does not depend on its batch
