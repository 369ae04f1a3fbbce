"""FSDD connected-digit data preparation: determinism, speaker-disjoint sets, errors."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest
import soundfile

from espnet_mixrep.recipes.datadir import DataDirError, read_kaldi_map, validate_data_dir
from espnet_mixrep.recipes.fsdd import DIGIT_WORDS, download_fsdd, find_or_download_fsdd, prepare_fsdd, resolve_fsdd_dir
from espnet_mixrep.recipes.fsdd_isolated import main as prepare_isolated_main

SMALL_SETS = {"train": (["george", "jackson"], 6), "valid": (["lucas"], 2), "test": (["nicolas"], 3)}


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_prepare_is_deterministic_and_speaker_disjoint(fsdd_dir: Path, tmp_path: Path) -> None:
    counts = prepare_fsdd(fsdd_dir, tmp_path / "a", SMALL_SETS, seed=3)
    prepare_fsdd(fsdd_dir, tmp_path / "b", SMALL_SETS, seed=3)
    assert counts == {"train": 6, "valid": 2, "test": 3}
    # Same options -> byte-identical data dirs and audio (paths differ only by a/b root).
    for set_name in SMALL_SETS:
        for name in ("text", "utt2spk", "spk2utt"):
            assert (tmp_path / "a" / set_name / name).read_bytes() == (tmp_path / "b" / set_name / name).read_bytes()
    assert _tree_digest(tmp_path / "a" / "local") == _tree_digest(tmp_path / "b" / "local")

    speakers = {}
    for set_name, (expected_speakers, num) in SMALL_SETS.items():
        data_dir = tmp_path / "a" / set_name
        validate_data_dir(data_dir)
        utt2spk = read_kaldi_map(data_dir / "utt2spk")
        speakers[set_name] = set(utt2spk.values())
        assert speakers[set_name] == set(expected_speakers)
        for utt_id, text in read_kaldi_map(data_dir / "text").items():
            words = text.split()
            assert 2 <= len(words) <= 7 and set(words) <= set(DIGIT_WORDS)
            audio, rate = soundfile.read(read_kaldi_map(data_dir / "wav.scp")[utt_id])
            # Each digit recording is 0.14-2.3 s; gaps are 20-200 ms.
            assert rate == 8000 and 0.14 * len(words) < len(audio) / rate < 2.5 * len(words) + 0.2 * (len(words) + 1)
    assert not (speakers["train"] & speakers["valid"]) and not (speakers["train"] & speakers["test"])

    other_seed = prepare_fsdd(fsdd_dir, tmp_path / "c", SMALL_SETS, seed=4)
    assert other_seed == counts
    assert (tmp_path / "c" / "train" / "text").read_bytes() != (tmp_path / "a" / "train" / "text").read_bytes()


def test_shared_speaker_is_refused(fsdd_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="speaker-disjoint"):
        prepare_fsdd(fsdd_dir, tmp_path, {"train": (["george"], 2), "test": (["george"], 2)})


def test_missing_fsdd_folder_names_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no_fsdd_here"
    with pytest.raises(DataDirError, match=str(missing / "recordings")):
        resolve_fsdd_dir(str(missing))
    monkeypatch.setenv("FSDD_DIR", str(missing))
    with pytest.raises(DataDirError, match="FSDD folder not found"):
        resolve_fsdd_dir(None, repo_root=tmp_path)
    monkeypatch.delenv("FSDD_DIR")
    assert resolve_fsdd_dir(None, repo_root=tmp_path) is None  # -> the recipe downloads


def test_corrupt_wav_is_named_and_nothing_is_written(fsdd_dir: Path, tmp_path: Path) -> None:
    fake = tmp_path / "fsdd" / "recordings"
    fake.mkdir(parents=True)
    for speaker in ("george", "nicolas"):
        for digit in range(3):
            shutil.copy(fsdd_dir / "recordings" / f"{digit}_{speaker}_0.wav", fake)
    (fake / "1_nicolas_0.wav").write_bytes(b"RIFF\x00\x00not really a wav")
    out = tmp_path / "data"
    with pytest.raises(DataDirError, match="1_nicolas_0.wav"):
        prepare_fsdd(tmp_path / "fsdd", out, {"train": (["george"], 2), "test": (["nicolas"], 2)})
    assert not out.exists() or not any(out.rglob("text"))


def _fake_release(path: Path, speakers: int, takes: int, names: Sequence[str] = ()) -> None:
    names = list(names) or [f"spk{chr(97 + s)}" for s in range(speakers)]
    with tarfile.open(path, "w:gz") as tar:
        for s in range(speakers):
            for digit in range(10):
                for take in range(takes):
                    buf = io.BytesIO()
                    soundfile.write(buf, np.zeros(80, dtype=np.int16), 8000, format="WAV", subtype="PCM_16")
                    info = tarfile.TarInfo(f"fsdd-1.0/recordings/{digit}_{names[s]}_{take}.wav")
                    info.size = buf.tell()
                    buf.seek(0)
                    tar.addfile(info, buf)


def test_download_checks_the_release(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar.gz"
    _fake_release(bad, speakers=2, takes=3)
    with pytest.raises(DataDirError, match="unexpected FSDD content"):
        download_fsdd(tmp_path / "dl", url=bad.as_uri())
    assert not (tmp_path / "dl" / "fsdd").exists() and not list((tmp_path / "dl").glob(".fsdd.*"))

    good = tmp_path / "good.tar.gz"
    _fake_release(good, speakers=6, takes=50)
    target = download_fsdd(tmp_path / "dl", url=good.as_uri())
    assert len(list((target / "recordings").glob("*.wav"))) == 3000
    assert len((target / "SHA256_OF_ARCHIVE").read_text().strip()) == 64


def test_learn2diss_stage1_uses_a_finished_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No local FSDD: the isolated-digit prep (Learn2Diss stage 1) takes downloads/fsdd from a previous download."""
    release = tmp_path / "release.tar.gz"
    _fake_release(release, speakers=6, takes=50, names=["george", "jackson", "lucas", "nicolas", "theo", "yweweler"])
    download_fsdd(tmp_path / "downloads", url=release.as_uri())
    monkeypatch.delenv("FSDD_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert find_or_download_fsdd(None, tmp_path / "repo", "downloads") == Path("downloads/fsdd")
    prepare_isolated_main(["--repo_root", str(tmp_path / "repo")])
    counts = {name: len((tmp_path / "data" / name / "wav.scp").read_text().splitlines()) for name in ("train", "valid", "test")}
    assert counts == {"train": 1600, "valid": 200, "test": 200}
    assert str((tmp_path / "downloads" / "fsdd").resolve()) in (tmp_path / "data" / "test" / "wav.scp").read_text()
