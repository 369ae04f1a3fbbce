"""Switchboard-1 (LDC97S62) and Hub5 eval2000 (LDC2002S09 + LDC2002T43) data
preparation, following Kaldi's swbd1_data_prep.sh / eval2000_data_prep.sh and
ESPnet's egs2/swbd/asr1/local/data.sh.

Training text (ms98 transcripts), per utterance:
 1. id ``sw0NNNN-S_SSSSSS-EEEEEE`` (side S, times in centiseconds rounded);
 2. drop [silence] tokens and <b_aside> / <e_aside> markers; drop utterances
    left without words;
 3. Kaldi's swbd1_map_words.pl rules (:func:`map_swbd_word`);
 4. acronyms spelled letter by letter in the ms98 dictionary become
    ``i._b._m.`` (Kaldi's format_acronyms_dict.py / map_acronyms_transcripts.py),
    then everything is lower-cased;
 5. ESPnet's formatting: ``._`` -> space, dots removed, them_1 -> them.
Sets: all utterances sorted by id; train_dev = the first 4000; train_nodup =
the rest with at most 300 copies of any one transcript (Kaldi's
remove_dup_utts.sh 300, first copies kept). Low-resource subsets
(:func:`select_subset`): whole conversations of train_nodup in the order of
the SHA-1 of their ids, until the hours target is reached (40 h and 80 h by
default; the 40 h set is contained in the 80 h set). Audio: channel 1 = side
A, channel 2 = side B, at 8 kHz in data/; the driver's stage 3 (``--fs 16k``)
upsamples it to 16 kHz in dump/raw, as ESPnet's format stage does.

eval2000: segments from hub5e_00.pem (extended by 0.1 s without overlap,
Kaldi's extend_segments.pl), texts from the stm (segments marked
IGNORE_TIME_SEGMENT_IN_SCORING dropped), lower-cased without (%...) tags,
<...> markers and parentheses; the stm (with Kaldi's fixes), the glm and the
segments are copied to data/local/eval2000 for scoring (:mod:`espnet_mixrep.recipes.hub5_scoring`).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from espnet_mixrep.core.datadir import DataDirError, Utterance, write_data_dir, write_text_atomic
from espnet_mixrep.core.sphere import check_sphere_readable, sphere_wav_command
from espnet_mixrep.recipes.wsj import _listing

PathLike = Union[str, os.PathLike]

MS98_SUBDIR = Path("transcriptions") / "swb_ms98_transcriptions"
MS98_DICT = "sw-ms98-dict.text"
EVAL2000_PEM = Path("english") / "hub5e_00.pem"
EVAL2000_REFERENCE = Path("2000_hub5_eng_eval_tr") / "reference"
EVAL2000_STM = "hub5e00.english.000405.stm"
EVAL2000_GLM = "en20000405_hub5.glm"
DEFAULT_SUBSETS = {"train_40h": 40.0, "train_80h": 80.0}

# Letter names in the ms98 phone set: a word whose pronunciation is its letters
# spoken one by one is an acronym (our own table; pass ESPnet's
# local/MSU_single_letter.txt as ``letters_file`` to reproduce ESPnet exactly).
LETTER_PRONUNCIATIONS = {
    "A": "ey", "B": "b iy", "C": "s iy", "D": "d iy", "E": "iy", "F": "eh f", "G": "jh iy",
    "H": "ey ch", "I": "ay", "J": "jh ey", "K": "k ey", "L": "eh l", "M": "eh m", "N": "eh n",
    "O": "ow", "P": "p iy", "Q": "k y uw", "R": "aa r", "S": "eh s", "T": "t iy", "U": "y uw",
    "V": "v iy", "W": "d ah b ax l y uw", "X": "eh k s", "Y": "w ay", "Z": "z iy",
}  # fmt: skip


class SwbdCorpusError(DataDirError):
    """The Switchboard / eval2000 corpus directories are missing or incomplete."""


# =========================================================================== text rules
def ms98_utterance_id(trans_id: str, start: float, end: float) -> str:
    """sw2001A-ms98-a-0001, 0.98, 11.56 -> sw02001-A_000098-001156 (Kaldi's naming)."""
    name = "sw0" + trans_id[2:6]
    side = trans_id[6]
    return f"{name}-{side}_{int(100 * start + 0.5):06d}-{int(100 * end + 0.5):06d}"


def remove_swbd_markers(words: Sequence[str]) -> List[str]:
    """Drop [silence] tokens and the <b_aside> / <e_aside> markers (case-insensitive)."""
    kept = []
    for word in words:
        if word.lower() == "[silence]":
            continue
        word = re.sub(r"<[be]_aside>", "", word, flags=re.IGNORECASE)
        if word:
            kept.append(word)
    return kept


def map_swbd_word(word: str) -> str:
    """Kaldi's swbd1_map_words.pl, rule by rule (same regexes, same order)."""
    w = word
    # [laughter-story] -> story (keeping a trailing -)
    w = re.sub(r"^\[LAUGHTER-(.+)\](-?)$", r"\1\2", w, flags=re.IGNORECASE)
    # [it'n/isn't] -> it'n: the mispronounced form
    w = re.sub(r"^\[(.+)/.+\](-?)$", r"\1\2", w)
    # -[an]y -> -y: partial word missing its start
    w = re.sub(r"^-?\[[^][]+\](.+)$", r"-\1", w)
    # ab[solute]- -> ab-: partial word missing its end
    w = re.sub(r"^(.+)\[[^][]+\]-?$", r"\1-", w)
    # ex[specially]-/especially] -> ex: a mistake in the input
    w = re.sub(r"([^][]+)\[.+\]$", r"\1", w)
    # {yuppiedom} -> yuppiedom: non-standard words
    w = re.sub(r"^\{(.+)\}$", r"\1", w)
    # perl's "$1-$3" with $3 undefined: the letter before ], then "-"
    w = re.sub(r"[A-Z]\[([^][])+\][A-Z]", lambda m: m.group(1) + "-", w, count=1, flags=re.IGNORECASE)
    # them_1 -> them
    w = re.sub(r"_\d$", "", w)
    return w


def read_letter_pronunciations(path: Optional[PathLike]) -> Dict[str, str]:
    if path is None:
        return dict(LETTER_PRONUNCIATIONS)
    table = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            letter, _, pron = line.partition(" ")
            table[letter.upper()] = pron.strip()
    return table


def acronym_map(dictionary: Iterable[str], letters: Dict[str, str]) -> Dict[str, str]:
    """ms98 lexicon lines -> {word: a._b._c. form} (Kaldi's format_acronyms_dict.py).

    The lexicon's words go through :func:`map_swbd_word` first, as Kaldi does.
    """
    mapping: Dict[str, str] = {}

    def spelled(word: str) -> Optional[str]:
        if not all(c.upper() in letters for c in word):
            return None
        return " ".join(letters[c.upper()] for c in word)

    for line in dictionary:
        if line.startswith("#") or not line.strip():
            continue
        items = line.split()
        word, pron = map_swbd_word(items[0]), " ".join(items[1:])
        if not pron or not re.match(r"^[A-Za-z]+$|^[A-Za-z]+'s$|^[A-Za-z]+s$", word):
            continue
        dotted = lambda letters_: "._".join(c.lower() for c in letters_) + "."  # noqa: E731
        if word.endswith("'s") and pron[-1] in "sz":
            base = word[:-2]
            if spelled(base) == pron[:-2].strip():
                mapping[word] = dotted(base) + "'s"
        elif word.endswith("s") and pron[-1] in "sz":
            base = word[:-1]
            if spelled(base) == pron[:-2].strip():
                mapping[word] = dotted(base) + "s"
        elif "'" not in word and not word.endswith("s"):
            if spelled(word) == pron:
                mapping[word] = dotted(word)
    return mapping


def map_acronyms(words: Sequence[str], acronyms: Dict[str, str]) -> List[str]:
    """Kaldi's map_acronyms_transcripts.py: a spelled-out "I" between capital
    letters joins the acronym; every other word in the map (except i / I) is mapped."""
    items = list(words)
    for i, word in enumerate(items):
        if word == "I":
            x = 0
            while i - 1 - x >= 0 and re.match(r"^[A-Z]$", items[i - 1 - x]):
                x += 1
            y = 0
            while i + 1 + y < len(items) and re.match(r"^[A-Z]$", items[i + 1 + y]):
                y += 1
            if x + y > 0:
                for j in range(i - x, i + y + 1):
                    items[j] = acronyms.get(items[j], items[j])
    return [acronyms[w] if w in acronyms and w not in ("i", "I") else w for w in items]


def espnet_format(text: str) -> str:
    """ESPnet's swbd stage 2: ``._`` -> space, dots dropped, them_1 -> them."""
    text = text.replace("._", " ").replace(".", "").replace("them_1", "them")
    return " ".join(text.split())


def normalise_ms98_words(words: Sequence[str], acronyms: Dict[str, str]) -> Tuple[str, str]:
    """ms98 words -> (Kaldi text, ESPnet text); both '' when nothing is left."""
    words = remove_swbd_markers(words)
    if not words:
        return "", ""
    kaldi = " ".join(map_acronyms([map_swbd_word(w) for w in words], acronyms)).lower()
    return kaldi, espnet_format(kaldi)


def normalise_eval2000_text(text: str) -> str:
    """stm words -> training-style text: lower case, no (%tags), no <markers>, no parentheses.

    ESPnet's sed rules, applied per word (its greedy regex would also delete the
    words between two tags on one line).
    """
    kept = []
    for word in text.lower().split():
        if re.match(r"^\(%.*\)$", word) or re.match(r"^<.*>$", word):
            continue
        word = word.replace("(", "").replace(")", "")
        if word:
            kept.append(word)
    return " ".join(kept)


def remove_dup_utts(texts: Sequence[Tuple[str, str]], max_count: int = 300) -> List[str]:
    """Kaldi's remove_dup_utts.sh: keep the first ``max_count`` utterances of each transcript."""
    seen: Dict[str, int] = defaultdict(int)
    kept = []
    for utt_id, text in texts:
        if seen[text] < max_count:
            kept.append(utt_id)
        seen[text] += 1
    return kept


def extend_segments(
    segments: Sequence[Tuple[str, str, float, float]], extend: float = 0.1
) -> List[Tuple[str, str, float, float]]:
    """Kaldi's extend_segments.pl: widen each segment by ``extend`` seconds on both
    sides, by at most half the gap to its neighbour, never below 0; overlapping
    neighbours are left as they are. Input order is kept."""
    rows = [list(s) for s in segments]
    by_reco: Dict[str, List[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_reco[row[1]].append(i)
    for lines in by_reco.values():
        lines.sort(key=lambda i: rows[i][2])
        rows[lines[0]][2] = max(0.0, rows[lines[0]][2] - extend)
        rows[lines[-1]][3] = rows[lines[-1]][3] + extend
        for a, b in zip(lines, lines[1:]):
            end, start = rows[a][3], rows[b][2]
            if end > start:
                continue
            step = min(extend, 0.5 * (start - end))
            rows[a][3] = end + step
            rows[b][2] = start - step
    return [(r[0], r[1], round(r[2], 2), round(r[3], 2)) for r in rows]


def hub5_utterance_id(conv: str, side: str, start: str, end: str) -> str:
    """Kaldi's awk: sprintf("%s-%s_%06d-%06d", conv, side, $4*100, $5*100) (truncating, in doubles)."""
    return f"{conv}-{side}_{int(float(start) * 100):06d}-{int(float(end) * 100):06d}"


def segment_centiseconds(utt_id: str) -> int:
    """Length of a sw0NNNN-S_SSSSSS-EEEEEE utterance in centiseconds, from its id."""
    start, end = utt_id.rsplit("_", 1)[1].split("-")
    return int(end) - int(start)


def segment_duration(utt_id: str) -> float:
    """Seconds of a sw0NNNN-S_SSSSSS-EEEEEE utterance, from its id."""
    return segment_centiseconds(utt_id) / 100.0


def select_subset(utt_ids: Sequence[str], hours: float) -> List[str]:
    """Whole conversations, in the order of SHA-1(conversation id), until ``hours`` is reached.

    Deterministic, spread over the whole corpus, and nested (a smaller target
    gives a prefix of the same conversation order).
    """
    by_conv: Dict[str, List[str]] = defaultdict(list)
    for utt in utt_ids:
        by_conv[utt.split("-")[0]].append(utt)
    order = sorted(by_conv, key=lambda c: hashlib.sha1(c.encode()).hexdigest())
    chosen: List[str] = []
    target = round(hours * 360000)  # centiseconds: exact sums, no float drift
    total = 0
    for conv in order:
        if total >= target:
            break
        chosen += by_conv[conv]
        total += sum(segment_centiseconds(u) for u in by_conv[conv])
    return sorted(chosen)


# =========================================================================== corpus
@dataclass
class SwbdCorpus:
    sph: Dict[str, Path]  # sw02001 -> audio
    trans_files: List[Path]
    dictionary: Path


@dataclass
class Eval2000Corpus:
    sph: Dict[str, Path]
    pem: Path
    stm: Path
    glm: Path


def _find_sph(root: Path) -> Dict[str, Path]:
    found: Dict[str, Path] = {}
    for dirpath, _, filenames in os.walk(root, followlinks=True):
        for name in filenames:
            if name.lower().endswith(".sph"):
                found.setdefault(name[:-4], Path(dirpath) / name)
    return found


def _check_swbd(swbd_dir: Optional[PathLike], ms98_dir: Optional[PathLike], problems: List[str]) -> Optional[SwbdCorpus]:
    if swbd_dir is None or not Path(swbd_dir).is_dir():
        problems.append(f"  Switchboard (LDC97S62) directory not found: {swbd_dir!r} (set SWBD in db.sh or pass --swbd)")
        return None
    swbd_dir = Path(swbd_dir)
    ms98 = Path(ms98_dir) if ms98_dir else swbd_dir / MS98_SUBDIR
    sph = _find_sph(swbd_dir)
    if not sph:
        problems.append(f"  no .sph audio files under {swbd_dir}")
    if not ms98.is_dir():
        problems.append(
            f"  ms98 transcripts not found: {ms98} (unpack switchboard_word_alignments.tar.gz there or pass --ms98)"
        )
        return None
    trans_files = sorted(ms98.glob("*/*/*-trans.text"))
    if not trans_files:
        problems.append(f"  no */*/*-trans.text files in {ms98}")
    dictionary = ms98 / MS98_DICT
    if not dictionary.is_file():
        problems.append(f"  missing {dictionary} (the ms98 dictionary, needed for the acronym mapping)")
    missing_audio = sorted({f"sw0{f.name[2:6]}.sph (for {f.name})" for f in trans_files if f"sw0{f.name[2:6]}" not in sph})
    if missing_audio:
        problems.append(_listing(f"missing Switchboard audio under {swbd_dir}", missing_audio))
    unreadable = [p for p in (check_sphere_readable(path) for path in sph.values()) if p]
    if unreadable:
        problems.append(_listing("unreadable Switchboard audio", sorted(unreadable)))
    return SwbdCorpus(sph=sph, trans_files=trans_files, dictionary=dictionary)


def _check_eval2000(speech: Optional[PathLike], text: Optional[PathLike], problems: List[str]) -> Optional[Eval2000Corpus]:
    ok = True
    if speech is None or not (Path(speech) / "english").is_dir():
        problems.append(f"  eval2000 speech (LDC2002S09 hub5e_00) not found: expected {speech}/english")
        ok = False
    reference = None
    if text is not None:
        for candidate in (Path(text) / EVAL2000_REFERENCE, Path(text) / "reference"):
            if candidate.is_dir():
                reference = candidate
    if reference is None:
        problems.append(f"  eval2000 transcripts (LDC2002T43) not found: expected {text}/{EVAL2000_REFERENCE}")
        ok = False
    if not ok:
        return None
    speech = Path(speech)
    pem, stm, glm = speech / EVAL2000_PEM, reference / EVAL2000_STM, reference / EVAL2000_GLM
    missing = [str(p) for p in (pem, stm, glm) if not p.is_file()]
    if missing:
        problems.append(_listing("missing eval2000 files", missing))
        return None
    sph = _find_sph(speech / "english")
    convs = sorted({line.split()[0] for line in _data_lines(pem)})
    missing_audio = [f"{speech / 'english' / c}.sph (named in {pem.name})" for c in convs if c not in sph]
    if missing_audio:
        problems.append(_listing("missing eval2000 audio", missing_audio))
    unreadable = [p for p in (check_sphere_readable(path) for path in sph.values()) if p]
    if unreadable:
        problems.append(_listing("unreadable eval2000 audio", sorted(unreadable)))
    return Eval2000Corpus(sph=sph, pem=pem, stm=stm, glm=glm)


def _data_lines(path: Path) -> List[str]:
    return [line for line in path.read_text(encoding="latin-1").splitlines() if line.strip() and ";;" not in line]


def check_swbd_corpus(
    swbd_dir: Optional[PathLike],
    eval2000_speech: Optional[PathLike],
    eval2000_text: Optional[PathLike],
    ms98_dir: Optional[PathLike] = None,
) -> Tuple[SwbdCorpus, Eval2000Corpus]:
    """Check both corpora; raise one SwbdCorpusError listing everything missing."""
    problems: List[str] = []
    swbd = _check_swbd(swbd_dir, ms98_dir, problems)
    eval2000 = _check_eval2000(eval2000_speech, eval2000_text, problems)
    if problems or swbd is None or eval2000 is None:
        raise SwbdCorpusError("Switchboard / eval2000 corpus is incomplete; nothing was written.\n" + "\n".join(problems))
    return swbd, eval2000


# =========================================================================== preparation
def _ms98_utterances(corpus: SwbdCorpus, acronyms: Dict[str, str]) -> List[Tuple[str, str, str]]:
    """-> sorted [(utt_id, kaldi text, espnet text)] of all training utterances."""
    rows = []
    for path in corpus.trans_files:
        for lineno, line in enumerate(path.read_text(encoding="latin-1").splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 3:
                raise SwbdCorpusError(f"{path}:{lineno}: expected 'id start end words...'")
            kaldi, espnet = normalise_ms98_words(fields[3:], acronyms)
            if espnet:
                rows.append((ms98_utterance_id(fields[0], float(fields[1]), float(fields[2])), kaldi, espnet))
    rows.sort()
    return rows


def _swbd_utterance(utt_id: str, text: str, sph: Dict[str, Path]) -> Utterance:
    recording = utt_id.split("_")[0]  # sw02001-A
    conv, side = recording.split("-")
    start, end = (int(x) / 100 for x in utt_id.rsplit("_", 1)[1].split("-"))
    wav = sphere_wav_command(sph[conv], channel=1 if side == "A" else 2)
    return Utterance(utt_id, recording, text, wav, segment=(recording, start, end))


def prepare_swbd(
    swbd_dir: Optional[PathLike],
    eval2000_speech: Optional[PathLike],
    eval2000_text: Optional[PathLike],
    data_dir: PathLike,
    ms98_dir: Optional[PathLike] = None,
    dev_utts: int = 4000,
    max_dup: int = 300,
    subsets: Optional[Dict[str, float]] = None,
    letters_file: Optional[PathLike] = None,
) -> Dict[str, int]:
    """Write data/{train_nodup, train_dev, <subsets>, eval2000} and data/local/eval2000 (scoring files); -> {set: #utterances}."""
    swbd, eval2000 = check_swbd_corpus(swbd_dir, eval2000_speech, eval2000_text, ms98_dir)
    data_dir = Path(data_dir)
    subsets = DEFAULT_SUBSETS if subsets is None else subsets
    letters = read_letter_pronunciations(letters_file)
    acronyms = acronym_map(swbd.dictionary.read_text(encoding="latin-1").splitlines(), letters)
    rows = _ms98_utterances(swbd, acronyms)
    if len(rows) <= dev_utts:
        raise SwbdCorpusError(f"only {len(rows)} training utterances, fewer than the {dev_utts} of train_dev")
    espnet_text = {utt: text for utt, _, text in rows}
    dev = [utt for utt, _, _ in rows[:dev_utts]]
    nodup = remove_dup_utts([(utt, kaldi) for utt, kaldi, _ in rows[dev_utts:]], max_dup)

    sets: Dict[str, List[str]] = {"train_dev": dev, "train_nodup": nodup}
    for name, hours in subsets.items():
        sets[name] = select_subset(nodup, hours)
    counts = {}
    for name, utts in sets.items():
        write_data_dir(data_dir / name, [_swbd_utterance(u, espnet_text[u], swbd.sph) for u in utts])
        counts[name] = len(utts)
    counts["eval2000"] = prepare_eval2000(eval2000, data_dir / "eval2000", data_dir / "local" / "eval2000")
    return counts


def prepare_eval2000(corpus: Eval2000Corpus, out_dir: PathLike, scoring_dir: PathLike) -> int:
    """Write the eval2000 data dir, and stm / glm / segments for Hub5 scoring into ``scoring_dir``."""
    out_dir = Path(out_dir)
    raw_segments = sorted(
        {
            (hub5_utterance_id(f[0], f[1], f[3], f[4]), f"{f[0]}-{f[1]}", float(f[3]), float(f[4]))
            for f in (line.split() for line in _data_lines(corpus.pem))
        }
    )
    segments = {s[0]: s for s in extend_segments(raw_segments, 0.1)}
    texts: Dict[str, str] = {}
    for line in _data_lines(corpus.stm):
        f = line.split()
        texts[hub5_utterance_id(f[0], f[1], f[3], f[4])] = " ".join(f[6:])
    if sorted(texts) != sorted(segments):
        only_pem = sorted(set(segments) - set(texts))[:5]
        only_stm = sorted(set(texts) - set(segments))[:5]
        raise SwbdCorpusError(
            f"segments of {corpus.pem} and {corpus.stm} do not match (only in pem: {only_pem}; only in stm: {only_stm})"
        )
    utts = []
    for utt_id, (_, recording, start, end) in sorted(segments.items()):
        raw = texts[utt_id]
        if "IGNORE_TIME_SEGMENT_" in raw:
            continue
        text = normalise_eval2000_text(raw)
        if not text:
            continue  # e.g. only a hesitation: nothing to recognise
        conv, side = recording.split("-")
        wav = sphere_wav_command(corpus.sph[conv], channel=1 if side == "A" else 2)
        utts.append(Utterance(utt_id, recording, text, wav, segment=(recording, start, end)))
    write_data_dir(out_dir, utts)
    # Scoring files live outside the data dir, which later stages may rewrite.
    scoring_dir = Path(scoring_dir)
    scoring_dir.mkdir(parents=True, exist_ok=True)
    # Kaldi's fixes of stm errors that upset hubscr.pl.
    stm = [
        re.sub(r"<[BE]_ASIDE>", "", line.replace("((", "(", 1))
        for line in corpus.stm.read_text(encoding="latin-1").splitlines()
    ]
    write_text_atomic(scoring_dir / "stm", "\n".join(stm) + "\n")
    write_text_atomic(scoring_dir / "glm", corpus.glm.read_text(encoding="latin-1"))
    write_text_atomic(scoring_dir / "segments", (out_dir / "segments").read_text())
    return len(utts)
