"""Stage 15: publish a packed model (``espnet2.bin.pack asr`` zip) as a Hugging
Face model repository, in the layout ``espnet_model_zoo`` reads back: the
unpacked zip with ``meta.yaml`` at the repository root plus a README model card.

``target`` is either a hub repo id (``user/name``; uploaded with
huggingface_hub) or a local folder (``file:///path`` or a path starting with
``/``, ``./`` or ``../``), which receives exactly the files the hub would.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Optional

import yaml

from espnet_mixrep.recipes.datadir import DataDirError, PathLike

_MODEL_CARD = """---
tags:
- espnet
- audio
- automatic-speech-recognition
- espnet-mixrep
library_name: espnet
license: cc-by-4.0
---

# {repo_id}

ESPnet ASR model trained with the espnet-mixrep recipe `{recipe}`.

```python
from espnet2.bin.asr_inference import Speech2Text

speech2text = Speech2Text.from_pretrained("{repo_id}")
text, *_ = speech2text(speech)[0]
```

Loading needs `pip install espnet-mixrep` when the model uses its classes
(`mixrep_conformer`, `mixrep`); they register themselves at start-up.

{results}
"""


def is_local_target(target: str) -> bool:
    return target.startswith(("file://", "/", "./", "../"))


def stage_repository(packed_zip: PathLike, repo_id: str, recipe: str, out_dir: PathLike) -> Path:
    """Unpack ``packed_zip`` into ``out_dir`` and add the model card; check meta.yaml."""
    packed_zip, out_dir = Path(packed_zip), Path(out_dir)
    if not packed_zip.is_file():
        raise DataDirError(f"{packed_zip}: packed model not found (run stage 14 first)")
    try:
        with zipfile.ZipFile(packed_zip) as zf:
            zf.extractall(out_dir)
    except zipfile.BadZipFile as exc:
        raise DataDirError(f"{packed_zip}: not a zip file ({exc})") from exc
    meta_path = out_dir / "meta.yaml"
    if not meta_path.is_file():
        raise DataDirError(f"{packed_zip}: no meta.yaml at the root; was it made by espnet2.bin.pack?")
    meta = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
    for section in ("yaml_files", "files"):
        for rel in (meta.get(section) or {}).values():
            if not (out_dir / rel).exists():
                raise DataDirError(f"{packed_zip}: meta.yaml lists '{rel}' but the zip lacks it")
    results = sorted(out_dir.glob("**/RESULTS.md"))
    results_text = results[0].read_text(encoding="utf-8") if results else ""
    (out_dir / "README.md").write_text(
        _MODEL_CARD.format(repo_id=repo_id, recipe=recipe, results=results_text), encoding="utf-8"
    )
    return out_dir


def upload_packed_model(
    packed_zip: PathLike,
    target: str,
    recipe: str = "",
    token: Optional[str] = None,
    private: bool = False,
    commit_message: str = "Upload ESPnet model (espnet-mixrep recipe)",
) -> str:
    """Publish ``packed_zip`` to ``target``; return where it went (URL or folder)."""
    with tempfile.TemporaryDirectory(prefix="hf_upload.") as work:
        repo_name = target[len("file://") :] if target.startswith("file://") else target
        staged = stage_repository(packed_zip, Path(repo_name).name if is_local_target(target) else target, recipe, Path(work) / "repo")
        if is_local_target(target):
            dest = Path(repo_name)
            tmp = dest.with_name(f".{dest.name}.partial")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(staged, tmp)
            if dest.exists():
                shutil.rmtree(dest)
            tmp.rename(dest)
            return str(dest)
        from huggingface_hub import HfApi

        api = HfApi(token=token)
        api.create_repo(repo_id=target, repo_type="model", private=private, exist_ok=True)
        info = api.upload_folder(folder_path=str(staged), repo_id=target, repo_type="model", commit_message=commit_message)
        return str(getattr(info, "commit_url", f"https://huggingface.co/{target}"))
