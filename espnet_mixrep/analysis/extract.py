"""Per-layer representations of a model, and their pooling over labelled units.

Model kinds (``--model`` specs, comma-separated ``key=value``):

* ``kind=espnet`` (default): any trained ESPnet model whose ``encode(speech,
  lengths)`` runs an encoder with an ``encoders`` block list (Conformer,
  Transformer, E-Branchformer, the MixRep encoders...). Layer 0 is the input
  of the first block (the frontend + embedding output, e.g. after conv2d
  subsampling), layer i the output of block i, captured by forward hooks.
  Keys: ``config`` (the training config.yaml), ``model_file`` (.pth),
  ``task`` (ESPnet task module name, default ``asr``), ``fs`` (override).
* ``kind=learn2diss``: a Learn2Diss checkpoint (``config``, ``model_file``):
  the extractor's layers, then the frame encoder's blocks, then the
  utterance embedding (used for utterance-level labels only).
* ``kind=s3prl``: an S3PRL upstream (``upstream=hubert_base``...); needs the
  s3prl package and its pretrained weights.

Each utterance is run alone (batch of one): padding in a batch would change
what a Conformer's convolution sees near the end of shorter utterances.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import soundfile
import torch
import yaml

from espnet_mixrep.analysis.labels import LabelError, LabelSet, Unit, check_unit_span, parse_key_values
from espnet_mixrep.core.audio import read_wav_entry, resample
from espnet_mixrep.core.datadir import DataDirError, read_kaldi_map, validate_data_dir


class ModelSpecError(ValueError):
    """A --model specification or the model it names cannot be used."""


@dataclass(frozen=True)
class LayerInfo:
    name: str
    utterance_level: bool = False  # one vector per utterance (e.g. a speaker embedding)


class LayerExtractor(ABC):
    """Maps a mono waveform to one (frames, dims) array per layer."""

    name: str
    sample_rate: int
    layers: List[LayerInfo]

    @abstractmethod
    def __call__(self, waveform: np.ndarray) -> List[np.ndarray]:
        """float32 samples in [-1, 1] at ``sample_rate`` -> per-layer (T_l, D_l) arrays."""


# ---------------------------------------------------------------- ESPnet models


def _task_class(task: str) -> type:
    """The AbsTask subclass defined in ``espnet2.tasks.<task>`` (or a dotted module path)."""
    from espnet2.tasks.abs_task import AbsTask

    module_name = task if "." in task else f"espnet2.tasks.{task}"
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ModelSpecError(f"task {task!r}: cannot import {module_name} ({error})") from error
    classes = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, AbsTask) and obj is not AbsTask and obj.__module__ == module_name
    ]
    if len(classes) != 1:
        raise ModelSpecError(f"task {task!r}: expected one task class in {module_name}, found {[c.__name__ for c in classes]}")
    return classes[0]


def _resolved_config(config_file: Path) -> Tuple[dict, Optional[Path]]:
    """The training config, with a relative normalisation stats path made absolute.

    ESPnet writes paths relative to the recipe directory; the stats file is
    looked for there (an ancestor of the config) when it is not found from the
    current directory. Returns the config and a temporary copy to build from
    (None when the original can be used as is).
    """
    with open(config_file, encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    stats_file = (config.get("normalize_conf") or {}).get("stats_file")
    if not stats_file or Path(stats_file).is_absolute() or Path(stats_file).exists():
        return config, None
    for ancestor in config_file.resolve().parents:
        if (ancestor / stats_file).is_file():
            config["normalize_conf"]["stats_file"] = str(ancestor / stats_file)
            tmp = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, encoding="utf-8")
            with tmp:
                yaml.safe_dump(config, tmp)
            return config, Path(tmp.name)
    raise ModelSpecError(
        f"{config_file}: normalize_conf.stats_file {stats_file!r} not found from the current directory "
        "nor from any directory above the config; run from the recipe directory"
    )


def load_espnet_model(config_file: Path, model_file: Path, task: str = "asr") -> Tuple[torch.nn.Module, dict]:
    """Build a trained ESPnet model with the task's own builder; every parameter must load."""
    from espnet_mixrep.registration import register_all

    register_all()
    for path, what in ((config_file, "config"), (model_file, "model_file")):
        if not Path(path).is_file():
            raise ModelSpecError(f"{what} not found: {path}")
    task_class = _task_class(task)
    config, tmp_config = _resolved_config(Path(config_file))
    try:
        model, _ = task_class.build_model_from_file(tmp_config or config_file, None, "cpu")
    finally:
        if tmp_config is not None:
            tmp_config.unlink()
    try:
        state = torch.load(model_file, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError... for non-state-dict files
        raise ModelSpecError(f"{model_file}: not a model state_dict ({type(error).__name__}: {error})") from error
    state = state.get("module", state)  # deepspeed checkpoints
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing:
        # ESPnet's own loader tolerates this; an analysis of untrained weights would mislead.
        raise ModelSpecError(f"{model_file}: {len(missing)} parameters of the model are missing (e.g. {missing[:3]})")
    if unexpected:
        logging.warning("%s: ignoring %d unexpected keys (e.g. %s)", model_file, len(unexpected), unexpected[:3])
    model.eval()
    return model, config


def _first_tensor(value) -> torch.Tensor:
    """The hidden states inside a block's (nested) tuple output, e.g. ((x, pos_emb), mask)."""
    while isinstance(value, (tuple, list)):
        value = value[0]
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"block output holds no tensor: {type(value)}")
    return value


class ESPnetEncoderExtractor(LayerExtractor):
    """Hooks on the blocks of an ESPnet encoder; runs the model's own ``encode``."""

    def __init__(self, model: torch.nn.Module, sample_rate: int, name: str) -> None:
        encoder = getattr(model, "encoder", None)
        blocks = getattr(encoder, "encoders", None)
        if not isinstance(blocks, (torch.nn.ModuleList, torch.nn.Sequential)) or len(blocks) == 0:
            raise ModelSpecError(
                f"model {name!r}: its encoder ({type(encoder).__name__}) has no 'encoders' block list to hook"
            )
        if not callable(getattr(model, "encode", None)):
            raise ModelSpecError(f"model {name!r}: {type(model).__name__} has no encode(speech, lengths)")
        if getattr(model, "frontend", None) is None:
            raise ModelSpecError(f"model {name!r} has no frontend: it reads precomputed features, but the analysis feeds audio")
        self.model = model.eval()
        self.name = name
        self.sample_rate = sample_rate
        self.layers = [LayerInfo("embed")] + [LayerInfo(f"block{i}") for i in range(1, len(blocks) + 1)]
        self._captured: List[Optional[torch.Tensor]] = [None] * len(self.layers)
        blocks[0].register_forward_pre_hook(self._capture_input)
        for index, block in enumerate(blocks, 1):
            block.register_forward_hook(self._capture_output(index))

    def _capture_input(self, module: torch.nn.Module, args: tuple) -> None:
        self._captured[0] = _first_tensor(args)

    def _capture_output(self, index: int):
        def hook(module: torch.nn.Module, args: tuple, output) -> None:
            self._captured[index] = _first_tensor(output)

        return hook

    def __call__(self, waveform: np.ndarray) -> List[np.ndarray]:
        self._captured = [None] * len(self.layers)
        speech = torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32))[None]
        with torch.inference_mode():
            self.model.encode(speech, torch.tensor([speech.shape[1]]))
        if any(layer is None for layer in self._captured):
            # e.g. an encoder that stops early or skips blocks at inference
            missing = [info.name for info, layer in zip(self.layers, self._captured) if layer is None]
            raise ModelSpecError(f"model {self.name!r}: layers {missing} did not run during encode()")
        return [layer[0].float().numpy() for layer in self._captured]


def _model_sample_rate(config: dict, override: Optional[str]) -> int:
    if override:
        return _parse_rate(override)
    frontend_conf = config.get("frontend_conf") or {}
    if "fs" in frontend_conf:
        return _parse_rate(frontend_conf["fs"])
    # DefaultFrontend's default; models without a frontend read features, not audio.
    return 16000


def _parse_rate(value) -> int:
    import humanfriendly

    return int(humanfriendly.parse_size(value) if isinstance(value, str) else value)


# ---------------------------------------------------------------- Learn2Diss


class Learn2DissExtractor(LayerExtractor):
    """Extractor layers, frame-encoder blocks, and the utterance embedding of a Learn2Diss model."""

    def __init__(self, model: torch.nn.Module, sample_rate: int, name: str) -> None:
        self.model = model.eval()
        self.name = name
        self.sample_rate = sample_rate
        self.layers = (
            [LayerInfo(f"extractor{i}") for i in range(model.extractor.num_layers)]
            + [LayerInfo(f"frame{i}") for i in range(1, model.frame_encoder.num_blocks + 1)]
            + [LayerInfo("utterance", utterance_level=True)]
        )

    def __call__(self, waveform: np.ndarray) -> List[np.ndarray]:
        speech = torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32))[None]
        lengths = torch.tensor([speech.shape[1]])
        with torch.inference_mode():
            extracted, feat_lengths = self.model.extract(speech, lengths)
            frames, frame_lengths = self.model.frame_encoder(extracted, feat_lengths)
            utterance = self.model.utterance_encoder(extracted, feat_lengths)
        outputs = [layer[0, : int(feat_lengths[0])] for layer in extracted]
        outputs += [layer[0, : int(frame_lengths[0])] for layer in frames]
        outputs.append(utterance)  # (1, D): one "frame"
        return [output.float().numpy() for output in outputs]


def _load_learn2diss(config_file: Path, model_file: Path, name: str) -> Learn2DissExtractor:
    try:
        from espnet_mixrep.learn2diss.io import load_learn2diss
    except ImportError as error:
        raise ModelSpecError(f"model {name!r}: the Learn2Diss package cannot be imported ({error})") from error
    try:
        model = load_learn2diss(config_file, model_file)
    except FileNotFoundError as error:
        raise ModelSpecError(f"model {name!r}: {error}") from error
    with open(config_file, encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    sample_rate = _parse_rate((config.get("extractor_conf") or {}).get("fs", 16000))
    return Learn2DissExtractor(model, sample_rate, name)


# ---------------------------------------------------------------- S3PRL


class S3PRLExtractor(LayerExtractor):
    """Every hidden layer of an S3PRL upstream, each with its own length (multi-resolution models)."""

    def __init__(self, upstream: str, name: str) -> None:
        try:
            from s3prl.nn import S3PRLUpstream
        except ImportError as error:
            raise ModelSpecError(
                f"model {name!r}: kind=s3prl needs the s3prl package (pip install s3prl) and the "
                f"upstream's pretrained weights"
            ) from error
        if upstream not in S3PRLUpstream.available_names():
            raise ModelSpecError(f"model {name!r}: unknown S3PRL upstream {upstream!r}")
        self.upstream = S3PRLUpstream(upstream).eval()
        self.name = name
        self.sample_rate = 16000  # all S3PRL upstreams take 16 kHz audio
        self.layers = [LayerInfo(f"layer{i}") for i in range(self.upstream.num_layers)]

    def __call__(self, waveform: np.ndarray) -> List[np.ndarray]:
        speech = torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32))[None]
        with torch.inference_mode():
            layers, lengths = self.upstream(speech, torch.tensor([speech.shape[1]]))
        return [layer[0, : int(length[0])].float().numpy() for layer, length in zip(layers, lengths)]


# ---------------------------------------------------------------- specs

MODEL_KEYS = {"name", "kind", "config", "model_file", "task", "fs", "upstream"}


def parse_model_spec(spec: str) -> Dict[str, str]:
    options = parse_key_values(spec, MODEL_KEYS, "model", ModelSpecError)
    kind = options.setdefault("kind", "espnet")
    if not options.get("name"):
        raise ModelSpecError(f"model spec {spec!r}: needs name=")
    required = {"espnet": ("config", "model_file"), "learn2diss": ("config", "model_file"), "s3prl": ("upstream",)}
    if kind not in required:
        raise ModelSpecError(f"model spec {spec!r}: kind must be one of {sorted(required)}")
    missing = [key for key in required[kind] if not options.get(key)]
    if missing:
        raise ModelSpecError(f"model spec {spec!r}: kind={kind} needs {', '.join(k + '=' for k in missing)}")
    return options


def build_extractor(spec: str) -> LayerExtractor:
    options = parse_model_spec(spec)
    name, kind = options["name"], options["kind"]
    if kind == "espnet":
        model, config = load_espnet_model(Path(options["config"]), Path(options["model_file"]), options.get("task", "asr"))
        return ESPnetEncoderExtractor(model, _model_sample_rate(config, options.get("fs")), name)
    if kind == "learn2diss":
        return _load_learn2diss(Path(options["config"]), Path(options["model_file"]), name)
    return S3PRLExtractor(options["upstream"], name)


# ---------------------------------------------------------------- audio


class AudioSource:
    """The audio of a Kaldi data directory: wav.scp (paths or ``cmd |``) and optional segments."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        if not (self.data_dir / "wav.scp").is_file():
            raise DataDirError(f"{self.data_dir / 'wav.scp'}: file not found")
        if (self.data_dir / "text").is_file() and (self.data_dir / "utt2spk").is_file():
            validate_data_dir(self.data_dir)
        self.wav_scp = read_kaldi_map(self.data_dir / "wav.scp")
        self.segments: Dict[str, Tuple[str, float, float]] = {}
        if (self.data_dir / "segments").is_file():
            for utt_id, value in read_kaldi_map(self.data_dir / "segments").items():
                rec_id, start, end = value.split()
                self.segments[utt_id] = (rec_id, float(start), float(end))

    @property
    def utt_ids(self) -> List[str]:
        return sorted(self.segments) if self.segments else sorted(self.wav_scp)

    def durations(self) -> Dict[str, Optional[float]]:
        """Seconds per utterance from headers and segments; None for piped entries."""
        durations: Dict[str, Optional[float]] = {}
        for utt_id in self.utt_ids:
            if self.segments:
                _, start, end = self.segments[utt_id]
                durations[utt_id] = end - start
                continue
            entry = self.wav_scp[utt_id]
            if entry.endswith("|"):
                durations[utt_id] = None
                continue
            try:
                durations[utt_id] = soundfile.info(entry).duration
            except Exception as error:  # soundfile raises several types for unreadable files
                raise DataDirError(f"{self.data_dir / 'wav.scp'}: cannot read '{entry}' of {utt_id!r} ({error})")
        return durations

    def load(self, utt_id: str, sample_rate: int) -> np.ndarray:
        """Mono float32 samples of one utterance, resampled to ``sample_rate``."""
        rec_id, start, end = self.segments.get(utt_id, (utt_id, 0.0, None))
        entry = self.wav_scp[rec_id]
        audio, rate = read_wav_entry(entry, str(self.data_dir / "wav.scp"))
        audio = audio[int(round(start * rate)) : None if end is None else int(round(end * rate))]
        return resample(audio, rate, sample_rate)


# ---------------------------------------------------------------- pooling


def unit_frames(n_frames: int, duration: float, unit: Unit, pooling: str) -> np.ndarray:
    """Indices of a layer's frames that a unit pools.

    Frame i of T frames is taken to cover [i, i + 1) * duration / T (exact for
    the layer's own frame rate up to the edge effects of subsampling); a unit
    pools the frames whose centres fall in its span, or in its middle third.
    A unit shorter than a frame gets the frame nearest its centre.
    """
    if unit.start is None or n_frames == 1:
        return np.arange(n_frames)
    start, end = unit.start, unit.end
    if pooling == "middle_third":
        third = (end - start) / 3
        start, end = start + third, end - third
    centres = (np.arange(n_frames) + 0.5) * duration / n_frames
    inside = np.flatnonzero((centres >= start) & (centres < end))
    if len(inside):
        return inside
    return np.array([min(n_frames - 1, int((start + end) / 2 * n_frames / duration))])


@dataclass
class UnitRepresentations:
    """Pooled representations of one label set: per layer an (n_units, D) matrix."""

    label_set: str
    labels: List[str]
    layers: Dict[int, np.ndarray]


def extract_unit_representations(
    extractor: LayerExtractor,
    audio: AudioSource,
    label_sets: Sequence[LabelSet],
    layer_indices: Sequence[int],
) -> List[UnitRepresentations]:
    """Run the model once per utterance that has units; pool each unit in each layer."""
    by_utt: Dict[str, List[Tuple[int, int]]] = {}
    for set_index, label_set in enumerate(label_sets):
        for unit_index, unit in enumerate(label_set.units):
            by_utt.setdefault(unit.utt_id, []).append((set_index, unit_index))
    # A one-vector-per-utterance layer says nothing about units inside an utterance.
    pooled: List[Dict[int, List[np.ndarray]]] = [
        {
            layer: [None] * len(label_set.units)
            for layer in layer_indices
            if label_set.is_utterance_level or not extractor.layers[layer].utterance_level
        }
        for label_set in label_sets
    ]
    # Per layer: sum of squared frame values and frame count, to spot pooling that erases the signal.
    frame_energy = {layer: [0.0, 0] for layer in layer_indices}
    for utt_id in sorted(by_utt):
        waveform = audio.load(utt_id, extractor.sample_rate)
        duration = len(waveform) / extractor.sample_rate
        outputs = extractor(waveform)
        for layer, energy in frame_energy.items():
            energy[0] += float(np.square(outputs[layer], dtype=np.float64).sum())
            energy[1] += outputs[layer].size
        for set_index, unit_index in by_utt[utt_id]:
            label_set = label_sets[set_index]
            unit = label_set.units[unit_index]
            check_unit_span(unit, duration)  # piped audio is only measured now
            for layer in pooled[set_index]:
                frames = outputs[layer]
                if len(frames) == 0:
                    raise LabelError(f"model {extractor.name!r}: layer {layer} has no frames for {utt_id!r}")
                selected = unit_frames(len(frames), duration, unit, label_set.pooling)
                pooled[set_index][layer][unit_index] = frames[selected].mean(0)
    results = [
        UnitRepresentations(
            label_set=label_set.name,
            labels=[unit.label for unit in label_set.units],
            layers={layer: np.stack(vectors) for layer, vectors in pooled[set_index].items()},
        )
        for set_index, label_set in enumerate(label_sets)
    ]
    for result in results:
        for layer, matrix in result.layers.items():
            frame_mean_square = frame_energy[layer][0] / max(frame_energy[layer][1], 1)
            if matrix.var(0).mean() < 1e-6 * frame_mean_square:
                # e.g. mean-pooling a layer normalised per utterance gives ~0 for every utterance
                logging.warning(
                    "model %r, labels %r, layer %d (%s): pooled units are nearly constant "
                    "(variance %.2e vs frame mean square %.2e); its scores measure numerical noise",
                    extractor.name, result.label_set, layer, extractor.layers[layer].name,
                    matrix.var(0).mean(), frame_mean_square,
                )
    return results


def resolve_layers(extractor: LayerExtractor, requested: Optional[Sequence[int]]) -> List[int]:
    """Check requested layer indices against the model (all of them when None)."""
    n_layers = len(extractor.layers)
    if requested is None:
        return list(range(n_layers))
    bad = [layer for layer in requested if not 0 <= layer < n_layers]
    if bad:
        names = ", ".join(f"{i}={info.name}" for i, info in enumerate(extractor.layers))
        raise ModelSpecError(f"model {extractor.name!r} has no layer {bad}: it has {n_layers} layers ({names})")
    return sorted(set(requested))
