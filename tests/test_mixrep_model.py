"""MixRep encoder and model against ESPnet's own classes on the same weights."""

from __future__ import annotations


import pytest
import torch
from espnet2.asr.ctc import CTC
from espnet2.asr.decoder.transformer_decoder import TransformerDecoder
from espnet2.asr.encoder.conformer_encoder import ConformerEncoder
from espnet2.asr.encoder.e_branchformer_encoder import EBranchformerEncoder
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder
from espnet2.asr.espnet_model import ESPnetASRModel
from espnet2.asr.frontend.default import DefaultFrontend
from espnet2.asr.specaug.specaug import SpecAug

from espnet_mixrep.mixrep.encoder import (
    MixRepConformerEncoder,
    MixRepEBranchformerEncoder,
    MixRepTransformerEncoder,
)
from espnet_mixrep.mixrep.mixing import MixPlan
from espnet_mixrep.mixrep.model import MixRepASRModel, label_smoothing_loss_per_row

VOCAB = ["<blank>", "<unk>", "a", "b", "c", "d", "e", "<sos/eos>"]
N_MELS = 20
CONFORMER = dict(output_size=32, attention_heads=2, linear_units=64, num_blocks=3, dropout_rate=0.0,
                 positional_dropout_rate=0.0, attention_dropout_rate=0.0, input_layer="conv2d",
                 macaron_style=True, pos_enc_layer_type="rel_pos", selfattention_layer_type="rel_selfattn",
                 use_cnn_module=True, cnn_module_kernel=3)
PAIRS = [(MixRepConformerEncoder, ConformerEncoder, CONFORMER),
         (MixRepTransformerEncoder, TransformerEncoder,
          dict(output_size=32, attention_heads=2, linear_units=64, num_blocks=3, dropout_rate=0.0,
               positional_dropout_rate=0.0, attention_dropout_rate=0.0, input_layer="conv2d")),
         (MixRepEBranchformerEncoder, EBranchformerEncoder,
          dict(output_size=32, attention_heads=2, linear_units=64, cgmlp_linear_units=64, num_blocks=3,
               dropout_rate=0.0, positional_dropout_rate=0.0, attention_dropout_rate=0.0,
               input_layer="conv2d", cgmlp_conv_kernel=3))]


def build_model(model_cls=MixRepASRModel, encoder_cls=MixRepConformerEncoder, encoder_kwargs=None,
                mix=None, specaug=False, ctc_weight=0.3, seed=0, **model_kwargs):
    torch.manual_seed(seed)
    encoder_kwargs = dict(CONFORMER if encoder_kwargs is None else encoder_kwargs)
    if issubclass(encoder_cls, MixRepConformerEncoder.__mro__[1]):
        encoder_kwargs.update(mix or {})
    encoder = encoder_cls(N_MELS, **encoder_kwargs)
    decoder = TransformerDecoder(len(VOCAB), 32, attention_heads=2, linear_units=64, num_blocks=1,
                                 dropout_rate=0.0, positional_dropout_rate=0.0,
                                 self_attention_dropout_rate=0.0, src_attention_dropout_rate=0.0)
    return model_cls(
        vocab_size=len(VOCAB), token_list=list(VOCAB),
        frontend=DefaultFrontend(fs=8000, n_fft=128, hop_length=32, n_mels=N_MELS),
        specaug=SpecAug(apply_time_warp=False, apply_freq_mask=False, time_mask_width_range=(0, 4),
                        num_time_mask=1) if specaug else None,
        normalize=None, preencoder=None, encoder=encoder, postencoder=None, decoder=decoder,
        ctc=CTC(len(VOCAB), 32), joint_network=None, ctc_weight=ctc_weight, lsm_weight=0.1,
        **model_kwargs)


def batch(seed=0, lengths=(4000, 2600, 3300, 1800)):
    g = torch.Generator().manual_seed(seed)
    speech = torch.randn(len(lengths), max(lengths), generator=g)
    text_lengths = torch.tensor([5, 2, 4, 3])[: len(lengths)]
    text = torch.randint(2, 7, (len(lengths), int(text_lengths.max())), generator=g)
    for i, n in enumerate(text_lengths):
        speech[i, lengths[i]:] = 0
        text[i, n:] = -1
    return speech, torch.tensor(lengths), text, text_lengths


def plan(layer, rows, partners, lam):
    return MixPlan(layer, torch.tensor(rows), torch.tensor(partners), torch.tensor(lam, dtype=torch.float32))


@pytest.mark.parametrize("mix_cls, base_cls, kwargs", PAIRS)
def test_eval_mode_identical_to_espnet_encoder_and_state_dicts_load_both_ways(mix_cls, base_cls, kwargs):
    torch.manual_seed(0)
    base = base_cls(N_MELS, **kwargs).eval()
    mixrep = mix_cls(N_MELS, mix_layers="0,2", mix_tau=1.0, **kwargs).eval()
    mixrep.load_state_dict(base.state_dict())  # strict: same keys
    base.load_state_dict(mixrep.state_dict())
    x = torch.randn(3, 90, N_MELS)
    lens = torch.tensor([90, 70, 40])
    with mixrep.mixing(plan(2, [0], [1], [0.5])):  # even with a plan, eval never mixes
        out_m, len_m, _ = mixrep(x, lens)
    out_b, len_b, _ = base(x, lens)
    assert (out_m - out_b).abs().max().item() <= 1e-6
    assert torch.equal(len_m, len_b)


def test_tau_zero_loss_equals_espnet_model():
    speech, speech_lens, text, text_lens = batch()
    base = build_model(ESPnetASRModel, ConformerEncoder).train()
    mixrep = build_model(mix=dict(mix_layers="0,2", mix_tau=0.0)).train()
    mixrep.load_state_dict(base.state_dict())
    loss_b, stats_b, _ = base(speech, speech_lens, text.clone(), text_lens)
    loss_m, stats_m, _ = mixrep(speech, speech_lens, text.clone(), text_lens)
    assert torch.allclose(loss_m, loss_b, atol=1e-6)
    assert torch.allclose(stats_m["acc"], stats_b["acc"])


@pytest.mark.parametrize("layer, encoder_cls, encoder_kwargs", [
    (0, MixRepConformerEncoder, CONFORMER),
    # Conformer's convolution reads padded frames, which mixing zeroes; without it lambda=1 is exact
    (2, MixRepConformerEncoder, dict(CONFORMER, use_cnn_module=False)),
    (2, MixRepTransformerEncoder, PAIRS[1][2]),
])
def test_lambda_one_loss_equals_espnet_model(layer, encoder_cls, encoder_kwargs):
    speech, speech_lens, text, text_lens = batch()
    base_encoder = {MixRepConformerEncoder: ConformerEncoder, MixRepTransformerEncoder: TransformerEncoder}
    base = build_model(ESPnetASRModel, base_encoder[encoder_cls], encoder_kwargs).train()
    mixrep = build_model(encoder_cls=encoder_cls, encoder_kwargs=encoder_kwargs,
                         mix=dict(mix_layers=str(layer), mix_tau=0.5)).train()
    mixrep.load_state_dict(base.state_dict())
    loss_b, stats_b, _ = base(speech, speech_lens, text.clone(), text_lens)
    loss_m, stats_m, _ = mixrep.mixed_forward(speech, speech_lens, text.clone(), text_lens,
                                              plan(layer, [1, 3], [0, 2], [1.0, 1.0]))
    assert torch.allclose(loss_m, loss_b, atol=1e-5), (loss_m, loss_b)
    assert torch.allclose(stats_m["acc"], stats_b["acc"])


def _reference_mixed_loss(model, speech, speech_lens, text, text_lens, p):
    """lam * L(y_i) + (1 - lam) * L(y_j), each computed independently by ESPnet's own code."""
    with model._mixing(p):
        enc, enc_lens = model.encode(speech, speech_lens)
    text = text.masked_fill(text == -1, model.ignore_id)
    B = speech.size(0)
    total = torch.zeros(())
    for i in range(B):
        weights = [(i, 1.0)]
        if i in p.rows.tolist():
            n = p.rows.tolist().index(i)
            lam = float(p.lam[n])
            weights = [(i, lam), (int(p.partners[n]), 1 - lam)]
        h, hl = enc[i:i + 1, : enc_lens[i]], enc_lens[i:i + 1]
        for j, w in weights:
            y, yl = text[j:j + 1, : text_lens[j]], text_lens[j:j + 1]
            ctc = model.ctc(h, hl, y, yl)  # ESPnet CTC, batch of one
            att = model._calc_att_loss(h, hl, y, yl.clone())[0]  # ESPnet attention loss
            total = total + w * (model.ctc_weight * ctc + (1 - model.ctc_weight) * att)
    return total / B


@pytest.mark.parametrize("layer", [0, 2, 3])
def test_mixed_loss_equals_independent_per_transcript_losses(layer):
    speech, speech_lens, text, text_lens = batch()
    model = build_model(encoder_kwargs=dict(CONFORMER, use_cnn_module=False),
                        mix=dict(mix_layers="0,2,3", mix_tau=0.5)).train()
    p = plan(layer, [1, 3], [0, 1], [0.3, 0.3])
    loss, stats, _ = model.mixed_forward(speech, speech_lens, text.clone(), text_lens, p)
    ref = _reference_mixed_loss(model, speech, speech_lens, text.clone(), text_lens, p)
    assert torch.allclose(loss, ref, atol=1e-5), (loss, ref)
    assert stats["mix_layer"].item() == layer


def test_gradients_reach_every_encoder_block():
    speech, speech_lens, text, text_lens = batch()
    model = build_model(mix=dict(mix_layers="2", mix_tau=0.5), specaug=True).train()
    loss, _, _ = model.mixed_forward(speech, speech_lens, text.clone(), text_lens,
                                     plan(2, [0, 2], [3, 1], [0.4, 0.4]))
    loss.backward()
    for k, block in enumerate(model.encoder.encoders):
        grads = [p.grad for p in block.parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads), f"block {k}"
        assert sum(g.abs().sum() for g in grads) > 0, f"block {k}"
    assert model.encoder.embed.conv[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("layer", [0, 2])
def test_merged_lengths_reach_ctc_and_decoder(layer):
    speech, speech_lens, text, text_lens = batch(lengths=(4000, 1200, 3000, 1800))
    model = build_model(mix=dict(mix_layers="0,2", mix_tau=0.5)).train()
    seen = {}
    model.decoder.register_forward_hook(lambda m, a, o: seen.setdefault("decoder_lens", []).append(a[1].clone()))
    model.ctc.register_forward_hook(lambda m, a, o: seen.setdefault("ctc_lens", []).append(a[1].clone()))
    p = plan(layer, [1], [0], [0.5])
    model.mixed_forward(speech, speech_lens, text.clone(), text_lens, p)
    with torch.no_grad():
        model.eval()
        _, plain_lens = model.encode(speech, speech_lens)
    expected = plain_lens.clone()
    expected[1] = plain_lens[0]  # row 1 (short) mixed with row 0 (longest): merged length
    assert torch.equal(seen["ctc_lens"][0], expected)
    assert torch.equal(seen["decoder_lens"][0], expected)
    assert torch.equal(seen["ctc_lens"][1], expected[[1]])  # partner-transcript pass: mixed row only
    assert torch.equal(seen["decoder_lens"][1], expected[[1]])


def test_hidden_mix_keeps_frames_beyond_both_lengths_masked():
    model = build_model(mix=dict(mix_layers="1", mix_tau=1.0)).train()
    captured = {}
    model.encoder.encoders[1].register_forward_pre_hook(lambda m, a: captured.update(masks=a[1].clone()))
    speech, speech_lens, text, text_lens = batch(lengths=(4000, 1200, 3000, 1800))
    p = plan(1, [1, 3], [2, 1], [0.5, 0.5])
    with model._mixing(p):
        model.encode(speech, speech_lens)
    valid = captured["masks"].squeeze(1).sum(-1)
    with torch.no_grad():
        model.eval()
        _, plain = model.encode(speech, speech_lens)
    assert valid.tolist() == [plain[0], max(plain[1], plain[2]), plain[2], max(plain[3], plain[1])]
    mask = captured["masks"].squeeze(1)
    assert not mask[1, int(valid[1]):].any()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("layer", [0, 2])
def test_no_nan_under_cpu_autocast(dtype, layer):
    speech, speech_lens, text, text_lens = batch()
    model = build_model(mix=dict(mix_layers="0,2", mix_tau=0.5)).train()
    with torch.autocast("cpu", dtype=dtype):
        loss, stats, _ = model.mixed_forward(speech, speech_lens, text.clone(), text_lens,
                                             plan(layer, [0, 1], [2, 3], [0.7, 0.7]))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_eval_mode_never_mixes():
    speech, speech_lens, text, text_lens = batch()
    model = build_model(mix=dict(mix_layers="0,2", mix_tau=1.0)).eval()
    base = build_model(ESPnetASRModel, ConformerEncoder).eval()
    base.load_state_dict(model.state_dict())
    with torch.no_grad():
        loss_m, stats_m, _ = model(speech, speech_lens, text.clone(), text_lens)
        loss_b, _, _ = base(speech, speech_lens, text.clone(), text_lens)
    assert torch.allclose(loss_m, loss_b) and "mix_layer" not in stats_m


def test_training_forward_draws_and_reports_mixing():
    speech, speech_lens, text, text_lens = batch()
    model = build_model(mix=dict(mix_layers="0,2", mix_tau=1.0, mix_lambda_per_utterance=True)).train()
    loss, stats, weight = model(speech, speech_lens, text.clone(), text_lens)
    assert torch.isfinite(loss) and int(weight) == 4 and stats["mix_layer"].item() in (0, 2)


def test_step_that_cannot_mix_reports_the_keys_of_a_mixed_step():
    """DDP averages the stats key by key across ranks: a rank that does not mix
    (here a batch of one) must return the same keys, in the same order."""
    model = build_model(mix=dict(mix_layers="0,2", mix_tau=0.5)).train()
    base = build_model(ESPnetASRModel, ConformerEncoder).train()
    base.load_state_dict(model.state_dict())
    speech, speech_lens, text, text_lens = batch()
    _, mixed_stats, _ = model.mixed_forward(speech, speech_lens, text.clone(), text_lens,
                                            plan(2, [1], [0], [0.4]))
    one = (speech[:1], speech_lens[:1], text[:1].clone(), text_lens[:1])
    loss, stats, weight = model(*one)
    loss_b, stats_b, _ = base(*one)
    assert list(stats) == list(mixed_stats)
    assert all(v.shape == (1,) for v in stats.values() if v is not None)
    assert torch.isnan(stats["mix_layer"]).all() and torch.isnan(stats["mix_lambda"]).all()
    assert torch.equal(loss, loss_b) and int(weight) == 1
    assert {k: v for k, v in stats.items() if not k.startswith("mix_")}.keys() == stats_b.keys()


def _plans_after_seed(model, seed, steps=6, batch_size=4):
    torch.manual_seed(seed)  # what ESPnet's set_all_random_seed(seed + epoch) does each epoch
    plans = [model.encoder.draw_mix_plan(batch_size) for _ in range(steps)]
    return [(p.layer, p.rows.tolist(), p.partners.tolist(), p.lam.tolist()) for p in plans]


def test_mixing_draws_restart_from_each_epoch_seed():
    """Resuming at an epoch boundary (a fresh process) draws what an uninterrupted run draws."""
    mix = dict(mix_layers="0,2,3", mix_tau=0.5, mix_lambda_per_utterance=True)
    straight = build_model(mix=mix).train()
    epoch1 = _plans_after_seed(straight, 1)
    epoch2 = _plans_after_seed(straight, 2)
    resumed = build_model(mix=mix, seed=5).train()  # another process, another torch state
    assert _plans_after_seed(resumed, 2) == epoch2
    assert epoch1 != epoch2


def test_waveform_domain_mixes_audio_before_frontend():
    speech, speech_lens, text, text_lens = batch(lengths=(4000, 1200, 3000, 1800))
    model = build_model(mix=dict(mix_layers="0", mix_tau=0.5, mix_layer0_domain="waveform")).train()
    seen = {}
    model.frontend.register_forward_pre_hook(lambda m, a: seen.update(speech=a[0].clone(), lens=a[1].clone()))
    model.mixed_forward(speech, speech_lens, text.clone(), text_lens, plan(0, [1], [0], [0.25]))
    assert seen["lens"].tolist() == [4000, 4000, 3000, 1800]
    expected = 0.75 * speech[0]
    expected[:1200] += 0.25 * speech[1, :1200]
    torch.testing.assert_close(seen["speech"][1], expected)


def test_label_smoothing_per_row_sums_to_espnet_criterion():
    model = build_model()
    logits = torch.randn(3, 5, len(VOCAB))
    target = torch.randint(0, len(VOCAB), (3, 5))
    target[1, 3:] = -1
    per_row = label_smoothing_loss_per_row(model.criterion_att, logits, target)
    torch.testing.assert_close(per_row.sum() / 3, model.criterion_att(logits, target))


@pytest.mark.parametrize("kwargs, match", [
    (dict(mix_layers="4"), r"layer 4 does not exist \(allowed: 0\.\.3"),
    (dict(mix_alpha=0.0), "mix_alpha=0.0"),
    (dict(mix_tau=1.2), "mix_tau=1.2"),
    (dict(mix_layer0_domain="mel"), "mix_layer0_domain='mel'"),
    (dict(mix_layers="2", interctc_layer_idx=[1]), "intermediate CTC is not supported"),
    (dict(mix_layers="2", layer_drop_rate=0.1), "layer_drop_rate"),
])
def test_build_time_errors_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MixRepConformerEncoder(N_MELS, **dict(CONFORMER, **kwargs))


def test_model_rejects_unsupported_combinations():
    with pytest.raises(ValueError, match="needs a mixing encoder"):
        build_model(MixRepASRModel, ConformerEncoder)
    with pytest.raises(ValueError, match="interctc_weight"):
        build_model(mix=dict(mix_layers="0", mix_tau=0.2), interctc_weight=0.3)
