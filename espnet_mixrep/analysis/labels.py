"""Unit labels for the layer-wise analysis: utterance maps, CTM and TextGrid.

A label set is a list of units, each an utterance id, a label and optionally
a time span inside the utterance. Utterance-level units (the spoken word of a
single-word recording, the speaker) span the whole utterance; alignment units
(phones, words) come from a CTM file or from Praat TextGrids such as the
Montreal Forced Aligner writes.

Label sets are given on the command line as comma-separated ``key=value``
lists, e.g. ``name=speaker,utt=data/test/utt2spk`` or
``name=phone,textgrid=align/,tier=phones,pool=middle_third,top=39``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Set, Type

from espnet_mixrep.core.datadir import read_kaldi_map

# Alignment tools mark silence and noise with these; Pasad et al. drop silence.
DEFAULT_EXCLUDE: FrozenSet[str] = frozenset({"sil", "SIL", "sp", "spn", "SPN", "<eps>", "<sil>", "<SIL>"})
POOLINGS = ("mean", "middle_third")
# Aligners round to their 10 ms frame grid, so a unit may end a little past
# the audio; beyond this it is a wrong alignment.
END_TOLERANCE_S = 0.03


class LabelError(ValueError):
    """A label file or label specification is malformed or does not fit the data."""


@dataclass(frozen=True)
class Unit:
    """One labelled unit; start/end in seconds from the utterance start, or None for all of it."""

    utt_id: str
    label: str
    start: Optional[float]
    end: Optional[float]
    origin: str  # "file:line" for error messages


@dataclass
class LabelSet:
    """A named set of units and how to pool their frames."""

    name: str
    units: List[Unit]
    pooling: str = "mean"
    n_clusters: Optional[int] = None
    source: str = ""
    options: Dict[str, str] = field(default_factory=dict)

    @property
    def is_utterance_level(self) -> bool:
        return all(unit.start is None for unit in self.units)


def read_utterance_labels(path: Path) -> List[Unit]:
    """``utt_id label`` lines (Kaldi map, e.g. utt2spk); the rest of the line is the label."""
    try:
        entries = read_kaldi_map(path)
    except ValueError as error:
        raise LabelError(str(error)) from error
    return [Unit(utt_id, " ".join(label.split()), None, None, f"{path}") for utt_id, label in entries.items()]


def read_ctm(path: Path) -> List[Unit]:
    """CTM lines ``utt_id channel start duration unit [confidence]``, times in seconds."""
    path = Path(path)
    if not path.is_file():
        raise LabelError(f"{path}: CTM file not found")
    units = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields or fields[0].startswith(";;"):
                continue
            if len(fields) not in (5, 6):
                raise LabelError(f"{path}:{lineno}: expected 'utt channel start duration unit [conf]', got {line.strip()!r}")
            try:
                start, duration = float(fields[2]), float(fields[3])
            except ValueError:
                raise LabelError(f"{path}:{lineno}: start and duration must be numbers, got {fields[2]!r} {fields[3]!r}")
            if start < 0 or duration <= 0:
                raise LabelError(f"{path}:{lineno}: needs start >= 0 and duration > 0, got {start} {duration}")
            units.append(Unit(fields[0], fields[4], start, start + duration, f"{path}:{lineno}"))
    return units


_TEXTGRID_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(<exists>|<absent>)|([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)')
_BRACKETED_INDEX = re.compile(r"\[\s*\d*\s*\]")


def read_textgrid(path: Path, tier: str, utt_id: Optional[str] = None) -> List[Unit]:
    """Intervals of one tier of a Praat TextGrid (long or short text format).

    Both formats hold the same values in the same order; only the labels
    (``xmin =``, ``intervals [3]:``) differ, so the file is read as that stream
    of strings, numbers and flags. The utterance id is the file's stem unless
    given. Empty intervals are skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise LabelError(f"{path}: TextGrid file not found")
    text = _BRACKETED_INDEX.sub(" ", path.read_text(encoding="utf-8-sig"))
    tokens = []
    for match in _TEXTGRID_TOKEN.finditer(text):
        string, flag, number = match.groups()
        if string is not None:
            tokens.append(string.replace('""', '"'))
        elif flag is not None:
            tokens.append(flag)
        else:
            tokens.append(float(number))
    utt_id = utt_id or path.stem
    stream = _TokenStream(tokens, path)
    if stream.string() != "ooTextFile" or stream.string() != "TextGrid":
        raise LabelError(f"{path}: not a Praat TextGrid text file")
    stream.number()
    stream.number()
    if stream.string() != "<exists>":
        raise LabelError(f"{path}: TextGrid has no tiers")
    tier_names = []
    for _ in range(int(stream.number())):
        tier_class, name = stream.string(), stream.string()
        tier_names.append(name)
        stream.number()
        stream.number()
        n_items = int(stream.number())
        if tier_class == "IntervalTier":
            intervals = [(stream.number(), stream.number(), stream.string()) for _ in range(n_items)]
        elif tier_class == "TextTier":
            intervals = [(stream.number(), None, stream.string()) for _ in range(n_items)]
        else:
            raise LabelError(f"{path}: unknown tier class {tier_class!r}")
        if name == tier:
            if tier_class != "IntervalTier":
                raise LabelError(f"{path}: tier {tier!r} is a point tier; units need intervals")
            return [
                Unit(utt_id, label.strip(), start, end, f"{path} tier {tier!r} interval {i + 1}")
                for i, (start, end, label) in enumerate(intervals)
                if label.strip()
            ]
    raise LabelError(f"{path}: no tier named {tier!r} (tiers: {tier_names})")


def read_textgrid_dir(directory: Path, tier: str) -> List[Unit]:
    """All ``*.TextGrid`` files under a directory (MFA writes one per utterance, in speaker folders)."""
    directory = Path(directory)
    if directory.is_file():
        return read_textgrid(directory, tier)
    if not directory.is_dir():
        raise LabelError(f"{directory}: TextGrid file or directory not found")
    files = sorted(directory.rglob("*.TextGrid"))
    if not files:
        raise LabelError(f"{directory}: no *.TextGrid files")
    seen: Dict[str, Path] = {}
    units: List[Unit] = []
    for path in files:
        if path.stem in seen:
            raise LabelError(f"{path}: utterance id {path.stem!r} also has {seen[path.stem]}")
        seen[path.stem] = path
        units.extend(read_textgrid(path, tier))
    return units


class _TokenStream:
    def __init__(self, tokens: list, path: Path) -> None:
        self._tokens, self._position, self._path = tokens, 0, path

    def _next(self):
        if self._position >= len(self._tokens):
            raise LabelError(f"{self._path}: TextGrid ends early")
        token = self._tokens[self._position]
        self._position += 1
        return token

    def string(self) -> str:
        token = self._next()
        if not isinstance(token, str):
            raise LabelError(f"{self._path}: malformed TextGrid (expected text, got {token})")
        return token

    def number(self) -> float:
        token = self._next()
        if not isinstance(token, float):
            raise LabelError(f"{self._path}: malformed TextGrid (expected a number, got {token!r})")
        return token


def parse_key_values(spec: str, allowed: Set[str], what: str, error: Type[Exception]) -> Dict[str, str]:
    """``key=value,key=value`` -> dict; an unknown or repeated key raises ``error`` naming the ``what`` spec."""
    options: Dict[str, str] = {}
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in allowed:
            raise error(f"{what} spec {spec!r}: bad item {item!r} (keys: {sorted(allowed)})")
        if key in options:
            raise error(f"{what} spec {spec!r}: {key!r} given twice")
        options[key] = value.strip()
    return options


LABEL_KEYS = {"name", "utt", "ctm", "textgrid", "tier", "pool", "exclude", "top", "k"}


def parse_label_spec(spec: str) -> Dict[str, str]:
    """``key=value,key=value`` -> dict, checking the keys."""
    options = parse_key_values(spec, LABEL_KEYS, "label", LabelError)
    sources = [key for key in ("utt", "ctm", "textgrid") if key in options]
    if "name" not in options or not options["name"] or len(sources) != 1:
        raise LabelError(f"label spec {spec!r}: needs name= and exactly one of utt=, ctm=, textgrid=")
    if "textgrid" in options and not options.get("tier"):
        raise LabelError(f"label spec {spec!r}: textgrid= needs tier= (e.g. tier=words)")
    if options.get("pool", "mean") not in POOLINGS:
        raise LabelError(f"label spec {spec!r}: pool must be one of {POOLINGS}")
    for key in ("top", "k"):
        if key in options and not (options[key].isdigit() and int(options[key]) > 0):
            raise LabelError(f"label spec {spec!r}: {key} must be a positive integer")
    return options


def load_label_set(spec: str) -> LabelSet:
    """Read the units a label spec names, drop excluded labels, keep the ``top`` most frequent."""
    options = parse_label_spec(spec)
    if "utt" in options:
        source = options["utt"]
        units = read_utterance_labels(Path(source))
        exclude: FrozenSet[str] = frozenset()
    else:
        source = options.get("ctm") or options["textgrid"]
        units = read_ctm(Path(source)) if "ctm" in options else read_textgrid_dir(Path(source), options["tier"])
        exclude = DEFAULT_EXCLUDE
    if "exclude" in options:
        exclude = frozenset(label for label in options["exclude"].split(":") if label)
    units = [unit for unit in units if unit.label not in exclude]
    if "top" in options:
        counts = Counter(unit.label for unit in units)
        # Ties broken by label so that reruns keep the same set.
        kept = {label for label, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: int(options["top"])]}
        units = [unit for unit in units if unit.label in kept]
    if not units:
        raise LabelError(f"{source}: no units left for label set {options['name']!r}")
    return LabelSet(
        name=options["name"],
        units=units,
        pooling=options.get("pool", "mean"),
        n_clusters=int(options["k"]) if "k" in options else None,
        source=source,
        options=options,
    )


def check_units_against_data(label_set: LabelSet, durations: Mapping[str, Optional[float]]) -> None:
    """Every unit must name an utterance of the data and end within its audio.

    ``durations`` maps each utterance id of the data directory to its length in
    seconds, or None where it is only known after decoding (piped wav.scp
    entries; those are checked again during extraction).
    """
    unknown = sorted({unit.utt_id for unit in label_set.units if unit.utt_id not in durations})
    if unknown:
        raise LabelError(
            f"{label_set.source}: {len(unknown)} utterance ids of label set {label_set.name!r} "
            f"are not in the data directory (e.g. {unknown[:3]})"
        )
    for unit in label_set.units:
        check_unit_span(unit, durations[unit.utt_id])


def check_unit_span(unit: Unit, duration: Optional[float]) -> None:
    if unit.end is None or duration is None:
        return
    if unit.end > duration + END_TOLERANCE_S:
        raise LabelError(
            f"{unit.origin}: unit {unit.label!r} of {unit.utt_id!r} ends at {unit.end:.3f} s, "
            f"past the audio's end ({duration:.3f} s)"
        )
    if unit.end <= unit.start:
        raise LabelError(f"{unit.origin}: unit {unit.label!r} of {unit.utt_id!r} has end <= start")
