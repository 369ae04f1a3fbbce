"""MixRep through ESPnet's stock entry points, each in a fresh process.

collect-stats -> a 2-epoch ``espnet2.bin.asr_train`` with ``encoder:
mixrep_conformer`` / ``model: mixrep`` from YAML on real FSDD recordings ->
``espnet2.bin.asr_inference`` on held-out recordings -> ``Speech2Text`` in a
fresh interpreter, plus ``--print_config`` and our own wrappers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e

DIGITS = "zero one two three four five six seven eight nine".split()
CONFIG = {
    "frontend": "default",
    "frontend_conf": {"fs": 8000, "n_fft": 256, "hop_length": 80, "n_mels": 40},
    "specaug": "specaug",
    "specaug_conf": {"apply_time_warp": False, "apply_freq_mask": True, "freq_mask_width_range": [0, 5],
                     "num_freq_mask": 1, "apply_time_mask": True, "time_mask_width_range": [0, 5],
                     "num_time_mask": 1},
    "normalize": "global_mvn",
    "encoder": "mixrep_conformer",
    "encoder_conf": {"output_size": 48, "attention_heads": 2, "linear_units": 96, "num_blocks": 2,
                     "input_layer": "conv2d", "macaron_style": True, "pos_enc_layer_type": "rel_pos",
                     "selfattention_layer_type": "rel_selfattn", "use_cnn_module": True,
                     "cnn_module_kernel": 7, "mix_layers": "0,2", "mix_alpha": 2.0, "mix_tau": 0.5},
    "decoder": "transformer",
    "decoder_conf": {"attention_heads": 2, "linear_units": 96, "num_blocks": 1},
    "model": "mixrep",
    "model_conf": {"ctc_weight": 0.3, "lsm_weight": 0.1},
    "optim": "adam",
    "optim_conf": {"lr": 0.002},
    "batch_type": "folded",
    "batch_size": 8,
    "max_epoch": 2,
    "num_workers": 0,
    "seed": 0,
    "best_model_criterion": [["valid", "acc", "max"]],
    "keep_nbest_models": 1,
}


def run(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"{module} {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    return proc


def write_set(root: Path, name: str, files: list[Path]) -> Path:
    d = root / name
    d.mkdir()
    with open(d / "wav.scp", "w") as wav, open(d / "text", "w") as text:
        for f in sorted(files):
            digit, speaker, index = f.stem.split("_")
            wav.write(f"{speaker}_{digit}_{index} {f}\n")
            text.write(f"{speaker}_{digit}_{index} {DIGITS[int(digit)]}\n")
    return d


@pytest.fixture(scope="module")
def trained(fsdd_dir: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mixrep_e2e")
    recs = fsdd_dir / "recordings"
    train = write_set(root, "train", [recs / f"{d}_{s}_{i}.wav" for d in range(10) for s in ("george", "jackson")
                                      for i in range(5, 7)])
    valid = write_set(root, "valid", [recs / f"{d}_lucas_{i}.wav" for d in range(0, 10, 2) for i in range(5, 7)])
    write_set(root, "test", [recs / f"{d}_nicolas_0.wav" for d in range(0, 10, 3)])
    chars = sorted({c for w in DIGITS for c in w})
    (root / "tokens.txt").write_text("\n".join(["<blank>", "<unk>", *chars, "<sos/eos>"]) + "\n")
    (root / "train.yaml").write_text(yaml.safe_dump(CONFIG))
    common = ["--token_type", "char", "--token_list", str(root / "tokens.txt"), "--use_preprocessor", "true",
              "--ngpu", "0", "--config", str(root / "train.yaml")]
    data = []
    for split, d in (("train", train), ("valid", valid)):
        data += [f"--{split}_data_path_and_name_and_type", f"{d}/wav.scp,speech,sound",
                 f"--{split}_data_path_and_name_and_type", f"{d}/text,text,text"]
    for split, d in (("train", train), ("valid", valid)):
        (root / f"{split}.keys").write_text("".join(line.split()[0] + "\n" for line in open(d / "text")))
    run("espnet2.bin.asr_train", *common, *data, "--collect_stats", "true", "--normalize", "none",
        "--train_shape_file", str(root / "train.keys"), "--valid_shape_file", str(root / "valid.keys"),
        "--output_dir", str(root / "stats"), cwd=root)
    assert (root / "stats/train/feats_stats.npz").is_file()
    log = run("espnet2.bin.asr_train", *common, *data,
        "--normalize_conf", f"stats_file={root}/stats/train/feats_stats.npz",
        "--train_shape_file", str(root / "stats/train/speech_shape"),
        "--valid_shape_file", str(root / "stats/valid/speech_shape"), "--fold_length", "80000",
        "--output_dir", str(root / "exp"), cwd=root)
    (root / "train.log").write_text(log.stderr)
    return root


def test_training_used_mixing_and_wrote_checkpoints(trained: Path):
    config = yaml.safe_load((trained / "exp/config.yaml").read_text())
    assert config["encoder"] == "mixrep_conformer" and config["model"] == "mixrep"
    assert (trained / "exp/2epoch.pth").is_file() and (trained / "exp/valid.acc.ave.pth").exists()
    log = (trained / "train.log").read_text()
    assert "MixRepASRModel" in log  # the model summary ESPnet prints
    # the epoch summary carries the mixing stats of the training steps only
    summary = next(line for line in log.splitlines() if "1epoch results" in line)
    train_part, valid_part = summary.split("[valid]")
    assert "mix_lambda=" in train_part and "mix_lambda" not in valid_part


def test_stock_asr_inference_decodes_held_out_recordings(trained: Path):
    out = trained / "decode"
    run("espnet2.bin.asr_inference", "--ngpu", "0", "--batch_size", "1", "--nbest", "1", "--beam_size", "3",
        "--ctc_weight", "0.3", "--data_path_and_name_and_type", f"{trained}/test/wav.scp,speech,sound",
        "--asr_train_config", str(trained / "exp/config.yaml"),
        "--asr_model_file", str(trained / "exp/valid.acc.ave.pth"), "--output_dir", str(out), cwd=trained)
    hyps = (out / "1best_recog/text").read_text().splitlines()
    assert sorted(h.split()[0] for h in hyps) == sorted(
        line.split()[0] for line in (trained / "test/text").read_text().splitlines())


def test_speech2text_in_fresh_interpreter_and_our_wrapper(trained: Path):
    code = (
        "import soundfile, sys\n"
        "from espnet2.bin.asr_inference import Speech2Text\n"
        f"s2t = Speech2Text(asr_train_config='{trained}/exp/config.yaml', "
        f"asr_model_file='{trained}/exp/valid.acc.ave.pth', beam_size=2, ctc_weight=0.3)\n"
        "print(type(s2t.asr_model).__name__, type(s2t.asr_model.encoder).__name__)\n"
        f"wav = open('{trained}/test/wav.scp').readline().split()[1]\n"
        "audio, sr = soundfile.read(wav)\n"
        "print('N_HYPS', len(s2t(audio)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=trained)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "MixRepASRModel MixRepConformerEncoder" in proc.stdout and "N_HYPS 1" in proc.stdout
    out = trained / "decode_wrapper"
    run("espnet_mixrep.bin.asr_inference", "--ngpu", "0", "--batch_size", "1", "--beam_size", "2",
        "--data_path_and_name_and_type", f"{trained}/test/wav.scp,speech,sound",
        "--asr_train_config", str(trained / "exp/config.yaml"),
        "--asr_model_file", str(trained / "exp/valid.acc.ave.pth"), "--output_dir", str(out), cwd=trained)
    assert (out / "1best_recog/text").is_file()


@pytest.mark.parametrize("module", ["espnet2.bin.asr_train", "espnet_mixrep.bin.asr_train"])
def test_print_config_shows_new_choices_and_options(module: str, tmp_path: Path):
    out = run(module, "--print_config", "--encoder", "mixrep_conformer", "--model", "mixrep", cwd=tmp_path)
    config = yaml.safe_load(out.stdout)
    assert config["encoder"] == "mixrep_conformer" and config["model"] == "mixrep"
    assert config["encoder_conf"]["mix_layers"] == "0" and config["encoder_conf"]["mix_tau"] == 0.15
    assert config["encoder_conf"]["num_blocks"] == 6  # the Conformer's own options are listed too


def test_bad_yaml_value_fails_before_training(tmp_path: Path):
    bad = dict(CONFIG, encoder_conf=dict(CONFIG["encoder_conf"], mix_layers="0,7"))
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    (tmp_path / "tokens.txt").write_text("<blank>\n<unk>\na\n<sos/eos>\n")
    proc = subprocess.run([sys.executable, "-m", "espnet2.bin.asr_train", "--config", str(tmp_path / "bad.yaml"),
                           "--token_list", str(tmp_path / "tokens.txt"), "--dry_run", "true", "--ngpu", "0",
                           "--input_size", "40", "--normalize", "none", "--output_dir", str(tmp_path / "exp")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0
    assert "layer 7 does not exist (allowed: 0..2" in proc.stderr
