"""Our shorten decoder against streams from the test encoder: every command,
versions 1 and 2, running means, bit shift, two channels, and inside SPHERE."""

from __future__ import annotations

import numpy as np
import pytest
from shorten_encoder import encode_shorten

from espnet_mixrep.recipes.shorten import ShortenError, decode_shorten
from espnet_mixrep.recipes.sphere import read_sphere, sphere_wav_command


def _signal(frames: int, channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None]
    x = 6000 * np.sin(2 * np.pi * t * (0.01 + 0.013 * np.arange(channels))) + 300  # DC offset: the means matter
    x = x + rng.normal(0, 200, size=(frames, channels))
    x[300:600] = 0  # silent stretch: FN_ZERO blocks
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("version, nmean", [(2, 4), (1, 4), (2, 0), (0, 0)])
def test_round_trip(version, nmean):
    x = _signal(256 * 9 + 77, 1)
    y = decode_shorten(encode_shorten(x, version=version, nmean=nmean))
    assert y.shape == x.shape and np.array_equal(y, x)


def test_two_channels_and_bitshift():
    x = _signal(1500, 2, seed=1)
    assert np.array_equal(decode_shorten(encode_shorten(x, blocksize=128)), x)
    even = (x // 4) * 4  # two zero low bits: the encoder sends them shifted out
    assert np.array_equal(decode_shorten(encode_shorten(even, bitshift=2)), even)


def test_bad_streams():
    with pytest.raises(ShortenError, match="ajkg"):
        decode_shorten(b"RIFF0000")
    stream = encode_shorten(_signal(1000, 1))
    with pytest.raises(ShortenError, match="ends inside a code"):
        decode_shorten(stream[: len(stream) // 2])


def test_shorten_sphere_file(tmp_path, monkeypatch):
    """A WSJ-style .wv1: 1024-byte SPHERE header, then the shorten stream."""
    x = _signal(4000, 1, seed=2)[:, 0]
    fields = {
        "sample_count": ("-i", 4000), "sample_rate": ("-i", 16000), "channel_count": ("-i", 1),
        "sample_n_bytes": ("-i", 2), "sample_byte_format": ("-s2", "10"),
        "sample_coding": ("-s26", "pcm,embedded-shorten-v2.00"),
    }  # fmt: skip
    header = "NIST_1A\n   1024\n" + "".join(f"{k} {t} {v}\n" for k, (t, v) in fields.items()) + "end_head\n"
    path = tmp_path / "011c0201.wv1"
    path.write_bytes(header.encode().ljust(1024, b" ") + encode_shorten(x[:, None]))
    audio, rate = read_sphere(path, channel=1)
    assert rate == 16000 and np.array_equal(audio, x)
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    assert "espnet_mixrep.bin.sph2wav" in sphere_wav_command(path)  # decoded by our reader, not libsndfile
