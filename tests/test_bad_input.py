"""Bad input stops early with one clear error naming the file: a non-UTF-8 transcript,
a truncated wav, an FSDD download without a network."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from espnet_mixrep.core.datadir import DataDirError, Utterance, read_kaldi_map, validate_data_dir, write_data_dir
from espnet_mixrep.recipes.fsdd import download_fsdd


def _data_dir(tmp_path: Path) -> Path:
    utts = []
    for i in range(3):
        wav = tmp_path / f"u{i}.wav"
        soundfile.write(wav, np.zeros(4000, dtype=np.int16), 8000, subtype="PCM_16")
        utts.append(Utterance(f"spk-u{i}", "spk", "ONE TWO", str(wav)))
    write_data_dir(tmp_path / "data", utts)
    return tmp_path / "data"


def _stage_1_check(data: Path) -> subprocess.CompletedProcess:
    """What asr.sh stage 1 runs on each data dir after local/data.sh."""
    return subprocess.run([sys.executable, "-m", "espnet_mixrep.bin.recipe", "validate_data_dir", str(data)],
                          capture_output=True, text=True)  # fmt: skip


def test_non_utf8_text_names_file_and_line(tmp_path: Path) -> None:
    data = _data_dir(tmp_path)
    (data / "text").write_bytes(b"spk-u0 ONE TWO\nspk-u1 CAF\xe9 TWO\nspk-u2 ONE\n")  # latin-1 e-acute
    with pytest.raises(DataDirError, match=r"text:2: not UTF-8 \(byte 0xe9 at column 11\)"):
        read_kaldi_map(data / "text")
    proc = _stage_1_check(data)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"ERROR: {data / 'text'}:2: not UTF-8")


def test_truncated_wav_is_caught_at_the_corpus_check(tmp_path: Path) -> None:
    data = _data_dir(tmp_path)
    validate_data_dir(data)
    wav = tmp_path / "u1.wav"
    full = wav.read_bytes()
    wav.write_bytes(full[: 44 + 3000])  # cut inside the audio: 3000 of its 8000 data bytes remain
    assert soundfile.info(str(wav)).frames == 1500  # libsndfile alone would accept it, shorter
    proc = _stage_1_check(data)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"ERROR: {data / 'wav.scp'}: '{wav}' is truncated: its header announces 8000 bytes of audio, the file holds 3000" in proc.stderr
    wav.write_bytes(full[:30])  # not even the data chunk's header
    with pytest.raises(DataDirError, match="is truncated: no audio"):
        validate_data_dir(data)


def test_fsdd_download_without_network_names_the_url_and_the_way_out(tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    url = "http://127.0.0.1:9/free-spoken-digit-dataset.tar.gz"  # nothing listens on the discard port
    with pytest.raises(DataDirError) as error:
        download_fsdd(downloads, url=url)
    message = str(error.value)
    assert message.startswith(f"{url}: cannot download FSDD (") and "--fsdd_dir" in message and "FSDD_DIR" in message
    assert not downloads.exists()  # no empty downloads/ left for a rerun to trip over
