"""Stage 15 (asr.sh) / 10 (cls.sh): the model card, and the checks that stop an upload
without a token or a network before any work, leaving the packed zip as it was."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict

import pytest

from espnet_mixrep.stages.hub import stage_repository

CONFIG = """encoder: mixrep_conformer
encoder_conf:
    output_size: 32
    mix_layers: "0,1"
model: mixrep
token_list: [<blank>, A, <sos/eos>]
"""


def _packed(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("meta.yaml", "files: {asr_model_file: exp/asr_x/model.pth}\nyaml_files: {asr_train_config: exp/asr_x/config.yaml}\n")
        zf.writestr("exp/asr_x/config.yaml", CONFIG)
        zf.writestr("exp/asr_x/model.pth", b"weights")
        zf.writestr("exp/asr_x/RESULTS.md", "# RESULTS\n|decode/test|6|30|\n")
    return path


def test_model_card_has_espnet_fields_and_the_plugin_requirement(tmp_path: Path) -> None:
    staged = stage_repository(_packed(tmp_path / "m.zip"), "me/wsj_mixrep", "wsj_mixrep/asr1", tmp_path / "repo", lang="en")
    card = (staged / "README.md").read_text()
    front = card.split("---")[1]
    assert "language: en" in front and "datasets:\n- wsj_mixrep" in front and "- automatic-speech-recognition" in front
    assert "**Requires espnet-mixrep**" in card and "`mixrep`, `mixrep_conformer`" in card
    assert "```\n" + CONFIG.rstrip() + "\n```" in card  # the training config, as ESPnet's card shows it
    assert "@inproceedings{watanabe2018espnet" in card and "@inproceedings{xie2023mixrep" in card
    assert "|decode/test|6|30|" in card and 'Speech2Text.from_pretrained("me/wsj_mixrep")' in card


def _upload(tmp_path: Path, packed: Path, extra_env: Dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(tmp_path / "hf_home"), TMPDIR=str(tmp_path / "tmp"), **extra_env)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "espnet_mixrep.bin.recipe", "upload_hf", "--packed", str(packed), "--repo", "me/wsj_mixrep"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    "extra_env, problem",
    [
        ({}, "no Hugging Face token found"),
        ({"HF_TOKEN": "hf_not_a_real_token", "HF_HUB_OFFLINE": "1"}, "HF_HUB_OFFLINE is set"),
        # This machine cannot reach huggingface.co; one that can would reject the made-up token.
        ({"HF_TOKEN": "hf_not_a_real_token"}, r"(cannot reach https://huggingface.co|rejected the token)"),
    ],
    ids=["no_token", "offline_mode", "no_network"],
)
def test_upload_without_token_or_network_stops_before_any_work(tmp_path: Path, extra_env, problem) -> None:
    import re

    packed = _packed(tmp_path / "m.zip")
    digest = hashlib.sha256(packed.read_bytes()).hexdigest()
    proc = _upload(tmp_path, packed, extra_env)
    assert proc.returncode == 1
    assert re.search(rf"^ERROR: me/wsj_mixrep: {problem}", proc.stderr, re.M), proc.stderr[-2000:]
    assert "huggingface-cli login" in proc.stderr and "HF_TOKEN" in proc.stderr and "file:///" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert hashlib.sha256(packed.read_bytes()).hexdigest() == digest
    assert list((tmp_path / "tmp").iterdir()) == []  # nothing was staged
