"""``frontend: learn2diss`` for ESPnet's ASR task: a trained Learn2Diss frame encoder as features.

The frontend loads an l2d_train run (its config.yaml and a checkpoint) and
emits the frame-level encoder's output: one chosen block (``layer``) or a
learned softmax-weighted sum of all blocks (``layer: null``, the S3PRL
"featurizer" recipe). The utterance encoder and CLUB are dropped: ASR needs
the content stream only. Example ASR config::

    frontend: learn2diss
    frontend_conf:
        l2d_config: exp/l2d_joint/config.yaml
        l2d_model: exp/l2d_joint/valid.loss.best.pth
        layer: null
"""

from __future__ import annotations

import copy
import logging
from typing import Optional, Tuple, Union

import humanfriendly
import torch
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from typeguard import typechecked

from espnet_mixrep.learn2diss.extractors import LayerSelector
from espnet_mixrep.learn2diss.io import load_learn2diss


class Learn2DissFrontend(AbsFrontend):
    @typechecked
    def __init__(
        self,
        l2d_config: str,
        l2d_model: str,
        layer: Optional[int] = None,
        freeze: bool = True,
        fs: Optional[Union[int, str]] = None,
    ) -> None:
        super().__init__()
        model = load_learn2diss(l2d_config, l2d_model)
        if fs is not None:
            fs = humanfriendly.parse_size(fs) if isinstance(fs, str) else fs
            if fs != model.extractor.sample_rate:
                raise ValueError(
                    f"{l2d_config}: the Learn2Diss extractor expects {model.extractor.sample_rate} Hz audio, "
                    f"the ASR frontend_conf says fs={fs}"
                )
        self.extractor = model.extractor
        self.frame_encoder = model.frame_encoder
        num_blocks = self.frame_encoder.num_blocks
        try:
            self.layer_selector = LayerSelector(num_blocks, layer)
        except ValueError as err:
            raise ValueError(f"frontend learn2diss: {err} (frame encoder of {l2d_config})") from err
        self.freeze = freeze
        if freeze:
            for param in self.frame_encoder.parameters():
                param.requires_grad_(False)
        # ESPnet's --init re-initialises every parameter; this restores the pretrained ones afterwards.
        self.pretrained_params = copy.deepcopy(self.frame_encoder.state_dict())

    def output_size(self) -> int:
        return self.frame_encoder.output_size()

    def forward(self, input: torch.Tensor, input_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        layers, lengths = self.extractor(input, input_lengths)
        if self.freeze:
            self.frame_encoder.eval()
            with torch.no_grad():
                frame_layers, frame_lengths = self.frame_encoder(layers, lengths)
        else:
            frame_layers, frame_lengths = self.frame_encoder(layers, lengths)
        return self.layer_selector(frame_layers), frame_lengths

    def reload_pretrained_parameters(self) -> None:
        self.frame_encoder.load_state_dict(self.pretrained_params)
        logging.info("Pretrained Learn2Diss frame encoder parameters reloaded")

