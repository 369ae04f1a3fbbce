"""Learn2Diss end to end on a few real FSDD recordings.

k-means labels -> collect stats -> stage-1 and joint training with ESPnet's
trainer -> embeddings and linear probes -> the checkpoint as the ``learn2diss``
frontend of an ASR model trained and decoded by the stock
``python -m espnet2.bin.asr_train`` / ``asr_inference`` (which see the
frontend through the start-up hook).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from espnet_mixrep.bin import l2d_extract, l2d_kmeans, l2d_probe, l2d_speaker_ids, l2d_train
from espnet_mixrep.recipes.fsdd_isolated import prepare_fsdd_isolated

L2D_CONFIG = {
    "extractor": "logmel",
    "extractor_conf": {"fs": 8000, "n_fft": 256, "win_length": 200, "hop_length": 80, "n_mels": 20},
    "model": "learn2diss",
    "model_conf": {
        "stage": "separate",
        "frame_encoder_conf": {"output_size": 32, "attention_heads": 2, "linear_units": 64, "num_blocks": 2},
        "utterance_encoder_conf": {"channels": 32, "model_scale": 4, "ecapa_output_size": 32, "embedding_size": 16},
        "projection_size": 16,
        "club_hidden_size": 16,
        "club_weight": 0.1,
    },
    "batch_type": "folded",
    "batch_size": 10,
    "max_epoch": 1,
    "optim": "adam",
    "optim_conf": {"lr": 0.002},
    "num_workers": 0,
    "num_att_plot": 0,
    "use_tensorboard": False,
    "best_model_criterion": [["valid", "loss", "min"]],
    "keep_nbest_models": 1,
}

ASR_CONFIG = {
    "frontend": "learn2diss",
    "frontend_conf": {"layer": None},
    "normalize": "utterance_mvn",
    "encoder": "transformer",
    "encoder_conf": {"output_size": 32, "attention_heads": 2, "linear_units": 64, "num_blocks": 1, "input_layer": "conv2d"},
    "decoder": "transformer",
    "decoder_conf": {"attention_heads": 2, "linear_units": 64, "num_blocks": 1},
    "model_conf": {"ctc_weight": 0.3},
    "batch_type": "unsorted",
    "batch_size": 10,
    "max_epoch": 1,
    "optim": "adam",
    "num_workers": 0,
    "num_att_plot": 0,
    "use_tensorboard": False,
    "best_model_criterion": [["valid", "acc", "max"]],
}


def l2d_data_args(work: Path) -> list:
    args = []
    for split, name in (("train", "train"), ("valid", "valid")):
        args += [f"--{split}_data_path_and_name_and_type", f"{work}/data/{name}/wav.scp,speech,sound"]
        args += [f"--{split}_data_path_and_name_and_type", f"{work}/dump/{name}/kmeans,kmeans,text_int"]
    return args


def run_stock(module: str, args: list, cwd: Path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{module} failed:\n{proc.stderr[-3000:]}"


def test_learn2diss_pipeline_and_asr_frontend(fsdd_dir: Path, tmp_path: Path, capfd) -> None:
    work = tmp_path
    counts = prepare_fsdd_isolated(
        fsdd_dir, work / "data", speakers=("george", "jackson"), test_indices=(0,), valid_indices=(1,), max_train_index=3
    )
    assert counts == {"train": 40, "valid": 20, "test": 20}
    config = work / "l2d.yaml"
    config.write_text(yaml.safe_dump(L2D_CONFIG))

    # a bad layer index fails before any feature is extracted
    with pytest.raises(ValueError, match="layer index 4 is out of range"):
        l2d_kmeans.main(["--config", str(config), "--layer", "4", "--fit_scp", f"{work}/data/train/wav.scp",
                         "--model_out", f"{work}/km.pkl"])
    assert not (work / "km.pkl").exists()

    l2d_kmeans.main([
        "--config", str(config), "--n_clusters", "8", "--fit_scp", f"{work}/data/train/wav.scp",
        "--model_out", f"{work}/exp/kmeans.pkl",
        "--apply", f"{work}/data/train/wav.scp={work}/dump/train/kmeans",
        "--apply", f"{work}/data/valid/wav.scp={work}/dump/valid/kmeans",
    ])
    labels = (work / "dump/train/kmeans").read_text().splitlines()
    assert len(labels) == 40 and all(0 <= int(t) < 8 for line in labels for t in line.split()[1:])

    l2d_train.main(["--config", str(config), "--collect_stats", "true", "--output_dir", f"{work}/exp/stats",
                    "--batch_type", "unsorted", "--train_shape_file", f"{work}/data/train/wav.scp",
                    "--valid_shape_file", f"{work}/data/valid/wav.scp", *l2d_data_args(work)])
    shapes = ["--train_shape_file", f"{work}/exp/stats/train/speech_shape",
              "--valid_shape_file", f"{work}/exp/stats/valid/speech_shape", "--fold_length", "8000"]
    l2d_train.main(["--config", str(config), "--output_dir", f"{work}/exp/stage1", *l2d_data_args(work), *shapes])
    # a stopped training resumes from its checkpoint (run.sh's stages pass --resume true)
    capfd.readouterr()
    l2d_train.main(["--config", str(config), "--output_dir", f"{work}/exp/stage1", *l2d_data_args(work), *shapes,
                    "--resume", "true", "--max_epoch", "2"])
    assert f"resuming from {work}/exp/stage1/checkpoint.pth (epoch 1 done)" in capfd.readouterr().err
    stage1 = torch.load(work / "exp/stage1/checkpoint.pth", weights_only=False)["reporter"]["stats"]
    assert sorted(stage1) == [1, 2]
    # the joint stage with q's inner steps, the refit monitor and the speaker adversary
    l2d_speaker_ids.main(["--index_utt2spk", f"{work}/data/train/utt2spk",
                          "--apply", f"{work}/data/train/utt2spk={work}/dump/train/speaker",
                          "--apply", f"{work}/data/valid/utt2spk={work}/dump/valid/speaker"])
    speaker_data = [f"--{split}_data_path_and_name_and_type={work}/dump/{split}/speaker,speaker,text_int"
                    for split in ("train", "valid")]
    l2d_train.main(["--config", str(config), "--output_dir", f"{work}/exp/joint", "--model_conf", "stage=joint",
                    "--model_conf", "mi_weight=0.1", "--model_conf", "q_steps=2", "--model_conf", "refit_interval=1",
                    "--model_conf", "refit_steps=20", "--model_conf", "adversary_weight=1.0",
                    "--model_conf", "num_speakers=2", "--init_param", f"{work}/exp/stage1/valid.loss.best.pth",
                    *l2d_data_args(work), *speaker_data, *shapes])
    joint = work / "exp/joint"
    joint_conf = yaml.safe_load((joint / "config.yaml").read_text())
    assert joint_conf["model_conf"]["stage"] == "joint" and joint_conf["model_conf"]["q_steps"] == 2
    checkpoint = torch.load(joint / "checkpoint.pth", weights_only=False)
    assert len(checkpoint["optimizers"]) == 2  # q's Adam state is saved for a resume
    valid_stats = checkpoint["reporter"]["stats"][1]["valid"]
    assert np.isfinite(valid_stats["club_mi_refit"]) and np.isfinite(valid_stats["club_mi_running"])
    assert 0.0 <= valid_stats["adversary_acc"] <= 1.0

    for split in ("train", "test"):
        l2d_extract.main(["--config", str(joint / "config.yaml"), "--model", str(joint / "valid.loss.best.pth"),
                          "--wav_scp", f"{work}/data/{split}/wav.scp", "--out", f"{work}/emb/{split}.npz"])
    emb = np.load(work / "emb/test.npz")
    assert emb["utterance"].shape == (20, 16) and emb["frames"].shape == (20, 32)
    assert np.isfinite(emb["utterance"]).all() and np.isfinite(float(emb["club_mi"]))
    l2d_probe.main(["--train_data", f"{work}/data/train", "--test_data", f"{work}/data/test",
                    "--run", f"joint={work}/emb", "--out_dir", f"{work}/probe"])
    (row,) = json.loads((work / "probe/probe.json").read_text())
    accuracies = [row[f"{enc}_{target}"] for enc in ("frames", "utterance") for target in ("digit", "speaker")]
    assert all(0.0 <= a <= 1.0 for a in accuracies) and np.isfinite(row["club_mi_test_refit_q"])

    # the checkpoint as an ASR frontend, through ESPnet's stock entry points
    chars = sorted({c for line in (work / "data/train/text").read_text().splitlines() for c in line.split(" ", 1)[1]} - {" "})
    token_list = work / "tokens.txt"
    token_list.write_text("\n".join(["<blank>", "<unk>", "<space>", *chars, "<sos/eos>"]) + "\n")
    asr_config = work / "asr.yaml"
    ASR_CONFIG["frontend_conf"].update(l2d_config=str(joint / "config.yaml"), l2d_model=str(joint / "valid.loss.best.pth"))
    asr_config.write_text(yaml.safe_dump(ASR_CONFIG))
    asr_args = ["--config", str(asr_config), "--output_dir", f"{work}/exp/asr", "--token_type", "char",
                "--token_list", str(token_list), "--train_shape_file", f"{work}/data/train/wav.scp",
                "--valid_shape_file", f"{work}/data/valid/wav.scp"]
    for split in ("train", "valid"):
        asr_args += [f"--{split}_data_path_and_name_and_type", f"{work}/data/{split}/wav.scp,speech,sound",
                     f"--{split}_data_path_and_name_and_type", f"{work}/data/{split}/text,text,text"]
    run_stock("espnet2.bin.asr_train", asr_args, work)
    asr_train_config = yaml.safe_load((work / "exp/asr/config.yaml").read_text())
    assert asr_train_config["frontend"] == "learn2diss"
    run_stock("espnet2.bin.asr_inference", [
        "--asr_train_config", f"{work}/exp/asr/config.yaml", "--asr_model_file", f"{work}/exp/asr/valid.acc.best.pth",
        "--data_path_and_name_and_type", f"{work}/data/test/wav.scp,speech,sound", "--output_dir", f"{work}/decode",
        "--beam_size", "2", "--ngpu", "0",
    ], work)
    hyps = (work / "decode/1best_recog/text").read_text().splitlines()
    assert len(hyps) == 20
