"""ESPnet encoders that can mix hidden representations (MixRep).

The mixing needs nothing from the encoder but its list of blocks
(``self.encoders``), so one mixin serves ESPnet's Conformer, Transformer and
E-Branchformer: a forward hook on block k-1 mixes that block's output (the
residual stream after k blocks) and rewrites the mask to the merged lengths,
which ESPnet's own forward then turns into the output lengths. Layer 0 (the
encoder input) is mixed by :class:`~espnet_mixrep.mixrep.model.MixRepASRModel`,
before SpecAugment and normalisation.

In eval mode, or outside :meth:`MixRepEncoderMixin.mixing`, the forward is
exactly ESPnet's; the mixin adds no parameters, so state_dicts load both ways.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from typing import Any, Iterator, List, Optional, Sequence, Union

import torch
from espnet2.asr.encoder.conformer_encoder import ConformerEncoder
from espnet2.asr.encoder.e_branchformer_encoder import EBranchformerEncoder
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask

from espnet_mixrep.core.rng import EpochGenerator
from espnet_mixrep.mixrep.mixing import (
    MixPlan,
    check_mix_hyperparameters,
    draw_mix_plan,
    mix_padded,
    parse_mix_layers,
)

MIX_DEFAULTS = dict(
    mix_layers="0",
    mix_alpha=2.0,
    mix_tau=0.15,
    mix_lambda_per_utterance=False,
    mix_layer0_domain="feats",
)


class MixRepEncoderMixin:
    """Adds MixRep's hidden mixing to an ESPnet encoder with ``self.encoders`` blocks.

    Config keys (``encoder_conf``), besides the base encoder's own:
      mix_layers: layer set S, e.g. "0", "9" or "0,9" (0 = encoder input,
        k = output of block k, as everywhere in espnet_mixrep: README, "Layer
        numbering"); one layer is drawn uniformly per step.
      mix_alpha: lambda ~ Beta(alpha, alpha).
      mix_tau: fraction of the batch's rows that get a partner (0 disables mixing).
      mix_lambda_per_utterance: one lambda per mixed row instead of per step.
      mix_layer0_domain: "feats" (mix the frontend's features, the paper's
        choice) or "waveform" (mix raw audio, as the authors' recipes did).
    """

    encoders: torch.nn.Module

    def __init__(
        self,
        input_size: int,
        mix_layers: Union[int, str, Sequence[int]] = MIX_DEFAULTS["mix_layers"],
        mix_alpha: float = MIX_DEFAULTS["mix_alpha"],
        mix_tau: float = MIX_DEFAULTS["mix_tau"],
        mix_lambda_per_utterance: bool = MIX_DEFAULTS["mix_lambda_per_utterance"],
        mix_layer0_domain: str = MIX_DEFAULTS["mix_layer0_domain"],
        **encoder_kwargs: Any,
    ) -> None:
        # Cheap checks first: a bad value fails before the network is built.
        check_mix_hyperparameters(mix_alpha, mix_tau, mix_layer0_domain)
        super().__init__(input_size, **encoder_kwargs)  # type: ignore[call-arg]
        num_blocks = len(self.encoders)
        self.mix_layers: List[int] = parse_mix_layers(mix_layers, num_blocks)
        self.mix_alpha = float(mix_alpha)
        self.mix_tau = float(mix_tau)
        self.mix_lambda_per_utterance = bool(mix_lambda_per_utterance)
        self.mix_layer0_domain = mix_layer0_domain
        hidden_layers = [k for k in self.mix_layers if k > 0]
        if hidden_layers and self.mix_tau > 0:
            self._check_hidden_mixing_supported()
        for k in hidden_layers:
            self.encoders[k - 1].register_forward_hook(functools.partial(self._mix_block_output, k))
        self._active_plan: Optional[MixPlan] = None
        self._rng = EpochGenerator()  # resume-exact, one stream per DDP rank

    def _check_hidden_mixing_supported(self) -> None:
        if len(getattr(self, "interctc_layer_idx", []) or []) > 0:
            raise ValueError(
                f"mix_layers={self.mix_layers} with interctc_layer_idx={self.interctc_layer_idx}: "
                "intermediate CTC is not supported together with hidden mixing "
                "(use mix_layers: \"0\" or drop interctc_layer_idx)"
            )
        layer_drop_rate = getattr(self.encoders, "layer_drop_rate", 0.0)
        if layer_drop_rate > 0:
            raise ValueError(
                f"mix_layers={self.mix_layers} with layer_drop_rate={layer_drop_rate}: a dropped "
                "block would skip its mixing step; set layer_drop_rate: 0.0"
            )

    @property
    def mixing_enabled(self) -> bool:
        return self.mix_tau > 0

    def draw_mix_plan(self, batch_size: int) -> Optional[MixPlan]:
        """Draw this step's plan (None: no mixing this step)."""
        if not self.mixing_enabled:
            return None
        return draw_mix_plan(
            self._rng(), self.mix_layers, batch_size, self.mix_alpha, self.mix_tau,
            self.mix_lambda_per_utterance,
        )

    @contextlib.contextmanager
    def mixing(self, plan: Optional[MixPlan]) -> Iterator[None]:
        """Within this context a training forward mixes at ``plan.layer`` >= 1."""
        self._active_plan = plan
        try:
            yield
        finally:
            self._active_plan = None

    def _mix_block_output(self, layer: int, module: torch.nn.Module, args: Any, output: Any) -> Any:
        plan = self._active_plan
        if plan is None or plan.layer != layer or not self.training:
            return None
        xs, masks = output[0], output[1]
        x = xs[0] if isinstance(xs, tuple) else xs  # relative positions: (hidden, pos_emb)
        lengths = masks.squeeze(1).sum(-1)
        x, merged = mix_padded(x, lengths, plan)
        masks = (~make_pad_mask(merged, maxlen=x.size(1)))[:, None, :].to(masks.device)
        plan.applied = True
        xs = (x, *xs[1:]) if isinstance(xs, tuple) else x
        return (xs, masks, *output[2:])


def _with_mix_signature(cls: type) -> type:
    """Expose the mixing keys and the base encoder's keys in one signature.

    ESPnet's --print_config reads __init__'s signature; the base encoder's
    options pass through **encoder_kwargs, so we publish the merged one.
    """
    mixin_params = list(inspect.signature(MixRepEncoderMixin.__init__).parameters.values())[:-1]
    base = next(b for b in cls.__mro__[1:] if b is not MixRepEncoderMixin and "__init__" in vars(b))
    names = {p.name for p in mixin_params}
    base_params = [
        p for p in inspect.signature(base.__init__).parameters.values() if p.name not in names
    ]
    cls.__init__.__signature__ = inspect.Signature(mixin_params + base_params)  # type: ignore[attr-defined]
    return cls


@_with_mix_signature
class MixRepConformerEncoder(MixRepEncoderMixin, ConformerEncoder):
    """ESPnet's ConformerEncoder with MixRep mixing (``encoder: mixrep_conformer``)."""

    def __init__(self, input_size: int, **kwargs: Any) -> None:
        super().__init__(input_size, **kwargs)


@_with_mix_signature
class MixRepTransformerEncoder(MixRepEncoderMixin, TransformerEncoder):
    """ESPnet's TransformerEncoder with MixRep mixing (``encoder: mixrep_transformer``)."""

    def __init__(self, input_size: int, **kwargs: Any) -> None:
        super().__init__(input_size, **kwargs)


@_with_mix_signature
class MixRepEBranchformerEncoder(MixRepEncoderMixin, EBranchformerEncoder):
    """ESPnet's EBranchformerEncoder with MixRep mixing (``encoder: mixrep_e_branchformer``)."""

    def __init__(self, input_size: int, **kwargs: Any) -> None:
        super().__init__(input_size, **kwargs)
