"""Every shipped MixRep/baseline training config parses and builds through ASRTask."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from espnet2.tasks.asr import ASRTask

from espnet_mixrep.mixrep.encoder import MixRepEncoderMixin
from espnet_mixrep.registration import register_all

REPO = Path(__file__).resolve().parent.parent
WSJ_TUNING = REPO / "egs2/wsj_mixrep/asr1/conf/tuning"
EXPECTED = {
    "train_asr_conformer_specaug.yaml": None,
    "train_asr_conformer_te.yaml": None,
    "train_asr_mixspeech.yaml": [0],
    "train_asr_mixrep_s9.yaml": [9],
    "train_asr_mixrep_s0_9.yaml": [0, 9],
}


@pytest.mark.parametrize("name, layers", sorted(EXPECTED.items()))
def test_wsj_config_builds_the_paper_model(name: str, layers, tmp_path: Path):
    register_all()
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(["<blank>", "<unk>", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ'", "<space>", "<sos/eos>"]))
    args = ASRTask.get_parser().parse_args(
        ["--config", str(WSJ_TUNING / name), "--token_list", str(tokens), "--normalize", "none",
         "--output_dir", str(tmp_path)])
    model = ASRTask.build_model(args)
    encoder = model.encoder
    assert len(encoder.encoders) == 12 and encoder.output_size() == 256
    config = yaml.safe_load((WSJ_TUNING / name).read_text())
    assert config["specaug_conf"]["apply_time_warp"] and config["specaug_conf"]["num_time_mask"] == 2
    if layers is None:
        assert type(model).__name__ == "ESPnetASRModel"
    else:
        assert isinstance(encoder, MixRepEncoderMixin) and type(model).__name__ == "MixRepASRModel"
        assert encoder.mix_layers == layers and encoder.mix_tau == 0.15 and encoder.mix_alpha == 2.0
        assert config["specaug_conf"]["apply_freq_mask"] is False
