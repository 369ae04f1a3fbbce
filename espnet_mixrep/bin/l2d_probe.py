"""Linear probes on extracted Learn2Diss representations: digit and speaker accuracy.

For each run: a logistic-regression probe is fitted on the train set's
``frames`` and ``utterance`` vectors and scored on the test set, once with the
digit (text) and once with the speaker (utt2spk) as target. CLUB is reported
twice: with the run's own q (as trained alongside the encoders) and with a q
refitted to convergence on the frozen train-set pairs (a q that lagged behind
the encoders during joint training can under-estimate; the refit cannot be
fooled that way). Prints a markdown table and writes it, plus JSON (with each
probe's per-utterance correctness, for intervals over utterances), to --out_dir. Example::

    python -m espnet_mixrep.bin.l2d_probe --train_data data/train --test_data data/test \\
        --run no_mi=exp/l2d_nomi/emb --run mi=exp/l2d_joint/emb --out_dir exp/probe
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from espnet_mixrep.learn2diss.losses import refit_club_estimate
from espnet_mixrep.recipes.datadir import read_kaldi_map

ENCODERS = ("frames", "utterance")
TARGETS = ("digit", "speaker")


def load_set(emb_file: Path, data_dir: Path) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    if not emb_file.is_file():
        raise FileNotFoundError(f"embeddings not found: {emb_file} (run l2d_extract first)")
    emb = np.load(emb_file)
    utt_ids = [str(u) for u in emb["utt_ids"]]
    text, utt2spk = read_kaldi_map(data_dir / "text"), read_kaldi_map(data_dir / "utt2spk")
    missing = [u for u in utt_ids if u not in text or u not in utt2spk]
    if missing:
        raise ValueError(f"{emb_file}: {len(missing)} utterances (e.g. {missing[0]}) are not in {data_dir}")
    targets = {"digit": np.array([text[u] for u in utt_ids]), "speaker": np.array([utt2spk[u] for u in utt_ids])}
    return {name: emb[name] for name in ENCODERS}, targets


def probe_correct(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> np.ndarray:
    """Whether a logistic-regression probe fitted on the train vectors gets each test item right."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    probe.fit(train_x, train_y)
    return probe.predict(test_x) == test_y


def refit_club(train_emb: Path, test_emb: Path, steps: int = 2000, seed: int = 0) -> float:
    """CLUB on the test pairs with a fresh q trained (full batch, Adam) on the train pairs."""
    train, test = np.load(train_emb), np.load(test_emb)
    pairs = lambda d: (torch.from_numpy(d["club_x"]), torch.from_numpy(d["club_y"]))  # noqa: E731
    return refit_club_estimate(pairs(train), pairs(test), hidden_size=64, steps=steps, seed=seed)


def parse_run(spec: str) -> Tuple[str, Path]:
    name, sep, path = spec.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"--run expects NAME=EMB_DIR, got '{spec}'")
    return name, Path(path)


def main(cmd: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train_data", type=Path, required=True)
    parser.add_argument("--test_data", type=Path, required=True)
    parser.add_argument("--run", type=parse_run, action="append", required=True, help="NAME=EMB_DIR (train.npz, test.npz)")
    parser.add_argument("--out_dir", type=Path, required=True)
    args = parser.parse_args(cmd)

    results = []
    for name, emb_dir in args.run:
        train_x, train_y = load_set(emb_dir / "train.npz", args.train_data)
        test_x, test_y = load_set(emb_dir / "test.npz", args.test_data)
        test_npz = np.load(emb_dir / "test.npz")
        row = {
            "run": name,
            "utt_ids": [str(u) for u in test_npz["utt_ids"]],
            "correct": {},
            "club_mi_test": float(test_npz["club_mi"]),
            "club_mi_test_refit_q": refit_club(emb_dir / "train.npz", emb_dir / "test.npz"),
        }
        for encoder in ENCODERS:
            for target in TARGETS:
                correct = probe_correct(train_x[encoder], train_y[target], test_x[encoder], test_y[target])
                row[f"{encoder}_{target}"] = float(correct.mean())
                row["correct"][f"{encoder}_{target}"] = correct.astype(int).tolist()
        results.append(row)

    lines = [
        "| run | frame enc: digit | frame enc: speaker | utt enc: digit | utt enc: speaker "
        "| CLUB (run's q) | CLUB (refit q) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['run']} | {r['frames_digit']:.3f} | {r['frames_speaker']:.3f} | "
            f"{r['utterance_digit']:.3f} | {r['utterance_speaker']:.3f} | {r['club_mi_test']:.3f} "
            f"| {r['club_mi_test_refit_q']:.3f} |"
        )
    table = "\n".join(lines)
    print(table)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for file_name, content in (("probe.md", table + "\n"), ("probe.json", json.dumps(results, indent=2))):
        tmp = args.out_dir / f".{file_name}.tmp"
        tmp.write_text(content, encoding="utf-8")
        os.replace(tmp, args.out_dir / file_name)


if __name__ == "__main__":
    main()
