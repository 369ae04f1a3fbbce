"""Loading trained Learn2Diss models, with clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
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


def wav_tensor(audio: np.ndarray) -> Tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(audio)[None], torch.tensor([len(audio)])
