"""Linear probes and a refit CLUB estimate on extracted Learn2Diss representations
(bin/l2d_probe.py is the command line)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from espnet_mixrep.core.datadir import read_kaldi_map
from espnet_mixrep.learn2diss.losses import refit_club_estimate

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


def probe_run(name: str, emb_dir: Path, train_data: Path, test_data: Path) -> Dict:
    """Digit and speaker probes on each encoder, the run's own and a refit CLUB, per-item correctness."""
    train_x, train_y = load_set(emb_dir / "train.npz", train_data)
    test_x, test_y = load_set(emb_dir / "test.npz", test_data)
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
    return row


def probe_table(results: List[Dict]) -> str:
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
    return "\n".join(lines)
