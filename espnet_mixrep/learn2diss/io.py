"""Loading trained Learn2Diss models and reading audio lists, with clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional, Tuple, Union

import numpy as np
import soundfile
import torch
import yaml

from espnet_mixrep.learn2diss.extractors import AbsExtractor, build_extractor
from espnet_mixrep.learn2diss.model import Learn2DissModel

PathLike = Union[str, Path]


def load_learn2diss(config_file: PathLike, model_file: Optional[PathLike], device: str = "cpu") -> Learn2DissModel:
    """Build a Learn2Diss model from its training config.yaml and load a checkpoint into it."""
    config_file = Path(config_file)
    if not config_file.is_file():
        raise FileNotFoundError(f"Learn2Diss config not found: {config_file} (the config.yaml of an l2d_train run)")
    if model_file is not None and not Path(model_file).is_file():
        raise FileNotFoundError(
            f"Learn2Diss checkpoint not found: {model_file} (e.g. <exp>/valid.loss.best.pth of an l2d_train run)"
        )
    from espnet_mixrep.learn2diss.task import Learn2DissTask  # heavy import: after the cheap checks

    model, _ = Learn2DissTask.build_model_from_file(config_file, model_file, device)
    model.eval()
    return model


def extractor_from_config(config_file: PathLike) -> AbsExtractor:
    """The extractor an l2d_train YAML config describes (so k-means labels match training)."""
    config_file = Path(config_file)
    if not config_file.is_file():
        raise FileNotFoundError(f"config not found: {config_file}")
    with open(config_file, encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    return build_extractor(config.get("extractor", "logmel"), config.get("extractor_conf") or {})


def iter_wav_scp(wav_scp: PathLike) -> Iterator[Tuple[str, np.ndarray, int]]:
    """(utt_id, float32 waveform, sample rate) for each line of a wav.scp holding plain paths."""
    wav_scp = Path(wav_scp)
    if not wav_scp.is_file():
        raise FileNotFoundError(f"wav.scp not found: {wav_scp}")
    with open(wav_scp, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            utt_id, _, path = line.strip().partition(" ")
            path = path.strip()
            if path.endswith("|"):
                raise ValueError(f"{wav_scp}:{lineno}: piped wav.scp entries are not supported here; format the data first")
            try:
                audio, rate = soundfile.read(path, dtype="float32", always_2d=False)
            except (RuntimeError, soundfile.LibsndfileError) as err:
                raise ValueError(f"{wav_scp}:{lineno}: cannot read '{path}': {err}") from err
            if audio.ndim != 1:
                raise ValueError(f"{wav_scp}:{lineno}: '{path}' is not mono")
            yield utt_id, audio, rate


def wav_tensor(audio: np.ndarray) -> Tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(audio)[None], torch.tensor([len(audio)])
