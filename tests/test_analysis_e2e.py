"""The layer analysis on real ESPnet model objects and real FSDD audio.

Models are built by ESPnet's own ASRTask from a config (random weights, as
after initialisation; a stock Conformer and the MixRep Conformer) and saved as
config.yaml + .pth, so loading goes through the same path as a trained
checkpoint. Skips without FSDD.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import json
import logging
import os
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import torch
import yaml

from espnet_mixrep.analysis.extract import AudioSource, ModelSpecError, build_extractor, extract_unit_representations
from espnet_mixrep.analysis.labels import LabelSet, Unit
from espnet_mixrep.recipes.fsdd_probe import prepare_fsdd_probe
from espnet_mixrep.bin import layer_analysis

pytestmark = pytest.mark.e2e

TOKENS = ["<blank>", "<unk>"] + [chr(c) for c in range(ord("A"), ord("Z") + 1)] + ["<sos/eos>"]
NUM_BLOCKS = 2


def _save_asr_model(out: Path, encoder: str, model: str, stats_file: str = "") -> Dict[str, Path]:
    from espnet_mixrep.registration import register_all

    register_all()
    from espnet2.tasks.asr import ASRTask

    conf = [
        "output_size=32", "attention_heads=2", "linear_units=64", f"num_blocks={NUM_BLOCKS}",
        "input_layer=conv2d", "macaron_style=true", "pos_enc_layer_type=rel_pos",
        "selfattention_layer_type=rel_selfattn", "use_cnn_module=true", "cnn_module_kernel=7",
    ]
    argv = ["--token_list", "unused", "--encoder", encoder, "--model", model, "--decoder", "transformer"]
    argv += [item for c in conf for item in ("--encoder_conf", c)]
    argv += ["--decoder_conf", "num_blocks=1", "--decoder_conf", "linear_units=64", "--decoder_conf", "attention_heads=2"]
    argv += ["--frontend_conf", "fs=8k", "--frontend_conf", "n_mels=40", "--frontend_conf", "hop_length=80"]
    argv += ["--frontend_conf", "n_fft=256"]
    argv += ["--normalize", "global_mvn", "--normalize_conf", f"stats_file={stats_file}"] if stats_file else ["--normalize", "utterance_mvn"]
    args = ASRTask.get_parser().parse_args(argv)
    args.token_list = TOKENS
    torch.manual_seed(0)
    asr_model = ASRTask.build_model(args)  # run from the "recipe" directory, where stats_file resolves
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "config.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(vars(args), f)
    torch.save(asr_model.state_dict(), out / "model.pth")
    return {"config": out / "config.yaml", "model_file": out / "model.pth"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, fsdd_dir: Path) -> Dict[str, object]:
    root = tmp_path_factory.mktemp("layer_analysis")
    probe = root / "probe"
    # Recordings 0-3 of every digit and speaker: 160 single-digit utterances.
    prepare_fsdd_probe(fsdd_dir, probe, indices=range(4))
    # The MixRep model sits in a recipe-like tree whose config names its global
    # MVN stats relative to the recipe directory, as ESPnet's asr.sh writes it.
    recipe = root / "recipe"
    (recipe / "exp" / "asr_stats").mkdir(parents=True)
    np.savez(recipe / "exp" / "asr_stats" / "feats_stats.npz", count=np.array(100.0),
             sum=np.full(40, 5.0), sum_square=np.full(40, 50.0))
    with working_directory(recipe):
        mixrep = _save_asr_model(recipe / "exp" / "asr_mixrep", "mixrep_conformer", "mixrep", "exp/asr_stats/feats_stats.npz")
    return {"root": root, "probe": probe, "baseline": _save_asr_model(root / "baseline", "conformer", "espnet"), "mixrep": mixrep}


@contextlib.contextmanager
def working_directory(path: Path):
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _spec(name: str, files: Dict[str, Path]) -> str:
    return f"name={name},config={files['config']},model_file={files['model_file']}"


def test_hooks_capture_every_block_of_the_encoder(workspace) -> None:
    extractor = build_extractor(_spec("baseline", workspace["baseline"]))
    assert [layer.name for layer in extractor.layers] == ["embed", "block1", "block2"]
    assert extractor.sample_rate == 8000
    audio = AudioSource(workspace["probe"])
    waveform = audio.load(audio.utt_ids[0], 8000)
    layers = extractor(waveform)
    assert len(layers) == NUM_BLOCKS + 1
    assert len({layer.shape for layer in layers}) == 1  # same frames and width through the Conformer
    # The last hooked block, after the encoder's final LayerNorm, is what encode() returns.
    model = extractor.model
    with torch.inference_mode():
        encoded, _ = model.encode(torch.from_numpy(waveform)[None], torch.tensor([len(waveform)]))
        last = model.encoder.after_norm(torch.from_numpy(layers[-1]))
    torch.testing.assert_close(last, encoded[0], rtol=1e-5, atol=1e-5)
    # Layer 0 is the conv2d-subsampled embedding: about 40 ms per frame at hop 80 / 8 kHz.
    assert abs(len(waveform) / 8000 / len(layers[0]) - 0.04) < 0.01


def test_relative_stats_path_resolves_from_the_recipe_directory(workspace) -> None:
    extractor = build_extractor(_spec("mixrep", workspace["mixrep"]))
    assert type(extractor.model.encoder).__name__ == "MixRepConformerEncoder"
    stats_file = Path(extractor.model.normalize.stats_file)
    assert stats_file.is_absolute() and stats_file == workspace["root"] / "recipe" / "exp" / "asr_stats" / "feats_stats.npz"


def test_analysis_of_two_models_writes_table_and_plot(workspace) -> None:
    probe, out = workspace["probe"], workspace["root"] / "out"
    # Segment-level units too: the first and second half of each recording.
    halves = workspace["root"] / "halves.ctm"
    with open(halves, "w", encoding="utf-8") as f:
        for utt_id, duration in AudioSource(probe).durations().items():
            f.write(f"{utt_id} 1 0.000 {duration / 2:.3f} first\n{utt_id} 1 {duration / 2:.3f} {duration / 2:.3f} second\n")
    layer_analysis.main(
        [
            "--data_dir", str(probe),
            "--model", _spec("baseline", workspace["baseline"]),
            "--model", _spec("mixrep", workspace["mixrep"]),
            "--labels", f"name=word,utt={probe / 'text'}",
            "--labels", f"name=speaker,utt={probe / 'utt2spk'}",
            "--labels", f"name=half,ctm={halves},pool=middle_third",
            "--output_dir", str(out),
            "--n_seeds", "2",
        ]
    )
    with open(out / "layer_analysis.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 3 * (NUM_BLOCKS + 1) * 3  # models x label sets x layers x (pwcca, nmi, nmi_chance)
    assert {row["model"] for row in rows} == {"baseline", "mixrep"}
    assert {(row["labels"], row["n_classes"], row["n_units"]) for row in rows} == {
        ("word", "10", "160"),
        ("speaker", "4", "160"),
        ("half", "2", "320"),
    }
    for row in rows:
        assert -1.0 <= float(row["mean"]) <= 1.0 and float(row["spread"]) >= 0.0
        assert row["n"] == ("3" if row["metric"] == "pwcca" else "2")
    full = json.loads((out / "layer_analysis.json").read_text())
    pwcca = [row for row in full if row["metric"] == "pwcca"]
    assert all(len(row["scores"]) == 3 and len(row["epsilons"]) == 3 for row in pwcca)
    assert (out / "layer_analysis.png").stat().st_size > 10000
    assert not list(out.glob(".*"))  # no temporary files left behind


def test_audio_source_reads_pipes_and_segments(workspace, tmp_path: Path) -> None:
    probe = AudioSource(workspace["probe"])
    utt_id = probe.utt_ids[0]
    path = probe.wav_scp[utt_id]
    whole = probe.load(utt_id, 8000)
    data = tmp_path / "data"
    data.mkdir()
    (data / "wav.scp").write_text(f"rec1 cat {path} |\n")
    (data / "segments").write_text("seg1 rec1 0.10 0.20\n")
    segmented = AudioSource(data)
    assert segmented.utt_ids == ["seg1"] and segmented.durations() == {"seg1": pytest.approx(0.1)}
    np.testing.assert_array_equal(segmented.load("seg1", 8000), whole[800:1600])
    assert len(segmented.load("seg1", 16000)) == 1600  # resampled to the model's rate


def _run_expecting_error(argv, caplog) -> str:
    caplog.clear()
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as exit_info:
        layer_analysis.main(argv)
    assert exit_info.value.code == 1
    return caplog.text


def test_bad_inputs_get_clear_errors_before_any_output(workspace, caplog) -> None:
    probe, root = workspace["probe"], workspace["root"]
    out = root / "bad_out"
    base = ["--data_dir", str(probe), "--model", _spec("baseline", workspace["baseline"]), "--output_dir", str(out)]

    stranger_labels = root / "utt2word"
    stranger_labels.write_text("george-0-00 ZERO\nsomeone-1-01 ONE\n")
    message = _run_expecting_error(base + ["--labels", f"name=word,utt={stranger_labels}"], caplog)
    assert f"{stranger_labels}: 1 utterance ids of label set 'word' are not in the data directory" in message
    assert "someone-1-01" in message

    duration = AudioSource(probe).durations()["george-0-00"]
    ctm = root / "late.ctm"
    ctm.write_text(f"george-0-00 1 0.05 0.2 Z\ngeorge-0-00 1 0.3 {duration:.3f} IY\n")
    message = _run_expecting_error(base + ["--labels", f"name=phone,ctm={ctm}"], caplog)
    assert f"{ctm}:2: unit 'IY' of 'george-0-00' ends at" in message and "past the audio's end" in message

    message = _run_expecting_error(base + ["--labels", f"name=word,utt={probe / 'text'},k=500"], caplog)
    assert "label set 'word': k=500 clusters, but k-means needs between 2 and the 128 training units" in message

    message = _run_expecting_error(base + ["--labels", f"name=word,utt={probe / 'text'}", "--layers", "0,7"], caplog)
    assert "model 'baseline' has no layer [7]: it has 3 layers (0=embed, 1=block1, 2=block2)" in message

    message = _run_expecting_error(
        base[:2] + ["--model", "name=x,config=missing.yaml,model_file=missing.pth", "--output_dir", str(out),
                    "--labels", f"name=word,utt={probe / 'text'}"],
        caplog,
    )
    assert "config not found: missing.yaml" in message
    assert not out.exists()


@pytest.mark.skipif(importlib.util.find_spec("s3prl") is not None, reason="s3prl is installed here")
def test_s3prl_without_the_package_is_a_clear_error() -> None:
    with pytest.raises(ModelSpecError, match="needs the s3prl package"):
        build_extractor("name=hubert,kind=s3prl,upstream=hubert_base")


def test_learn2diss_checkpoint_layers(workspace, caplog) -> None:
    from espnet_mixrep.learn2diss.task import Learn2DissTask

    argv = ["--extractor", "logmel", "--model", "learn2diss"]
    for conf in ("fs=8000", "n_fft=256", "win_length=200", "hop_length=80", "n_mels=40"):
        argv += ["--extractor_conf", conf]
    args = Learn2DissTask.get_parser().parse_args(argv)
    args.model_conf = {
        "frame_encoder_conf": {"output_size": 32, "linear_units": 64, "num_blocks": 2},
        "utterance_encoder_conf": {"channels": 32, "ecapa_output_size": 32, "embedding_size": 16},
        "club_hidden_size": 16,
    }
    torch.manual_seed(0)
    model = Learn2DissTask.build_model(args)
    out = workspace["root"] / "l2d"
    out.mkdir()
    with open(out / "config.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(vars(args), f)
    torch.save(model.state_dict(), out / "model.pth")
    extractor = build_extractor(f"name=l2d,kind=learn2diss,config={out / 'config.yaml'},model_file={out / 'model.pth'}")
    assert [layer.name for layer in extractor.layers] == ["extractor0", "frame1", "frame2", "utterance"]
    assert extractor.sample_rate == 8000
    audio = AudioSource(workspace["probe"])
    layers = extractor(audio.load(audio.utt_ids[0], 8000))
    assert [layer.shape[1] for layer in layers] == [40, 32, 32, 16]
    assert layers[-1].shape[0] == 1 and layers[0].shape[0] == layers[1].shape[0] > 1
    assert np.all(np.isfinite(layers[-1]))
    # Its log-mel layer is normalised per utterance, so its utterance mean is ~0
    # everywhere: the analysis says so instead of silently scoring noise.
    speakers = LabelSet("speaker", [Unit(u, u.split("-")[0], None, None, "") for u in audio.utt_ids[::8]])
    with caplog.at_level(logging.WARNING):
        (pooled,) = extract_unit_representations(extractor, audio, [speakers], [0, 1, 3])
    assert sorted(pooled.layers) == [0, 1, 3] and pooled.layers[3].shape == (20, 16)
    warned = [r.getMessage() for r in caplog.records if "nearly constant" in r.getMessage()]
    assert len(warned) == 1 and "layer 0 (extractor0)" in warned[0]
    # The utterance embedding is not offered to units inside utterances.
    onsets = LabelSet("onset", [Unit(u, u.split("-")[1], 0.0, 0.2, "") for u in audio.utt_ids[::8]])
    (pooled,) = extract_unit_representations(extractor, audio, [onsets], [0, 1, 3])
    assert sorted(pooled.layers) == [0, 1]
