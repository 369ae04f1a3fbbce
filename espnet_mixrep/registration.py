"""The one place that ties our classes into ESPnet's task registries.

ESPnet 202511 has no plugin mechanism: each task module builds ``ClassChoices``
objects at import time and freezes their names into argparse choices when
``Task.get_parser()`` runs. We therefore add our classes to those
``ClassChoices.classes`` dicts right after the task module is imported, in
every process (see :mod:`espnet_mixrep._import_hook`, loaded from a ``.pth``
file at interpreter start-up, and the wrappers in :mod:`espnet_mixrep.bin`).

A change of ESPnet version that renames a registry touches only this table.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Dict, List, Tuple

# task module -> [(ClassChoices attribute, choice name, "module:Class")]
REGISTRY: Dict[str, List[Tuple[str, str, str]]] = {
    "espnet2.tasks.asr": [
        ("encoder_choices", "mixrep_conformer", "espnet_mixrep.mixrep.encoder:MixRepConformerEncoder"),
        ("encoder_choices", "mixrep_transformer", "espnet_mixrep.mixrep.encoder:MixRepTransformerEncoder"),
        ("encoder_choices", "mixrep_e_branchformer", "espnet_mixrep.mixrep.encoder:MixRepEBranchformerEncoder"),
        ("model_choices", "mixrep", "espnet_mixrep.mixrep.model:MixRepASRModel"),
        ("frontend_choices", "learn2diss", "espnet_mixrep.learn2diss.frontend:Learn2DissFrontend"),
    ],
    "espnet2.tasks.cls": [
        ("encoder_choices", "envnet_v2", "espnet_mixrep.speechmix.envnet_v2:EnvNetV2Encoder"),
        ("model_choices", "speechmix", "espnet_mixrep.speechmix.model:SpeechMixClassificationModel"),
    ],
}

# Task modules whose own import replaces an attribute we must patch after
# registration, e.g. a task class whose build_model ignores --model:
# task module -> "module:function" called with the task module.
TASK_PATCHES: Dict[str, List[str]] = {
    "espnet2.tasks.cls": ["espnet_mixrep.speechmix.task:patch_cls_task"],
}


def _load(path: str) -> object:
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def register_task_module(module: ModuleType) -> None:
    """Add our choices to an already imported ESPnet task module (idempotent)."""
    for attr, name, class_path in REGISTRY.get(module.__name__, []):
        choices = getattr(module, attr)
        if name not in choices.classes:
            choices.classes[name] = _load(class_path)
    for patch_path in TASK_PATCHES.get(module.__name__, []):
        _load(patch_path)(module)


def register_all() -> None:
    """Import every task module we extend and register into it.

    Used by our own entry points, so that they work even where the start-up
    hook is not installed (e.g. running from a source tree on PYTHONPATH).
    """
    for module_name in REGISTRY:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        register_task_module(module)
