"""WSJ0 (LDC93S6B) + WSJ1 (LDC94S13B) data preparation, following Kaldi's
wsj_data_prep.sh and ESPnet's egs2/wsj/asr1/local/data.sh.

Sets: train_si84 (WSJ0 tr_s_wv1.ndx minus 11-2.1/wsj0/si_tr_s/401), train_si284
(si84 plus WSJ1 si_tr_s.ndx), test_dev93 (WSJ1 h1_p0.ndx), test_eval92 (WSJ0
si_et_20.ndx). Utterance id = file basename (lower case), speaker = its first
three characters, transcripts from the .dot files, normalised by
:func:`normalise_wsj_transcript`. Also writes the non-linguistic symbol list
(tokens of train_si284 containing "<") and the extra LM text (WSJ1 13-32.1
lng_modl np_data 87/88/89, lines without "<", upper-cased).

Everything the preparation needs is checked first (:func:`check_wsj_corpus`),
and a missing or partial corpus raises one :class:`WsjCorpusError` listing
what is missing before any output is written.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from espnet_mixrep.core.datadir import DataDirError, Utterance, write_data_dir, write_text_atomic
from espnet_mixrep.core.sphere import check_sphere_readable, sphere_wav_command

PathLike = Union[str, os.PathLike]

NOISE_WORD = "<NOISE>"
TRAIN_SI84_INDEX = ("wsj0", "11-13.1/wsj0/doc/indices/train/tr_s_wv1.ndx")
EVAL92_INDEX = ("wsj0", "11-13.1/wsj0/doc/indices/test/nvp/si_et_20.ndx")
SI_TR_S_INDEX = ("wsj1", "13-34.1/wsj1/doc/indices/si_tr_s.ndx")
DEV93_INDEX = ("wsj1", "13-34.1/wsj1/doc/indices/h1_p0.ndx")
LM_TEXT_DIR = ("wsj1", "13-32.1/wsj1/doc/lng_modl/lm_train/np_data")
LM_TEXT_YEARS = ("87", "88", "89")
# Kaldi drops this speaker from si84 (as do all WSJ recipes).
EXCLUDED_SI84_PREFIX = "11-2.1/wsj0/si_tr_s/401"
DISC_PATTERN = re.compile(r"^\d+-\d+\.\d+$")
MAX_LISTED = 20


class WsjCorpusError(DataDirError):
    """The WSJ corpus directories are missing or incomplete."""


# --------------------------------------------------------------------------- text
_DELETED_MARKUP = (
    re.compile(r"^\[<\w+\]$"),  # [<door_slam]: noise during the preceding word
    re.compile(r"^\[\w+>\]$"),  # [door_slam>]: noise during the next word
    re.compile(r"\[\w+/\]$"),  # [phone_ring/]: start of a phenomenon
    re.compile(r"\[/\w+\]$"),  # [/phone_ring]: its end
)
_NOISE = re.compile(r"\[\w+\]")
_VERBAL_DELETION = re.compile(r"^<([\w']+)>$")


def normalise_wsj_word(word: str) -> Optional[str]:
    """One .dot token -> its normalised form, or None when it is dropped.

    Kaldi's normalize_transcript.pl rules, in order: upper-case; drop
    backslashes; %PERCENT -> PERCENT, .POINT -> POINT; drop [<x] [x>] [x/] [/x]
    ~ and .; other [noise] -> <NOISE>; <word> -> word; --DASH -> -DASH.
    """
    w = word.upper().replace("\\", "")
    if w == "%PERCENT":
        w = "PERCENT"
    elif w == ".POINT":
        w = "POINT"
    if any(p.search(w) for p in _DELETED_MARKUP) or w in ("~", "."):
        return None
    if _NOISE.search(w):
        return NOISE_WORD
    m = _VERBAL_DELETION.match(w)
    if m:
        return m.group(1)
    if w == "--DASH":
        return "-DASH"
    return w


def normalise_wsj_transcript(text: str) -> str:
    words = (normalise_wsj_word(w) for w in text.split())
    return " ".join(w for w in words if w)


def parse_dot_file(path: PathLike) -> Dict[str, str]:
    """``TEXT (uttid)`` lines -> {uttid (lower case): raw text}."""
    entries: Dict[str, str] = {}
    with open(path, encoding="latin-1") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            m = re.match(r"^(.*)\((\w{8})\)\s*$", line.rstrip("\n"))
            if not m:
                raise WsjCorpusError(f"{path}:{lineno}: bad .dot line '{line.rstrip()}'")
            entries[m.group(2).lower()] = m.group(1).strip()
    return entries


# --------------------------------------------------------------------------- corpus
@dataclass
class IndexEntry:
    disc_id: str  # e.g. 11_2_1
    relative: str  # e.g. wsj0/si_tr_s/01i/01ic0201.wv1
    index_file: Path

    @property
    def disc_name(self) -> str:
        a, b, c = self.disc_id.split("_")
        return f"{a}-{b}.{c}"


@dataclass
class WsjCorpus:
    """The resolved corpus: audio per set, transcripts, LM text files."""

    sets: Dict[str, List[Tuple[str, Path]]]  # set -> [(utt_id, audio path)]
    transcripts: Dict[str, str]  # utt_id -> raw .dot text
    lm_text_files: List[Path] = field(default_factory=list)


def find_discs(*roots: Optional[PathLike]) -> Dict[str, Path]:
    """Disc directories (11-1.1, 13-34.1, ...) directly under the given roots -> {11_1_1: path}."""
    discs: Dict[str, Path] = {}
    for root in roots:
        if root is None or not Path(root).is_dir():
            continue
        for child in sorted(Path(root).iterdir()):
            if child.is_dir() and DISC_PATTERN.match(child.name):
                discs[re.sub(r"[-.]", "_", child.name)] = child
    return discs


def read_ndx(path: Path) -> List[IndexEntry]:
    entries = []
    with open(path, encoding="latin-1") as f:
        for lineno, line in enumerate(f, 1):
            if line.startswith(";") or not line.strip():
                continue
            m = re.match(r"^([0-9_]+):\s*(\S+)\s*$", line)
            if not m:
                raise WsjCorpusError(f"{path}:{lineno}: cannot parse index line '{line.rstrip()}'")
            entries.append(IndexEntry(m.group(1), m.group(2).lstrip("/"), path))
    return entries


def _resolve_audio(entry: IndexEntry, discs: Dict[str, Path], add_ext: bool) -> Tuple[str, Optional[Path], str]:
    """-> (utt_id, existing path or None, path shown when missing)."""
    relative = entry.relative
    if add_ext and not relative.lower().endswith(".wv1"):
        relative += ".wv1"
    utt_id = Path(relative).stem.lower()
    disc = discs.get(entry.disc_id)
    shown = f"{entry.disc_name}/{relative}"
    if disc is None:
        return utt_id, None, shown
    for candidate in (disc / relative, disc / relative.upper(), disc / relative.lower()):
        # 13-16.1 was distributed with upper-case file names on some copies.
        if candidate.is_file():
            return utt_id, candidate, shown
    return utt_id, None, str(disc / relative)


def _find_dot_files(discs: Dict[str, Path]) -> Dict[str, Path]:
    """{first 6 chars of utterance id: .dot file}, from every disc."""
    dots: Dict[str, Path] = {}
    for disc in discs.values():
        for dirpath, _, filenames in os.walk(disc, followlinks=True):
            for name in filenames:
                m = re.match(r"^(\w{6})00\.dot$", name, re.IGNORECASE)
                if m:
                    dots.setdefault(m.group(1).lower(), Path(dirpath) / name)
    return dots


def _listing(title: str, items: Sequence[str]) -> str:
    shown = "\n".join(f"    {x}" for x in items[:MAX_LISTED])
    more = f"\n    ... and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return f"  {title} ({len(items)}):\n{shown}{more}"


def check_wsj_corpus(wsj0: Optional[PathLike], wsj1: Optional[PathLike], lm_text: bool = True) -> WsjCorpus:
    """Resolve every index, audio, transcript and LM file; raise one error listing all that is missing."""
    problems: List[str] = []
    roots = {"wsj0": wsj0, "wsj1": wsj1}
    for name, root in roots.items():
        if root is None or not Path(root).is_dir():
            problems.append(f"  {name.upper()} directory not found: {root!r} (set it in db.sh or pass --{name})")
        elif not find_discs(root):
            problems.append(f"  {name.upper()} directory {root} holds no LDC disc directories (11-1.1, 13-34.1, ...)")
    discs = find_discs(wsj0, wsj1)

    missing_index: List[str] = []
    entries: Dict[str, List[Tuple[List[IndexEntry], bool]]] = {}

    def load(spec: Tuple[str, str]) -> List[IndexEntry]:
        root = roots[spec[0]]
        path = Path(root) / spec[1] if root is not None else Path(spec[1])
        if not path.is_file():
            missing_index.append(str(path))
            return []
        return read_ndx(path)

    si84 = [e for e in load(TRAIN_SI84_INDEX) if not f"{e.disc_name}/{e.relative}".lower().startswith(EXCLUDED_SI84_PREFIX)]
    si_tr_s = load(SI_TR_S_INDEX)
    dev93 = load(DEV93_INDEX)
    eval92 = load(EVAL92_INDEX)
    entries = {
        "train_si84": [(si84, False)],
        "train_si284": [(si84, False), (si_tr_s, False)],
        "test_dev93": [(dev93, False)],
        # si_et_20.ndx lists files without their extension.
        "test_eval92": [(eval92, True)],
    }

    missing_audio: List[str] = []
    unreadable: List[str] = []
    sets: Dict[str, List[Tuple[str, Path]]] = {}
    checked: Dict[Path, Optional[str]] = {}
    for set_name, groups in entries.items():
        resolved: Dict[str, Path] = {}
        for group, add_ext in groups:
            for entry in group:
                utt_id, path, shown = _resolve_audio(entry, discs, add_ext)
                if path is None:
                    missing_audio.append(f"{shown} (listed in {entry.index_file.name})")
                    continue
                if path not in checked:
                    checked[path] = check_sphere_readable(path)
                    if checked[path]:
                        unreadable.append(checked[path])
                if resolved.get(utt_id, path) != path:
                    problems.append(f"  utterance id '{utt_id}' names two files: {resolved[utt_id]} and {path}")
                resolved[utt_id] = path
        sets[set_name] = sorted(resolved.items())
    missing_audio = sorted(set(missing_audio))

    transcripts: Dict[str, str] = {}
    missing_trans: List[str] = []
    dots = _find_dot_files(discs) if discs else {}
    parsed: Dict[str, Dict[str, str]] = {}
    for utt_id, _ in sorted({u for s in sets.values() for u in s}):
        prefix = utt_id[:6]
        if prefix not in dots:
            missing_trans.append(f"{utt_id} (no {prefix}00.dot file)")
            continue
        if prefix not in parsed:
            parsed[prefix] = parse_dot_file(dots[prefix])
        if utt_id not in parsed[prefix]:
            missing_trans.append(f"{utt_id} (not in {dots[prefix]})")
        else:
            transcripts[utt_id] = parsed[prefix][utt_id]

    lm_files: List[Path] = []
    missing_lm: List[str] = []
    if lm_text and wsj1 is not None:
        for year in LM_TEXT_YEARS:
            year_dir = Path(wsj1) / LM_TEXT_DIR[1] / year
            files = sorted(p for p in year_dir.glob("*") if p.is_file()) if year_dir.is_dir() else []
            if not files:
                missing_lm.append(f"{year_dir} (no LM text files)")
            lm_files.extend(files)

    for title, items in (
        ("index files", missing_index),
        ("audio files", missing_audio),
        ("unreadable audio", sorted(set(unreadable))),
        ("transcripts", missing_trans),
        ("LM text", missing_lm),
    ):
        if items:
            problems.append(_listing(f"missing {title}" if title != "unreadable audio" else title, items))
    if problems:
        raise WsjCorpusError("WSJ corpus is incomplete; nothing was written.\n" + "\n".join(problems))
    return WsjCorpus(sets=sets, transcripts=transcripts, lm_text_files=lm_files)


# --------------------------------------------------------------------------- LM text
def read_compressed_text(path: Path) -> Iterator[str]:
    """Lines of a WSJ LM text file: gzip, Unix compress / pack (.z, .Z, via gzip -dc) or plain."""
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        with gzip.open(path, "rt", encoding="latin-1") as f:
            yield from f
    elif magic in (b"\x1f\x9d", b"\x1f\x1e"):
        # compress (LZW) or pack (Huffman): Python has no decoder, gzip (zcat) does.
        out = subprocess.run(["gzip", "-dc", str(path)], check=True, capture_output=True).stdout
        yield from out.decode("latin-1").splitlines()
    else:
        with open(path, encoding="latin-1") as f:
            yield from f


def lm_text_lines(files: Sequence[Path]) -> Iterator[str]:
    """ESPnet's rule: drop every line containing '<' (SGML markup), upper-case the rest."""
    for path in files:
        for line in read_compressed_text(path):
            line = line.strip()
            if line and "<" not in line:
                yield line.upper()


# --------------------------------------------------------------------------- main
def prepare_wsj(
    wsj0: Optional[PathLike],
    wsj1: Optional[PathLike],
    data_dir: PathLike,
    lm_text: bool = True,
    sets: Sequence[str] = ("train_si284", "train_si84", "test_dev93", "test_eval92"),
) -> Dict[str, int]:
    """Write data/<set>, data/nlsyms.txt and data/local/other_text/text; -> {set: #utterances}."""
    corpus = check_wsj_corpus(wsj0, wsj1, lm_text=lm_text)
    data_dir = Path(data_dir)
    counts: Dict[str, int] = {}
    texts: Dict[str, Dict[str, str]] = {}
    for set_name in sets:
        utts = []
        for utt_id, path in corpus.sets[set_name]:
            text = normalise_wsj_transcript(corpus.transcripts[utt_id])
            if not text:
                continue  # e.g. a transcript of only noise markup: nothing to learn from
            utts.append(Utterance(utt_id, utt_id[:3], text, sphere_wav_command(path)))
        write_data_dir(data_dir / set_name, utts)
        counts[set_name] = len(utts)
        texts[set_name] = {u.utt_id: u.text for u in utts}

    train = texts.get("train_si284") or next(iter(texts.values()))
    nlsyms = sorted({w for t in train.values() for w in t.split() if "<" in w})
    write_text_atomic(data_dir / "nlsyms.txt", "".join(f"{s}\n" for s in nlsyms))
    if lm_text:
        lines = (f"wsj1_lng_{n:07d} {line}\n" for n, line in enumerate(lm_text_lines(corpus.lm_text_files), 1))
        write_text_atomic(data_dir / "local" / "other_text" / "text", "".join(lines))
    return counts
