"""WSJ data preparation on a small corpus in the real LDC layout."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile
from ldc_fixtures import make_wsj_corpus

from espnet_mixrep.core.datadir import read_kaldi_map, validate_data_dir
from espnet_mixrep.core.sphere import read_sphere
from espnet_mixrep.recipes.wsj import WsjCorpusError, prepare_wsj


@pytest.fixture(scope="module")
def wsj(tmp_path_factory):
    return make_wsj_corpus(tmp_path_factory.mktemp("ldc"))


def test_prepare_wsj_sets(wsj, tmp_path):
    counts = prepare_wsj(wsj.wsj0, wsj.wsj1, tmp_path / "data")
    assert counts == {"train_si284": 12, "train_si84": 6, "test_dev93": 3, "test_eval92": 3}
    for name, expected in wsj.expected.items():
        d = tmp_path / "data" / name
        validate_data_dir(d)
        assert read_kaldi_map(d / "text") == expected
        utt2spk = read_kaldi_map(d / "utt2spk")
        assert all(spk == utt[:3] for utt, spk in utt2spk.items())
    spk = set(read_kaldi_map(tmp_path / "data" / "train_si284" / "spk2utt"))
    assert spk == {"01a", "01b", "46a", "46b"}  # speaker 401 dropped, as in every WSJ recipe
    texts = read_kaldi_map(tmp_path / "data" / "train_si284" / "text")
    # hand-checked samples: [loud_breath] -> <NOISE>, [phone_ring/] dropped, <and> -> AND
    assert texts["01ac0201"] == "ZERO <NOISE>"
    assert texts["01ac0203"] == "TWO THREE FOUR"
    assert texts["01bc0201"] == "THREE AND"
    assert (tmp_path / "data" / "nlsyms.txt").read_text() == "<NOISE>\n"
    lm = (tmp_path / "data" / "local" / "other_text" / "text").read_text().splitlines()
    assert lm[0] == f"wsj1_lng_0000001 {wsj.lm_lines[0]}" and len(lm) == len(wsj.lm_lines)
    assert all("<" not in line for line in lm)


def test_wav_scp_command_gives_the_audio(wsj, tmp_path):
    prepare_wsj(wsj.wsj0, wsj.wsj1, tmp_path / "data", lm_text=False)
    entry = read_kaldi_map(tmp_path / "data" / "test_eval92" / "wav.scp")["440c0201"]
    if entry.endswith("|"):
        wav = subprocess.run(entry[:-1], shell=True, capture_output=True, check=True).stdout
        audio, rate = soundfile.read(io.BytesIO(wav), dtype="int16")
    else:  # uncompressed mono SPHERE without sph2pipe: the path itself, read by libsndfile
        audio, rate = soundfile.read(entry, dtype="int16")
    source = next(wsj.wsj0.rglob("440c0201.wv1"))
    expected, _ = read_sphere(source, channel=1)
    assert rate == 16000 and np.array_equal(audio, expected)


def test_partial_corpus_one_error_nothing_written(wsj, tmp_path):
    broken = tmp_path / "ldc"
    shutil.copytree(wsj.wsj0, broken / "wsj0")
    shutil.copytree(wsj.wsj1, broken / "wsj1")
    (broken / "wsj0" / "11-1.1" / "wsj0" / "si_tr_s" / "01a" / "01ac0202.wv1").unlink()
    (broken / "wsj1" / "13-34.1" / "wsj1" / "doc" / "indices" / "h1_p0.ndx").unlink()
    dot = next((broken / "wsj1").rglob("46b*00.dot"))
    dot.unlink()
    shutil.rmtree(broken / "wsj1" / "13-32.1" / "wsj1" / "doc" / "lng_modl" / "lm_train" / "np_data" / "88")
    with pytest.raises(WsjCorpusError) as err:
        prepare_wsj(broken / "wsj0", broken / "wsj1", tmp_path / "data")
    message = str(err.value)
    assert "nothing was written" in message
    assert "01ac0202.wv1" in message
    assert "h1_p0.ndx" in message
    assert "46bc0201 (no 46bc0200.dot file)" in message
    assert "np_data/88" in message
    assert not (tmp_path / "data").exists()


def test_missing_corpus_directories(tmp_path):
    with pytest.raises(WsjCorpusError) as err:
        prepare_wsj(tmp_path / "nope0", None, tmp_path / "data")
    assert "WSJ0 directory not found" in str(err.value) and "WSJ1 directory not found" in str(err.value)
    assert not (tmp_path / "data").exists()


def test_undecodable_audio_is_reported_with_every_file(wsj, tmp_path):
    broken = tmp_path / "ldc"
    shutil.copytree(wsj.wsj0, broken / "wsj0")
    speaker = broken / "wsj0" / "11-14.1" / "wsj0" / "si_et_20" / "440"
    truncated = speaker / "440c0201.wv1"
    header = truncated.read_bytes()[:1024].replace(b"sample_coding -s3 pcm", b"sample_coding -s26 pcm,embedded-shorten-v2.00")
    truncated.write_bytes(header[:1024] + b"ajkg\x02")
    fake = speaker / "440c0202.wv1"
    header = fake.read_bytes()[:1024].replace(b"sample_coding -s3 pcm", b"sample_coding -s26 pcm,embedded-shorten-v2.00")
    fake.write_bytes(header[:1024] + b"\0" * 64)
    with pytest.raises(WsjCorpusError) as err:
        prepare_wsj(broken / "wsj0", wsj.wsj1, tmp_path / "data")
    message = str(err.value)
    assert f"{truncated}: shorten stream ends inside its header at byte 1029 of the file" in message
    assert f"{fake}: says pcm,embedded-shorten-v2.00 but holds no shorten stream" in message
    assert not (tmp_path / "data").exists()


def test_shorten_wv1_decoded_without_sph2pipe(wsj, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))  # no sph2pipe
    prepare_wsj(wsj.wsj0, wsj.wsj1, tmp_path / "data", lm_text=False)
    entry = read_kaldi_map(tmp_path / "data" / "test_dev93" / "wav.scp")["4k0c0201"]
    assert entry.endswith("|") and "sph2wav" in entry  # shorten: through our decoder
    wav = subprocess.run(entry[:-1], shell=True, capture_output=True, check=True).stdout
    audio, rate = soundfile.read(io.BytesIO(wav), dtype="int16")
    source = next(wsj.wsj1.rglob("4k0c0201.wv1"))
    assert b"embedded-shorten" in source.read_bytes()[:1024]
    expected, _ = read_sphere(source, channel=1)
    assert rate == 16000 and len(audio) > 1000 and np.array_equal(audio, expected)
