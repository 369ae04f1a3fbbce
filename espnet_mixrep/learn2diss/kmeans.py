"""k-means targets for Learn2Diss: cluster extractor frames, label every frame.

The extractor comes from the l2d_train config, so labels always have the frame
count the training run will see (bin/l2d_kmeans.py is the command line).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import numpy as np
from sklearn.cluster import MiniBatchKMeans

from espnet_mixrep.core.audio import iter_wav_scp
from espnet_mixrep.core.datadir import atomic_file
from espnet_mixrep.learn2diss.extractors import AbsExtractor, LayerSelector
from espnet_mixrep.learn2diss.io import wav_tensor


def extract_frames(extractor: AbsExtractor, layer: int, wav_scp: Path) -> Dict[str, np.ndarray]:
    selector = LayerSelector(extractor.num_layers, layer)
    frames: Dict[str, np.ndarray] = {}
    for utt_id, audio, _ in iter_wav_scp(wav_scp):
        layers, lengths = extractor(*wav_tensor(audio))
        frames[utt_id] = selector(layers)[0, : int(lengths[0])].numpy()
    if not frames:
        raise ValueError(f"{wav_scp}: no utterances")
    return frames


def write_labels(path: Path, labels: Dict[str, np.ndarray]) -> None:
    """Write atomically: a half-written label file must never look complete."""
    with atomic_file(path) as f:
        for utt_id in sorted(labels):
            f.write(utt_id + " " + " ".join(map(str, labels[utt_id].tolist())) + "\n")


def fit_kmeans(frames: np.ndarray, n_clusters: int, max_fit_frames: int, seed: int) -> MiniBatchKMeans:
    """MiniBatchKMeans on at most ``max_fit_frames`` frames drawn at random (seeded)."""
    if len(frames) < n_clusters:
        raise ValueError(f"{len(frames)} frames are fewer than n_clusters {n_clusters}")
    if len(frames) > max_fit_frames:
        frames = frames[np.random.default_rng(seed).choice(len(frames), max_fit_frames, replace=False)]
    kmeans = MiniBatchKMeans(n_clusters=n_clusters, random_state=seed, batch_size=4096, n_init=3)
    return kmeans.fit(frames)
