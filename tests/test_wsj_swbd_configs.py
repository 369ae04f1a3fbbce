"""Every training configuration of the WSJ and Switchboard recipes builds its
ESPnet model (our MixRep classes included) and the decoding / LM configs hold
the paper's values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT

RECIPES = {name: REPO_ROOT / "egs2" / name / "asr1" for name in ("wsj_mixrep", "swbd_mixrep")}
ASR_CONFIGS = sorted(
    p for d in RECIPES.values() for p in (d / "conf" / "tuning").glob("train_asr_*.yaml")
)


@pytest.fixture(scope="module")
def asr_task():
    from espnet_mixrep.registration import register_all

    register_all()
    from espnet2.tasks.asr import ASRTask

    return ASRTask


@pytest.mark.parametrize("config", ASR_CONFIGS, ids=lambda p: f"{p.parents[3].name}/{p.name}")
def test_asr_config_builds(config: Path, asr_task, tmp_path):
    import torch

    torch.set_num_threads(1)
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(["<blank>", "<unk>", "a", "b", "<sos/eos>"]) + "\n")
    args = asr_task.get_parser().parse_args(["--config", str(config), "--token_list", str(tokens), "--output_dir", str(tmp_path)])
    model = asr_task.build_model(args)
    conf = yaml.safe_load(config.read_text())
    if conf["encoder"].startswith("mixrep"):
        assert type(model).__name__ == "MixRepASRModel"
        expected_tau = 0.15 if "wsj" in str(config) else 0.45
        if "tiny" not in config.name:
            assert model.encoder.mix_tau == expected_tau and model.encoder.mix_alpha == 2.0
    if "tiny" not in config.name:
        assert len(model.encoder.encoders) == 12 and len(model.decoder.decoders) == 6
        kernel = 15 if "wsj" in str(config) else 31
        assert conf["encoder_conf"]["cnn_module_kernel"] == kernel


def test_swbd_mixing_sets():
    layers = {
        p.name: yaml.safe_load(p.read_text())["encoder_conf"].get("mix_layers")
        for p in (RECIPES["swbd_mixrep"] / "conf" / "tuning").glob("train_asr_*.yaml")
    }
    assert layers["train_asr_mixspeech.yaml"] == "0"
    assert layers["train_asr_mixrep_s0_5.yaml"] == "0,5"
    assert layers["train_asr_mixrep_s0_9.yaml"] == "0,9"
    assert layers["train_asr_conformer_specaug.yaml"] is None
    conf = yaml.safe_load((RECIPES["swbd_mixrep"] / "conf" / "tuning" / "train_asr_mixrep_s0_9.yaml").read_text())
    assert conf["max_epoch"] == 300 and conf["frontend_conf"]["hop_length"] == 256


def test_decode_and_lm_configs():
    wsj = yaml.safe_load((RECIPES["wsj_mixrep"] / "conf" / "decode_asr.yaml").read_text())
    assert (wsj["beam_size"], wsj["ctc_weight"], wsj["lm_weight"]) == (20, 0.3, 1.2)
    lm = yaml.safe_load((RECIPES["wsj_mixrep"] / "conf" / "tuning" / "train_lm_transformer.yaml").read_text())
    assert lm["lm"] == "transformer"
    swbd = yaml.safe_load((RECIPES["swbd_mixrep"] / "conf" / "decode_asr.yaml").read_text())
    assert (swbd["beam_size"], swbd["ctc_weight"]) == (20, 0.3) and "lm_weight" not in swbd
