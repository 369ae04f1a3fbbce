"""EnvNet-v2 (Tokozume et al., ICLR 2018) as an ESPnet encoder on raw waveforms.

Paper layout at 44.1 kHz, input T = 66650 samples (about 1.5 s):

    conv(1x64, /2, 32) conv(1x16, /2, 64) maxpool 1x64  swap axes   [mix point 1]
    conv 8x8 32, conv 8x8 32, maxpool 5x3                           [mix point 2]
    conv 1x4 64 x2, maxpool 1x2                                     [mix point 3]
    conv 1x2 128 x2, maxpool 1x2                                    [mix point 4]
    conv 1x2 256 x2, maxpool 1x2, fc 4096, fc 4096  (-> ESPnet's LinearDecoder = fc classes)

Other sample rates: ``first_pool`` defaults to round(64 * fs / 44100), which
keeps the time axis after the first pooling at about 5.8 ms per frame (8 kHz:
12, i.e. 6 ms). ``input_length`` and ``channels`` are options because the conv
stack only fits inputs that leave every map non-empty: the FSDD recipe uses
1.0 s (8000 samples) and narrower channels, see its conf/.

Output: (B, 1, fc_units) with length 1, so ESPnet's LinearDecoder (mean over
one frame, then a linear layer) is the last fully connected layer.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from torch import nn
from typeguard import typechecked

PAPER_CHANNELS = (32, 64, 32, 32, 64, 64, 128, 128, 256, 256)


class ConvBNReLU(nn.Sequential):
    """Conv without bias, batch norm, ReLU; He-initialised (as the authors' ConvBNReLU)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: Tuple[int, int], stride: Tuple[int, int] = (1, 1)) -> None:
        conv = nn.Conv2d(in_ch, out_ch, kernel, stride=stride, bias=False)
        nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        super().__init__(conv, nn.BatchNorm2d(out_ch), nn.ReLU())


class _SwapAxes(nn.Module):
    """(B, C, 1, W) -> (B, 1, C, W): the conv channels become the image height."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2)


class EnvNetV2Encoder(AbsEncoder):
    """EnvNet-v2 feature extractor; mix points 1..4 are the outputs of ``stages[0..3]``."""

    @typechecked
    def __init__(
        self,
        input_size: int = 1,
        sample_rate: int = 44100,
        input_length: int = 66650,
        channels: Sequence[int] = PAPER_CHANNELS,
        first_pool: Optional[int] = None,
        fc_units: int = 4096,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if input_size != 1:
            raise ValueError(
                f"EnvNetV2Encoder reads raw mono waveforms: set input_size 1 (no frontend), got {input_size}"
            )
        if len(channels) != 10:
            raise ValueError(f"EnvNetV2Encoder needs 10 conv channel counts, got {list(channels)}")
        c = list(channels)
        self.sample_rate = sample_rate
        self.input_length = input_length
        self.first_pool = first_pool or max(1, round(64 * sample_rate / 44100))
        self.stages = nn.ModuleList(
            [
                nn.Sequential(
                    ConvBNReLU(1, c[0], (1, 64), stride=(1, 2)),
                    ConvBNReLU(c[0], c[1], (1, 16), stride=(1, 2)),
                    nn.MaxPool2d((1, self.first_pool)),
                    _SwapAxes(),
                ),
                nn.Sequential(ConvBNReLU(1, c[2], (8, 8)), ConvBNReLU(c[2], c[3], (8, 8)), nn.MaxPool2d((5, 3))),
                nn.Sequential(ConvBNReLU(c[3], c[4], (1, 4)), ConvBNReLU(c[4], c[5], (1, 4)), nn.MaxPool2d((1, 2))),
                nn.Sequential(ConvBNReLU(c[5], c[6], (1, 2)), ConvBNReLU(c[6], c[7], (1, 2)), nn.MaxPool2d((1, 2))),
                nn.Sequential(ConvBNReLU(c[7], c[8], (1, 2)), ConvBNReLU(c[8], c[9], (1, 2)), nn.MaxPool2d((1, 2))),
            ]
        )
        shapes = self.stage_output_shapes()
        flat = int(torch.tensor(shapes[-1]).prod())
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, fc_units),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(fc_units, fc_units),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self._output_size = fc_units

    def stage_output_shapes(self) -> List[Tuple[int, ...]]:
        """(C, H, W) after each stage for ``input_length`` samples; raises if a map collapses."""
        shapes: List[Tuple[int, ...]] = []
        was_training = self.training
        self.eval()
        with torch.no_grad():
            h = torch.zeros(1, 1, 1, self.input_length)
            for index, stage in enumerate(self.stages):
                try:
                    h = stage(h)
                except RuntimeError as err:
                    raise ValueError(
                        f"EnvNetV2Encoder: input_length {self.input_length} at {self.sample_rate} Hz is too short "
                        f"for stage {index + 1} (maps so far {shapes}); use a longer input or a smaller first_pool"
                    ) from err
                shapes.append(tuple(h.shape[1:]))
        self.train(was_training)
        return shapes

    def output_size(self) -> int:
        return self._output_size

    def mix_point_modules(self) -> List[nn.Module]:
        """Modules whose outputs are mix points 1..4 (mix point 0 is the input waveform)."""
        return list(self.stages[:4])

    def forward(
        self, xs_pad: torch.Tensor, ilens: torch.Tensor, prev_states: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor, None]:
        """(B, T) or (B, T, 1) waveforms of exactly ``input_length`` samples -> (B, 1, fc_units)."""
        if xs_pad.dim() == 3:
            xs_pad = xs_pad.squeeze(-1)
        if xs_pad.shape[1] != self.input_length:
            raise ValueError(
                f"EnvNetV2Encoder expects crops of input_length={self.input_length} samples, got {xs_pad.shape[1]} "
                "(set the model's crop_length to the encoder's input_length)"
            )
        h = xs_pad[:, None, None, :]
        for stage in self.stages:
            h = stage(h)
        out = self.fc(h)[:, None, :]
        return out, torch.ones(out.shape[0], dtype=torch.long, device=out.device), None
