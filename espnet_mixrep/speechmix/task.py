"""Make ESPnet 202511's ``CLSTask`` honour ``--model``.

Stock ``CLSTask.build_model`` always constructs ``ESPnetClassificationModel``
(whatever ``--model`` says). The patch keeps ESPnet's builder for the parts
(frontend, normalize, encoder, decoder, init...) and, when ``--model`` names
another class, re-wraps those parts in that class with the full
``--model_conf``. The class must subclass ESPnetClassificationModel, which is
what the builder's typeguard return annotation demands anyway.
"""

from __future__ import annotations

import argparse
import inspect
from types import ModuleType
from typing import Any, Dict, Tuple

_PATCHED = "_espnet_mixrep_honours_model"


def _split_model_conf(conf: Dict[str, Any], base_class: type) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    accepted = inspect.signature(base_class.__init__).parameters
    base = {k: v for k, v in conf.items() if k in accepted}
    return base, {k: v for k, v in conf.items() if k not in accepted}


def patch_cls_task(module: ModuleType) -> None:
    """Replace ``module.CLSTask.build_model`` by one that honours ``--model`` (idempotent)."""
    task = module.CLSTask
    if getattr(task, _PATCHED, False):
        return
    stock_build = task.build_model.__func__
    base_class = module.ESPnetClassificationModel

    def build_model(cls, args: argparse.Namespace):
        model_class = module.model_choices.get_class(getattr(args, "model", None) or "espnet")
        if model_class is base_class:
            return stock_build(cls, args)
        if not issubclass(model_class, base_class):
            raise TypeError(f"--model {args.model}: {model_class.__name__} must subclass ESPnetClassificationModel")
        base_conf, _ = _split_model_conf(args.model_conf, base_class)
        stock_args = argparse.Namespace(**{**vars(args), "model_conf": base_conf})
        parts = stock_build(cls, stock_args)
        # The stock builder rewrites some args (token_list read from file,
        # frontend dropped when input_size is given): keep them in config.yaml.
        vars(args).update({k: v for k, v in vars(stock_args).items() if k != "model_conf"})
        return model_class(
            vocab_size=parts.vocab_size,
            token_list=parts.token_list,
            frontend=parts.frontend,
            specaug=parts.specaug,
            normalize=parts.normalize,
            preencoder=parts.preencoder,
            encoder=parts.encoder,
            decoder=parts.decoder,
            **args.model_conf,
        )

    build_model.__doc__ = stock_build.__doc__
    task.build_model = classmethod(build_model)
    setattr(task, _PATCHED, True)
