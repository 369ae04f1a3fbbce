"""ESPnet's joint CTC-attention ASR model trained with MixRep (``model: mixrep``).

One training step (see ../shared/specs/mixrep.md): the encoder draws a
:class:`~espnet_mixrep.mixrep.mixing.MixPlan`; layer 0 is mixed here (features
before SpecAugment and normalisation, or the raw waveform), a hidden layer
inside the encoder. The CTC and attention losses of a mixed row are
``lam * L(y_row) + (1 - lam) * L(y_partner)``; the partner transcripts' passes
run on the mixed rows only, and every loss keeps ESPnet's batch normalisation,
so with no row mixed the loss is exactly ESPnetASRModel's. Evaluation and
inference never mix.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Dict, Iterator, Optional, Tuple

import torch
from espnet2.asr.espnet_model import ESPnetASRModel
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet.nets.pytorch_backend.transformer.add_sos_eos import add_sos_eos

from espnet_mixrep.mixrep.encoder import MixRepEncoderMixin
from espnet_mixrep.mixrep.mixing import MixPlan, mix_padded


class MixRepASRModel(ESPnetASRModel):
    """ESPnetASRModel whose training step mixes representations of two utterances."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._layer0_plan: Optional[MixPlan] = None
        self._check_supported()

    def _check_supported(self) -> None:
        if not isinstance(self.encoder, MixRepEncoderMixin):
            raise ValueError(
                f"model: mixrep needs a mixing encoder (mixrep_conformer, mixrep_transformer, "
                f"mixrep_e_branchformer), got {type(self.encoder).__name__}"
            )
        if not self.encoder.mixing_enabled:
            return
        unsupported = []
        if self.use_transducer_decoder or self.use_linear_decoder:
            unsupported.append("a transducer or linear decoder")
        if self.interctc_weight != 0.0:
            unsupported.append(f"interctc_weight={self.interctc_weight}")
        if getattr(self, "lang_token_id", None) is not None:
            unsupported.append("lang_token_id")
        if self.postencoder is not None:
            unsupported.append("a postencoder")
        if self.ctc_weight != 0.0 and self.ctc.ctc_type != "builtin":
            unsupported.append(f"ctc_type={self.ctc.ctc_type!r} (only 'builtin')")
        if unsupported:
            raise ValueError("model: mixrep does not support mixing with " + ", ".join(unsupported))
        if 0 in self.encoder.mix_layers and self.encoder.mix_layer0_domain == "waveform" and self.frontend is None:
            raise ValueError(
                "mix_layer0_domain='waveform' needs a frontend (the input here is already features); "
                "use mix_layer0_domain: feats"
            )

    # -- layer 0 --------------------------------------------------------------
    def _extract_feats(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        plan = self._layer0_plan
        if plan is None:
            return super()._extract_feats(speech, speech_lengths)
        if self.encoder.mix_layer0_domain == "waveform":
            speech = speech[:, : speech_lengths.max()]
            speech, speech_lengths = mix_padded(speech, speech_lengths, plan)
        feats, feats_lengths = super()._extract_feats(speech, speech_lengths)
        if self.encoder.mix_layer0_domain == "feats":
            feats, feats_lengths = mix_padded(feats, feats_lengths, plan)
        plan.applied = True
        return feats, feats_lengths

    @contextlib.contextmanager
    def _mixing(self, plan: MixPlan) -> Iterator[None]:
        self._layer0_plan = plan if plan.layer == 0 else None
        try:
            with self.encoder.mixing(plan if plan.layer > 0 else None):
                yield
        finally:
            self._layer0_plan = None

    # -- training step ----------------------------------------------------------
    def forward(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, Optional[torch.Tensor]], torch.Tensor]:
        if not (self.training and self.encoder.mixing_enabled):
            return super().forward(speech, speech_lengths, text, text_lengths, **kwargs)
        plan = self.encoder.draw_mix_plan(speech.size(0))
        if plan is not None:
            return self.mixed_forward(speech, speech_lengths, text, text_lengths, plan)
        loss, stats, weight = super().forward(speech, speech_lengths, text, text_lengths, **kwargs)
        # Same keys as a mixed step (NaN: ESPnet's reporter and its cross-rank
        # average skip it): DDP ranks all-reduce the stats key by key, so a
        # rank that does not mix must still issue every collective.
        stats.update(force_gatherable(mix_stats(None), loss.device))
        return loss, stats, weight

    def mixed_forward(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        plan: MixPlan,
    ) -> Tuple[torch.Tensor, Dict[str, Optional[torch.Tensor]], torch.Tensor]:
        """The loss of one step under a given plan (the draw is separate so tests can fix it)."""
        batch_size = speech.size(0)
        text = text.masked_fill(text == -1, self.ignore_id)[:, : text_lengths.max()]
        with self._mixing(plan):
            encoder_out, encoder_out_lens = self.encode(speech, speech_lengths)
        if not plan.applied:
            raise RuntimeError(f"MixRep: the mixing step at layer {plan.layer} did not run")

        device = encoder_out.device
        rows, partners = plan.rows.to(device), plan.partners.to(device)
        lam = plan.lam.to(device)
        own_weight = torch.ones(batch_size, device=device).index_copy(0, rows, lam)
        partner_weight = 1.0 - lam
        partner_text = text[partners][:, : text_lengths[partners].max()]
        mixed = (encoder_out[rows], encoder_out_lens[rows], partner_text, text_lengths[partners])

        stats: Dict[str, Optional[torch.Tensor]] = {}
        loss_ctc = loss_att = acc_att = None
        if self.ctc_weight != 0.0:
            own = self._ctc_per_row(encoder_out, encoder_out_lens, text, text_lengths)
            other = self._ctc_per_row(*mixed)
            loss_ctc = ((own_weight * own).sum() + (partner_weight * other).sum()) / batch_size
            stats["loss_ctc"] = loss_ctc.detach()
            stats["cer_ctc"] = None
        if self.ctc_weight != 1.0:
            own_loss, own_correct, own_count = self._att_per_row(encoder_out, encoder_out_lens, text, text_lengths)
            other_loss, other_correct, other_count = self._att_per_row(*mixed)
            denominator = own_count.sum() if self.criterion_att.normalize_length else batch_size
            loss_att = ((own_weight * own_loss).sum() + (partner_weight * other_loss).sum()) / denominator
            # lambda-weighted token accuracy over both transcripts
            acc_att = (
                ((own_weight * own_correct).sum() + (partner_weight * other_correct).sum())
                / ((own_weight * own_count).sum() + (partner_weight * other_count).sum())
            ).detach()
            stats["loss_att"] = loss_att.detach()
            stats["acc"] = acc_att
            stats["cer"] = None
            stats["wer"] = None

        if loss_att is None:
            loss = loss_ctc
        elif loss_ctc is None:
            loss = loss_att
        else:
            loss = self.ctc_weight * loss_ctc + (1 - self.ctc_weight) * loss_att
        stats["loss"] = loss.detach()
        stats.update(mix_stats(plan))
        loss, stats, weight = force_gatherable((loss, stats, batch_size), loss.device)
        return loss, stats, weight

    def _ctc_per_row(
        self, hs: torch.Tensor, hlens: torch.Tensor, ys: torch.Tensor, ylens: torch.Tensor
    ) -> torch.Tensor:
        """ESPnet's CTC loss of each row, not averaged (ESPnet's own module, reduce off)."""
        reduce = self.ctc.reduce
        self.ctc.reduce = False
        try:
            # With reduce=False ESPnet's builtin CTC returns loss_i / rows.
            return self.ctc(hs, hlens, ys, ylens) * hs.size(0)
        finally:
            self.ctc.reduce = reduce

    def _att_per_row(
        self, hs: torch.Tensor, hlens: torch.Tensor, ys: torch.Tensor, ylens: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per row: label-smoothed decoder loss (summed over tokens), correct tokens, tokens."""
        ys_in, ys_out = add_sos_eos(ys, self.sos, self.eos, self.ignore_id)
        decoder_out, _ = self.decoder(hs, hlens, ys_in, ylens + 1)
        loss = label_smoothing_loss_per_row(self.criterion_att, decoder_out, ys_out)
        valid = ys_out != self.ignore_id
        correct = ((decoder_out.argmax(-1) == ys_out) & valid).sum(-1).to(loss.dtype)
        return loss, correct, valid.sum(-1).to(loss.dtype)


def mix_stats(plan: Optional[MixPlan]) -> Dict[str, torch.Tensor]:
    """The mixing statistics of one training step; NaN for a step that did not mix."""
    if plan is None:
        return {"mix_layer": torch.tensor(float("nan")), "mix_lambda": torch.tensor(float("nan"))}
    return {"mix_layer": torch.tensor(float(plan.layer)), "mix_lambda": plan.lam.mean()}


def label_smoothing_loss_per_row(criterion: torch.nn.Module, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """ESPnet's LabelSmoothingLoss summed per row instead of over the batch.

    ``criterion`` is the model's own LabelSmoothingLoss (its smoothing, padding
    index and KL criterion are used); summing the result and dividing by the
    batch size (or token count) gives exactly ``criterion(logits, target)``.
    """
    size = criterion.size
    ignore = target == criterion.padding_idx
    with torch.no_grad():
        true_dist = torch.full_like(logits, criterion.smoothing / (size - 1))
        true_dist.scatter_(-1, target.masked_fill(ignore, 0).unsqueeze(-1), criterion.confidence)
    kl = criterion.criterion(torch.log_softmax(logits, dim=-1), true_dist)
    return kl.masked_fill(ignore.unsqueeze(-1), 0).sum(dim=(1, 2))


MixRepASRModel.__init__.__signature__ = inspect.signature(ESPnetASRModel.__init__)  # type: ignore[attr-defined]
