"""Recipe stages end to end: ESC-50 on a generated miniature, FSDD on a tiny subset, data errors."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np
import pytest
import soundfile
import yaml

from espnet_mixrep.core.datadir import DataDirError
from espnet_mixrep.recipes.esc50 import prepare_esc50
from espnet_mixrep.recipes.fsdd_cls import prepare_fsdd_cls
from espnet_mixrep.stages.cls import check_labels, format_cls_data_dir, make_class_token_list

REPO_ROOT = Path(__file__).resolve().parent.parent

# Narrow EnvNet-v2 at the paper's 44.1 kHz / 66650-sample input (channels[1]
# must stay >= 19 so that the 8x8 convs and the 5x3 pool fit).
TINY_ESC_CONFIG = """
input_size: 1
normalize: null
encoder: envnet_v2
encoder_conf: {sample_rate: 44100, input_length: 66650, channels: [4, 20, 4, 4, 8, 8, 8, 8, 8, 8], fc_units: 16}
decoder: linear
model: speechmix
model_conf: {sample_rate: 44100, n_test_crops: 10, mix_mode: speechmix, mix_layers: [0, 1, 2]}
batch_type: unsorted
batch_size: 8
max_epoch: 1
num_workers: 0
optim: sgd
optim_conf: {lr: 0.01, momentum: 0.9, nesterov: true}
num_att_plot: 0
use_tensorboard: false
"""


def make_esc50_miniature(root: Path, categories: List[str], clip_seconds: float = 1.6,
                         only_in_fold1: Optional[str] = None, short_clip: Optional[str] = None) -> Path:
    """meta/esc50.csv + audio/*.wav in ESC-50's layout: each category once per fold, 44.1 kHz."""
    rng = np.random.default_rng(0)
    (root / "meta").mkdir(parents=True)
    (root / "audio").mkdir()
    rows = []
    for target, category in enumerate(categories + ([only_in_fold1] if only_in_fold1 else [])):
        for fold in range(1, 6):
            if category == only_in_fold1 and fold != 1:
                continue
            name = f"{fold}-{1000 + target}-A-{fold}.wav"
            seconds = 0.5 if name == short_clip else clip_seconds
            t = np.arange(int(seconds * 44100)) / 44100
            audio = 0.3 * np.sin(2 * np.pi * (300 + 400 * target) * t) + 0.01 * rng.standard_normal(t.size)
            soundfile.write(root / "audio" / name, audio, 44100, subtype="PCM_16")
            rows.append(dict(filename=name, fold=fold, target=target, category=category,
                             esc10=str(target % 2 == 0), src_file=1000 + target, take="A"))
    with open(root / "meta" / "esc50.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def _copy_recipe(name: str, dest: Path) -> Path:
    """The recipe folder with its shared driver, as a repository checkout lays them out."""
    shutil.copytree(REPO_ROOT / "egs2" / "TEMPLATE", dest / "egs2" / "TEMPLATE", symlinks=True)
    shutil.copytree(REPO_ROOT / "egs2" / name, dest / "egs2" / name, symlinks=True,
                    ignore=shutil.ignore_patterns("data", "dump", "exp", "downloads"))
    return dest / "egs2" / name / "cls1"


def _run(recipe: Path, args: List[str], timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", OMP_NUM_THREADS="1")
    # path.sh puts <recipe>/../../.. on PYTHONPATH; point it at the real package.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(["./run.sh", *args], cwd=recipe, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.e2e
def test_esc50_recipe_on_a_miniature(tmp_path: Path) -> None:
    esc = make_esc50_miniature(tmp_path / "ESC-50", ["dog", "rain", "crackling_fire"])
    recipe = _copy_recipe("esc50_speechmix", tmp_path / "repo")
    (recipe / "conf" / "tiny.yaml").write_text(TINY_ESC_CONFIG)
    proc = _run(recipe, ["--esc50_dir", str(esc), "--folds", "1", "--cls_config", "conf/tiny.yaml"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    exp = recipe / "exp" / "esc50" / "cls_tiny_fold1"
    assert (recipe / "data" / "token_list" / "esc50_fold1.txt").read_text().split() == ["crackling_fire", "dog", "rain", "<unk>"]
    predictions = (exp / "cls_esc50_test_fold1" / "text").read_text().split("\n")
    assert len([p for p in predictions if p]) == 3
    metrics = json.loads((exp / "cls_esc50_test_fold1" / "scoring" / "metrics.json").read_text())
    assert metrics["clips"] == 3 and 0.0 <= metrics["accuracy"] <= 100.0
    summary = (recipe / "exp" / "esc50" / "RESULTS_tiny.md").read_text()
    assert f"mean accuracy over 1 fold(s): {metrics['accuracy']:.2f} %" in summary
    config = (exp / "config.yaml").read_text()
    assert "model: speechmix" in config and "encoder: envnet_v2" in config


@pytest.mark.e2e
def test_esc50_recipe_stops_on_a_short_clip(tmp_path: Path) -> None:
    esc = make_esc50_miniature(tmp_path / "ESC-50", ["dog", "rain"], short_clip="2-1001-A-2.wav")
    recipe = _copy_recipe("esc50_speechmix", tmp_path / "repo")
    proc = _run(recipe, ["--esc50_dir", str(esc), "--folds", "1", "--stop_stage", "4"])
    assert proc.returncode != 0
    assert "shorter than a crop of 66650 samples" in proc.stderr and "2-1001-A-2.wav (22050 samples)" in proc.stderr
    assert not (recipe / "dump" / "raw" / "esc50_train_fold1").exists()


@pytest.mark.e2e
def test_esc50_recipe_stops_on_a_label_missing_from_the_token_list(tmp_path: Path) -> None:
    esc = make_esc50_miniature(tmp_path / "ESC-50", ["dog", "rain"], only_in_fold1="siren")
    recipe = _copy_recipe("esc50_speechmix", tmp_path / "repo")
    proc = _run(recipe, ["--esc50_dir", str(esc), "--folds", "1", "--stop_stage", "4"])
    assert proc.returncode != 0
    assert "esc50_test_fold1/text: label(s) ['siren'] are not in the token list" in proc.stderr


def test_esc50_subsets_and_bad_meta(tmp_path: Path) -> None:
    esc = make_esc50_miniature(tmp_path / "ESC-50", ["dog", "rain", "sea_waves", "crow"])
    counts = prepare_esc50(esc, tmp_path / "data", "esc10")
    assert counts["esc10_train_fold3"] == 8 and counts["esc10_test_fold3"] == 2
    text = (tmp_path / "data" / "esc10_test_fold3" / "text").read_text()
    assert "dog" in text and "sea_waves" in text and "rain" not in text
    (esc / "meta" / "esc50.csv").write_text("filename,fold,category,esc10\nx.wav,7,dog,True\n")
    with pytest.raises(DataDirError, match=r"esc50.csv:2: fold must be 1..5"):
        prepare_esc50(esc, tmp_path / "data")


def test_stage_checks(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data).mkdir()
    soundfile.write(tmp_path / "a.wav", np.zeros(100), 8000, subtype="PCM_16")
    soundfile.write(tmp_path / "b.wav", np.zeros(300), 16000, subtype="PCM_16")
    (data / "wav.scp").write_text(f"u1 {tmp_path / 'a.wav'}\n")
    (data / "text").write_text("u1 yes\n")
    (data / "utt2spk").write_text("u1 s\n")
    with pytest.raises(DataDirError, match=r"a.wav \(100 samples\)"):
        format_cls_data_dir(data, tmp_path / "dump", 8000, min_samples=200)
    assert format_cls_data_dir(data, tmp_path / "dump", 8000, min_samples=200, pad_short=True) == 1
    assert soundfile.info(str(tmp_path / "dump" / "data" / "u1.wav")).frames == 200
    soundfile.write(tmp_path / "a.wav", np.full(100, 327, dtype=np.int16), 8000)  # a DC offset of 327
    format_cls_data_dir(data, tmp_path / "dump", 8000, min_samples=200, pad_short=True)
    assert soundfile.read(tmp_path / "dump" / "data" / "u1.wav", dtype="int16")[0].max() == 327
    format_cls_data_dir(data, tmp_path / "dump", 8000, min_samples=200, pad_short=True, remove_dc=True)
    assert not soundfile.read(tmp_path / "dump" / "data" / "u1.wav", dtype="int16")[0].any()  # no step at the padding
    (data / "wav.scp").write_text(f"u1 {tmp_path / 'b.wav'}\n")
    with pytest.raises(DataDirError, match="at 16000 Hz, the recipe's fs is 8000 Hz"):
        format_cls_data_dir(data, tmp_path / "dump", 8000)
    (data / "text").write_text("u1 yes no\n")
    with pytest.raises(DataDirError, match="exactly one class token"):
        make_class_token_list(data / "text", tmp_path / "tokens.txt")
    (data / "text").write_text("u1 yes\n")
    make_class_token_list(data / "text", tmp_path / "tokens.txt")
    (tmp_path / "test_text").write_text("u2 no\n")
    with pytest.raises(DataDirError, match=r"test_text: label\(s\) \['no'\] are not in the token list"):
        check_labels(tmp_path / "tokens.txt", [tmp_path / "test_text"])


def test_fsdd_sets_keep_the_test_speaker_unseen(tmp_path: Path, fsdd_dir: Path) -> None:
    counts = prepare_fsdd_cls(fsdd_dir, tmp_path / "data", takes_per_digit=10)
    assert counts == {"train": 3 * 10 * 9, "valid": 3 * 10, "test": 10 * 10}
    spk = lambda name: set((tmp_path / "data" / name / "utt2spk").read_text().split()[1::2])  # noqa: E731
    assert spk("test") == {"nicolas"} and spk("train") == spk("valid") == {"george", "jackson", "lucas"}
    with pytest.raises(DataDirError, match="in both train and test"):
        prepare_fsdd_cls(fsdd_dir, tmp_path / "data", test_speakers=("lucas",))


def test_fsdd_training_subsets_are_nested_takes_of_the_training_set(tmp_path: Path, fsdd_dir: Path) -> None:
    counts = prepare_fsdd_cls(fsdd_dir, tmp_path / "data", takes_per_digit=10, train_subsets=(2, 5))
    assert counts["train_t2"] == 3 * 10 * 2 and counts["train_t5"] == 3 * 10 * 5 and counts["valid"] == 30
    ids = lambda name: set((tmp_path / "data" / name / "utt2spk").read_text().split()[0::2])  # noqa: E731
    assert ids("train_t2") < ids("train_t5") < ids("train")
    assert {int(u.split("-")[1]) for u in ids("train_t2")} == {0, 1}
    assert not ids("train_t5") & ids("valid")
    with pytest.raises(DataDirError, match="train subset of 10 takes"):
        prepare_fsdd_cls(fsdd_dir, tmp_path / "data2", takes_per_digit=10, train_subsets=(10,))


@pytest.mark.e2e
def test_fsdd_recipe_end_to_end_on_a_subset(tmp_path: Path, fsdd_dir: Path) -> None:
    """Stages 1-10: two jobs where ESPnet's cls.sh uses nj, training through espnet2.bin.launch,
    then the packed model uploaded to a local hub target, which classifies as the experiment did."""
    recipe = _copy_recipe("fsdd_speechmix", tmp_path / "repo")
    hub = tmp_path / "hub" / "user__fsdd_speechmix"
    proc = _run(recipe, ["--local_data_opts", f"--fsdd_dir {fsdd_dir} --takes_per_digit 2", "--nj", "2",
                         "--cls_args", "--max_epoch 1 --batch_size 20", "--eval_valid", "false",
                         "--skip_upload", "false", "--hf_repo", hub.as_uri()], timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    exp = recipe / "exp" / "cls_train_speechmix"
    metrics = json.loads((exp / "cls_test" / "scoring" / "metrics.json").read_text())
    assert metrics["clips"] == 20
    results = (exp / "RESULTS.md").read_text()
    assert f"|test|20|{metrics['correct']}|{metrics['accuracy']:.2f}|" in results
    shapes = (recipe / "exp" / "cls_stats_train" / "train" / "speech_shape").read_text().split()
    assert len(shapes) == 60 and min(int(n) for n in shapes[1::2]) == 8000  # 30 clips, short ones padded to 1.0 s
    train_log = (exp / "train.log").read_text()
    assert "--ngpu 0 --multiprocessing_distributed True" in train_log.splitlines()[0]  # espnet2.bin.launch ran it

    # Stage 9: the zip; stage 10: its hub layout with the model card.
    packed = exp / "cls_train_speechmix_valid.acc.best.zip"
    assert packed.is_file() and not list(exp.glob("*.tmp.zip"))
    card = (hub / "README.md").read_text()
    for expected in ("language: en", "datasets:\n- fsdd_speechmix", "audio-classification", "**Requires espnet-mixrep**",
                     "`envnet_v2`, `speechmix`", "model: speechmix", "@inproceedings{watanabe2018espnet",
                     "@inproceedings{jindal2020speechmix", f"|test|20|{metrics['correct']}|"):
        assert expected in card, expected
    meta = yaml.safe_load((hub / "meta.yaml").read_text())
    config, model = meta["yaml_files"]["classification_train_config"], meta["files"]["classification_model_file"]
    out = subprocess.run(
        [sys.executable, "-m", "espnet_mixrep.bin.cls_inference", "--classification_train_config", config,
         "--classification_model_file", model, "--data_path_and_name_and_type",
         f"{recipe / 'dump' / 'raw' / 'test' / 'wav.scp'},speech,sound", "--output_dir", str(tmp_path / "hub_decode")],
        cwd=hub, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    hub_text = sorted((tmp_path / "hub_decode" / "prediction" / "text").read_text().splitlines())
    assert hub_text == (exp / "cls_test" / "text").read_text().splitlines()
