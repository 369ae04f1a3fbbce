"""FSDD connected-digit data preparation: the split rule, determinism, nested sizes, errors."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import tarfile
from pathlib import Path
from typing import Dict, Sequence, Tuple

import numpy as np
import pytest
import soundfile

from espnet_mixrep.core.audio import remove_dc_offset
from espnet_mixrep.core.datadir import DataDirError, read_kaldi_map, validate_data_dir
from espnet_mixrep.recipes.fsdd import (
    DEFAULT_SETS,
    DIGIT_WORDS,
    DigitSet,
    check_sets_disjoint,
    download_fsdd,
    find_or_download_fsdd,
    parse_index_range,
    prepare_fsdd,
    resolve_fsdd_dir,
)
from espnet_mixrep.bin.prepare_fsdd_isolated import main as prepare_isolated_main

SEEN = ("george", "jackson", "lucas")
SMALL_SETS = {
    "train": DigitSet(SEEN, 6, range(10, 50)),
    "valid": DigitSet(SEEN, 3, range(5, 10)),
    "test_seen": DigitSet(SEEN, 3, range(0, 5)),
    "test": DigitSet(("nicolas",), 3),
}
_TAKE = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _source_takes(data_dir: Path, fsdd_dir: Path) -> Dict[str, set]:
    """Which FSDD recordings (speaker, take index, digit) each set's audio is made of.

    Read back from the audio itself: each utterance is matched against the
    recordings of its speaker, so the test checks what was written, not the plan.
    """
    recordings: Dict[str, Dict[bytes, Tuple[str, int, int]]] = {}
    for path in (fsdd_dir / "recordings").iterdir():
        match = _TAKE.match(path.name)
        if match:
            digit, speaker, take = match.groups()
            audio, _ = soundfile.read(str(path), dtype="int16")
            recordings.setdefault(speaker, {})[audio.tobytes()] = (speaker, int(take), int(digit))
    used: Dict[str, set] = {}
    for set_dir in sorted(p for p in data_dir.iterdir() if (p / "wav.scp").exists()):
        wavs = read_kaldi_map(set_dir / "wav.scp")
        utt2spk = read_kaldi_map(set_dir / "utt2spk")
        found = set()
        for utt_id, wav in wavs.items():
            audio, _ = soundfile.read(wav, dtype="int16")
            data = audio.tobytes()
            for key, rec in recordings[utt2spk[utt_id]].items():
                if key in data:
                    found.add(rec)
        used[set_dir.name] = found
    return used


def test_split_rule_is_disjoint_by_take_and_by_test_speaker(fsdd_dir: Path, tmp_path: Path) -> None:
    sets = {name: DigitSet(spec.speakers, 12 if name == "train" else 6, spec.indices) for name, spec in DEFAULT_SETS.items()}
    prepare_fsdd(fsdd_dir, tmp_path, sets, seed=1)
    used = _source_takes(tmp_path, fsdd_dir)
    assert set(used) == {"train", "valid", "test_seen", "test"}
    takes = {name: {(spk, take) for spk, take, _ in recs} for name, recs in used.items()}
    # Training and validation (and the seen-speaker test) share speakers but no recording.
    assert not takes["train"] & takes["valid"] and not takes["train"] & takes["test_seen"]
    assert not takes["valid"] & takes["test_seen"]
    assert {take for _, take in takes["train"]} <= set(range(10, 50))
    assert {take for _, take in takes["valid"]} <= set(range(5, 10))
    assert {take for _, take in takes["test_seen"]} <= set(range(0, 5))
    # Training and test speakers are disjoint; the seen sets cover all three seen speakers.
    speakers = {name: {spk for spk, _ in t} for name, t in takes.items()}
    assert speakers["train"] == speakers["valid"] == speakers["test_seen"] == set(SEEN)
    assert speakers["test"] == {"nicolas"} and not speakers["train"] & speakers["test"]
    # Transcripts agree with the recordings the audio is made of.
    for name in used:
        texts = read_kaldi_map(tmp_path / name / "text")
        assert all(2 <= len(t.split()) <= 5 and set(t.split()) <= set(DIGIT_WORDS) for t in texts.values())


def test_remove_dc_offset_subtracts_the_rounded_mean_within_int16() -> None:
    out = remove_dc_offset(np.array([100, 102, 105], dtype=np.int16))
    assert out.dtype == np.int16 and out.tolist() == [-2, 0, 3]  # mean 102.33 -> 102
    clipped = remove_dc_offset(np.array([30000, 30000, -30000], dtype=np.int16))
    assert clipped.tolist() == [20000, 20000, -32768]  # mean 10000: -40000 clips, no wrap-around
    centred = np.array([-3, 3], dtype=np.int16)
    assert remove_dc_offset(centred) is centred


def test_recordings_are_joined_without_their_dc_offset(fsdd_dir: Path, tmp_path: Path) -> None:
    """nicolas records at about -238: joined raw to zero gaps, each digit would start and end with a step."""
    raw = soundfile.read(str(fsdd_dir / "recordings" / "0_nicolas_0.wav"), dtype="int16")[0]
    assert raw.mean() < -200
    prepare_fsdd(fsdd_dir, tmp_path, SMALL_SETS, seed=3, remove_dc=True)
    for wav in read_kaldi_map(tmp_path / "test" / "wav.scp").values():
        audio = soundfile.read(wav, dtype="int16")[0].astype(np.float64)
        assert abs(audio.mean()) < 1.0 and audio[0] == 0 and audio[-1] == 0


def test_prepare_is_deterministic(fsdd_dir: Path, tmp_path: Path) -> None:
    counts = prepare_fsdd(fsdd_dir, tmp_path / "a", SMALL_SETS, seed=3)
    prepare_fsdd(fsdd_dir, tmp_path / "b", SMALL_SETS, seed=3)
    assert counts == {"train": 6, "valid": 3, "test_seen": 3, "test": 3}
    # Same options -> byte-identical data dirs and audio (paths differ only by a/b root).
    for set_name in SMALL_SETS:
        for name in ("text", "utt2spk", "spk2utt"):
            assert (tmp_path / "a" / set_name / name).read_bytes() == (tmp_path / "b" / set_name / name).read_bytes()
        validate_data_dir(tmp_path / "a" / set_name)
    assert _tree_digest(tmp_path / "a" / "local") == _tree_digest(tmp_path / "b" / "local")
    for utt_id, text in read_kaldi_map(tmp_path / "a" / "train" / "text").items():
        words = text.split()
        audio, rate = soundfile.read(read_kaldi_map(tmp_path / "a" / "train" / "wav.scp")[utt_id])
        # Each digit recording is 0.14-2.3 s; gaps are 20-200 ms.
        assert rate == 8000 and 0.14 * len(words) < len(audio) / rate < 2.5 * len(words) + 0.2 * (len(words) + 1)

    other_seed = prepare_fsdd(fsdd_dir, tmp_path / "c", SMALL_SETS, seed=4)
    assert other_seed == counts
    assert (tmp_path / "c" / "train" / "text").read_bytes() != (tmp_path / "a" / "train" / "text").read_bytes()


def test_training_sizes_are_nested_and_other_sets_do_not_move(fsdd_dir: Path, tmp_path: Path) -> None:
    small = dict(SMALL_SETS, train=DigitSet(SEEN, 5, range(10, 50)))
    large = dict(SMALL_SETS, train=DigitSet(SEEN, 11, range(10, 50)))
    prepare_fsdd(fsdd_dir, tmp_path / "small", small, seed=0)
    prepare_fsdd(fsdd_dir, tmp_path / "large", large, seed=0)
    small_text = read_kaldi_map(tmp_path / "small" / "train" / "text")
    large_text = read_kaldi_map(tmp_path / "large" / "train" / "text")
    assert len(small_text) == 5 and len(large_text) == 11
    assert all(large_text[utt] == text for utt, text in small_text.items())
    for utt in small_text:
        small_wav = read_kaldi_map(tmp_path / "small" / "train" / "wav.scp")[utt]
        large_wav = read_kaldi_map(tmp_path / "large" / "train" / "wav.scp")[utt]
        assert Path(small_wav).read_bytes() == Path(large_wav).read_bytes()
    for name in ("valid", "test_seen", "test"):
        assert (tmp_path / "small" / name / "text").read_bytes() == (tmp_path / "large" / name / "text").read_bytes()


def test_overlapping_takes_of_a_shared_speaker_are_refused() -> None:
    check_sets_disjoint({"a": DigitSet(("george",), 2, range(0, 10)), "b": DigitSet(("jackson",), 2, range(0, 10))})
    with pytest.raises(ValueError, match="'train' and 'valid' share speaker.*takes 8-9"):
        check_sets_disjoint({"train": DigitSet(SEEN, 2, range(8, 50)), "valid": DigitSet(("lucas",), 2, range(5, 10))})
    assert parse_index_range("10-49") == range(10, 50) and parse_index_range("7") == range(7, 8)
    for bad in ("10-", "a-b", "9-3", ""):
        with pytest.raises(ValueError, match="take range"):
            parse_index_range(bad)


def test_shared_recordings_are_refused_before_anything_is_written(fsdd_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="disjoint by speaker or by take"):
        prepare_fsdd(fsdd_dir, tmp_path, {"train": DigitSet(("george",), 2), "test": DigitSet(("george",), 2)})
    assert not list(tmp_path.iterdir())


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
        prepare_fsdd(tmp_path / "fsdd", out, {"train": DigitSet(("george",), 2), "test": DigitSet(("nicolas",), 2)})
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
