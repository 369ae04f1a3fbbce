"""Our shorten decoder against streams from the test encoder, for what the real
LDC files (test_sphere_ldc.py) lack: every command, versions 0-2, running
means, bit shift, block-size changes, header skip bytes, the AU1 u-law type,
the lossy u-law tables, and inside SPHERE."""

from __future__ import annotations

import numpy as np
import pytest
from shorten_encoder import encode_shorten

from espnet_mixrep.core.g711 import ULAW_TO_LINEAR
from espnet_mixrep.core.shorten import TYPE_AU1, TYPE_AU2, ULAW_OUTWARD, ShortenError, decode_shorten
from espnet_mixrep.core.sphere import read_sphere, sphere_wav_command


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


def test_block_size_changes_and_header_skip_bytes():
    x = _signal(3000, 2, seed=3)
    stream = encode_shorten(x, blocksize=[64, 300, 32, 1000], skip_bytes=b"RIFF\x00\x7f")
    assert np.array_equal(decode_shorten(stream), x)
    assert np.array_equal(decode_shorten(stream, max_frames=700), x[:700])  # as sph2pipe, up to sample_count


@pytest.mark.parametrize("sample_type, nmean", [(TYPE_AU1, 0), (TYPE_AU2, 4)])
def test_ulaw_types(sample_type, nmean):
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 256, size=(900, 2)).astype(np.uint8)
    codes[:40] = 0x7F  # the negative zero, which AU2 keeps apart
    codes[300:600] = 0xFF  # the positive zero: FN_ZERO blocks
    y = decode_shorten(encode_shorten(codes, sample_type=sample_type, nmean=nmean, blocksize=128))
    assert np.array_equal(y, ULAW_TO_LINEAR[codes])


def test_lossy_ulaw_rows_are_shortens_table():
    # entries of shorten's published ulaw_outward table (bitshift.h, made by mkbshift)
    assert ULAW_OUTWARD[0, 126:131].tolist() == [125, 126, 255, 254, 253] and ULAW_OUTWARD[0, 0] == 127
    assert ULAW_OUTWARD[1, :10].tolist() == [112, 114, 116, 118, 120, 122, 124, 126, 127, 0]
    assert ULAW_OUTWARD[8, 112:120].tolist() == [0, 1, 3, 5, 7, 9, 11, 13]
    assert ULAW_OUTWARD[11, 125:132].tolist() == [127, 0, 15, 255, 143, 254, 253]
    assert ULAW_OUTWARD[12, 126:130].tolist() == [127, 0, 255, 254]
    assert all(sorted(row) == list(range(256)) for row in ULAW_OUTWARD.tolist())


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
