"""Stage 15 of asr.sh (stage 10 of cls.sh): publish a packed model
(``espnet2.bin.pack`` zip) as a Hugging Face model repository, in the layout
``espnet_model_zoo`` reads back: the unpacked zip with ``meta.yaml`` at the
repository root plus a README model card (the fields of ESPnet 202511's
TEMPLATE_HF_Readme.md: language, datasets, the training config, citations).

``target`` is either a hub repo id (``user/name``; uploaded with
huggingface_hub) or a local folder (``file:///path`` or a path starting with
``/``, ``./`` or ``../``), which receives exactly the files the hub would.
A hub target is checked first (token, network): nothing is staged or sent
before that passes, and the zip itself is only ever read.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from espnet_mixrep.core.datadir import DataDirError, PathLike
from espnet_mixrep.registration import REGISTRY

# task -> (Hugging Face pipeline tag, ESPnet's task name, the inference class and its import)
_TASKS = {
    "asr": ("automatic-speech-recognition", "ASR", "from espnet2.bin.asr_inference import Speech2Text"),
    "cls": ("audio-classification", "CLS", "from espnet2.bin.cls_inference import Classification"),
}

_ESPNET_CITATION = """@inproceedings{watanabe2018espnet,
  author={Shinji Watanabe and Takaaki Hori and Shigeki Karita and Tomoki Hayashi and Jiro Nishitoba and Yuya Unno and Nelson Yalta and Jahn Heymann and Matthew Wiesner and Nanxin Chen and Adithya Renduchintala and Tsubasa Ochiai},
  title={{ESPnet}: End-to-End Speech Processing Toolkit},
  year={2018},
  booktitle={Proceedings of Interspeech},
  pages={2207--2211},
  doi={10.21437/Interspeech.2018-1456}
}"""

# (config section, value prefix or name) -> the method's paper
_METHOD_CITATIONS = {
    "mixrep": """@inproceedings{xie2023mixrep,
  author={Jiamin Xie and John H. L. Hansen},
  title={{MixRep}: Hidden Representation Mixup for Low-Resource Speech Recognition},
  year={2023},
  booktitle={Proceedings of Interspeech},
  note={arXiv:2310.18450}
}""",
    "speechmix": """@inproceedings{jindal2020speechmix,
  author={Amit Jindal and others},
  title={{SpeechMix} -- Augmenting Deep Sound Recognition using Hidden Space Interpolations},
  year={2020},
  booktitle={Proceedings of Interspeech}
}""",
    "learn2diss": """@misc{krishna2024learn2diss,
  author={Varun Krishna and Sriram Ganapathy},
  title={Towards the Next Frontier in Speech Representation Learning Using Disentanglement},
  year={2024},
  eprint={2407.02543},
  archivePrefix={arXiv}
}""",
}

LOGIN_HINT = (
    "log in with `huggingface-cli login` (or `hf auth login`), or set HF_TOKEN to a token with write access "
    "(https://huggingface.co/settings/tokens); or give --hf_repo file:///<folder> to stage the repository locally"
)


class HubAccessError(DataDirError):
    """The hub cannot be used (no token, offline, token rejected): nothing was uploaded."""


def is_local_target(target: str) -> bool:
    return target.startswith(("file://", "/", "./", "../"))


def check_hub_access(target: str, token: Optional[str] = None) -> None:
    """Raise HubAccessError unless ``target`` is local or the hub accepts our token.

    Cheap (one whoami request), so drivers call it before any stage runs.
    """
    if is_local_target(target):
        return
    from huggingface_hub import HfApi, constants, get_token
    from huggingface_hub.errors import HfHubHTTPError

    token = token or get_token()
    if not token:
        raise HubAccessError(f"{target}: no Hugging Face token found; {LOGIN_HINT}")
    if constants.HF_HUB_OFFLINE:
        raise HubAccessError(f"{target}: HF_HUB_OFFLINE is set, so nothing can be uploaded; unset it, or {LOGIN_HINT}")
    try:
        HfApi(token=token).whoami()
    except HfHubHTTPError as exc:
        status = getattr(exc.response, "status_code", None)
        if status == 401:
            raise HubAccessError(f"{target}: the hub rejected the token (401); {LOGIN_HINT}") from exc
        raise HubAccessError(f"{target}: the hub answered {status} to a login check ({exc}); {LOGIN_HINT}") from exc
    except Exception as exc:  # httpx / OSError variants: all mean the hub is out of reach
        raise HubAccessError(
            f"{target}: cannot reach {constants.ENDPOINT} ({type(exc).__name__}: {exc}); check the network, or {LOGIN_HINT}"
        ) from exc


def plugin_classes(config: Dict) -> List[str]:
    """Our registered choice names that ``config`` (a training config.yaml) uses."""
    # + SpeechMixCLSTask's own --model choice (see espnet_mixrep/speechmix/task.py)
    ours = {name for rows in REGISTRY.values() for _, name, _ in rows} | {"speechmix"}
    return sorted({value for value in config.values() if isinstance(value, str) and value in ours})


def model_card(repo_id: str, recipe: str, task: str, lang: str, config_text: str, results: str) -> str:
    """README.md of the hub repository (front matter as ESPnet's TEMPLATE_HF_Readme.md)."""
    hf_task, espnet_task, import_line = _TASKS[task]
    config = yaml.safe_load(config_text) or {}
    ours = plugin_classes(config)
    corpus = recipe.split("/")[0] or "unknown"
    loader = "Speech2Text" if task == "asr" else "Classification"
    if ours:
        requirement = (
            f"**Requires espnet-mixrep** (`pip install espnet-mixrep` beside ESPnet): the model uses its "
            f"classes {', '.join(f'`{c}`' for c in ours)}, which register themselves at start-up."
        )
        if task == "asr":
            requirement += (
                " `python -m espnet_mixrep.bin.export_plain` turns it into a model that stock ESPnet loads "
                "without the plugin."
            )
    else:
        requirement = "Trained with espnet-mixrep; the model uses stock ESPnet classes only."
    method_citations = [_METHOD_CITATIONS[k] for k in _METHOD_CITATIONS if any(c.startswith(k) for c in ours)]
    if task == "asr":
        demo = f"""```python
{import_line}

speech2text = {loader}.from_pretrained("{repo_id}")
text, *_ = speech2text(speech)[0]
```"""
    else:
        demo = """```bash
python -m espnet_mixrep.bin.cls_inference --classification_train_config <repo>/exp/.../config.yaml \\
    --classification_model_file <repo>/exp/.../<model>.pth --data_path_and_name_and_type wav.scp,speech,sound \\
    --output_dir out
```"""
    citations = "\n\n".join([_ESPNET_CITATION, *method_citations])
    return f"""---
tags:
- espnet
- audio
- {hf_task}
- espnet-mixrep
language: {lang}
datasets:
- {corpus}
library_name: espnet
license: cc-by-4.0
---

## ESPnet2 {espnet_task} model

### `{repo_id}`

This model was trained with the espnet-mixrep recipe `egs2/{recipe}`.

{requirement}

### Demo

{demo}

{results}

## {espnet_task} config

<details><summary>expand</summary>

```
{config_text.rstrip()}
```

</details>

### Citing

```bibtex
{citations}
```
"""


def stage_repository(packed_zip: PathLike, repo_id: str, recipe: str, out_dir: PathLike, task: str = "asr",
                     lang: str = "noinfo") -> Path:  # fmt: skip
    """Unpack ``packed_zip`` into ``out_dir`` and add the model card; check meta.yaml."""
    packed_zip, out_dir = Path(packed_zip), Path(out_dir)
    if not packed_zip.is_file():
        raise DataDirError(f"{packed_zip}: packed model not found (run the pack stage first)")
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
    train_config = next(iter((meta.get("yaml_files") or {}).values()), None)
    config_text = (out_dir / train_config).read_text(encoding="utf-8") if train_config else ""
    results = sorted(out_dir.glob("**/RESULTS.md"))
    results_text = results[0].read_text(encoding="utf-8") if results else ""
    (out_dir / "README.md").write_text(
        model_card(repo_id, recipe, task, lang, config_text, results_text), encoding="utf-8"
    )
    return out_dir


def upload_packed_model(
    packed_zip: PathLike,
    target: str,
    recipe: str = "",
    token: Optional[str] = None,
    private: bool = False,
    task: str = "asr",
    lang: str = "noinfo",
    commit_message: str = "Upload ESPnet model (espnet-mixrep recipe)",
) -> str:
    """Publish ``packed_zip`` to ``target``; return where it went (URL or folder)."""
    check_hub_access(target, token)
    with tempfile.TemporaryDirectory(prefix="hf_upload.") as work:
        repo_name = target[len("file://") :] if target.startswith("file://") else target
        repo_id = Path(repo_name).name if is_local_target(target) else target
        staged = stage_repository(packed_zip, repo_id, recipe, Path(work) / "repo", task=task, lang=lang)
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
