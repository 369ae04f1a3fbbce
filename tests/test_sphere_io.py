"""SPHERE reading: header, PCM (both byte orders), two-channel u-law, A-law,
what the stage-1 check refuses (the same as the decoder), and the sph2wav
command that wav.scp entries run, read back by parse_sphere_command."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from shorten_encoder import encode_shorten

from espnet_mixrep.core.g711 import ALAW_TO_LINEAR
from espnet_mixrep.core.sphere import (
    ULAW_TO_LINEAR,
    SphereCommand,
    SphereError,
    check_sphere_readable,
    linear_to_ulaw,
    parse_sphere_command,
    read_sphere,
    read_sphere_header,
    sphere_wav_command,
    write_sphere,
)


def _header(fields: str) -> bytes:
    text = "NIST_1A\n   1024\n" + fields + "end_head\n"
    return text.encode().ljust(1024, b" ")


def test_pcm_round_trip_and_header(tmp_path):
    samples = (np.arange(-500, 500) * 30).astype(np.int16)
    path = tmp_path / "a.wv1"
    write_sphere(path, samples, 16000)
    header = read_sphere_header(path)
    assert (header.sample_rate, header.channel_count, header.sample_count) == (16000, 1, 1000)
    out, rate = read_sphere(path, channel=1)
    assert rate == 16000 and np.array_equal(out, samples)


def test_big_endian_pcm(tmp_path):
    samples = np.array([1, -2, 300, -32768, 32767], dtype=np.int16)
    fields = "sample_count -i 5\nsample_rate -i 8000\nchannel_count -i 1\nsample_n_bytes -i 2\n"
    fields += "sample_byte_format -s2 10\nsample_coding -s3 pcm\n"
    path = tmp_path / "be.sph"
    path.write_bytes(_header(fields) + samples.astype(">i2").tobytes())
    out, _ = read_sphere(path)
    assert np.array_equal(out[:, 0], samples)


def test_ulaw_table_known_values():
    # G.711: 0xFF and 0x7F are the two zeros, 0x00 / 0x80 the extremes.
    assert ULAW_TO_LINEAR[0xFF] == 0 and ULAW_TO_LINEAR[0x7F] == 0
    assert ULAW_TO_LINEAR[0x00] == -32124 and ULAW_TO_LINEAR[0x80] == 32124
    # encoding the decoded value of every code gives that code back (except the duplicate zero)
    codes = np.arange(256, dtype=np.uint8)
    back = linear_to_ulaw(ULAW_TO_LINEAR[codes])
    assert np.array_equal(back[codes != 0x7F], codes[codes != 0x7F])


def test_two_channel_ulaw(tmp_path):
    t = np.arange(4000) / 8000
    left = (10000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
    right = (3000 * np.sin(2 * np.pi * 700 * t)).astype(np.int16)
    path = tmp_path / "sw02001.sph"
    write_sphere(path, np.stack([left, right], axis=1), 8000, coding="ulaw")
    header = read_sphere_header(path)
    assert header.is_ulaw and header.channel_count == 2
    a, rate = read_sphere(path, channel=1)
    b, _ = read_sphere(path, channel=2)
    assert rate == 8000 and len(a) == len(b) == 4000
    # u-law keeps about 2**-5 relative precision
    assert np.max(np.abs(a.astype(int) - left)) <= 10000 / 16
    assert np.max(np.abs(b.astype(int) - right)) <= 3000 / 16 + 8
    with pytest.raises(SphereError, match="channel 3"):
        read_sphere(path, channel=3)


def test_alaw_table_known_values():
    # G.711 A-law: even bits inverted on the line, so 0xD5 / 0x55 are the smallest steps
    assert ALAW_TO_LINEAR[0xD5] == 8 and ALAW_TO_LINEAR[0x55] == -8
    assert ALAW_TO_LINEAR[0xAA] == 32256 and ALAW_TO_LINEAR[0x2A] == -32256
    assert len(set(ALAW_TO_LINEAR.tolist())) == 256


def test_two_channel_alaw(tmp_path):
    codes = np.array([[0xD5, 0xAA], [0x55, 0x2A], [0xD4, 0x80]], dtype=np.uint8)
    fields = "sample_count -i 3\nsample_rate -i 8000\nchannel_count -i 2\nsample_n_bytes -i 1\nsample_coding -s4 alaw\n"
    path = tmp_path / "fsh.sph"
    path.write_bytes(_header(fields) + codes.tobytes())
    assert check_sphere_readable(path) is None  # stage 1 passes it, and stage 3 reads it
    out, rate = read_sphere(path)
    assert rate == 8000 and np.array_equal(out, ALAW_TO_LINEAR[codes])


@pytest.mark.parametrize(
    "coding, width, body, problem",
    [
        ("pcm,embedded-shorten-v2.00", 2, 1, "shorten sample type 1 (8-bit signed) is not supported"),
        ("ulaw,embedded-shorten-v2.00", 1, b"ajkg\x02", "shorten stream ends inside its header"),
        ("pcm,embedded-shorten-v2.00", 2, b"\0" * 64, "says pcm,embedded-shorten-v2.00 but holds no shorten stream"),
        ("ulaw,embedded-shorten-v2.00", 1, 3, "its shorten stream holds 16-bit signed, big-endian samples"),
        ("alaw,embedded-shorten-v2.00", 1, 8, "shorten-compressed 1-byte alaw"),
        ("pcm", 3, b"\0" * 30, "3-byte pcm samples are not supported"),
        ("g729", 1, b"\0" * 30, "unsupported SPHERE sample_coding 'g729'"),
    ],
)
def test_check_refuses_exactly_what_the_decoder_refuses(tmp_path, coding, width, body, problem):
    """``body``: the data after the header, or the sample type of a shorten stream to encode."""
    if isinstance(body, int):
        body = encode_shorten(np.zeros((300, 2), dtype=np.int16), sample_type=body)
    fields = f"sample_count -i 300\nsample_rate -i 8000\nchannel_count -i 2\nsample_n_bytes -i {width}\n"
    fields += f"sample_coding -s{len(coding)} {coding}\n"
    path = tmp_path / "sw02001.sph"
    path.write_bytes(_header(fields) + body)
    message = check_sphere_readable(path)
    assert message.startswith(f"{path}: ") and problem in message
    with pytest.raises(SphereError, match=re.escape(problem)):
        read_sphere(path)


def test_bad_files(tmp_path):
    (tmp_path / "x.wv1").write_bytes(b"RIFF....")
    with pytest.raises(SphereError, match="not a NIST SPHERE"):
        read_sphere(tmp_path / "x.wv1")
    fields = "sample_count -i 100\nsample_rate -i 16000\nchannel_count -i 1\nsample_n_bytes -i 2\nsample_coding -s3 pcm\n"
    (tmp_path / "t.wv1").write_bytes(_header(fields) + b"\x00" * 10)
    with pytest.raises(SphereError, match="header says 100 samples"):
        read_sphere(tmp_path / "t.wv1")


def test_sph2wav_command_decodes_and_resamples(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))  # no sph2pipe here
    stereo = np.stack([np.full(800, 1000, np.int16), np.full(800, -2000, np.int16)], axis=1)
    path = tmp_path / "conv.sph"
    write_sphere(path, stereo, 8000, coding="ulaw")
    command = sphere_wav_command(path, channel=2, rate=16000)
    assert command.endswith("|") and "espnet_mixrep.bin.sph2wav" in command
    wav = subprocess.run(command[:-1], shell=True, capture_output=True, check=True).stdout
    audio, rate = soundfile.read(io.BytesIO(wav), dtype="int16")
    assert rate == 16000 and audio.ndim == 1 and len(audio) == 1600
    # the middle of a constant signal survives resampling; u-law of -2000 decodes to -2014
    assert abs(int(np.median(audio)) - int(ULAW_TO_LINEAR[linear_to_ulaw(np.array([-2000]))[0]])) <= 2


def test_sph2pipe_preferred_when_on_path(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "sph2pipe"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    assert sphere_wav_command("/c/sw02001.sph", channel=1).startswith(f"{tool} -f wav -p -c 1 /c/sw02001.sph |")
    resampled = sphere_wav_command("/c/sw02001.sph", channel=2, rate=16000)
    assert " -c 2 " in resampled and resampled.endswith("sph2wav --rate 16000 - |")


def test_plain_path_for_uncompressed_mono_without_sph2pipe(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    mono = tmp_path / "a.wv1"
    write_sphere(mono, np.arange(100, dtype=np.int16), 16000)
    assert sphere_wav_command(mono) == str(mono)
    audio, rate = soundfile.read(sphere_wav_command(mono), dtype="int16")  # libsndfile reads NIST SPHERE
    assert rate == 16000 and np.array_equal(audio, np.arange(100))
    stereo = tmp_path / "b.sph"
    write_sphere(stereo, np.zeros((10, 2), np.int16), 8000, coding="ulaw")
    assert sphere_wav_command(stereo, channel=1).endswith("--channel 1 " + str(stereo) + " |")


def test_stage3_reads_back_every_entry_sphere_wav_command_writes(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "sph2pipe").write_text("#!/bin/sh\nexit 0\n")
    (bindir / "sph2pipe").chmod(0o755)
    path = tmp_path / "my dir" / "sw02001.sph"  # a space: the entries quote the path
    path.parent.mkdir()
    write_sphere(path, np.zeros((10, 2), np.int16), 8000, coding="ulaw")
    for on_path, sph2pipe in ((str(bindir), str(bindir / "sph2pipe")), (str(tmp_path / "empty"), None)):
        monkeypatch.setenv("PATH", on_path)
        for channel in (None, 1, 2):
            for rate in (None, 16000):
                entry = sphere_wav_command(path, channel=channel, rate=rate)
                if entry.endswith("|"):
                    assert parse_sphere_command(entry) == SphereCommand(str(path), channel, rate, sph2pipe)
    assert parse_sphere_command("sox a.wav -t wav - |") is None
    assert parse_sphere_command(f"{sys.executable} -m espnet_mixrep.bin.sph2wav --rate 8000 - |") is None
