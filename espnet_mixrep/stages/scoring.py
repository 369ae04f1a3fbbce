"""Stage 13: score decoded text with jiwer, write sclite-style reports and RESULTS.md.

For each metric (WER on words, CER on characters with ``<space>`` as a token
as ESPnet counts it, TER on BPE pieces when a model is given)
``<decode_dir>/score_<metric>/`` gets ``ref.trn``, ``hyp.trn`` (sclite's trn
format), ``result.txt`` (sclite's summary by speaker plus per-utterance
alignments) and ``scores.json`` (the same numbers for scripts).

Texts are tokenized as ESPnet 202511's stage 13 tokenizes them with
``espnet2.bin.tokenize_text``: the ``--cleaner`` is applied to references only,
and for WER / CER the non-linguistic symbols (``--nlsyms_txt``, e.g. WSJ's
``<NOISE>``) are removed from both sides; TER keeps them.
"""

from __future__ import annotations

import datetime
import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from espnet_mixrep.core.datadir import DataDirError, PathLike, read_kaldi_map, write_text_atomic


@dataclass
class ErrorCounts:
    sentences: int = 0
    words: int = 0
    correct: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    sentence_errors: int = 0

    def add(self, other: "ErrorCounts") -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        return 100.0 * self.errors / max(self.words, 1)

    def percentages(self) -> Dict[str, float]:
        words = max(self.words, 1)
        return {
            "corr": 100.0 * self.correct / words,
            "sub": 100.0 * self.substitutions / words,
            "del": 100.0 * self.deletions / words,
            "ins": 100.0 * self.insertions / words,
            "err": 100.0 * (self.substitutions + self.deletions + self.insertions) / words,
            "serr": 100.0 * self.sentence_errors / max(self.sentences, 1),
        }


@dataclass
class Score:
    metric: str
    total: ErrorCounts
    by_speaker: Dict[str, ErrorCounts] = field(default_factory=dict)


def espnet_tokenizers(
    bpemodel: Optional[PathLike] = None, non_linguistic_symbols: Optional[PathLike] = None
) -> Dict[str, Callable[[str], List[str]]]:
    """metric -> tokenizer, built from ESPnet's own tokenizer classes with the
    options ESPnet's stage 13 gives them."""
    from espnet2.text.char_tokenizer import CharTokenizer
    from espnet2.text.word_tokenizer import WordTokenizer

    nlsyms = str(non_linguistic_symbols) if non_linguistic_symbols else None
    if nlsyms and not Path(nlsyms).is_file():
        raise DataDirError(f"{nlsyms}: non-linguistic symbols file not found (--nlsyms_txt)")
    tokenizers = {
        "wer": WordTokenizer(non_linguistic_symbols=nlsyms, remove_non_linguistic_symbols=nlsyms is not None).text2tokens,
        "cer": CharTokenizer(non_linguistic_symbols=nlsyms, remove_non_linguistic_symbols=True).text2tokens,
    }
    if bpemodel:
        from espnet2.text.sentencepiece_tokenizer import SentencepiecesTokenizer

        tokenizers["ter"] = SentencepiecesTokenizer(str(bpemodel)).text2tokens
    return tokenizers


def align_and_count(
    refs: Dict[str, str], hyps: Dict[str, str], utt2spk: Dict[str, str], tokenize: Callable[[str], List[str]], metric: str
) -> tuple:
    """Score ``hyps`` against ``refs`` (same keys); return (Score, per-utterance alignment lines)."""
    import jiwer

    keys = sorted(refs)
    ref_tokens = [tokenize(refs[k]) for k in keys]
    hyp_tokens = [tokenize(hyps[k]) for k in keys]
    # jiwer aligns whitespace-separated tokens; tokens never contain spaces here.
    out = jiwer.process_words([" ".join(t) for t in ref_tokens], [" ".join(t) for t in hyp_tokens])
    score = Score(metric, ErrorCounts())
    lines = []
    for key, ref, hyp, chunks in zip(keys, ref_tokens, hyp_tokens, out.alignments):
        counts = ErrorCounts(sentences=1, words=len(ref))
        ref_row, hyp_row, eval_row = [], [], []
        for chunk in chunks:
            r = ref[chunk.ref_start_idx : chunk.ref_end_idx]
            h = hyp[chunk.hyp_start_idx : chunk.hyp_end_idx]
            if chunk.type == "equal":
                counts.correct += len(r)
                pairs = [(a, b, "") for a, b in zip(r, h)]
            elif chunk.type == "substitute":
                counts.substitutions += len(r)
                pairs = [(a.upper(), b.upper(), "S") for a, b in zip(r, h)]
            elif chunk.type == "delete":
                counts.deletions += len(r)
                pairs = [(a.upper(), "*" * len(a), "D") for a in r]
            else:
                counts.insertions += len(h)
                pairs = [("*" * len(b), b.upper(), "I") for b in h]
            for a, b, e in pairs:
                width = max(len(a), len(b), 1)
                ref_row.append(a.ljust(width))
                hyp_row.append(b.ljust(width))
                eval_row.append(e.ljust(width))
        counts.sentence_errors = int(counts.correct != len(ref) or counts.insertions > 0)
        score.total.add(counts)
        score.by_speaker.setdefault(utt2spk.get(key, key.split("-")[0]), ErrorCounts()).add(counts)
        lines += [
            f"id: ({key})",
            f"Scores: (#C #S #D #I) {counts.correct} {counts.substitutions} {counts.deletions} {counts.insertions}",
            "REF:  " + " ".join(ref_row),
            "HYP:  " + " ".join(hyp_row),
            "Eval: " + " ".join(eval_row),
            "",
        ]
    return score, lines


def _summary_table(score: Score, title: str) -> str:
    def row(name: str, c: ErrorCounts) -> str:
        p = c.percentages()
        return (
            f"| {name:<12}| {c.sentences:6d} {c.words:7d} | {p['corr']:6.1f} {p['sub']:6.1f} {p['del']:6.1f} "
            f"{p['ins']:6.1f} {p['err']:6.1f} {p['serr']:6.1f} |"
        )

    width = len(row("x", score.total))
    rule = "|" + "-" * (width - 2) + "|"
    double = "|" + "=" * (width - 2) + "|"
    header = f"| {'SPKR':<12}| {'# Snt':>6} {'# Wrd':>7} | {'Corr':>6} {'Sub':>6} {'Del':>6} {'Ins':>6} {'Err':>6} {'S.Err':>6} |"
    lines = [
        "SYSTEM SUMMARY PERCENTAGES by SPEAKER",
        "",
        "," + "-" * (width - 2) + ".",
        "|" + title.center(width - 2) + "|",
        rule,
        header,
        rule,
    ]
    for spk in sorted(score.by_speaker):
        lines += [row(spk, score.by_speaker[spk]), rule]
    lines += [double, row("Sum/Avg", score.total), double]
    return "\n".join(lines) + "\n"


def score_decode_dir(
    decode_dir: PathLike,
    ref_text: PathLike,
    utt2spk: Optional[PathLike] = None,
    bpemodel: Optional[PathLike] = None,
    non_linguistic_symbols: Optional[PathLike] = None,
    cleaner: Optional[str] = None,
) -> Dict[str, Score]:
    """Score ``decode_dir/text`` against ``ref_text``; write score_wer, score_cer (and score_ter)."""
    decode_dir = Path(decode_dir)
    tokenizers = espnet_tokenizers(bpemodel, non_linguistic_symbols)
    # Words re-joined by single spaces, as tokenize_text's "-f 2-" does.
    refs = {k: " ".join(v.split()) for k, v in read_kaldi_map(ref_text).items()}
    hyps = {k: " ".join(v.split()) for k, v in read_kaldi_map(decode_dir / "text", allow_empty_value=True).items()}
    if cleaner:
        from espnet2.text.cleaner import TextCleaner

        clean = TextCleaner(cleaner)
        # ESPnet cleans references only ("Don't use cleaner for hyp").
        refs = {k: clean(v) for k, v in refs.items()}
    missing = sorted(set(refs) - set(hyps))
    extra = sorted(set(hyps) - set(refs))
    if missing or extra:
        raise DataDirError(
            f"{decode_dir / 'text'}: utterance ids differ from {ref_text}: "
            f"{len(missing)} not decoded (e.g. {missing[:3]}), {len(extra)} unknown (e.g. {extra[:3]})"
        )
    spk_map = read_kaldi_map(utt2spk) if utt2spk else {}
    scores = {}
    for metric, tokenize in tokenizers.items():
        score, alignment_lines = align_and_count(refs, hyps, spk_map, tokenize, metric)
        out_dir = decode_dir / f"score_{metric}"
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, texts in (("ref.trn", refs), ("hyp.trn", hyps)):
            write_text_atomic(
                out_dir / name,
                "".join(f"{' '.join(tokenize(texts[k]))}\t({spk_map.get(k, k.split('-')[0])}-{k})\n" for k in sorted(refs)),
            )
        write_text_atomic(out_dir / "result.txt", _summary_table(score, "hyp.trn") + "\n" + "\n".join(alignment_lines))
        write_text_atomic(
            out_dir / "scores.json",
            json.dumps(
                {"metric": metric, **asdict(score.total), **score.total.percentages()}, indent=1, sort_keys=True
            )
            + "\n",
        )
        scores[metric] = score
    return scores


def _environment_lines() -> List[str]:
    import espnet
    import torch

    return [
        f"- date: `{datetime.datetime.now(datetime.timezone.utc).strftime('%a %b %d %H:%M:%S UTC %Y')}`",
        f"- python version: `{platform.python_version()}`",
        f"- espnet version: `espnet {espnet.__version__}`",
        f"- pytorch version: `pytorch {torch.__version__}`",
    ]


_TABLE_HEADER = "|dataset|Snt|Wrd|Corr|Sub|Del|Ins|Err|S.Err|\n|---|---|---|---|---|---|---|---|---|\n"


def collect_scores(exp_dir: PathLike) -> Dict[str, Dict[str, dict]]:
    """{"<inference_tag>/<set>": {"wer": scores.json dict, ...}} for an experiment directory."""
    exp_dir = Path(exp_dir)
    found: Dict[str, Dict[str, dict]] = {}
    for path in sorted(exp_dir.glob("*/*/score_*/scores.json")):
        dataset = f"{path.parent.parent.parent.name}/{path.parent.parent.name}"
        found.setdefault(dataset, {})[path.parent.name[len("score_") :]] = json.loads(path.read_text())
    return found


def exp_results_section(exp_dir: PathLike, display_name: Optional[str] = None) -> str:
    """ESPnet's show_asr_result.sh section for one experiment."""
    scores = collect_scores(exp_dir)
    text = f"## {display_name or Path(exp_dir).name}\n"
    for metric in ("wer", "cer", "ter"):
        rows = [(d, s[metric]) for d, s in scores.items() if metric in s]
        if not rows:
            continue
        text += f"### {metric.upper()}\n\n" + _TABLE_HEADER
        for dataset, s in rows:
            text += (
                f"|{dataset}|{s['sentences']}|{s['words']}|{s['corr']:.1f}|{s['sub']:.1f}|{s['del']:.1f}|"
                f"{s['ins']:.1f}|{s['err']:.1f}|{s['serr']:.1f}|\n"
            )
        text += "\n"
    return text


def check_not_tracked_by_git(path: PathLike) -> None:
    """Refuse to overwrite a file the repository tracks: a recipe's RESULTS.md
    holds reference numbers, generated tables go under exp/."""
    import subprocess

    path = Path(path).absolute()
    try:
        tracked = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "--", path.name], cwd=path.parent, capture_output=True
        ).returncode == 0
    except FileNotFoundError:  # no git, or the folder does not exist yet: nothing tracked there
        return
    if tracked:
        raise DataDirError(f"{path}: tracked by git (reference results); not overwriting it with generated results")


def write_exp_results(exp_dir: PathLike) -> Path:
    """Write ``exp_dir/RESULTS.md`` (what ESPnet's stage 13 writes)."""
    exp_dir = Path(exp_dir)
    out = exp_dir / "RESULTS.md"
    check_not_tracked_by_git(out)
    write_text_atomic(out, "# RESULTS\n## Environments\n" + "\n".join(_environment_lines()) + "\n\n" + exp_results_section(exp_dir))
    return out


def wer_table(exp_root: PathLike, set_name: Optional[str] = None) -> List[Dict[str, object]]:
    """Rows (experiment, decoding, set, WER, CER) for every scored decode under exp_root."""
    rows = []
    for exp_dir in sorted(p for p in Path(exp_root).iterdir() if p.is_dir()):
        for dataset, s in collect_scores(exp_dir).items():
            decode, test_set = dataset.split("/")
            if set_name and test_set != set_name:
                continue
            rows.append(
                {
                    "experiment": exp_dir.name,
                    "decoding": decode,
                    "set": test_set,
                    "wer": s["wer"]["err"] if "wer" in s else float("nan"),
                    "cer": s["cer"]["err"] if "cer" in s else float("nan"),
                    "sentences": s["wer"]["sentences"] if "wer" in s else 0,
                }
            )
    return rows


def format_wer_table(rows: List[Dict[str, object]]) -> str:
    text = "|experiment|decoding|set|Snt|WER|CER|\n|---|---|---|---|---|---|\n"
    for r in rows:
        text += f"|{r['experiment']}|{r['decoding']}|{r['set']}|{r['sentences']}|{r['wer']:.2f}|{r['cer']:.2f}|\n"
    return text


def write_recipe_results(results_md: PathLike, exp_root: PathLike) -> Path:
    """Write ``results_md`` (asr.sh: ``<expdir>/RESULTS.md``): a WER summary of
    every experiment under exp_root, then each one's tables."""
    check_not_tracked_by_git(results_md)
    exp_root = Path(exp_root)
    exps = sorted(p for p in exp_root.iterdir() if p.is_dir() and collect_scores(p))
    text = "# RESULTS\n## Environments\n" + "\n".join(_environment_lines()) + "\n\n## Summary (WER %, CER %)\n\n"
    text += format_wer_table(wer_table(exp_root)) + "\n"
    for exp_dir in exps:
        text += exp_results_section(exp_dir, str(exp_dir))
    out = Path(results_md)
    write_text_atomic(out, text)
    return out
