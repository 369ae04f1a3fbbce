"""Shared test fixtures: where FSDD and the real LDC SPHERE files live, and the repository root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def find_fsdd_dir() -> Path | None:
    """FSDD_DIR if set, else ../shared/data/fsdd beside the repository."""
    candidate = Path(os.environ.get("FSDD_DIR") or REPO_ROOT.parent / "shared" / "data" / "fsdd")
    return candidate if (candidate / "recordings").is_dir() else None


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    path = find_fsdd_dir()
    if path is None:
        pytest.skip("FSDD recordings not found: set FSDD_DIR or put them in ../shared/data/fsdd")
    return path


@pytest.fixture(scope="session")
def ldc_sphere_dir() -> Path:
    """SPHERE_DIR if set, else ../shared/data/sphere: real LDC files and what sph2pipe v2.5 writes for them."""
    path = Path(os.environ.get("SPHERE_DIR") or REPO_ROOT.parent / "shared" / "data" / "sphere")
    if not (path / "sph2pipe_pcm").is_dir():
        pytest.skip(f"real LDC SPHERE files not found in {path}: set SPHERE_DIR or put them in ../shared/data/sphere")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
