"""``--model speechmix``: ESPnet's classification model with crops and hidden-space mixing.

One training step (see /work/shared/specs/speechmix.md):
1. each clip is optionally scaled, spectrally tilted and gain-augmented, padded by P zeros on
   both sides (``crop_padding``, T/2 in the paper) and randomly cropped to T
   samples (T = ``crop_length``);
2. each row gets a partner with a different label, a mixing layer m is drawn
   uniformly from ``mix_layers`` (S; 0 = the waveform, i.e. BC learning) and a
   ratio r per row;
3. at layer m, ``speechmix`` mixes with the A-weighted gain of each row's map,
   ``plain`` (manifold mixup) with r alone;
4. targets r y_i + (1 - r) y_j, loss KL(t || softmax(z)).
Validation and inference average the softmax over ``n_test_crops`` evenly
spaced crops of the padded clip (10 in the paper). Every training draw comes
from one :class:`~espnet_mixrep.core.rng.EpochGenerator`, MixRep's policy: a
resumed run draws what an uninterrupted one draws, each DDP rank its own.

Layers, numbered as everywhere in espnet_mixrep (README, "Layer numbering"):
0 is the model's input (the waveform), k >= 1 the output of encoder block k:
the encoder's ``mix_point_modules()`` (EnvNet-v2) or, for ESPnet's own
encoders (conformer, transformer...), its blocks ``encoders[k - 1]``. The
mix replaces the first tensor of a module's output (a forward hook), so masks
and positional encodings pass through untouched. Mixing rows of different
lengths would mix padding: with ``crop_length`` set every row has T samples.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.preencoder.abs_preencoder import AbsPreEncoder
from espnet2.asr.specaug.abs_specaug import AbsSpecAug
from espnet2.cls.decoder.abs_decoder import AbsDecoder
from espnet2.cls.espnet_model import ESPnetClassificationModel
from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.torch_utils.device_funcs import force_gatherable
from typeguard import typechecked

from espnet_mixrep.core.rng import EpochGenerator
from espnet_mixrep.speechmix.gain import default_n_fft, sound_pressure_gain_db
from espnet_mixrep.speechmix.mixing import (
    MIX_MODES,
    draw_ratios,
    gain_aware_mix,
    kl_loss,
    pick_partners,
    plain_mix,
    soft_targets,
)


def mix_point_modules(encoder: torch.nn.Module) -> List[torch.nn.Module]:
    """Modules whose outputs are mix points 1..K of ``encoder`` (mix point 0 is the waveform)."""
    if hasattr(encoder, "mix_point_modules"):
        return list(encoder.mix_point_modules())
    if hasattr(encoder, "encoders"):
        return list(encoder.encoders)
    return []


def _map_first_tensor(output: Any, fn) -> Any:
    if isinstance(output, torch.Tensor):
        return fn(output)
    if isinstance(output, tuple) and output:
        return (_map_first_tensor(output[0], fn),) + output[1:]
    raise TypeError(f"cannot mix a module output of type {type(output).__name__}")


@dataclass
class _MixPlan:
    layer: int
    partner: torch.Tensor
    ratio: torch.Tensor
    applied: bool = False


def _mixing_options() -> List[str]:
    """The ``model_conf`` keys that model speechmix adds to ESPnetClassificationModel's."""
    return list(inspect.signature(SpeechMixClassificationModel._setup_mixing).parameters)[1:]


class SpeechMixClassificationModel(ESPnetClassificationModel):
    """ESPnetClassificationModel + SpeechMix / BC learning / manifold mixup + multi-crop testing."""

    @typechecked
    def __init__(
        self,
        vocab_size: int,
        token_list: Union[Tuple[str, ...], List[str]],
        frontend: Optional[AbsFrontend],
        specaug: Optional[AbsSpecAug],
        normalize: Optional[AbsNormalize],
        preencoder: Optional[AbsPreEncoder],
        encoder: AbsEncoder,
        decoder: AbsDecoder,
        **kwargs: Any,
    ) -> None:
        """ESPnetClassificationModel's arguments; the options of :meth:`_setup_mixing` go there."""
        mixing = {name: kwargs.pop(name) for name in _mixing_options() if name in kwargs}
        super().__init__(vocab_size, token_list, frontend, specaug, normalize, preencoder, encoder, decoder, **kwargs)
        self._setup_mixing(**mixing)

    @classmethod
    def from_stock_model(cls, stock: ESPnetClassificationModel, **mix_conf: Any) -> "SpeechMixClassificationModel":
        """``stock`` (what ESPnet's CLSTask built, all its parts and settings) with SpeechMix on top.

        ``stock`` is consumed: the new model takes over its modules. ``mix_conf``
        holds the options of :meth:`_setup_mixing` (``mix_mode``, ``mix_layers``...).
        """
        if type(stock) is not ESPnetClassificationModel:
            raise TypeError(f"expected the stock ESPnetClassificationModel, got {type(stock).__name__}")
        options = _mixing_options()
        unknown = sorted(set(mix_conf) - set(options))
        if unknown:
            raise ValueError(
                f"model_conf: {unknown} are options of neither ESPnetClassificationModel nor model speechmix "
                f"(speechmix adds {options})"
            )
        model = cls.__new__(cls)
        model.__dict__.update(stock.__dict__)
        model._setup_mixing(**mix_conf)
        return model

    def _setup_mixing(
        self,
        mix_mode: str = "speechmix",
        mix_layers: Sequence[int] = (0,),
        sample_rate: int = 16000,
        gain_n_fft: Optional[int] = None,
        crop_length: Optional[int] = None,
        crop_padding: Optional[int] = None,
        n_test_crops: int = 10,
        scale_augment: float = 1.0,
        gain_augment_db: float = 0.0,
        tilt_augment: float = 0.0,
        ratio_eps: float = 1e-3,
    ) -> None:
        encoder = self.encoder
        if self.classification_type != "multi-class":
            raise ValueError("model speechmix supports classification_type 'multi-class' only")
        if self.mixup_augmentation is not None:
            raise ValueError("model speechmix does its own mixing: leave ESPnet's mixup_probability at 0")
        if mix_mode not in MIX_MODES:
            raise ValueError(f"mix_mode must be one of {MIX_MODES}, got '{mix_mode}'")
        self.mix_mode = mix_mode
        self.mix_layers = [int(m) for m in mix_layers]
        points = mix_point_modules(encoder)
        if mix_mode != "none":
            if not self.mix_layers:
                raise ValueError(f"mix_mode '{mix_mode}' needs a non-empty mix_layers (S)")
            bad = [m for m in self.mix_layers if not 0 <= m <= len(points)]
            if bad:
                raise ValueError(
                    f"mix_layers names layer(s) {bad}, but encoder {type(encoder).__name__} has mix points "
                    f"0..{len(points)} (0 = waveform)"
                )
        encoder_rate = getattr(encoder, "sample_rate", None)
        if encoder_rate is not None and encoder_rate != sample_rate:
            # The A-weighting of the gain depends on it: catch a config that sets only one.
            raise ValueError(f"model sample_rate {sample_rate} differs from the encoder's sample_rate {encoder_rate}")
        encoder_length = getattr(encoder, "input_length", None)
        if crop_length is None:
            crop_length = encoder_length
        elif encoder_length is not None and crop_length != encoder_length:
            raise ValueError(f"crop_length {crop_length} differs from the encoder's input_length {encoder_length}")
        if crop_length is not None and crop_length < 2:
            raise ValueError(f"crop_length must be at least 2 samples, got {crop_length}")
        if crop_padding is not None and (crop_length is None or not 0 <= crop_padding <= crop_length):
            raise ValueError(
                f"crop_padding is 0..crop_length samples of zeros on each side of a clip, got {crop_padding} "
                f"(crop_length {crop_length})"
            )
        if n_test_crops < 1:
            raise ValueError(f"n_test_crops must be >= 1, got {n_test_crops}")
        if scale_augment < 1.0:
            raise ValueError(f"scale_augment is a factor >= 1 (1.25 in the paper), got {scale_augment}")
        if not 0.0 <= tilt_augment < 1.0:
            raise ValueError(
                f"tilt_augment is the largest |a| of the filter x[n] + a x[n-1], in [0, 1), got {tilt_augment}"
            )
        self.sample_rate = sample_rate
        self.gain_n_fft = gain_n_fft or default_n_fft(sample_rate)
        self.crop_length = crop_length
        self.crop_padding = crop_length // 2 if crop_padding is None and crop_length is not None else crop_padding
        self.n_test_crops = n_test_crops
        self.scale_augment = scale_augment
        self.gain_augment_db = gain_augment_db
        self.tilt_augment = tilt_augment
        self.ratio_eps = ratio_eps
        self._mix_plan: Optional[_MixPlan] = None
        self._rng = EpochGenerator()  # every training draw: resume-exact, one stream per DDP rank
        for layer, module in enumerate(points, start=1):
            module.register_forward_hook(self._make_hook(layer))

    # ------------------------------------------------------------------ mixing
    def _make_hook(self, layer: int):
        def hook(module: torch.nn.Module, inputs: Any, output: Any) -> Any:
            plan = self._mix_plan
            if plan is None or plan.applied or plan.layer != layer:
                return None
            plan.applied = True
            return _map_first_tensor(output, lambda h: self._mix(h, plan.partner, plan.ratio))

        return hook

    def _mix(self, h: torch.Tensor, partner: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
        if self.mix_mode == "plain":
            return plain_mix(h, h[partner], ratio)
        gain = sound_pressure_gain_db(h, self.sample_rate, self.gain_n_fft)
        return gain_aware_mix(h, h[partner], gain, gain[partner], ratio)

    # ------------------------------------------------------------------- crops
    def _check_lengths(self, lengths: torch.Tensor) -> None:
        shortest = int(lengths.min())
        if self.crop_length is not None and shortest < self.crop_length:
            raise ValueError(
                f"a clip of {shortest} samples is shorter than a crop of {self.crop_length} samples "
                f"({self.crop_length / self.sample_rate:.3f} s at {self.sample_rate} Hz): pad or drop short clips "
                "at data preparation, or lower crop_length"
            )

    def _augment(self, wav: torch.Tensor) -> torch.Tensor:
        if self.scale_augment > 1.0:
            factor = self.scale_augment ** self._rng().uniform(-1.0, 1.0)
            new_length = max(2, int(round(wav.shape[0] * factor)))
            wav = F.interpolate(wav[None, None], size=new_length, mode="linear", align_corners=False)[0, 0]
        if self.tilt_augment > 0.0:
            # A random first-order tilt, a in U(-t, t): a > 0 dulls the highs, a < 0 boosts
            # them (up to +-25 dB at Nyquist for t = 0.9), for channels unlike the training ones.
            a = self._rng().uniform(-self.tilt_augment, self.tilt_augment)
            wav = torch.cat([wav[:1], wav[1:] + a * wav[:-1]])
        if self.gain_augment_db > 0.0:
            wav = wav * 10.0 ** (self._rng().uniform(-self.gain_augment_db, self.gain_augment_db) / 20.0)
        return wav

    def _padded(self, wav: torch.Tensor) -> torch.Tensor:
        return F.pad(wav, (self.crop_padding, self.crop_padding))

    def _random_crops(self, speech: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        crops = []
        for wav, length in zip(speech, lengths.tolist()):
            padded = self._padded(self._augment(wav[:length]))
            short = self.crop_length - padded.shape[0]
            if short > 0:  # a clip that scale_augment shortened below the crop
                padded = F.pad(padded, (short // 2, short - short // 2))
            start = int(self._rng().integers(0, padded.shape[0] - self.crop_length + 1))
            crops.append(padded[start : start + self.crop_length])
        return torch.stack(crops)

    def _test_crops(self, speech: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B * n_test_crops, T): evenly spaced crops of each padded clip, row-major per clip."""
        crops = []
        for wav, length in zip(speech, lengths.tolist()):
            padded = self._padded(wav[:length])
            last = padded.shape[0] - self.crop_length
            starts = torch.linspace(0, last, self.n_test_crops).round().long().tolist()
            crops.extend(padded[s : s + self.crop_length] for s in starts)
        return torch.stack(crops)

    def _averaged_probs(self, speech: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Softmax averaged over test crops, (B, n_classes)."""
        if self.crop_length is None:
            encoder_out, encoder_out_lens = self.encode(speech, lengths)
            return F.softmax(self.decoder(encoder_out, encoder_out_lens), dim=-1)
        self._check_lengths(lengths)
        crops = self._test_crops(speech, lengths)
        crop_lengths = torch.full((crops.shape[0],), self.crop_length, dtype=torch.long, device=crops.device)
        encoder_out, encoder_out_lens = self.encode(crops, crop_lengths)
        probs = F.softmax(self.decoder(encoder_out, encoder_out_lens), dim=-1)
        return probs.view(speech.shape[0], self.n_test_crops, -1).mean(dim=1)

    # ----------------------------------------------------------------- forward
    def _check_labels(self, label: torch.Tensor, label_lengths: torch.Tensor) -> torch.Tensor:
        if label.dim() != 2 or int(label_lengths.max()) != 1:
            raise ValueError("model speechmix expects exactly one class token per clip in the label/text file")
        label = label[:, 0]
        bad = label[(label < 0) | (label >= self.vocab_size)]
        if bad.numel():
            raise ValueError(
                f"label id(s) {sorted(set(bad.tolist()))} are not among the {self.vocab_size} classes of the token "
                f"list (id {self.vocab_size} is '{self.token_list[-1]}': a label missing from the token list)"
            )
        return label

    def forward(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        label: torch.Tensor,
        label_lengths: torch.Tensor,
        **kwargs: Any,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        labels = self._check_labels(label, label_lengths)
        batch_size = speech.shape[0]
        onehot = F.one_hot(labels, self.vocab_size).to(speech.dtype)
        if not self.training:
            probs = self._averaged_probs(speech, speech_lengths)
            loss = F.nll_loss(torch.log(probs.clamp_min(1e-12)), labels)
            acc = (probs.argmax(-1) == labels).to(speech.dtype).mean()
        else:
            if self.crop_length is not None:
                self._check_lengths(speech_lengths)
                speech = self._random_crops(speech, speech_lengths)
                speech_lengths = torch.full_like(speech_lengths, self.crop_length)
            targets = onehot
            if self.mix_mode != "none" and batch_size > 1:
                generator = self._rng.torch_generator()
                partner, has_partner = pick_partners(labels, generator)
                ratio = draw_ratios(has_partner, self.ratio_eps, generator).to(speech.device)
                targets = soft_targets(onehot, partner, ratio)
                layer = self.mix_layers[int(self._rng().integers(len(self.mix_layers)))]
                if layer == 0:
                    speech = self._mix(speech, partner, ratio)
                else:
                    self._mix_plan = _MixPlan(layer, partner, ratio)
            try:
                encoder_out, encoder_out_lens = self.encode(speech, speech_lengths)
                if self._mix_plan is not None and not self._mix_plan.applied:
                    raise RuntimeError(f"mix point {self._mix_plan.layer} was never reached in the encoder")
            finally:
                self._mix_plan = None
            logits = self.decoder(encoder_out, encoder_out_lens)
            loss = kl_loss(targets, logits)
            # With mixing, "acc" counts hits on each row's dominant class.
            acc = (logits.argmax(-1) == targets.argmax(-1)).to(speech.dtype).mean()
        stats = {"loss": loss.detach(), "acc": acc.detach()}
        loss, stats, weight = force_gatherable((loss, stats, batch_size), loss.device)
        return loss, stats, weight

    def score(self, speech: torch.Tensor, speech_lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Class probabilities (1, n_classes), averaged over the test crops."""
        if speech.shape[0] != 1:
            raise ValueError("score() takes one clip at a time (ESPnet's cls_inference uses batch size 1)")
        if speech_lengths is None:
            speech_lengths = torch.tensor([speech.shape[1]], device=speech.device)
        return self._averaged_probs(speech, speech_lengths)
