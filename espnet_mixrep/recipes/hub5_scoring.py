"""Hub5 (eval2000) scoring: WER for all, the Switchboard part (sw_* sides) and
the CallHome part (en_* sides), with the filtering of ESPnet's / Kaldi's
egs/swbd local/score.sh.

Hypothesis words are filtered as that script filters the ctm: drop
[noise] / [laughter] / [vocalized-noise], <unk>, the hesitations UH UM EH MM
HM AH HUH HA ER OOF HEE ACH EEE EW, and partial words ending in "-". Then
hubscr.pl (sclite with the glm) scores them against the stm when ``hubscr.pl``
and ``sclite`` are on PATH. Otherwise our equivalent runs: the glm's
unconditional rules map every alternative spelling to one canonical form on
both sides (so "I AM" and "I'M" match as the glm's alternation lets them),
words the glm maps to %HESITATION are dropped, optionally deletable reference
words (in parentheses) may be left out at no cost and count in the word total
as in sclite, and each stm segment is aligned with the hypothesis of the
utterance cut from it (the eval2000 utterances are exactly the stm segments)
by word-level edit distance. (sclite aligns each conversation side as a whole
through the ctm times, so words near segment edges may align differently, and
counts the glm alternative it aligned in the word total, e.g. "I AM" as two
words where we count the canonical "I'M" as one.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from espnet_mixrep.core.datadir import DataDirError, read_kaldi_map
from espnet_mixrep.recipes.swbd import hub5_utterance_id
from espnet_mixrep.stages.scoring import ErrorCounts

PathLike = Union[str, os.PathLike]

HESITATIONS = {"UH", "UM", "EH", "MM", "HM", "AH", "HUH", "HA", "ER", "OOF", "HEE", "ACH", "EEE", "EW"}
NOISE_PATTERN = re.compile(r"\[NOISE|LAUGHTER|VOCALIZED-NOISE\]", re.IGNORECASE)
SUBSETS = {"all": None, "swbd": "sw_", "callhm": "en_"}


def filter_hyp_words(words: Sequence[str]) -> List[str]:
    """The ctm filter of local/score.sh, word by word (upper-cased)."""
    kept = []
    for word in words:
        w = word.upper()
        if NOISE_PATTERN.search(w) or "<UNK>" in w or w in HESITATIONS or w.endswith("-"):
            continue
        kept.append(w)
    return kept


# --------------------------------------------------------------------------- glm
@dataclass
class GlmRule:
    canonical: Tuple[str, ...]
    alternatives: List[Tuple[str, ...]]


def parse_glm(path: PathLike) -> List[GlmRule]:
    """Unconditional rules ``LHS => RHS / [ ] __ [ ]`` of a glm file (RHS may be ``{ a / b }``)."""
    rules = []
    for line in Path(path).read_text(encoding="latin-1").splitlines():
        line = line.split(";;", 1)[0].strip()
        if not line or line.startswith("*") or "=>" not in line:
            continue
        lhs, _, rest = line.partition("=>")
        m = re.match(r"^(.*)/\s*\[\s*\]\s*__\s*\[\s*\]\s*$", rest)
        if not m:
            continue  # context-dependent rules are left to sclite
        rhs = m.group(1).strip()
        if rhs.startswith("{") and rhs.endswith("}"):
            alternatives = [tuple(a.split()) for a in rhs[1:-1].split("/")]
        else:
            alternatives = [tuple(rhs.split())]
        canonical = tuple(lhs.split())
        if canonical:
            rules.append(GlmRule(canonical=canonical, alternatives=[a for a in alternatives if a]))
    return rules


class GlmNormaliser:
    """Rewrite every spelling a glm rule allows to one canonical word sequence."""

    def __init__(self, rules: Sequence[GlmRule]) -> None:
        self.map: Dict[Tuple[str, ...], Tuple[str, ...]] = {}
        for rule in rules:
            target = ("%HESITATION",) if "%HESITATION" in {w for a in rule.alternatives for w in a} else rule.canonical
            for form in [rule.canonical] + rule.alternatives:
                self.map.setdefault(tuple(w.upper() for w in form), target)
        self.longest = max((len(k) for k in self.map), default=1)

    def __call__(self, words: Sequence[str]) -> List[str]:
        out: List[str] = []
        i = 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                key = tuple(words[i : i + n])
                if key in self.map:
                    out += [w for w in self.map[key] if w != "%HESITATION"]
                    i += n
                    break
            else:
                if words[i] != "%HESITATION":
                    out.append(words[i])
                i += 1
        return out


def reference_words(text: str, normalise: Optional[GlmNormaliser] = None) -> List[Tuple[str, bool]]:
    """stm words -> [(word, optional)]: parenthesised words are optionally deletable
    (sclite's convention), <markers> are dropped; the glm normalises the runs of
    scored words between optional ones."""
    out: List[Tuple[str, bool]] = []
    run: List[str] = []

    def flush() -> None:
        out.extend((w, False) for w in (normalise(run) if normalise else run))
        run.clear()

    for word in text.upper().split():
        if word.startswith("<") or word in ("{", "}", "/"):
            continue
        if word.startswith("(") and word.endswith(")"):
            flush()
            out.append((word[1:-1], True))
        else:
            run.append(word)
    flush()
    return out


# --------------------------------------------------------------------------- alignment
def align(ref: Sequence[Union[str, Tuple[str, bool]]], hyp: Sequence[str]) -> ErrorCounts:
    """Levenshtein alignment (unit costs) -> substitution / deletion / insertion counts.

    Reference items may be (word, optional): an optional word left out costs
    nothing and counts as correct, as in sclite; every reference word counts
    in the word total.
    """
    items = [(r, False) if isinstance(r, str) else r for r in ref]
    # (cost, sub, del, ins) per cell; min() breaks cost ties by fewer substitutions.
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i in range(1, len(items) + 1):
        word, optional = items[i - 1]
        skip = 0 if optional else 1
        cur = [(prev[0][0] + skip, 0, prev[0][2] + skip, 0)]
        for j in range(1, len(hyp) + 1):
            same = word == hyp[j - 1]
            d = prev[j - 1]
            diag = (d[0] + (0 if same else 1), d[1] + (0 if same else 1), d[2], d[3])
            up = (prev[j][0] + skip, prev[j][1], prev[j][2] + skip, prev[j][3])
            left = (cur[j - 1][0] + 1, cur[j - 1][1], cur[j - 1][2], cur[j - 1][3] + 1)
            cur.append(min(diag, up, left))
        prev = cur
    _, sub, dele, ins = prev[-1]
    return ErrorCounts(
        sentences=1, words=len(items), correct=len(items) - sub - dele, substitutions=sub, deletions=dele,
        insertions=ins, sentence_errors=int(sub + dele + ins > 0),
    )


# --------------------------------------------------------------------------- scoring
def read_stm_segments(stm: PathLike) -> Dict[str, Tuple[str, str]]:
    """{utterance id: (side, text)} of the scored stm segments."""
    segments = {}
    for line in Path(stm).read_text(encoding="latin-1").splitlines():
        if not line.strip() or line.startswith(";;"):
            continue
        f = line.split()
        text = " ".join(f[6:])
        if "IGNORE_TIME_SEGMENT_" in text:
            continue
        segments[hub5_utterance_id(f[0], f[1], f[3], f[4])] = (f"{f[0]}-{f[1]}", text)
    return segments


def score_hub5_python(hyp_text: PathLike, stm: PathLike, glm: PathLike) -> Dict[str, ErrorCounts]:
    """Our equivalent of hubscr.pl: -> {"all"|"swbd"|"callhm": counts}."""
    hyps = read_kaldi_map(hyp_text, allow_empty_value=True)
    normalise = GlmNormaliser(parse_glm(glm))
    totals = {name: ErrorCounts() for name in SUBSETS}
    for utt_id, (side, text) in sorted(read_stm_segments(stm).items()):
        ref = reference_words(text, normalise)
        hyp = normalise(filter_hyp_words(hyps.get(utt_id, "").split()))
        counts = align(ref, hyp)
        for name, prefix in SUBSETS.items():
            if prefix is None or side.startswith(prefix):
                totals[name].add(counts)
    return totals


def hubscr_available() -> bool:
    return shutil.which("hubscr.pl") is not None and shutil.which("sclite") is not None


def write_ctm(hyp_text: PathLike, segments: PathLike, out: PathLike) -> None:
    """Filtered hypothesis words as a ctm, spread evenly over each segment (as trn2ctm does)."""
    hyps = read_kaldi_map(hyp_text, allow_empty_value=True)
    segs = read_kaldi_map(segments)
    lines = []
    for utt_id in sorted(hyps):
        if utt_id not in segs:
            raise DataDirError(f"{hyp_text}: utterance '{utt_id}' has no segment in {segments}")
        recording, start, end = segs[utt_id].split()
        conv, side = recording.rsplit("-", 1)
        words = filter_hyp_words(hyps[utt_id].split())
        step = (float(end) - float(start)) / max(len(words), 1)
        for k, word in enumerate(words):
            lines.append(f"{conv} {side} {float(start) + k * step:.2f} {step:.2f} {word}")
    Path(out).write_text("\n".join(lines) + "\n")


def score_hub5_sclite(hyp_text: PathLike, data_dir: PathLike, work_dir: PathLike) -> Dict[str, ErrorCounts]:
    """hubscr.pl -l english -h hub5 with the glm, for all / swbd / callhm."""
    data_dir, work_dir = Path(data_dir), Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    hubdir = os.path.dirname(shutil.which("sclite") or "")
    results = {}
    for name, prefix in SUBSETS.items():
        stm_lines = (data_dir / "stm").read_text(encoding="latin-1").splitlines()
        write_ctm(hyp_text, data_dir / "segments", work_dir / f"hyp.{name}.ctm")
        ctm_lines = (work_dir / f"hyp.{name}.ctm").read_text().splitlines()
        if prefix is not None:
            other = "en_" if prefix == "sw_" else "sw_"
            stm_lines = [line for line in stm_lines if not line.startswith(other)]
            ctm_lines = [line for line in ctm_lines if not line.startswith(other)]
        (work_dir / f"ref.{name}.stm").write_text("\n".join(stm_lines) + "\n")
        (work_dir / f"hyp.{name}.ctm").write_text("\n".join(ctm_lines) + "\n")
        subprocess.run(
            ["hubscr.pl", "-p", hubdir, "-V", "-l", "english", "-h", "hub5", "-g", str(data_dir / "glm"),
             "-r", str(work_dir / f"ref.{name}.stm"), str(work_dir / f"hyp.{name}.ctm")],
            check=True, capture_output=True,
        )  # fmt: skip
        results[name] = _parse_sclite_sys(work_dir / f"hyp.{name}.ctm.filt.sys")
    return results


def _parse_sclite_sys(path: Path) -> ErrorCounts:
    """The Sum/Avg line of a sclite .sys report (counts are printed as percentages)."""
    for line in path.read_text().splitlines():
        if "Sum/Avg" in line:
            nums = [float(x) for x in re.findall(r"[-\d.]+", line)]
            snt, wrd, corr, sub, dele, ins = nums[:6]
            return ErrorCounts(
                sentences=int(snt), words=int(wrd), correct=round(corr * wrd / 100),
                substitutions=round(sub * wrd / 100), deletions=round(dele * wrd / 100),
                insertions=round(ins * wrd / 100),
            )  # fmt: skip
    raise DataDirError(f"{path}: no Sum/Avg line in the sclite report")


def format_results(results: Dict[str, ErrorCounts], scorer: str) -> str:
    lines = [
        f"Hub5 eval2000 WER ({scorer})",
        "",
        "|subset|#Snt|#Wrd|Sub|Del|Ins|Err|WER|",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in SUBSETS:
        c = results[name]
        lines.append(f"|{name}|{c.sentences}|{c.words}|{c.substitutions}|{c.deletions}|{c.insertions}|{c.errors}|{c.wer:.1f}|")
    return "\n".join(lines) + "\n"


def score_hub5(
    hyp_text: PathLike, data_dir: PathLike, out_dir: PathLike, use_sclite: Optional[bool] = None
) -> Dict[str, ErrorCounts]:
    """Score a decode's ``text`` against data_dir/{stm,glm,segments} (data/local/eval2000); writes out_dir/result.txt."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    for name in ("stm", "glm", "segments"):
        if not (data_dir / name).is_file():
            raise DataDirError(f"{data_dir / name}: needed for Hub5 scoring, not found (rerun stage 1)")
    if not Path(hyp_text).is_file():
        raise DataDirError(f"{hyp_text}: hypothesis file not found")
    if use_sclite is None:
        use_sclite = hubscr_available()
    if use_sclite:
        results, scorer = score_hub5_sclite(hyp_text, data_dir, out_dir), "hubscr.pl / sclite with the glm"
    else:
        results, scorer = score_hub5_python(hyp_text, data_dir / "stm", data_dir / "glm"), "espnet_mixrep glm filtering"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "result.txt").write_text(format_results(results, scorer))
    return results
