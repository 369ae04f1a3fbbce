"""``SpeechMixCLSTask``: ESPnet 202511's ``CLSTask`` with ``--model speechmix``.

Stock ``CLSTask.build_model`` always constructs ``ESPnetClassificationModel``
(whatever ``--model`` says). This subclass adds its own ``--model`` choices
and builds through the stock builder, with the options the stock model
accepts; for ``--model speechmix`` it then turns that model, every part the
stock builder made included, into a ``SpeechMixClassificationModel`` with the
rest of ``--model_conf``. ESPnet's ``CLSTask`` itself is left as it is, so
stock ``espnet2.bin.cls_train`` refuses ``--model speechmix`` instead of
silently training a plain model: use ``espnet_mixrep.bin.cls_train``.
"""

from __future__ import annotations

import argparse
import inspect
from typing import Any, Dict, Tuple

from espnet2.cls.espnet_model import ESPnetClassificationModel
from espnet2.tasks.cls import CLSTask
from espnet2.train.class_choices import ClassChoices

from espnet_mixrep.speechmix.model import SpeechMixClassificationModel

model_choices = ClassChoices(
    "model",
    classes=dict(espnet=ESPnetClassificationModel, speechmix=SpeechMixClassificationModel),
    type_check=ESPnetClassificationModel,
    default="espnet",
)


def split_model_conf(conf: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(options of ESPnetClassificationModel, the others) of a ``--model_conf``."""
    accepted = inspect.signature(ESPnetClassificationModel.__init__).parameters
    return {k: v for k, v in conf.items() if k in accepted}, {k: v for k, v in conf.items() if k not in accepted}


class SpeechMixCLSTask(CLSTask):
    class_choices_list = [model_choices if c.name == "model" else c for c in CLSTask.class_choices_list]

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> ESPnetClassificationModel:
        model_class = model_choices.get_class(getattr(args, "model", None) or "espnet")
        if model_class is ESPnetClassificationModel:
            return super().build_model(args)
        stock_conf, mix_conf = split_model_conf(args.model_conf or {})
        stock_args = argparse.Namespace(**{**vars(args), "model_conf": stock_conf})
        stock = super().build_model(stock_args)
        # The stock builder rewrites some args (token_list read from its file,
        # frontend dropped when input_size is given): keep them for config.yaml,
        # with the full --model_conf.
        vars(args).update({k: v for k, v in vars(stock_args).items() if k != "model_conf"})
        return model_class.from_stock_model(stock, **mix_conf)
