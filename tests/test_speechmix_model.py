"""EnvNet-v2 shapes, the speechmix model (mixing at layers, crops, errors) and SpeechMixCLSTask."""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import List

import pytest
import torch

from espnet_mixrep.registration import register_all

register_all()

from espnet2.asr.encoder.conformer_encoder import ConformerEncoder  # noqa: E402
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder  # noqa: E402
from espnet2.asr.frontend.default import DefaultFrontend  # noqa: E402
from espnet2.cls.decoder.linear_decoder import LinearDecoder  # noqa: E402
from espnet2.cls.espnet_model import ESPnetClassificationModel  # noqa: E402
from espnet2.tasks.cls import CLSTask  # noqa: E402

from espnet_mixrep.speechmix.envnet_v2 import EnvNetV2Encoder  # noqa: E402
from espnet_mixrep.speechmix.model import SpeechMixClassificationModel  # noqa: E402
from espnet_mixrep.speechmix.task import SpeechMixCLSTask  # noqa: E402

TOKENS = ["a", "b", "c", "<unk>"]
TINY_ENVNET = dict(sample_rate=8000, input_length=4000, channels=[4, 24, 4, 4, 8, 8, 8, 8, 8, 8], fc_units=16, first_pool=6)


def test_envnet_v2_shapes_match_the_paper_at_44k() -> None:
    encoder = EnvNetV2Encoder(sample_rate=44100, input_length=66650)
    assert encoder.first_pool == 64
    assert encoder.stage_output_shapes() == [(1, 64, 260), (32, 10, 82), (64, 10, 38), (128, 10, 18), (256, 10, 8)]
    assert encoder.fc[1].in_features == 256 * 10 * 8 and encoder.output_size() == 4096
    encoder.eval()
    with torch.no_grad():
        out, lens, _ = encoder(torch.randn(1, 66650), torch.tensor([66650]))
    assert out.shape == (1, 1, 4096) and lens.tolist() == [1]


def test_envnet_v2_rejects_bad_lengths() -> None:
    with pytest.raises(ValueError, match="too short for stage"):
        EnvNetV2Encoder(sample_rate=8000, input_length=1000)
    encoder = EnvNetV2Encoder(**TINY_ENVNET)
    with pytest.raises(ValueError, match="input_length=4000"):
        encoder(torch.randn(1, 3000), torch.tensor([3000]))


def _model(encoder=None, frontend=None, **conf) -> SpeechMixClassificationModel:
    encoder = encoder or EnvNetV2Encoder(**TINY_ENVNET)
    decoder = LinearDecoder(len(TOKENS) - 1, encoder.output_size())
    conf.setdefault("sample_rate", 8000)
    return SpeechMixClassificationModel(len(TOKENS) - 1, TOKENS, frontend, None, None, None, encoder, decoder, **conf)


def _batch(lengths: List[int], labels: List[int]) -> dict:
    speech = torch.zeros(len(lengths), max(lengths))
    for i, n in enumerate(lengths):
        speech[i, :n] = torch.randn(n) * 0.1
    return dict(
        speech=speech,
        speech_lengths=torch.tensor(lengths),
        label=torch.tensor(labels)[:, None],
        label_lengths=torch.ones(len(labels), dtype=torch.long),
    )


@pytest.mark.parametrize("mode, layers", [("none", []), ("speechmix", [0]), ("speechmix", [2]), ("plain", [1, 3])])
def test_training_step_per_mode(mode: str, layers: List[int]) -> None:
    torch.manual_seed(0)
    model = _model(mix_mode=mode, mix_layers=layers)
    model.train()
    loss, stats, weight = model(**_batch([4500, 5000, 4200, 6000], [0, 1, 2, 0]))
    assert torch.isfinite(loss) and int(weight) == 4
    loss.backward()
    assert model.encoder.stages[0][0][0].weight.grad.abs().sum() > 0


def test_hidden_mix_happens_at_the_drawn_layer() -> None:
    torch.manual_seed(1)
    model = _model(mix_mode="speechmix", mix_layers=[2])
    raw, inputs = {}, {}
    for k, stage in enumerate(model.encoder.stages[:4], start=1):
        # prepend: runs before the model's mixing hook, so it sees the unmixed map.
        stage.register_forward_hook(lambda m, i, o, k=k: raw.__setitem__(k, o.detach().clone()), prepend=True)
        stage.register_forward_pre_hook(lambda m, i, k=k: inputs.__setitem__(k, i[0].detach().clone()))
    model.train()
    model(**_batch([4000] * 4, [0, 1, 2, 0]))
    assert torch.equal(inputs[2], raw[1])  # no mix after stage 1
    assert not torch.allclose(inputs[3], raw[2])  # mixed after stage 2
    assert torch.equal(inputs[4], raw[3])


def test_eval_and_score_average_ten_crops() -> None:
    model = _model(mix_mode="speechmix", mix_layers=[0, 1])
    model.eval()
    calls = []
    model.encoder.register_forward_hook(lambda m, i, o: calls.append(i[0].shape))
    with torch.no_grad():
        scores = model.score(torch.randn(1, 5000) * 0.1)
        loss, stats, _ = model(**_batch([4000, 7000], [1, 2]))
    assert scores.shape == (1, 3) and scores.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert calls[0] == (10, 4000) and calls[1] == (20, 4000)
    assert 0.0 <= stats["acc"].item() <= 1.0


def test_crop_padding_bounds_where_crops_start() -> None:
    model = _model(crop_padding=0, scale_augment=1.25)
    assert _model().crop_padding == 2000  # the paper's T / 2
    clip = torch.arange(1, 4001, dtype=torch.float32)[None]  # exactly one crop long
    model.scale_augment = 1.0
    assert torch.equal(model._random_crops(clip, torch.tensor([4000])), clip)  # no padding: one possible crop
    model.scale_augment = 1.25
    for _ in range(20):  # a clip that scale_augment shortened is padded back to a full crop
        crops = model._random_crops(clip, torch.tensor([4000]))
        assert crops.shape == (1, 4000) and crops.abs().sum() > 0
    padded = _model(crop_padding=100)
    starts = {int(torch.nonzero(padded._random_crops(clip, torch.tensor([4000]))[0])[0]) for _ in range(50)}
    assert max(starts) <= 100  # at most 100 leading zeros
    with pytest.raises(ValueError, match="crop_padding is 0..crop_length"):
        _model(crop_padding=4001)


def test_tilt_augment_is_a_first_order_filter_within_its_range() -> None:
    model = _model(tilt_augment=0.5)
    impulse = torch.zeros(50)
    impulse[10] = 1.0
    taps = set()
    for _ in range(30):
        out = model._augment(impulse)
        a = out[11].item()
        assert -0.5 <= a <= 0.5 and out[10] == 1.0 and out.abs().sum().item() == pytest.approx(1 + abs(a))
        taps.add(round(a, 3))
    assert len(taps) > 20  # drawn anew for every clip
    with pytest.raises(ValueError, match="tilt_augment"):
        _model(tilt_augment=1.0)


def test_bad_input_errors() -> None:
    with pytest.raises(ValueError, match=r"layer\(s\) \[5\].*mix points 0..4"):
        _model(mix_mode="speechmix", mix_layers=[0, 5])
    with pytest.raises(ValueError, match="mix_mode must be one of"):
        _model(mix_mode="cutmix")
    with pytest.raises(ValueError, match="differs from the encoder's input_length"):
        _model(crop_length=3000)
    with pytest.raises(ValueError, match="sample_rate 16000 differs from the encoder's sample_rate 8000"):
        _model(sample_rate=16000)
    model = _model(mix_mode="speechmix", mix_layers=[0])
    model.train()
    with pytest.raises(ValueError, match="shorter than a crop of 4000 samples"):
        model(**_batch([3999, 5000], [0, 1]))
    with pytest.raises(ValueError, match=r"label id\(s\) \[3\].*'<unk>'"):
        model(**_batch([4000, 5000], [0, 3]))


def test_mixing_with_espnet_conformer_and_transformer() -> None:
    torch.manual_seed(0)
    frontend = DefaultFrontend(fs=8000, n_fft=256, hop_length=80, n_mels=20)
    encoder = ConformerEncoder(20, output_size=16, attention_heads=2, linear_units=32, num_blocks=2)
    with pytest.raises(ValueError, match="mix points 0..2"):  # the waveform and the 2 blocks
        _model(encoder=encoder, frontend=frontend, mix_layers=[3], crop_length=2000)
    model = _model(encoder=encoder, frontend=frontend, mix_mode="speechmix", mix_layers=[2], crop_length=2000)
    model.train()
    captured = {}
    encoder.after_norm.register_forward_pre_hook(lambda m, i: captured.__setitem__("x", i[0]))
    loss, _, _ = model(**_batch([2500, 3000, 2200], [0, 1, 2]))
    loss.backward()
    assert torch.isfinite(loss) and captured["x"].shape[0] == 3
    for mode, layers in (("plain", [1]), ("speechmix", [0])):
        model = _model(encoder=encoder, frontend=frontend, mix_mode=mode, mix_layers=layers, crop_length=2000)
        model.train()
        assert torch.isfinite(model(**_batch([2500, 3000], [0, 1]))[0])
    transformer = TransformerEncoder(20, output_size=16, attention_heads=2, linear_units=32, num_blocks=2)
    model = _model(encoder=transformer, frontend=frontend, mix_mode="speechmix", mix_layers=[2], crop_length=2000)
    model.train()
    loss, _, _ = model(**_batch([2500, 3000, 2200], [0, 1, 2]))
    loss.backward()
    assert torch.isfinite(loss)


def _cls_args(tmp_path: Path, model: str, model_conf: dict, task=SpeechMixCLSTask) -> argparse.Namespace:
    token_list = tmp_path / "tokens.txt"
    token_list.write_text("".join(f"{t}\n" for t in TOKENS))
    parser = task.get_parser()
    args = parser.parse_args(
        ["--token_list", str(token_list), "--input_size", "1", "--normalize", "none", "--encoder", "envnet_v2",
         "--encoder_conf", str(TINY_ENVNET), "--model", model, "--model_conf", str(model_conf)]
    )
    return args


def test_speechmix_task_builds_through_the_stock_builder(tmp_path: Path) -> None:
    conf = {"mix_mode": "plain", "mix_layers": [1, 2], "lsm_weight": 0.0, "sample_rate": 8000}
    args = _cls_args(tmp_path, "speechmix", conf)
    model = SpeechMixCLSTask.build_model(args)
    assert type(model) is SpeechMixClassificationModel
    assert model.mix_mode == "plain" and model.mix_layers == [1, 2] and model.vocab_size == 3
    assert args.token_list == TOKENS and args.frontend is None  # rewritten for config.yaml, as stock does
    assert args.model_conf == conf  # config.yaml keeps the speechmix options
    # Every part and setting of the stock model (same state_dict keys), here and in any later ESPnet.
    stock = CLSTask.build_model(_cls_args(tmp_path, "espnet", {"lsm_weight": 0.0}, task=CLSTask))
    assert type(stock) is ESPnetClassificationModel
    assert model.state_dict().keys() == stock.state_dict().keys()
    assert {k for k in vars(stock) if not k.startswith("_")} <= set(vars(model))
    assert type(SpeechMixCLSTask.build_model(_cls_args(tmp_path, "espnet", {}))) is ESPnetClassificationModel
    with pytest.raises(ValueError, match=r"layer\(s\) \[9\]"):
        SpeechMixCLSTask.build_model(_cls_args(tmp_path, "speechmix", {"mix_layers": [9], "sample_rate": 8000}))
    with pytest.raises(ValueError, match=r"\['mix_mood'\] are options of neither"):
        SpeechMixCLSTask.build_model(_cls_args(tmp_path, "speechmix", {"mix_mood": "plain"}))


def test_stock_cls_task_is_left_alone() -> None:
    """No ESPnet class attribute is replaced: stock CLSTask builds with its own builder
    and refuses --model speechmix instead of silently training a plain model."""
    assert CLSTask.__dict__["build_model"].__func__.__module__ == "espnet2.tasks.cls"
    assert "speechmix" not in CLSTask.get_parser().parse_known_args(["--model", "espnet"])[0].model
    with pytest.raises(SystemExit):
        CLSTask.get_parser().parse_args(["--model", "speechmix"])


def test_waveform_mvn_matches_espnets_utterance_mvn_and_ignores_padding() -> None:
    from espnet2.layers.utterance_mvn import utterance_mvn
    from espnet2.tasks.cls import normalize_choices

    from espnet_mixrep.speechmix.normalize import WaveformMVN

    assert normalize_choices.classes["waveform_mvn"] is WaveformMVN
    torch.manual_seed(0)
    x = torch.randn(3, 500) * 0.05 + 0.2
    for means, variances in [(True, True), (True, False), (False, True)]:
        ours, _ = WaveformMVN(means, variances)(x.clone(), torch.full((3,), 500))
        espnet, _ = utterance_mvn(x[..., None].clone(), torch.full((3,), 500), means, variances)
        assert torch.allclose(ours, espnet[..., 0], atol=1e-5)
    padded = torch.cat([x[:1, :300], torch.full((1, 200), 7.0)], dim=1)  # garbage beyond the length
    out, _ = WaveformMVN()(padded, torch.tensor([300]))
    alone, _ = WaveformMVN()(x[:1, :300], torch.tensor([300]))
    assert torch.allclose(out[:, :300], alone, atol=1e-6) and out[:, 300:].abs().max() == 0
    assert out[0, :300].mean().abs() < 1e-5 and out[0, :300].std(unbiased=False) == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="raw waveforms"):
        WaveformMVN()(torch.zeros(2, 10, 3), torch.tensor([10, 10]))


def test_training_draws_follow_the_epoch_seed_not_pythons_random() -> None:
    """Crops, scale, partners, ratios and the layer come from the per-epoch stream (MixRep's policy)."""
    model = _model(mix_mode="speechmix", mix_layers=[0, 2], scale_augment=1.25)
    model.train()
    model.encoder.eval()  # no dropout: only the model's own draws vary
    torch.manual_seed(5)
    batch = _batch([4500, 5000, 4200, 6000], [0, 1, 2, 0])

    def loss_at(seed: int, python_seed: int) -> float:
        random.seed(python_seed)
        torch.manual_seed(seed)  # what ESPnet's set_all_random_seed(seed + epoch) does first
        return float(model(**batch)[0])

    first = loss_at(7, 0)
    assert loss_at(8, 0) != first  # another epoch draws anew
    assert loss_at(7, 123) == first  # epoch 7 again: the same draws; Python's random state plays no part
