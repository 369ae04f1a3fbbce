"""ESPnet task for Learn2Diss pretraining (ESPnet's trainer, YAML configs, checkpoints).

Data: ``speech`` (wav.scp, type sound) and, for stages that train the frame
encoder, ``kmeans`` (per-frame cluster ids, type text_int, written by
``espnet_mixrep.bin.l2d_kmeans``).
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
from espnet2.train.trainer import Trainer
from espnet2.utils.types import str_or_none
from typeguard import typechecked

from espnet_mixrep.learn2diss.extractors import EXTRACTORS, AbsExtractor
from espnet_mixrep.learn2diss.model import Learn2DissModel

extractor_choices = ClassChoices("extractor", classes=dict(EXTRACTORS), type_check=AbsExtractor, default="logmel")
model_choices = ClassChoices(
    "model", classes=dict(learn2diss=Learn2DissModel), type_check=AbsESPnetModel, default="learn2diss"
)


class Learn2DissTask(AbsTask):
    num_optimizers: int = 1
    class_choices_list = [extractor_choices, model_choices]
    trainer = Trainer

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
        group.add_argument(
            "--club_lr_scale",
            type=float,
            default=1.0,
            help="learning rate of CLUB's q relative to the encoders' (a q that lags behind the "
            "encoders under-estimates the MI they are pushed to minimise)",
        )
        for class_choices in cls.class_choices_list:
            class_choices.add_arguments(group)

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
        return ("kmeans",)

    @classmethod
    def build_optimizers(cls, args: argparse.Namespace, model: torch.nn.Module) -> List[torch.optim.Optimizer]:
        scale = getattr(args, "club_lr_scale", 1.0)
        if scale == 1.0 or not isinstance(model, Learn2DissModel):
            return super().build_optimizers(args, model)
        if args.sharded_ddp or args.exclude_weight_decay:
            raise ValueError("--club_lr_scale cannot be combined with --sharded_ddp or --exclude_weight_decay")
        optim_class = optim_classes.get(args.optim)
        if optim_class is None:
            raise ValueError(f"must be one of {list(optim_classes)}: {args.optim}")
        club_params = list(model.club.parameters())
        club_ids = {id(p) for p in club_params}
        other_params = [p for p in model.parameters() if id(p) not in club_ids]
        base_lr = args.optim_conf.get("lr", optim_class([torch.nn.Parameter(torch.zeros(1))]).defaults["lr"])
        groups = [{"params": other_params}, {"params": club_params, "lr": base_lr * scale}]
        return [optim_class(groups, **args.optim_conf)]

    @classmethod
    @typechecked
    def build_model(cls, args: argparse.Namespace) -> Learn2DissModel:
        extractor = extractor_choices.get_class(args.extractor)(**args.extractor_conf)
        model = model_choices.get_class(args.model)(extractor=extractor, **args.model_conf)
        if args.init is not None:
            initialize(model, args.init)
        return model
