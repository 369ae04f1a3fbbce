"""The package's layers, as the README's Architecture section draws them.

core <- methods (mixrep, speechmix, learn2diss, analysis) <- stages <- recipes <- bin:
each layer imports only layers to its left (and ESPnet); only bin/ has
``__main__`` blocks.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, Set

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "espnet_mixrep"
METHODS = {"mixrep", "speechmix", "learn2diss", "analysis"}
# What each layer must never import (function-level imports included).
FORBIDDEN: Dict[str, Set[str]] = {
    "core": METHODS | {"stages", "recipes", "bin", "registration"},
    "methods": {"stages", "recipes", "bin"},
    "stages": {"recipes", "bin"},
    "recipes": {"bin"},
}


def _layer(module: Path) -> str:
    part = module.relative_to(PACKAGE).parts[0]
    return "methods" if part in METHODS else part.removesuffix(".py")


def _imports(module: Path) -> Iterator[str]:
    """The espnet_mixrep subpackage or module (first name after espnet_mixrep.) of each import."""
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "espnet_mixrep" and len(parts) > 1:
                yield parts[1]


def _modules() -> Iterator[Path]:
    return iter(sorted(PACKAGE.rglob("*.py")))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    offending = [
        f"{module.relative_to(PACKAGE)} imports espnet_mixrep.{target}"
        for module in _modules()
        if _layer(module) == layer
        for target in _imports(module)
        if target in FORBIDDEN[layer]
    ]
    assert not offending, "\n".join(offending)


def test_the_layers_cover_the_package() -> None:
    known = set(FORBIDDEN) | {"bin", "registration", "_import_hook", "__init__"}
    assert {_layer(module) for module in _modules()} <= known


def test_only_bin_has_main_blocks() -> None:
    def has_main(module: Path) -> bool:
        for node in ast.parse(module.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
                return True
        return False

    outside = [str(m.relative_to(PACKAGE)) for m in _modules() if has_main(m) and _layer(m) != "bin"]
    assert not outside, f"__main__ blocks outside bin/: {outside}"


def test_the_checks_see_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from espnet_mixrep.recipes.fsdd import DIGIT_WORDS\nimport espnet_mixrep.core.audio\n")
    assert sorted(_imports(module)) == ["core", "recipes", "recipes"]
