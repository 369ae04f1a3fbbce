"""Learn2Diss pretraining model (an ESPnet AbsESPnetModel).

One forward computes, depending on ``stage``:

* ``frame``: pseudo-con loss of the frame encoder against k-means labels;
* ``utterance``: NT-Xent of the utterance encoder on two random crops;
* ``separate``: both losses, no coupling (each encoder trained alone; their
  parameters are disjoint) while CLUB's q learns to follow them;
* ``joint``: both losses + ``mi_weight`` * CLUB estimate.

Gradient routing of CLUB: q's loss -log q(y|x) is computed on *detached*
x, y, so it reaches only q; the MI term is computed with q's parameters
*detached* (functional call), so it reaches only the encoders. q has its own
optimiser (the task's second one, ``optim2``). With ``q_steps: 0`` the summed
loss gives each parameter exactly the gradient of its own objective and both
optimisers take one step per batch. With ``q_steps: K`` q first takes K steps
of its own on the batch's detached pairs, then the encoders take one step
against the updated q, as the CLUB authors' code does: a q that lags one step
behind is outrun by the encoders and its estimate falls without the
information going away. CLUB's utterance embedding is an unpadded crop
computed with the ECAPA's BatchNorm on its running statistics
(``club_batchnorm: running``), as at test time: with batch statistics it
depends on the rest of the batch, and the encoders can lower the MI of that
embedding alone.

``adversary_weight > 0`` adds the non-CLUB control: a speaker classifier on
the time-averaged frame encoder (CLUB's x) behind a gradient-reversal layer,
trained on the ``speaker`` ids of the data.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_espnet_model import AbsESPnetModel
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask

from espnet_mixrep.learn2diss.encoders import FrameEncoder, UtteranceEncoder
from espnet_mixrep.learn2diss.extractors import AbsExtractor
from espnet_mixrep.learn2diss.losses import CLUBEstimator, nt_xent_loss, pseudo_con_loss, reverse_gradient
from espnet_mixrep.learn2diss.monitor import ClubMonitor, PairBatch

STAGES = ("frame", "utterance", "separate", "joint")
CLUB_BATCHNORM = ("running", "batch")


@contextmanager
def running_batch_norm(module: torch.nn.Module) -> Iterator[None]:
    """Inside the block, ``module``'s BatchNorm layers normalise with their running statistics (as in eval)."""
    layers = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training]
    for layer in layers:
        layer.eval()
    try:
        yield
    finally:
        for layer in layers:
            layer.train()


class KMeansLabelMismatch(ValueError):
    """k-means labels do not line up with the extractor's frames."""


class Learn2DissModel(AbsESPnetModel):
    def __init__(
        self,
        extractor: AbsExtractor,
        stage: str = "separate",
        frame_encoder_conf: Optional[dict] = None,
        utterance_encoder_conf: Optional[dict] = None,
        projection_size: int = 64,
        pseudo_con_temperature: float = 0.1,
        max_anchors: int = 512,
        ntxent_temperature: float = 0.2,
        crop_ratio: Tuple[float, float] = (0.5, 0.8),
        min_crop_frames: int = 8,
        club_hidden_size: int = 128,
        mi_weight: float = 1e-3,
        club_weight: float = 1.0,
        club_batchnorm: str = "running",
        club_activation: str = "elu",
        club_normalize_input: bool = True,
        q_steps: int = 0,
        refit_interval: int = 0,
        refit_steps: int = 1000,
        refit_lr: float = 1e-3,
        on_negative_mi: str = "warn",
        adversary_weight: float = 0.0,
        num_speakers: int = 0,
        adversary_hidden_size: int = 64,
    ) -> None:
        super().__init__()
        if stage not in STAGES:
            raise ValueError(f"unknown stage '{stage}'; choose one of {STAGES}")
        self.stage = stage
        self.extractor = extractor
        self.frame_encoder = FrameEncoder(extractor.feature_size, extractor.num_layers, **(frame_encoder_conf or {}))
        self.frame_projector = torch.nn.Linear(self.frame_encoder.output_size(), projection_size)
        self.utterance_encoder = UtteranceEncoder(
            extractor.feature_size, extractor.num_layers, **(utterance_encoder_conf or {})
        )
        self.club = CLUBEstimator(
            self.frame_encoder.output_size(),
            self.utterance_encoder.output_size(),
            club_hidden_size,
            activation=club_activation,
            normalize_input=club_normalize_input,
        )
        self.pseudo_con_temperature = pseudo_con_temperature
        self.max_anchors = max_anchors
        self.ntxent_temperature = ntxent_temperature
        self.crop_ratio = tuple(crop_ratio)
        self.min_crop_frames = min_crop_frames
        self.mi_weight = mi_weight
        self.club_weight = club_weight
        if club_batchnorm not in CLUB_BATCHNORM:
            raise ValueError(f"club_batchnorm must be one of {CLUB_BATCHNORM}, got '{club_batchnorm}'")
        self.club_batchnorm = club_batchnorm
        if q_steps < 0:
            raise ValueError(f"q_steps must be >= 0, got {q_steps}")
        self.q_steps = q_steps
        self._q_optimizer: Optional[torch.optim.Optimizer] = None
        self.club_monitor = (
            ClubMonitor(refit_interval, club_hidden_size, refit_steps, refit_lr, on_negative=on_negative_mi)
            if refit_interval
            else None
        )
        self._collected_pairs: Optional[List[PairBatch]] = None
        self.adversary_weight = adversary_weight
        self.speaker_adversary: Optional[torch.nn.Module] = None
        if adversary_weight < 0:
            raise ValueError(f"adversary_weight must be >= 0, got {adversary_weight}")
        if adversary_weight > 0:
            if num_speakers < 2:
                raise ValueError(f"adversary_weight > 0 needs num_speakers >= 2 (the speaker ids' range), got {num_speakers}")
            self.speaker_adversary = torch.nn.Sequential(
                torch.nn.Linear(self.frame_encoder.output_size(), adversary_hidden_size),
                torch.nn.ReLU(),
                torch.nn.Linear(adversary_hidden_size, num_speakers),
            )
        self.num_speakers = num_speakers

    # ---- representations used downstream ---------------------------------
    def extract(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor]:
        return self.extractor(speech, speech_lengths)

    def frame_layers(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor]:
        layers, lengths = self.extract(speech, speech_lengths)
        return self.frame_encoder(layers, lengths)

    def utterance_embedding(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> torch.Tensor:
        layers, lengths = self.extract(speech, speech_lengths)
        return self.utterance_encoder(layers, lengths)

    @staticmethod
    def pool_frames(frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Mean over valid frames: (B, T, D) -> (B, D)."""
        mask = (~make_pad_mask(lengths, maxlen=frames.size(1))).to(frames.device).unsqueeze(-1)
        return (frames * mask).sum(1) / lengths.clamp(min=1).unsqueeze(-1).to(frames.dtype)

    def club_pair(
        self, last_frames: torch.Tensor, frame_lengths: torch.Tensor, embedding: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """CLUB's (x, y): the time-averaged last frame-encoder block and the utterance embedding.

        y is put on the unit sphere (the geometry NT-Xent trains) scaled by
        sqrt(dim), i.e. unit variance per dimension, so q's tanh-bounded
        log-variance (variance in [1/e, e]) can fit it; the raw embedding's
        scale is arbitrary and would leave q mis-calibrated.
        """
        x = self.pool_frames(last_frames, frame_lengths)
        y = torch.nn.functional.normalize(embedding, dim=-1) * embedding.size(-1) ** 0.5
        return x, y

    # ---- training ----------------------------------------------------------
    def attach_q_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """The optimiser over ``self.club``'s parameters that ``q_steps`` uses (Learn2DissTask's second)."""
        q_ids = {id(p) for p in self.club.parameters()}
        if {id(p) for group in optimizer.param_groups for p in group["params"]} != q_ids:
            raise ValueError("the q optimizer must hold exactly the CLUB estimator's parameters")
        self._q_optimizer = optimizer

    def _update_q(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """``q_steps`` maximum-likelihood steps of q on this batch's detached pairs."""
        if self._q_optimizer is None:
            raise RuntimeError("q_steps > 0 needs q's optimizer: build the model and optimizers with Learn2DissTask")
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        with torch.autocast(x.device.type, enabled=False):
            x, y = x.detach().float(), y.detach().float()
            for _ in range(self.q_steps):
                self._q_optimizer.zero_grad(set_to_none=True)
                (-self.club.log_likelihood(x, y)).backward()
                if distributed:  # keep q the same on every process
                    for p in self.club.parameters():
                        if p.grad is not None:
                            torch.distributed.all_reduce(p.grad)
                            p.grad /= torch.distributed.get_world_size()
                self._q_optimizer.step()
        # No gradient is left on q, so the trainer's step of this optimiser does nothing.
        self._q_optimizer.zero_grad(set_to_none=True)

    def start_collecting_pairs(self) -> None:
        """Keep CLUB's (x, y) of the following evaluation forwards (for the refit monitor)."""
        self._collected_pairs = []

    def stop_collecting_pairs(self) -> List[PairBatch]:
        batches, self._collected_pairs = self._collected_pairs or [], None
        return batches

    def _speaker_adversary_loss(
        self, x: torch.Tensor, speaker: Optional[torch.Tensor]
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        if speaker is None:
            raise ValueError(
                "adversary_weight > 0 needs 'speaker' ids in the data (text_int, one id per utterance, "
                "written by espnet_mixrep.bin.l2d_speaker_ids)"
            )
        speaker = speaker[:, 0].to(x.device)
        bad = (speaker < 0) | (speaker >= self.num_speakers)
        if bad.any():
            raise ValueError(
                f"speaker id {int(speaker[bad][0])} is outside [0, {self.num_speakers}) (num_speakers); "
                "the ids must come from the same speaker list as the training set's"
            )
        logits = self.speaker_adversary(reverse_gradient(x, self.adversary_weight))
        return F.cross_entropy(logits, speaker), (logits.argmax(-1) == speaker).float().mean()

    def _equal_crops(self, feats: torch.Tensor, lengths: torch.Tensor, ratio: float) -> Tuple[torch.Tensor, torch.Tensor]:
        """One crop per utterance, all of ``ratio`` times the batch's shortest length: no padding.

        The utterance encoder (ECAPA-TDNN) has no padding mask, so padded
        frames would change every embedding of a batch (and its BatchNorm
        statistics) with the lengths of the other utterances. Starts are random
        in training, centred otherwise.
        """
        shortest = int(lengths.min())
        size = min(shortest, max(self.min_crop_frames, int(shortest * ratio)))
        crops = []
        for utt, length in zip(feats, lengths.tolist()):
            room = length - size
            start = int(torch.randint(0, room + 1, ()).item()) if self.training else room // 2
            crops.append(utt[start : start + size])
        return torch.stack(crops), torch.full_like(lengths, size)

    def _random_crops(self, feats: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        low, high = self.crop_ratio
        return self._equal_crops(feats, lengths, low + (high - low) * torch.rand(()).item())

    def _check_labels(self, kmeans: torch.Tensor, kmeans_lengths: torch.Tensor, lengths: torch.Tensor) -> None:
        mismatch = (kmeans_lengths.to(lengths.device) != lengths).nonzero().flatten()
        if len(mismatch) > 0:
            i = int(mismatch[0])
            raise KMeansLabelMismatch(
                f"k-means labels have {int(kmeans_lengths[i])} frames but the extractor gives "
                f"{int(lengths[i])} for batch item {i} ({len(mismatch)} of {len(lengths)} items differ): "
                "the labels must be written by espnet_mixrep.bin.l2d_kmeans with the same extractor "
                "config as this training run"
            )

    def forward(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        kmeans: Optional[torch.Tensor] = None,
        kmeans_lengths: Optional[torch.Tensor] = None,
        speaker: Optional[torch.Tensor] = None,
        utt_id: Optional[Sequence[str]] = None,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, Optional[torch.Tensor]], torch.Tensor]:
        layers, lengths = self.extract(speech, speech_lengths)
        use_frame = self.stage in ("frame", "separate", "joint")
        use_utterance = self.stage in ("utterance", "separate", "joint")
        batch_size = speech.size(0)
        loss = speech.new_zeros(())
        stats: Dict[str, Optional[torch.Tensor]] = {}

        if use_frame:
            if kmeans is None or kmeans_lengths is None:
                raise ValueError(f"stage '{self.stage}' trains the frame encoder and needs 'kmeans' labels in the data")
            self._check_labels(kmeans, kmeans_lengths, lengths)
            frame_layers, frame_lengths = self.frame_encoder(layers, lengths)
            frames = frame_layers[-1]
            mask = ~make_pad_mask(frame_lengths, maxlen=frames.size(1)).to(frames.device)
            labels = kmeans[:, : frames.size(1)]
            loss_pc = pseudo_con_loss(
                self.frame_projector(frames[mask]), labels[mask], self.pseudo_con_temperature, self.max_anchors
            )
            loss = loss + loss_pc
            stats["loss_pseudo_con"] = loss_pc.detach()

        if use_utterance:
            selected = self.utterance_encoder.selector(layers)
            view1 = self.utterance_encoder.forward_features(*self._random_crops(selected, lengths))
            view2 = self.utterance_encoder.forward_features(*self._random_crops(selected, lengths))
            loss_nt = nt_xent_loss(view1, view2, self.ntxent_temperature)
            loss = loss + loss_nt
            stats["loss_ntxent"] = loss_nt.detach()

        if use_frame and use_utterance:
            with running_batch_norm(self.utterance_encoder) if self.club_batchnorm == "running" else nullcontext():
                embedding = self.utterance_encoder.forward_features(*self._equal_crops(selected, lengths, 1.0))
            x, y = self.club_pair(frames, frame_lengths, embedding)
            if self.q_steps > 0:
                if self.training:
                    self._update_q(x, y)
                with torch.no_grad():
                    loss_q = -self.club.log_likelihood(x.detach(), y.detach())
            else:
                loss_q = -self.club.log_likelihood(x.detach(), y.detach())
                loss = loss + self.club_weight * loss_q
            # Validation uses all B^2 pairs for a steadier estimate.
            mi = self.club.mi_upper_bound(x, y, sampled=self.training, frozen_q=True)
            if self.stage == "joint":
                loss = loss + self.mi_weight * mi
            stats["club_mi"] = mi.detach()
            stats["club_nll"] = loss_q.detach()
            if self._collected_pairs is not None and not self.training:
                if utt_id is None:
                    raise ValueError("the CLUB refit monitor needs the batch's utt_id (ESPnet's trainer passes it)")
                self._collected_pairs.append((list(utt_id), x.detach(), y.detach()))

        if self.speaker_adversary is not None and use_frame:
            loss_adv, adv_acc = self._speaker_adversary_loss(self.pool_frames(frames, frame_lengths), speaker)
            loss = loss + loss_adv
            stats["loss_adversary"] = loss_adv.detach()
            stats["adversary_acc"] = adv_acc.detach()

        stats["loss"] = loss.detach()
        loss, stats, weight = force_gatherable((loss, stats, batch_size), loss.device)
        return loss, stats, weight

    def collect_feats(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor, **kwargs
    ) -> Dict[str, torch.Tensor]:
        layers, lengths = self.extract(speech, speech_lengths)
        return {"feats": layers[-1], "feats_lengths": lengths}
