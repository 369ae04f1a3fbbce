"""Export a MixRep ASR model for stock ESPnet (no espnet-mixrep installed).

In eval mode a MixRep encoder computes exactly what the ESPnet encoder it
extends computes, with the same state_dict keys, and ``model: mixrep`` is
ESPnetASRModel at inference. So the export only rewrites the training config:
each of our registered classes becomes the stock class it subclasses (found
from the class itself, e.g. ``mixrep_conformer`` -> ``conformer``), minus the
options only ours take (``mix_*``). The model file is copied unchanged, and
the result is checked by building the stock model from the new config and
loading the state_dict strictly. A class without a stock ancestor in ESPnet's
registry (the ``learn2diss`` frontend) cannot be exported.
"""

from __future__ import annotations

import copy
import inspect
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import yaml

from espnet_mixrep.core.datadir import DataDirError, PathLike, atomic_file, write_text_atomic
from espnet_mixrep.registration import REGISTRY, _load, register_all


class ExportError(DataDirError):
    """The model uses a class that stock ESPnet cannot stand in for."""


def _init_params(cls: type, stop: type) -> List[str]:
    """Keyword options of ``cls`` and its bases up to (without) ``stop``."""
    names: List[str] = []
    for klass in cls.__mro__:
        if klass is stop or klass is object:
            break
        if "__init__" in vars(klass):
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in ("self", "input_size"):
                    names.append(p.name)
    return names


def _stock_ancestor(cls: type, choices: Dict[str, type]) -> Optional[Tuple[str, type]]:
    """(choice name, class) of the nearest ESPnet class in ``choices`` that ``cls`` subclasses."""
    stock = {klass: name for name, klass in choices.items() if klass.__module__.startswith(("espnet2.", "espnet."))}
    return next(((stock[base], base) for base in cls.__mro__[1:] if base in stock), None)


def plain_config(config: Dict) -> Dict:
    """``config`` (an ASR training config.yaml) with stock ESPnet classes in place of ours."""
    register_all()
    import espnet2.tasks.asr as asr_task

    plain = copy.deepcopy(config)
    for attr, name, class_path in REGISTRY["espnet2.tasks.asr"]:
        section = attr[: -len("_choices")]
        if plain.get(section) != name:
            continue
        ours = _load(class_path)
        found = _stock_ancestor(ours, {k: v for k, v in getattr(asr_task, attr).classes.items() if k != name})
        if found is None:
            raise ExportError(f"{section}: {name} has no stock ESPnet equivalent; the model cannot be exported")
        stock_name, stock = found
        ours_only = set(_init_params(ours, stop=stock)) - set(_init_params(stock, stop=object))
        conf = plain.get(f"{section}_conf") or {}
        plain[section] = stock_name
        plain[f"{section}_conf"] = {k: v for k, v in conf.items() if k not in ours_only}
    ours_names = {name for rows in REGISTRY.values() for _, name, _ in rows}
    left = sorted(f"{k}: {v}" for k, v in plain.items() if isinstance(v, str) and v in ours_names)
    if left:
        raise ExportError(f"the config still names espnet-mixrep classes ({', '.join(left)})")
    return plain


def _check_loads_in_stock_espnet(packed_zip: Path) -> None:
    """Unpack as espnet_model_zoo does, build the model from the config, load the weights strictly."""
    import torch
    from espnet2.main_funcs.pack_funcs import unpack
    from espnet2.tasks.asr import ASRTask

    with tempfile.TemporaryDirectory(prefix="export_check.") as work:
        paths = unpack(packed_zip, work)
        model, _ = ASRTask.build_model_from_file(paths["asr_train_config"], None, "cpu")
        state = torch.load(paths["asr_model_file"], map_location="cpu")
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ExportError(
                f"{packed_zip}: the stock model's weights differ from the MixRep model's "
                f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
            )


def export_plain_zip(packed_zip: PathLike, output_dir: PathLike) -> Tuple[Path, Path]:
    """Write ``output_dir/config.yaml`` (the stock config) and ``output_dir/<zip name>_plain.zip``
    (the packed model with that config); return both paths."""
    packed_zip, output_dir = Path(packed_zip), Path(output_dir)
    try:
        archive = zipfile.ZipFile(packed_zip)
    except (FileNotFoundError, zipfile.BadZipFile) as exc:
        raise DataDirError(f"{packed_zip}: not a packed model zip ({exc})") from exc
    with archive:
        if "meta.yaml" not in archive.namelist():
            raise DataDirError(f"{packed_zip}: no meta.yaml at the root; was it made by espnet2.bin.pack asr?")
        meta = yaml.safe_load(archive.read("meta.yaml"))
        config_name = (meta.get("yaml_files") or {}).get("asr_train_config")
        if not config_name:
            raise DataDirError(f"{packed_zip}: meta.yaml names no asr_train_config (not an ASR model)")
        config_text = yaml.safe_dump(plain_config(yaml.safe_load(archive.read(config_name))), sort_keys=False)
        out_zip = output_dir / f"{packed_zip.stem}_plain.zip"
        with atomic_file(out_zip, binary=True) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as out:
            for info in archive.infolist():
                out.writestr(info, config_text if info.filename == config_name else archive.read(info))
    _check_loads_in_stock_espnet(out_zip)
    config_out = output_dir / "config.yaml"
    write_text_atomic(config_out, config_text)
    return config_out, out_zip


def export_plain_exp(asr_exp: PathLike, model_file: str, output_dir: PathLike, extra_files: Iterable[PathLike] = ()) -> Tuple[Path, Path]:
    """Pack ``asr_exp`` (as stage 14 would: the files its config refers to) and export that zip.

    Run from the recipe directory: the config's paths are relative to it.
    """
    from espnet2.main_funcs.pack_funcs import pack

    asr_exp = Path(asr_exp)
    config_path, model_path = asr_exp / "config.yaml", asr_exp / model_file
    for path in (config_path, model_path):
        if not path.is_file():
            raise DataDirError(f"{path}: not found (is {asr_exp} a trained ASR experiment?)")
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    referred = [
        (config.get("normalize_conf") or {}).get("stats_file"),
        config.get("bpemodel"),
        config.get("non_linguistic_symbols"),
    ]
    options = [p for p in referred if isinstance(p, str) and Path(p).is_file()]
    options += [str(p) for p in extra_files if Path(p).exists()]
    with tempfile.TemporaryDirectory(prefix="export_pack.") as work:
        packed = Path(work) / f"{asr_exp.name}_{Path(model_file).stem}.zip"
        pack(files={"asr_model_file": str(model_path)}, yaml_files={"asr_train_config": str(config_path)},
             option=options, outpath=str(packed))  # fmt: skip
        return export_plain_zip(packed, output_dir)
