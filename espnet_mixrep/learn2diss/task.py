"""ESPnet task for Learn2Diss pretraining (ESPnet's trainer, YAML configs, checkpoints).

Data: ``speech`` (wav.scp, type sound) and, for stages that train the frame
encoder, ``kmeans`` (per-frame cluster ids, type text_int, written by
``espnet_mixrep.bin.l2d_kmeans``); for the adversarial speaker control,
``speaker`` (one id per utterance, type text_int, written by
``espnet_mixrep.bin.l2d_speaker_ids``).

Two optimisers, ESPnet's way (``num_optimizers = 2``): ``--optim``/``--optim_conf``
(and ``--scheduler``) train the encoders, ``--optim2``/``--optim2_conf``
(``--scheduler2``) train CLUB's q; ``--optim2`` defaults to adam. Both are
saved in the checkpoint, so a resumed run continues q's Adam state too.
"""

from __future__ import annotations

import argparse
from typing import Callable, Collection, Dict, List, Optional, Tuple

import numpy as np
import torch
from espnet2.tasks.abs_task import AbsTask, optim_classes
from espnet2.torch_utils.initialize import initialize
from espnet2.train.abs_espnet_model import AbsESPnetModel
from espnet2.train.class_choices import ClassChoices
from espnet2.train.collate_fn import CommonCollateFn
from espnet2.utils.types import str_or_none
from typeguard import typechecked

from espnet_mixrep.learn2diss.extractors import EXTRACTORS, AbsExtractor
from espnet_mixrep.learn2diss.model import Learn2DissModel
from espnet_mixrep.learn2diss.monitor import Learn2DissTrainer

extractor_choices = ClassChoices("extractor", classes=dict(EXTRACTORS), type_check=AbsExtractor, default="logmel")
model_choices = ClassChoices(
    "model", classes=dict(learn2diss=Learn2DissModel), type_check=AbsESPnetModel, default="learn2diss"
)


class Learn2DissTask(AbsTask):
    num_optimizers: int = 2  # the encoders', and CLUB's q's
    class_choices_list = [extractor_choices, model_choices]
    trainer = Learn2DissTrainer

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group(description="Task related")
        group.add_argument(
            "--init",
            type=lambda x: str_or_none(x.lower()),
            default=None,
            choices=["chainer", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", None],
            help="The initialization method",
        )
        for class_choices in cls.class_choices_list:
            class_choices.add_arguments(group)

    @classmethod
    def get_parser(cls) -> argparse.ArgumentParser:
        parser = super().get_parser()
        # ESPnet's default for every optimiser is adadelta; q is an MLP fitted by maximum likelihood.
        parser.set_defaults(optim2="adam")
        return parser

    @classmethod
    @typechecked
    def build_collate_fn(
        cls, args: argparse.Namespace, train: bool
    ) -> Callable[[Collection[Tuple[str, Dict[str, np.ndarray]]]], Tuple[List[str], Dict[str, torch.Tensor]]]:
        # -1 pads the k-means labels so padding can never pass for a cluster id.
        return CommonCollateFn(float_pad_value=0.0, int_pad_value=-1)

    @classmethod
    @typechecked
    def build_preprocess_fn(
        cls, args: argparse.Namespace, train: bool
    ) -> Optional[Callable[[str, Dict[str, np.ndarray]], Dict[str, np.ndarray]]]:
        return None

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("speech",)

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("kmeans", "speaker")

    @classmethod
    def build_optimizers(cls, args: argparse.Namespace, model: torch.nn.Module) -> List[torch.optim.Optimizer]:
        if args.sharded_ddp or args.exclude_weight_decay:
            raise ValueError("Learn2DissTask supports neither --sharded_ddp nor --exclude_weight_decay")
        if not isinstance(model, Learn2DissModel):
            raise TypeError(f"Learn2DissTask trains a Learn2DissModel, got {type(model).__name__}")
        q_ids = {id(p) for p in model.club.parameters()}
        groups = (
            ("--optim", args.optim, args.optim_conf, [p for p in model.parameters() if id(p) not in q_ids]),
            ("--optim2", args.optim2, args.optim2_conf, list(model.club.parameters())),
        )
        optimizers = []
        for option, name, conf, params in groups:
            optim_class = optim_classes.get(name)
            if optim_class is None:
                raise ValueError(f"{option}: must be one of {list(optim_classes)}, got '{name}'")
            optimizers.append(optim_class(params, **conf))
        model.attach_q_optimizer(optimizers[1])
        return optimizers

    @classmethod
    @typechecked
    def build_model(cls, args: argparse.Namespace) -> Learn2DissModel:
        extractor = extractor_choices.get_class(args.extractor)(**args.extractor_conf)
        model = model_choices.get_class(args.model)(extractor=extractor, **args.model_conf)
        if args.init is not None:
            initialize(model, args.init)
        return model
