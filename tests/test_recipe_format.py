"""Stage 3 (format) on segmented data: each recording is decoded once, segments cut exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from espnet_mixrep.stages.format import format_data_dir, split_jobs
from espnet_mixrep.core.datadir import Utterance, read_kaldi_map, write_data_dir


def test_segments_of_one_recording_are_cut_from_a_single_read(tmp_path: Path):
    rate = 8000
    rng = np.random.default_rng(0)
    counter = tmp_path / "reads.log"
    utts = []
    recordings = {}
    for rec in ("sw0001-A", "sw0001-B"):
        audio = (rng.uniform(-0.5, 0.5, 3 * rate) * 32767).astype(np.int16)
        wav = tmp_path / f"{rec}.wav"
        soundfile.write(str(wav), audio, rate, subtype="PCM_16")
        recordings[rec] = audio
        # a piped entry, as sph2pipe gives, that logs every decode of the recording
        entry = f"sh -c 'echo {rec} >> {counter}; cat {wav}' |"
        for i, (start, end) in enumerate([(0.0, 0.5), (0.75, 1.5), (2.0, 3.0)]):
            utts.append(Utterance(f"{rec}_{i}", rec, f"word {i}", entry, (rec, start, end)))
    write_data_dir(tmp_path / "data", utts)

    n = format_data_dir(tmp_path / "data", tmp_path / "dump", fs=rate, nj=1, speed_factors=[0.9, 1.0])

    assert n == 12
    assert sorted(counter.read_text().split()) == ["sw0001-A", "sw0001-B"]  # one decode per recording
    lengths = read_kaldi_map(tmp_path / "dump/utt2num_samples")
    assert lengths["sw0001-A_1"] == str(int(0.75 * rate))
    cut, _ = soundfile.read(str(tmp_path / "dump/data/sw0001-B_2.wav"), dtype="int16")
    np.testing.assert_array_equal(cut, recordings["sw0001-B"][2 * rate : 3 * rate])
    assert int(lengths["sp0.9-sw0001-B_2"]) == round(rate / 0.9)


def test_split_jobs_keeps_the_sides_of_a_file_together():
    entries = ["a.wav", "x -m espnet_mixrep.bin.sph2wav --channel 1 /c/sw1.sph |",
               "x -m espnet_mixrep.bin.sph2wav --channel 2 /c/sw1.sph |", "b.wav"]  # fmt: skip
    jobs = split_jobs([(entry, []) for entry in entries], 2)
    assert [[entry for entry, _ in job] for job in jobs] == [entries[:3], entries[3:]]
    assert [len(job) for job in split_jobs([(entry, []) for entry in entries], 9)] == [1, 2, 1]
    assert [len(job) for job in split_jobs([(e, []) for e in entries[1:3]], 2)] == [2]
