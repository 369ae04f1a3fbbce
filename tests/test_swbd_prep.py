"""Switchboard + eval2000 data preparation and Hub5 scoring on a small corpus
in the real LDC layouts (two-channel u-law SPHERE, ms98 transcripts, pem, stm, glm)."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess

import numpy as np
import pytest
import soundfile
from ldc_fixtures import make_swbd_corpus

from espnet_mixrep.core.datadir import read_kaldi_map, validate_data_dir
from espnet_mixrep.recipes.hub5_scoring import hubscr_available, score_hub5
from espnet_mixrep.core.sphere import read_sphere
from espnet_mixrep.recipes.swbd import SwbdCorpusError, prepare_swbd, segment_centiseconds

SUBSETS = {"train_40h": 0.002, "train_80h": 0.004}  # hours: tiny stand-ins for 40 h / 80 h


@pytest.fixture(scope="module")
def swbd(tmp_path_factory):
    return make_swbd_corpus(tmp_path_factory.mktemp("ldc"))


@pytest.fixture(scope="module")
def prepared(swbd, tmp_path_factory):
    data = tmp_path_factory.mktemp("prep") / "data"
    counts = prepare_swbd(swbd.swbd, swbd.eval2000_speech, swbd.eval2000_text, data, dev_utts=4, subsets=SUBSETS)
    return data, counts


def test_training_sets(swbd, prepared):
    data, counts = prepared
    assert {k: counts[k] for k in ("train_dev", "train_nodup", "eval2000")} == {"train_dev": 4, "train_nodup": 32, "eval2000": 12}
    assert 0 < counts["train_40h"] < counts["train_80h"] < counts["train_nodup"]
    for name in ("train_dev", "train_nodup", "train_40h", "train_80h", "eval2000"):
        validate_data_dir(data / name)
    dev = read_kaldi_map(data / "train_dev" / "text")
    nodup = read_kaldi_map(data / "train_nodup" / "text")
    ids = sorted(swbd.train_texts)
    assert sorted(dev) == ids[:4] and sorted(nodup) == ids[4:]  # first 4 utterances by id
    assert {**dev, **nodup} == swbd.train_texts  # every normalised text as written by hand in the fixture
    # hand-checked samples: [silence] / asides dropped, acronym spelled out, partial words, laughter-word
    texts = set(nodup.values())
    assert {"one i b m two", "seven -y eight", "five ab- six", "zero yes one", "two them three"} <= texts
    assert dev[ids[0]] == "uh-huh"
    assert not any("silence" in t or "aside" in t or "[" in t.replace("[noise]", "").replace("[vocalized-noise]", "") for t in texts)
    utt2spk = read_kaldi_map(data / "train_nodup" / "utt2spk")
    assert set(utt2spk.values()) == {f"sw0{2001 + c}-{s}" for c in range(6) for s in "AB"} - {"sw02001-A"}
    assert all(spk == utt[:9] for utt, spk in utt2spk.items())
    segments = read_kaldi_map(data / "train_nodup" / "segments")
    for utt, value in segments.items():
        start, end = utt.rsplit("_", 1)[1].split("-")
        assert value == f"{utt[:9]} {int(start) / 100:.2f} {int(end) / 100:.2f}"


def test_subsets_are_whole_conversations_and_nested(prepared):
    data, _ = prepared
    nodup = read_kaldi_map(data / "train_nodup" / "text")
    small = set(read_kaldi_map(data / "train_40h" / "text"))
    large = set(read_kaldi_map(data / "train_80h" / "text"))
    assert small < large <= set(nodup)
    for subset, hours in ((small, SUBSETS["train_40h"]), (large, SUBSETS["train_80h"])):
        convs = {u[:7] for u in subset}
        assert subset == {u for u in nodup if u[:7] in convs}
        # the target is reached, and was not reached before the last conversation was added
        assert sum(segment_centiseconds(u) for u in subset) >= round(hours * 360000)
        last = max(convs, key=lambda c: hashlib.sha1(c.encode()).hexdigest())
        assert sum(segment_centiseconds(u) for u in subset if u[:7] != last) < round(hours * 360000)


def test_duplicates_capped(swbd, tmp_path):
    counts = prepare_swbd(
        swbd.swbd, swbd.eval2000_speech, swbd.eval2000_text, tmp_path / "data", dev_utts=1, max_dup=1, subsets={}
    )
    nodup = read_kaldi_map(tmp_path / "data" / "train_nodup" / "text")
    assert list(nodup.values()).count("uh-huh") == 1  # 3 copies after the dev utterance, 1 kept
    rest = [swbd.train_texts[u] for u in sorted(swbd.train_texts)[1:]]
    assert counts["train_nodup"] == len(set(rest)) < len(rest)
    # the copy kept is the first by utterance id
    first = {}
    for u in sorted(swbd.train_texts)[1:]:
        first.setdefault(swbd.train_texts[u], u)
    assert sorted(nodup) == sorted(first.values())


def test_channels(swbd, prepared):
    data, _ = prepared
    wav_scp = read_kaldi_map(data / "train_nodup" / "wav.scp")
    sph = next(swbd.swbd.rglob("sw02002.sph"))
    sides = {}
    for side, channel in (("A", 1), ("B", 2)):
        wav = subprocess.run(wav_scp[f"sw02002-{side}"][:-1], shell=True, capture_output=True, check=True).stdout
        sides[side], rate = soundfile.read(io.BytesIO(wav), dtype="int16")
        source, _ = read_sphere(sph, channel=channel)
        assert rate == 8000 and np.array_equal(sides[side], source)
    assert not np.array_equal(sides["A"], sides["B"])


def test_eval2000(swbd, prepared):
    data, _ = prepared
    d = data / "eval2000"
    text = read_kaldi_map(d / "text")
    assert set(text) == set(swbd.eval_utts)
    by_ref = {swbd.eval_utts[u]: text[u] for u in text if u.startswith("sw_")}
    assert by_ref["(%HESITATION) ONE TWO"] == "one two"  # (%...) tags dropped
    assert by_ref["THREE (UH) FOUR"] == "three uh four"  # parentheses dropped
    assert by_ref["FIVE <B_ASIDE> SIX"] == "five six"
    assert by_ref["SEVEN (EIGHT-)"] == "seven eight-"
    assert set(read_kaldi_map(d / "utt2spk").values()) == {"sw_4390-A", "sw_4390-B", "en_4156-A", "en_4156-B"}
    segments = read_kaldi_map(d / "segments")
    first = min(u for u in segments if u.startswith("sw_4390-A"))
    start, end = (int(x) / 100 for x in first.rsplit("_", 1)[1].split("-"))
    assert segments[first] == f"sw_4390-A {start - 0.1:.2f} {end + 0.1:.2f}"  # extended by 0.1 s (gaps are 0.7 s)
    scoring = data / "local" / "eval2000"
    assert "<B_ASIDE>" not in (scoring / "stm").read_text() and (scoring / "glm").is_file()
    assert (scoring / "segments").read_text() == (d / "segments").read_text()


def _handmade_hyps(swbd, data, path):
    hyps = read_kaldi_map(data / "eval2000" / "text")
    utt = {(u[:3], ref): u for u, ref in swbd.eval_utts.items()}
    hyps[utt["sw_", "HE IS A"]] = "he is the"  # 1 substitution in SWBD
    hyps[utt["en_", "I'M FINE"]] = "i am fine uh"  # I AM == I'M by the glm, UH filtered: correct
    hyps[utt["en_", "FIVE <B_ASIDE> SIX"]] = "five"  # 1 deletion in CallHome
    hyps[utt["en_", "SEVEN (EIGHT-)"]] = "seven eight- um"  # partial word and hesitation filtered: correct
    path.write_text("".join(f"{u} {t}\n" for u, t in sorted(hyps.items())))
    return path


def test_hub5_scoring_splits_swbd_and_callhome(swbd, prepared, tmp_path):
    data, _ = prepared
    hyp_file = _handmade_hyps(swbd, data, tmp_path / "text")
    results = score_hub5(hyp_file, data / "local" / "eval2000", tmp_path / "score", use_sclite=False)
    assert (results["swbd"].substitutions, results["swbd"].deletions, results["swbd"].insertions) == (1, 0, 0)
    assert (results["callhm"].substitutions, results["callhm"].deletions, results["callhm"].insertions) == (0, 1, 0)
    assert results["all"].errors == 2
    assert results["all"].words == results["swbd"].words + results["callhm"].words
    # reference words per conversation: 3+3+3 (side A) + 2+2+2 (side B), the 3 optional ones included as sclite counts them
    assert results["swbd"].words == 15 and results["callhm"].words == 15
    assert "|callhm|" in (tmp_path / "score" / "result.txt").read_text()


@pytest.mark.skipif(not hubscr_available(), reason="hubscr.pl / sclite not on PATH (e.g. Debian package sctk)")
def test_hub5_python_scoring_matches_hubscr(swbd, prepared, tmp_path):
    data, _ = prepared
    hyp_file = _handmade_hyps(swbd, data, tmp_path / "text")
    ours = score_hub5(hyp_file, data / "local" / "eval2000", tmp_path / "py", use_sclite=False)
    sclite = score_hub5(hyp_file, data / "local" / "eval2000", tmp_path / "sclite", use_sclite=True)
    for name in ("all", "swbd", "callhm"):
        a, b = ours[name], sclite[name]
        assert (a.substitutions, a.deletions, a.insertions, a.sentences) == (b.substitutions, b.deletions, b.insertions, b.sentences), name
        # sclite counts the glm alternative it aligned ("I AM": 2 words), we count the canonical one ("I'M")
        assert abs(a.words - b.words) <= 1, name


def test_partial_corpus_one_error_nothing_written(swbd, tmp_path):
    root = tmp_path / "ldc"
    shutil.copytree(swbd.swbd, root / "LDC97S62")
    shutil.copytree(swbd.eval2000_speech, root / "hub5e_00")
    shutil.copytree(swbd.eval2000_text, root / "LDC2002T43")
    next((root / "LDC97S62").rglob("sw02003.sph")).unlink()
    (root / "LDC97S62" / "transcriptions" / "swb_ms98_transcriptions" / "sw-ms98-dict.text").unlink()
    (root / "hub5e_00" / "english" / "en_4156.sph").unlink()
    (root / "LDC2002T43" / "2000_hub5_eng_eval_tr" / "reference" / "en20000405_hub5.glm").unlink()
    with pytest.raises(SwbdCorpusError) as err:
        prepare_swbd(root / "LDC97S62", root / "hub5e_00", root / "LDC2002T43", tmp_path / "data")
    message = str(err.value)
    assert "nothing was written" in message
    assert "sw02003.sph (for sw2003A-ms98-a-trans.text)" in message
    assert "sw-ms98-dict.text" in message
    assert "en20000405_hub5.glm" in message
    assert not (tmp_path / "data").exists()
    # with the glm back, the missing CallHome audio is reported
    shutil.copy(swbd.eval2000_text / "2000_hub5_eng_eval_tr" / "reference" / "en20000405_hub5.glm",
                root / "LDC2002T43" / "2000_hub5_eng_eval_tr" / "reference")  # fmt: skip
    with pytest.raises(SwbdCorpusError, match="en_4156.sph"):
        prepare_swbd(root / "LDC97S62", root / "hub5e_00", root / "LDC2002T43", tmp_path / "data")
    assert not (tmp_path / "data").exists()
