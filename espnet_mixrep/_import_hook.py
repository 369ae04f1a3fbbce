"""Start-up hook: register our classes whenever an ESPnet task module loads.

Installed as ``espnet_mixrep_hook.pth`` in site-packages, so stock entry points
(``python -m espnet2.bin.asr_train``, ``Speech2Text.from_pretrained``, DDP
workers) see our choices without importing espnet or torch at start-up: the
finder only wraps the loader of the task modules listed in the registry.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Optional, Sequence

# Kept in sync with registration.REGISTRY by a unit test; not imported from
# there so that start-up stays import-free.
WATCHED_MODULES = frozenset({"espnet2.tasks.abs_task", "espnet2.tasks.asr", "espnet2.tasks.cls"})


class _RegisteringLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[ModuleType]:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        from espnet_mixrep.registration import register_task_module

        register_task_module(module)

    def __getattr__(self, name: str):  # get_source, get_code, ... for inspect
        return getattr(self._inner, name)


class _RegisteringFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None):
        if fullname not in WATCHED_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _RegisteringLoader(spec.loader)
                return spec
        return None


def install() -> None:
    if not any(isinstance(f, _RegisteringFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisteringFinder())


install()
