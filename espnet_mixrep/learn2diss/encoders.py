"""The two Learn2Diss encoders, built from ESPnet's own layers.

* ``FrameEncoder``: ESPnet's TransformerEncoder over one (or a learned mix of)
  extractor layer(s); its hidden layers are the content representation.
* ``UtteranceEncoder``: ESPnet's ECAPA-TDNN + channel-attentive statistics
  pooling + projector (espnet2/spk) over a learned mix of extractor layers;
  its output is the utterance (speaker) embedding.
"""

from __future__ import annotations

import inspect
from typing import List, Optional, Tuple

import torch
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder
from espnet2.spk.encoder.ecapa_tdnn_encoder import EcapaTdnnEncoder
from espnet2.spk.pooling.chn_attn_stat_pooling import ChnAttnStatPooling
from espnet2.spk.projector.rawnet3_projector import RawNet3Projector

from espnet_mixrep.learn2diss.extractors import LayerSelector


class FrameEncoder(torch.nn.Module):
    def __init__(
        self,
        input_size: int,
        num_extractor_layers: int,
        extractor_layer: Optional[int] = None,
        output_size: int = 96,
        attention_heads: int = 4,
        linear_units: int = 192,
        num_blocks: int = 2,
        dropout_rate: float = 0.1,
    ) -> None:
        super().__init__()
        self.selector = LayerSelector(num_extractor_layers, extractor_layer)
        self.transformer = TransformerEncoder(
            input_size=input_size,
            output_size=output_size,
            attention_heads=attention_heads,
            linear_units=linear_units,
            num_blocks=num_blocks,
            dropout_rate=dropout_rate,
            positional_dropout_rate=dropout_rate,
            attention_dropout_rate=dropout_rate,
            input_layer="linear",
        )
        self.num_blocks = num_blocks
        self._output_size = output_size

    def output_size(self) -> int:
        return self._output_size

    def forward(self, layers: List[torch.Tensor], lengths: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """Returns the output of every block, (B, T, D) each; the last one is layer-normalised."""
        (last, hidden), out_lengths, _ = self.transformer(self.selector(layers), lengths, return_all_hs=True)
        return list(hidden[:-1]) + [last], out_lengths


class UtteranceEncoder(torch.nn.Module):
    def __init__(
        self,
        input_size: int,
        num_extractor_layers: int,
        extractor_layer: Optional[int] = None,
        channels: int = 128,
        model_scale: int = 4,
        ecapa_output_size: int = 192,
        embedding_size: int = 64,
    ) -> None:
        super().__init__()
        self.selector = LayerSelector(num_extractor_layers, extractor_layer)
        self.ecapa = EcapaTdnnEncoder(input_size, model_scale=model_scale, ndim=channels, output_size=ecapa_output_size)
        self.pooling = ChnAttnStatPooling(ecapa_output_size)
        # ESPnet 202506's pooling has no feat_lengths (its second argument is
        # task_tokens, which it refuses) and pools over the padding too.
        self._pooling_takes_lengths = "feat_lengths" in inspect.signature(self.pooling.forward).parameters
        self.projector = RawNet3Projector(self.pooling.output_size(), embedding_size)
        self._output_size = embedding_size

    def output_size(self) -> int:
        return self._output_size

    def forward_features(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, D) features of already selected layers -> (B, embedding_size)."""
        frames = self.ecapa(feats)  # (B, C, T): ESPnet's ECAPA returns channels first
        pooled = self.pooling(frames, lengths) if self._pooling_takes_lengths else self.pooling(frames)
        return self.projector(pooled)

    def forward(self, layers: List[torch.Tensor], lengths: torch.Tensor) -> torch.Tensor:
        return self.forward_features(self.selector(layers), lengths)
