"""Stage 11 helper: make ``--resume true`` safe after an interrupted run.

ESPnet's trainer writes ``checkpoint.pth`` and then ``<N>epoch.pth`` with
plain ``torch.save``; a run killed during either save leaves a truncated file
that the next run would load and crash on (or average). Before training we
load both; if one is unreadable, the training state is set aside
(``*.corrupt``) and training restarts from scratch instead of trusting it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from espnet_mixrep.recipes.datadir import PathLike


def _loads(path: Path) -> bool:
    import torch

    try:
        torch.load(path, map_location="cpu", weights_only=False)
        return True
    except Exception:  # truncated zip, pickle error, EOF...: all mean "do not trust"
        return False


def check_resumable(exp_dir: PathLike) -> Optional[str]:
    """Return None if ``exp_dir`` can be resumed (or has nothing to resume),
    else a message saying which file was unreadable and what was set aside."""
    exp_dir = Path(exp_dir)
    checkpoint = exp_dir / "checkpoint.pth"
    if not checkpoint.exists():
        return None
    epochs = sorted(
        (int(m.group(1)), p) for p in exp_dir.glob("*epoch.pth") if (m := re.fullmatch(r"(\d+)epoch\.pth", p.name))
    )
    suspects = [checkpoint] + ([epochs[-1][1]] if epochs else [])
    bad = [p for p in suspects if not _loads(p)]
    if not bad:
        return None
    for path in [checkpoint] + [p for _, p in epochs]:
        if path.exists():
            path.rename(path.with_name(path.name + ".corrupt"))
    return f"{bad[0]}: unreadable (interrupted save?); set the training state aside as *.corrupt, training restarts from epoch 1"
