"""SpeechMix maths: A-weighting, sound-pressure gain, mixes, targets, loss."""

from __future__ import annotations

import math

import pytest
import torch

from espnet_mixrep.speechmix.gain import a_weighting_db, default_n_fft, sound_pressure_gain_db
from espnet_mixrep.speechmix.mixing import (
    draw_ratios,
    gain_aware_mix,
    kl_loss,
    pick_partners,
    plain_mix,
    soft_targets,
)


@pytest.mark.parametrize("freq, expected_db", [(1000.0, 0.0), (100.0, -19.1), (10000.0, -2.5), (31.5, -39.5)])
def test_a_weighting_at_reference_frequencies(freq: float, expected_db: float) -> None:
    # IEC 61672 table values.
    assert a_weighting_db(torch.tensor([freq])).item() == pytest.approx(expected_db, abs=0.1)


def test_a_weighting_on_the_gain_grid() -> None:
    # The grid the gain uses at 44.1 kHz (n_fft 4096): the bin nearest 100 Hz
    # is 96.9 Hz, where the curve reads -19.6 dB (the spec's reference figure).
    freqs = torch.linspace(0, 44100 / 2, 4096 // 2 + 1)
    weights = a_weighting_db(freqs)
    near_100 = int((freqs - 100).abs().argmin())
    near_1k = int((freqs - 1000).abs().argmin())
    assert freqs[near_100].item() == pytest.approx(96.9, abs=0.05)
    assert weights[near_100].item() == pytest.approx(-19.6, abs=0.05)
    assert weights[near_1k].item() == pytest.approx(0.0, abs=0.05)


def test_a_weighting_dc_and_floor() -> None:
    # f^2 := 1 at DC gives about -191 dB before the -80 dB floor.
    assert a_weighting_db(torch.tensor([0.0, 1.0, 10.0])).tolist()[:2] == [-80.0, -80.0]
    assert a_weighting_db(torch.tensor([10.0])).item() == pytest.approx(-70.4, abs=0.5)


def test_default_n_fft() -> None:
    assert [default_n_fft(fs) for fs in (8000, 16000, 44100)] == [1024, 2048, 4096]


def test_gain_of_a_tone_matches_hand_computation() -> None:
    # 1 kHz sine at 16 kHz, n_fft 2048: bin 128 exactly. A periodic Hann window
    # puts |X| = A N / 4 in bin 128 and A N / 8 in bins 127 and 129, so the
    # A-weighted frame power is (A N/4)^2 w(128) + (A N/8)^2 (w(127) + w(129)).
    fs, n, amp = 16000, 2048, 0.3
    t = torch.arange(fs, dtype=torch.float64) / fs
    tone = amp * torch.sin(2 * math.pi * 1000.0 * t)
    bins = torch.tensor([127.0, 128.0, 129.0]) * fs / n
    w = 10 ** (a_weighting_db(bins) / 10)
    power = (amp * n / 4) ** 2 * w[1] + (amp * n / 8) ** 2 * (w[0] + w[2])
    expected_db = 10 * math.log10(power.item())
    got = sound_pressure_gain_db(tone[None], fs, n).item()
    assert got == pytest.approx(expected_db, abs=1e-6)


def test_gain_takes_the_loudest_frame_and_floors_silence() -> None:
    fs = 16000
    t = torch.arange(fs, dtype=torch.float64) / fs
    tone = 0.3 * torch.sin(2 * math.pi * 1000.0 * t)
    half_silent = tone.clone()
    half_silent[: fs // 2] = 0
    gains = sound_pressure_gain_db(torch.stack([tone, half_silent, torch.zeros(fs, dtype=torch.float64)]), fs)
    assert gains[0].item() == pytest.approx(gains[1].item(), abs=1e-6)
    assert gains[2].item() == pytest.approx(-80.0)
    louder = sound_pressure_gain_db((2 * tone)[None], fs)
    assert (louder - gains[0]).item() == pytest.approx(20 * math.log10(2), abs=1e-6)


def test_gain_of_a_hidden_map_is_its_flattened_row() -> None:
    torch.manual_seed(0)
    hidden = torch.randn(2, 8, 4, 300)  # (B, C, H, W): 9600 values per row
    flat = sound_pressure_gain_db(hidden.reshape(2, -1), 44100)
    assert torch.allclose(sound_pressure_gain_db(hidden, 44100), flat)
    short = torch.randn(2, 100)  # shorter than n_fft: one zero-padded frame
    padded = torch.nn.functional.pad(short, (0, 4096 - 100))
    assert torch.allclose(sound_pressure_gain_db(short, 44100), sound_pressure_gain_db(padded, 44100))


def test_equal_gains_and_half_ratio_give_the_normalised_average() -> None:
    a, b = torch.randn(3, 50), torch.randn(3, 50)
    gains = torch.full((3,), -12.0)
    mixed = gain_aware_mix(a, b, gains, gains, torch.full((3,), 0.5))
    assert torch.allclose(mixed, (a + b) / math.sqrt(2), atol=1e-6)


def test_gain_aware_mix_formula_with_unequal_gains() -> None:
    a, b = torch.randn(2, 10), torch.randn(2, 10)
    g_a, g_b, r = torch.tensor([0.0, -6.0]), torch.tensor([-20.0, 0.0]), torch.tensor([0.3, 0.8])
    mixed = gain_aware_mix(a, b, g_a, g_b, r)
    for i in range(2):
        p = 1 / (1 + 10 ** ((g_a[i] - g_b[i]) / 20) * (1 - r[i]) / r[i])
        expected = (p * a[i] + (1 - p) * b[i]) / torch.sqrt(p**2 + (1 - p) ** 2)
        assert torch.allclose(mixed[i], expected, atol=1e-6)
    # The louder sound (a, +20 dB) gets the smaller coefficient than r says.
    p0 = 1 / (1 + 10 ** (20 / 20) * 0.7 / 0.3)
    assert p0 < 0.3


def test_plain_mix_and_soft_targets_use_r() -> None:
    a, b = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    r = torch.tensor([0.25, 0.9])
    mixed = plain_mix(a, b, r)
    assert torch.allclose(mixed[0], 0.25 * a[0] + 0.75 * b[0])
    onehot = torch.eye(3)[[0, 2]]
    targets = soft_targets(onehot, torch.tensor([1, 0]), r)
    assert torch.allclose(targets, torch.tensor([[0.25, 0.0, 0.75], [0.1, 0.0, 0.9]]))


def test_kl_loss() -> None:
    logits = torch.randn(4, 5)
    onehot = torch.eye(5)[[0, 1, 2, 3]]
    ce = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 3]))
    assert kl_loss(onehot, logits).item() == pytest.approx(ce.item(), rel=1e-6)
    t = torch.softmax(torch.randn(4, 5), -1)
    expected = (t * (t.log() - torch.log_softmax(logits, -1))).sum(-1).mean()
    assert kl_loss(t, logits).item() == pytest.approx(expected.item(), rel=1e-5)
    assert kl_loss(torch.softmax(logits, -1), logits).item() == pytest.approx(0.0, abs=1e-6)


def test_partners_have_different_labels() -> None:
    labels = torch.tensor([0, 0, 1, 2, 2, 2])
    for seed in range(20):
        partner, has = pick_partners(labels, torch.Generator().manual_seed(seed))
        assert has.all()
        assert (labels[partner] != labels).all()
    partner, has = pick_partners(torch.tensor([3, 3, 3]))
    assert not has.any() and partner.tolist() == [0, 1, 2]
    r = draw_ratios(torch.tensor([True, False, True]), eps=0.01)
    assert r[1] == 1.0 and 0.01 <= r[0] <= 0.99 and 0.01 <= r[2] <= 0.99
