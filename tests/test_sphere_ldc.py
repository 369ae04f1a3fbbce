"""Our SPHERE decoder on real LDC files (../shared/data/sphere: PCM shorten in
both byte orders, u-law shorten, A-law; mono and two-channel), sample for
sample against what the real sph2pipe v2.5 wrote for them, through each way
the recipes decode: the library, the sph2wav command of wav.scp entries, and
stage 3 (format) with its jobs. Also damaged copies of those files."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from espnet_mixrep.stages.format import format_data_dir
from espnet_mixrep.core.datadir import DataDirError, Utterance, read_kaldi_map, write_data_dir
from espnet_mixrep.core.sphere import SphereError, check_sphere_readable, read_sphere, sphere_wav_command

FILES = [
    "123_1pcbe_shn", "123_1pcle_shn", "123_1ulaw_shn", "123_2alaw",
    "123_2pcbe_shn", "123_2pcle_shn", "123_2ulaw_shn",
]  # fmt: skip


def _reference(sphere_dir: Path, name: str, channels: int) -> np.ndarray:
    """What ``sph2pipe -f raw -p`` wrote: int16 [frames, channels]."""
    raw = np.fromfile(sphere_dir / "sph2pipe_pcm" / f"{name}.s16le.raw", dtype="<i2")
    return raw.reshape(-1, channels)


@pytest.mark.parametrize("name", FILES)
def test_decoder_matches_sph2pipe(ldc_sphere_dir, name):
    path = ldc_sphere_dir / f"{name}.sph"
    assert check_sphere_readable(path) is None  # stage 1 accepts it
    samples, rate = read_sphere(path)
    assert rate == 20000 and samples.dtype == np.int16
    np.testing.assert_array_equal(samples, _reference(ldc_sphere_dir, name, samples.shape[1]))


def test_sph2wav_command_matches_sph2pipe(ldc_sphere_dir):
    """``python -m espnet_mixrep.bin.sph2wav FILE`` (all channels), as a wav.scp entry runs it."""
    for name in FILES:
        wav = subprocess.run(
            [sys.executable, "-m", "espnet_mixrep.bin.sph2wav", str(ldc_sphere_dir / f"{name}.sph")],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        samples, rate = soundfile.read(io.BytesIO(wav), dtype="int16", always_2d=True)
        assert rate == 20000, name
        np.testing.assert_array_equal(samples, _reference(ldc_sphere_dir, name, samples.shape[1]), err_msg=name)


def _side_entries(sphere_dir: Path):
    """(recording id, channel) of every channel of every file: Switchboard-style sides."""
    for name in FILES:
        for channel in (1, 2) if name.startswith("123_2") else (1,):
            yield name, channel, f"{name}-{'AB'[channel - 1]}"


def _format(sphere_dir: Path, tmp_path: Path, nj: int, use_sph2pipe: bool = True) -> Path:
    utts = []
    for name, channel, rec in _side_entries(sphere_dir):
        entry = sphere_wav_command(sphere_dir / f"{name}.sph", channel=channel)
        # two segments per side, as Switchboard has: the side is decoded once for both
        for i, (start, end) in enumerate([(0.0, 0.9), (0.9, 1.856)]):
            utts.append(Utterance(f"{rec}_{i}", rec, "one two", entry, (rec, start, end)))
    write_data_dir(tmp_path / "data", utts)
    format_data_dir(tmp_path / "data", tmp_path / "dump", fs=20000, nj=nj, use_sph2pipe=use_sph2pipe)
    return tmp_path / "dump"


def _assert_dump_matches(dump: Path, sphere_dir: Path) -> None:
    wav_scp = read_kaldi_map(dump / "wav.scp")
    assert len(wav_scp) == 2 * 11
    for name, channel, rec in _side_entries(sphere_dir):
        reference = _reference(sphere_dir, name, 2 if name.startswith("123_2") else 1)[:, channel - 1]
        cut = np.concatenate([soundfile.read(wav_scp[f"{rec}_{i}"], dtype="int16")[0] for i in range(2)])
        np.testing.assert_array_equal(cut, reference, err_msg=rec)


def test_stage3_jobs_match_sph2pipe(ldc_sphere_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))  # no sph2pipe: entries name our reader
    dump = _format(ldc_sphere_dir, tmp_path, nj=2)
    _assert_dump_matches(dump, ldc_sphere_dir)
    summary = capsys.readouterr().err
    # both channels of a file in one job, read once
    assert "22 utterances from 11 recordings in 2 job(s) (SPHERE files read: 7, entries decoded in-process: 11)" in summary


def test_stage3_runs_sph2pipe_unless_told_otherwise(ldc_sphere_dir, tmp_path, monkeypatch, capsys):
    """wav.scp written with sph2pipe on PATH: stage 3 runs it by default, decodes in-process with use_sph2pipe=False."""
    bindir, wavs = tmp_path / "bin", tmp_path / "sph2pipe_wav"
    bindir.mkdir()
    wavs.mkdir()
    for name, channel, _ in _side_entries(ldc_sphere_dir):
        reference = _reference(ldc_sphere_dir, name, 2 if name.startswith("123_2") else 1)[:, channel - 1]
        soundfile.write(str(wavs / f"{name}.sph.{channel}.wav"), reference, 20000, subtype="PCM_16")
    calls = tmp_path / "sph2pipe.calls"
    # a stand-in for sph2pipe ("-f wav -p -c N FILE"): logs its call, writes sph2pipe's output for FILE
    (bindir / "sph2pipe").write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec /bin/cat "{wavs}/${{6##*/}}.$5.wav"\n')
    (bindir / "sph2pipe").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.path.dirname(sys.executable)}")
    dump = _format(ldc_sphere_dir, tmp_path / "run", nj=1)
    assert len(calls.read_text().splitlines()) == 11 and "(entries run by sph2pipe: 11)" in capsys.readouterr().err
    _assert_dump_matches(dump, ldc_sphere_dir)
    calls.unlink()
    dump = _format(ldc_sphere_dir, tmp_path / "ours", nj=1, use_sph2pipe=False)
    assert not calls.exists() and "(SPHERE files read: 7, entries decoded in-process: 11)" in capsys.readouterr().err
    _assert_dump_matches(dump, ldc_sphere_dir)


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda d: d[:20000], "shorten stream ends inside a code at byte 19983 of the file (after 13568 samples"),
        (lambda d: d[:3000] + b"\0" * 32 + d[3032:], "decoded sample out of range (corrupted stream) at byte 3104"),
        (lambda d: d[:30000] + b"\0" * 4 + d[30004:], "unknown shorten command at byte 30052 of the file"),
        (lambda d: d[:1029] + b"\0" + d[1030:], "shorten sample type 771833638 (unknown) is not supported"),
    ],
)
def test_damaged_stream_names_file_and_position(ldc_sphere_dir, tmp_path, damage, problem):
    path = tmp_path / "123_2pcle_shn.sph"
    path.write_bytes(damage((ldc_sphere_dir / "123_2pcle_shn.sph").read_bytes()))
    with pytest.raises(SphereError) as err:
        read_sphere(path)
    assert str(err.value).startswith(f"{path}: {problem}")


def test_damaged_file_stops_stage3_with_nothing_written(ldc_sphere_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))
    damaged = tmp_path / "123_2ulaw_shn.sph"
    damaged.write_bytes((ldc_sphere_dir / "123_2ulaw_shn.sph").read_bytes()[:15000])
    utts = [
        Utterance(f"{name}_0", name, "one", sphere_wav_command(path, channel=1))
        for name, path in (("good", ldc_sphere_dir / "123_2pcle_shn.sph"), ("zz-damaged", damaged))
    ]
    write_data_dir(tmp_path / "data", utts)
    with pytest.raises(DataDirError) as err:
        format_data_dir(tmp_path / "data", tmp_path / "dump", fs=20000, nj=2)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'data' / 'wav.scp'}: {damaged}: shorten stream ends inside a code at byte ")
    assert not (tmp_path / "dump").exists() and [p.name for p in tmp_path.iterdir()] == ["123_2ulaw_shn.sph", "data"]
