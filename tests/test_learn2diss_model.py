"""Learn2Diss components: extractors, layer choice, model forward, and clear errors on bad input."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest
import torch
import yaml

from espnet_mixrep.learn2diss.extractors import LayerSelector, RandomUpstreamExtractor, build_extractor
from espnet_mixrep.learn2diss.model import KMeansLabelMismatch, Learn2DissModel

TINY_EXTRACTOR = dict(fs=8000, n_fft=256, win_length=200, hop_length=80, n_mels=20)
TINY_MODEL = dict(
    frame_encoder_conf=dict(output_size=32, attention_heads=2, linear_units=64, num_blocks=2),
    utterance_encoder_conf=dict(channels=32, model_scale=4, ecapa_output_size=32, embedding_size=16),
    projection_size=16,
    club_hidden_size=16,
)


def tiny_model(stage: str = "joint", extractor: str = "logmel") -> Learn2DissModel:
    torch.manual_seed(0)
    return Learn2DissModel(build_extractor(extractor, TINY_EXTRACTOR), stage=stage, **TINY_MODEL)


def batch(lengths=(4000, 3200, 2400)):
    speech = torch.zeros(len(lengths), max(lengths))
    for i, n in enumerate(lengths):
        speech[i, :n] = torch.randn(n)
    return speech, torch.tensor(lengths)


def frames_of(num_samples: int, hop: int = 80) -> int:
    return num_samples // hop + 1  # ESPnet's centred STFT


def kmeans_for(lengths, n_clusters: int = 4, extra: int = 0):
    frames = [frames_of(n) + extra for n in lengths]
    labels = torch.full((len(lengths), max(frames)), -1, dtype=torch.long)
    for i, n in enumerate(frames):
        labels[i, :n] = torch.arange(n) % n_clusters
    return labels, torch.tensor(frames)


@pytest.mark.parametrize("stage", ["frame", "utterance", "separate", "joint"])
def test_forward_backward_each_stage(stage: str) -> None:
    model = tiny_model(stage)
    speech, lengths = batch()
    kmeans, kmeans_lengths = kmeans_for(lengths.tolist())
    loss, stats, weight = model(speech, lengths, kmeans, kmeans_lengths)
    loss.backward()
    frame_grad = any(p.grad is not None for p in model.frame_encoder.parameters())
    utt_grad = any(p.grad is not None for p in model.utterance_encoder.parameters())
    assert frame_grad == (stage != "utterance")
    assert utt_grad == (stage != "frame")
    assert ("club_mi" in stats) == (stage in ("separate", "joint"))
    assert all(p.grad is None for p in model.extractor.parameters())  # frozen
    assert int(weight) == 3


def test_mi_term_moves_encoders_only_in_joint_stage() -> None:
    """With q's own loss weighted 0, the only CLUB gradient left is the MI term's:
    it must change the encoders' gradients in 'joint' (not in 'separate') and never reach q."""
    speech, lengths = batch()
    kmeans, kmeans_lengths = kmeans_for(lengths.tolist())
    frame_grads, q_grads = {}, {}
    for stage in ("separate", "joint"):
        model = tiny_model(stage)
        model.club_weight, model.mi_weight = 0.0, 1.0
        model.eval()  # no dropout; all-pairs CLUB
        torch.manual_seed(1)  # same random crops in both runs
        loss, _, _ = model(speech, lengths, kmeans, kmeans_lengths)
        loss.backward()
        frame_grads[stage] = torch.cat([p.grad.flatten() for p in model.frame_encoder.parameters()])
        q_grads[stage] = torch.cat([p.grad.flatten() for p in model.club.parameters()])
    assert not torch.allclose(frame_grads["joint"], frame_grads["separate"])
    assert q_grads["joint"].abs().sum() == 0 and q_grads["separate"].abs().sum() == 0


def test_label_frame_mismatch_is_a_clear_error() -> None:
    model = tiny_model("frame")
    speech, lengths = batch()
    kmeans, kmeans_lengths = kmeans_for(lengths.tolist(), extra=2)
    with pytest.raises(KMeansLabelMismatch, match=r"k-means labels have \d+ frames but the extractor gives \d+"):
        model(speech, lengths, kmeans, kmeans_lengths)


def test_missing_labels_is_a_clear_error() -> None:
    speech, lengths = batch()
    with pytest.raises(ValueError, match="needs 'kmeans' labels"):
        tiny_model("frame")(speech, lengths)


def test_layer_index_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"layer index 3 is out of range: the extractor has 3 layer\(s\)"):
        LayerSelector(3, 3)
    assert LayerSelector(3, -3).layer == -3
    extractor = RandomUpstreamExtractor(**TINY_EXTRACTOR, hidden_size=16, num_blocks=2)
    with pytest.raises(ValueError, match="out of range"):
        Learn2DissModel(extractor, frame_encoder_conf=dict(extractor_layer=5))


def test_random_upstream_is_frozen_multilayer_and_reproducible() -> None:
    a = RandomUpstreamExtractor(**TINY_EXTRACTOR, hidden_size=16, num_blocks=2, seed=3)
    b = RandomUpstreamExtractor(**TINY_EXTRACTOR, hidden_size=16, num_blocks=2, seed=3)
    speech, lengths = batch()
    layers_a, lens = a(speech, lengths)
    layers_b, _ = b(speech, lengths)
    assert len(layers_a) == a.num_layers == 3
    assert all(torch.equal(x, y) for x, y in zip(layers_a, layers_b))
    assert lens.tolist() == [frames_of(n) for n in lengths.tolist()]
    assert not any(p.requires_grad for p in a.parameters())
    # weighted sum over the extractor's layers trains its mixing weights
    model = Learn2DissModel(a, stage="frame", **TINY_MODEL)
    assert model.frame_encoder.selector.weights is not None


def test_s3prl_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_s3prl(name, *args, **kwargs):
        if name == "s3prl" or name.startswith("s3prl."):
            raise ImportError("No module named 's3prl'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_s3prl)
    with pytest.raises(ImportError, match="needs the s3prl package"):
        build_extractor("s3prl", {"upstream": "hubert_base"})


def test_unknown_extractor_and_stage() -> None:
    with pytest.raises(ValueError, match="unknown extractor 'mfcc'"):
        build_extractor("mfcc")
    with pytest.raises(ValueError, match="unknown stage"):
        tiny_model("both")


def test_frontend_missing_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    from espnet_mixrep.learn2diss.frontend import Learn2DissFrontend

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"extractor": "logmel", "extractor_conf": TINY_EXTRACTOR, "model_conf": TINY_MODEL}))
    with pytest.raises(FileNotFoundError, match="Learn2Diss checkpoint not found: .*missing.pth"):
        Learn2DissFrontend(l2d_config=str(config), l2d_model=str(tmp_path / "missing.pth"))
    with pytest.raises(FileNotFoundError, match="Learn2Diss config not found"):
        Learn2DissFrontend(l2d_config=str(tmp_path / "nope.yaml"), l2d_model=str(tmp_path / "missing.pth"))


def test_task_gives_q_its_own_optimizer() -> None:
    from espnet_mixrep.learn2diss.task import Learn2DissTask

    model = tiny_model("joint")
    args = Learn2DissTask.get_parser().parse_args(["--optim", "adam", "--optim_conf", "lr=0.002", "--optim2_conf", "lr=0.01"])
    assert args.optim2 == "adam"  # not ESPnet's adadelta default
    encoders, q = Learn2DissTask.build_optimizers(args, model)
    assert encoders.param_groups[0]["lr"] == 0.002 and q.param_groups[0]["lr"] == 0.01
    assert {id(p) for p in q.param_groups[0]["params"]} == {id(p) for p in model.club.parameters()}
    assert len(encoders.param_groups[0]["params"]) + len(q.param_groups[0]["params"]) == len(list(model.parameters()))
    args.optim2 = "nope"  # a config file is not checked against the choices
    with pytest.raises(ValueError, match="--optim2: must be one of"):
        Learn2DissTask.build_optimizers(args, model)
