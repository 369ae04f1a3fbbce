"""The one place that ties our classes into ESPnet's task registries.

ESPnet 202511 has no plugin mechanism: each task module builds ``ClassChoices``
objects at import time and freezes their names into argparse choices when
``Task.get_parser()`` runs. We therefore add our classes to those
``ClassChoices.classes`` dicts right after the task module is imported, in
every process (see :mod:`espnet_mixrep._import_hook`, loaded from a ``.pth``
file at interpreter start-up, and the wrappers in :mod:`espnet_mixrep.bin`).
``--model speechmix`` is no entry here: stock ``CLSTask`` ignores ``--model``,
so it lives in a task subclass (:mod:`espnet_mixrep.speechmix.task`).

A change of ESPnet version touches only this file: the supported range (which
setup.py reads), the registries, and the private ESPnet names our classes
rely on, checked when a task module registers.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Dict, List, Tuple

# The ESPnet releases the project is tested with (lowest and newest); setup.py's install_requires.
SUPPORTED_ESPNET = ">=202506,<=202511"

# task module -> [(ClassChoices attribute, or a plain name -> class dict, choice name, "module:Class")]
REGISTRY: Dict[str, List[Tuple[str, str, str]]] = {
    # --scheduler of every task: AbsTask's module-level dict, read when a parser is built.
    "espnet2.tasks.abs_task": [
        ("scheduler_classes", "warmup_multisteplr", "espnet_mixrep.speechmix.schedule:WarmupMultiStepLR"),
    ],
    "espnet2.tasks.asr": [
        ("encoder_choices", "mixrep_conformer", "espnet_mixrep.mixrep.encoder:MixRepConformerEncoder"),
        ("encoder_choices", "mixrep_transformer", "espnet_mixrep.mixrep.encoder:MixRepTransformerEncoder"),
        ("encoder_choices", "mixrep_e_branchformer", "espnet_mixrep.mixrep.encoder:MixRepEBranchformerEncoder"),
        ("model_choices", "mixrep", "espnet_mixrep.mixrep.model:MixRepASRModel"),
        ("frontend_choices", "learn2diss", "espnet_mixrep.learn2diss.frontend:Learn2DissFrontend"),
    ],
    "espnet2.tasks.cls": [
        ("encoder_choices", "envnet_v2", "espnet_mixrep.speechmix.envnet_v2:EnvNetV2Encoder"),
        ("normalize_choices", "waveform_mvn", "espnet_mixrep.speechmix.normalize:WaveformMVN"),
    ],
}

# Names outside ESPnet's entry points that our subclasses use (all imported by
# the task module itself), per task module: "module:dotted.attribute".
PRIVATE_API: Dict[str, List[str]] = {
    "espnet2.tasks.asr": [
        "espnet2.asr.espnet_model:ESPnetASRModel._extract_feats",
        "espnet2.asr.espnet_model:ESPnetASRModel.encode",
        "espnet2.asr.encoder.conformer_encoder:ConformerEncoder.forward",
        "espnet2.asr.encoder.transformer_encoder:TransformerEncoder.forward",
        "espnet2.asr.encoder.e_branchformer_encoder:EBranchformerEncoder.forward",
    ],
    "espnet2.tasks.cls": [
        "espnet2.tasks.cls:CLSTask.class_choices_list",
        "espnet2.tasks.cls:CLSTask.build_model",
        "espnet2.cls.espnet_model:ESPnetClassificationModel.encode",
    ],
}


class ESPnetVersionError(RuntimeError):
    """The installed ESPnet lacks a private name espnet-mixrep relies on."""


def _load(path: str) -> object:
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _version_error(missing: str) -> ESPnetVersionError:
    try:
        from importlib.metadata import version

        installed = version("espnet")
    except Exception:  # not installed as a distribution (e.g. a bare source tree)
        installed = "unknown"
    return ESPnetVersionError(
        f"espnet-mixrep supports espnet{SUPPORTED_ESPNET}, but the installed espnet is {installed} and lacks "
        f"{missing}, which espnet-mixrep uses: install a supported ESPnet (pip install 'espnet{SUPPORTED_ESPNET}')"
    )


def _choices_dict(module: ModuleType, attr: str) -> object:
    """The name -> class dict behind ``module.attr``: a ClassChoices' ``classes``, or the dict itself."""
    choices = getattr(module, attr, None)
    return choices if isinstance(choices, dict) else getattr(choices, "classes", None)


def check_private_api(module: ModuleType) -> None:
    """Raise ESPnetVersionError naming the first private name the task module's ESPnet lacks."""
    for attr in sorted({attr for attr, _, _ in REGISTRY.get(module.__name__, [])}):
        if not isinstance(_choices_dict(module, attr), dict):
            raise _version_error(f"{module.__name__}.{attr} (a ClassChoices or a dict of classes)")
    for path in PRIVATE_API.get(module.__name__, []):
        module_name, _, dotted = path.partition(":")
        target: object = sys.modules.get(module_name) or importlib.import_module(module_name)
        for part in dotted.split("."):
            target = getattr(target, part, None)
            if target is None:
                raise _version_error(f"{module_name}.{dotted}")


def register_task_module(module: ModuleType) -> None:
    """Add our choices to an already imported ESPnet task module (idempotent)."""
    check_private_api(module)
    for attr, name, class_path in REGISTRY.get(module.__name__, []):
        classes = _choices_dict(module, attr)
        if name not in classes:
            classes[name] = _load(class_path)


def register_all() -> None:
    """Import every task module we extend and register into it.

    Used by our own entry points, so that they work even where the start-up
    hook is not installed (e.g. running from a source tree on PYTHONPATH).
    """
    for module_name in REGISTRY:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        register_task_module(module)
