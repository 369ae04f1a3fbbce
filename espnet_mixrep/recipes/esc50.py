"""ESC-50 / ESC-10 (Piczak 2015) for the SpeechMix recipe: download and 5-fold data dirs.

``meta/esc50.csv`` columns: filename, fold, target, category, esc10, src_file,
take; audio in ``audio/<filename>`` (5 s, 44.1 kHz mono). ESC-50 is CC BY-NC
3.0 (ESC-10: CC BY). Paper protocol: 5-fold cross-validation on the official
folds; for fold k we train on the other four folds and test on fold k.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Dict, List

from espnet_mixrep.core.datadir import DataDirError, PathLike, Utterance, write_data_dir

ESC50_URL = "https://github.com/karolpiczak/ESC-50/archive/refs/heads/master.zip"
SUBSETS = ("esc50", "esc10")
_COLUMNS = ("filename", "fold", "category", "esc10")


def download_esc50(download_dir: PathLike, url: str = ESC50_URL) -> Path:
    """Download and unpack ESC-50 into ``download_dir/ESC-50`` (the folder appears only when complete)."""
    target = Path(download_dir) / "ESC-50"
    if (target / "meta" / "esc50.csv").is_file():
        return target
    Path(download_dir).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".esc50.", dir=download_dir))
    try:
        archive = work / "esc50.zip"
        with urllib.request.urlopen(url) as response, open(archive, "wb") as out:
            shutil.copyfileobj(response, out, length=1 << 20)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(work)
        (top,) = [p for p in work.iterdir() if p.is_dir()]
        rows = read_esc50_meta(top)
        if len(rows) != 2000:
            raise DataDirError(f"{url}: expected 2000 clips in meta/esc50.csv, found {len(rows)}")
        os.replace(top, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def read_esc50_meta(esc50_dir: PathLike) -> List[Dict[str, str]]:
    """Rows of ``meta/esc50.csv``; raises DataDirError naming the file if it is malformed."""
    meta = Path(esc50_dir) / "meta" / "esc50.csv"
    if not meta.is_file():
        raise DataDirError(f"{meta}: ESC-50 metadata not found (expected <esc50_dir>/meta/esc50.csv, audio/*.wav)")
    with open(meta, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataDirError(f"{meta}: missing column(s) {missing}")
        rows = list(reader)
    for lineno, row in enumerate(rows, 2):
        if row["fold"] not in {"1", "2", "3", "4", "5"}:
            raise DataDirError(f"{meta}:{lineno}: fold must be 1..5, got '{row['fold']}'")
        if not row["category"] or any(c.isspace() for c in row["category"]):
            raise DataDirError(f"{meta}:{lineno}: bad category '{row['category']}'")
    return rows


def prepare_esc50(esc50_dir: PathLike, data_dir: PathLike, subset: str = "esc50") -> Dict[str, int]:
    """Write ``data_dir/<subset>_{train,test}_fold{k}`` for k = 1..5 (train = the other four folds).

    The class token is the ESC-50 category (e.g. ``dog``); the "speaker" is the
    Freesound source clip, so utt2spk groups takes of one recording.
    """
    if subset not in SUBSETS:
        raise DataDirError(f"subset must be one of {SUBSETS}, got '{subset}'")
    esc50_dir = Path(esc50_dir)
    rows = read_esc50_meta(esc50_dir)
    if subset == "esc10":
        rows = [r for r in rows if r["esc10"].strip().lower() == "true"]
    if not rows:
        raise DataDirError(f"{esc50_dir / 'meta' / 'esc50.csv'}: no clips in subset '{subset}'")
    by_fold: Dict[int, List[Utterance]] = {k: [] for k in range(1, 6)}
    for row in rows:
        wav = esc50_dir / "audio" / row["filename"]
        if not wav.is_file():
            raise DataDirError(f"{wav}: listed in meta/esc50.csv but missing")
        utt_id = Path(row["filename"]).stem
        speaker = row.get("src_file") or utt_id
        by_fold[int(row["fold"])].append(Utterance(utt_id, f"{row['fold']}-{speaker}", row["category"], str(wav.resolve())))
    counts: Dict[str, int] = {}
    for k in range(1, 6):
        if not by_fold[k]:
            raise DataDirError(f"{esc50_dir / 'meta' / 'esc50.csv'}: fold {k} has no clips in subset '{subset}'")
        train = [u for j in range(1, 6) if j != k for u in by_fold[j]]
        write_data_dir(Path(data_dir) / f"{subset}_train_fold{k}", train)
        write_data_dir(Path(data_dir) / f"{subset}_test_fold{k}", by_fold[k])
        counts[f"{subset}_train_fold{k}"], counts[f"{subset}_test_fold{k}"] = len(train), len(by_fold[k])
    return counts
