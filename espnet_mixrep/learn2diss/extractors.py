"""Frozen speech feature extractors feeding both Learn2Diss encoders.

Every extractor maps a waveform batch to a list of hidden layers, each
(B, T, D), plus frame counts; all layers share one frame rate. Three kinds:

* ``s3prl``: a pretrained S3PRL upstream (HuBERT, WavLM...): what users want.
* ``logmel``: log-mel filterbanks (ESPnet's DefaultFrontend), one "layer";
  needs no download (HuBERT's first iteration also starts from spectral
  features).
* ``random_upstream``: log-mel followed by a seeded, randomly initialised
  small transformer, giving several layers for the layer-weighting code paths
  without a download.

Extractors never train: parameters are frozen and forward runs without grad.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder
from espnet2.asr.frontend.default import DefaultFrontend
from espnet2.layers.utterance_mvn import UtteranceMVN


class AbsExtractor(torch.nn.Module):
    """A frozen multi-layer feature extractor."""

    num_layers: int
    feature_size: int
    frame_shift: int  # samples per frame
    sample_rate: int

    def train(self, mode: bool = True) -> "AbsExtractor":
        # Frozen: dropout / batch-norm stay in inference mode whatever the caller does.
        return super().train(False)

    def extract(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor]:
        raise NotImplementedError

    def forward(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor]:
        with torch.no_grad():
            layers, lengths = self.extract(speech, speech_lengths)
        return [layer.detach() for layer in layers], lengths

    def _freeze(self) -> None:
        for param in self.parameters():
            param.requires_grad_(False)
        self.train(False)


class LogMelExtractor(AbsExtractor):
    """Log-mel filterbanks with per-utterance mean/variance normalisation."""

    def __init__(
        self, fs: int = 16000, n_fft: int = 512, win_length: int = 400, hop_length: int = 160, n_mels: int = 80
    ) -> None:
        super().__init__()
        self.fbank = DefaultFrontend(
            fs=fs, n_fft=n_fft, win_length=win_length, hop_length=hop_length, n_mels=n_mels, frontend_conf=None
        )
        self.mvn = UtteranceMVN(norm_means=True, norm_vars=True)
        self.num_layers = 1
        self.feature_size = n_mels
        self.frame_shift = hop_length
        self.sample_rate = fs
        self._freeze()

    def extract(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor]:
        feats, lengths = self.fbank(speech, speech_lengths)
        feats, lengths = self.mvn(feats, lengths)
        return [feats], lengths


class RandomUpstreamExtractor(AbsExtractor):
    """Log-mel + a randomly initialised (seeded) transformer: a download-free multi-layer upstream.

    Layer 0 is the log-mel input, layers 1..num_blocks the transformer blocks.
    """

    def __init__(
        self,
        fs: int = 16000,
        n_fft: int = 512,
        win_length: int = 400,
        hop_length: int = 160,
        n_mels: int = 80,
        hidden_size: int = 128,
        num_blocks: int = 3,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.logmel = LogMelExtractor(fs, n_fft, win_length, hop_length, n_mels)
        rng_state = torch.random.get_rng_state()
        torch.manual_seed(seed)  # the same weights in every process that builds this config
        try:
            self.encoder = TransformerEncoder(
                input_size=n_mels,
                output_size=hidden_size,
                attention_heads=4,
                linear_units=2 * hidden_size,
                num_blocks=num_blocks,
                dropout_rate=0.0,
                positional_dropout_rate=0.0,
                attention_dropout_rate=0.0,
                input_layer="linear",
            )
        finally:
            torch.random.set_rng_state(rng_state)
        # Layer 0 (log-mel) is projected to hidden_size so that all layers share one size.
        self.num_layers = num_blocks + 1
        self.feature_size = hidden_size
        self.frame_shift = hop_length
        self.sample_rate = fs
        self._freeze()

    def extract(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor]:
        (feats,), lengths = self.logmel.extract(speech, speech_lengths)
        (last, hidden), out_lengths, _ = self.encoder(feats, lengths, return_all_hs=True)
        embedded = self.encoder.embed(feats)
        return [embedded] + list(hidden[:-1]) + [last], out_lengths


class S3PRLExtractor(AbsExtractor):
    """All hidden layers of an S3PRL upstream (e.g. ``hubert_base``, ``wavlm_base_plus``)."""

    def __init__(self, upstream: str = "hubert_base", path_or_url: Optional[str] = None, normalize: bool = False) -> None:
        super().__init__()
        try:
            from s3prl.nn import S3PRLUpstream
        except ImportError as err:
            raise ImportError(
                "extractor 's3prl' needs the s3prl package (pip install s3prl) and its pretrained "
                "weights; offline, use extractor 'logmel' or 'random_upstream'"
            ) from err
        if upstream not in S3PRLUpstream.available_names():
            raise ValueError(f"unknown S3PRL upstream '{upstream}'")
        self.upstream = S3PRLUpstream(upstream, path_or_url=path_or_url, normalize=normalize)
        self.num_layers = self.upstream.num_layers
        self.feature_size = self.upstream.hidden_sizes[-1]
        self.frame_shift = self.upstream.downsample_rates[-1]
        self.sample_rate = 16000  # every S3PRL upstream is trained on 16 kHz audio
        self._freeze()

    def extract(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor]:
        layers, layer_lengths = self.upstream(speech, speech_lengths)
        return list(layers), layer_lengths[-1]


EXTRACTORS: Dict[str, type] = {
    "logmel": LogMelExtractor,
    "random_upstream": RandomUpstreamExtractor,
    "s3prl": S3PRLExtractor,
}


def build_extractor(name: str, conf: Optional[dict] = None) -> AbsExtractor:
    if name not in EXTRACTORS:
        raise ValueError(f"unknown extractor '{name}'; choose one of {sorted(EXTRACTORS)}")
    return EXTRACTORS[name](**(conf or {}))


class LayerSelector(torch.nn.Module):
    """Picks one extractor layer, or a learned softmax-weighted sum of all of them."""

    def __init__(self, num_layers: int, layer: Optional[int] = None) -> None:
        super().__init__()
        if layer is not None and not -num_layers <= layer < num_layers:
            raise ValueError(
                f"layer index {layer} is out of range: the extractor has {num_layers} layer(s) "
                f"(valid: {-num_layers}..{num_layers - 1}, or null for a learned weighted sum)"
            )
        self.num_layers = num_layers
        self.layer = layer
        self.weights = torch.nn.Parameter(torch.zeros(num_layers)) if layer is None and num_layers > 1 else None

    def forward(self, layers: List[torch.Tensor]) -> torch.Tensor:
        if len(layers) != self.num_layers:
            raise ValueError(f"expected {self.num_layers} layers, got {len(layers)}")
        if self.layer is not None:
            return layers[self.layer]
        if self.weights is None:
            return layers[0]
        weights = torch.softmax(self.weights, dim=0)
        return sum(w * h for w, h in zip(weights, layers))
