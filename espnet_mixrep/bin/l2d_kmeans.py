"""Fit k-means on extractor frames and write per-frame labels for Learn2Diss.

The extractor is read from the l2d_train YAML config, so labels always have
the frame count the training run will see. Example::

    python -m espnet_mixrep.bin.l2d_kmeans --config conf/train_stage1.yaml \\
        --n_clusters 50 --fit_scp data/train/wav.scp --model_out exp/kmeans/kmeans.pkl \\
        --apply data/train/wav.scp=dump/train/kmeans --apply data/valid/wav.scp=dump/valid/kmeans

Each label file holds ``utt_id id id id ...`` (ESPnet's text_int type).
"""

from __future__ import annotations

import argparse
import logging
import pickle
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from espnet_mixrep.core.datadir import atomic_file
from espnet_mixrep.learn2diss.extractors import LayerSelector
from espnet_mixrep.learn2diss.io import extractor_from_config
from espnet_mixrep.learn2diss.kmeans import extract_frames, fit_kmeans, write_labels


def parse_apply(spec: str) -> Tuple[Path, Path]:
    scp, sep, out = spec.partition("=")
    if not sep or not scp or not out:
        raise argparse.ArgumentTypeError(f"--apply expects WAV_SCP=LABEL_FILE, got '{spec}'")
    return Path(scp), Path(out)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, required=True, help="l2d_train YAML config (its extractor is used)")
    parser.add_argument("--layer", type=int, default=-1, help="extractor layer to cluster")
    parser.add_argument("--n_clusters", type=int, default=50)
    parser.add_argument("--fit_scp", type=Path, required=True, help="wav.scp of the utterances to fit on")
    parser.add_argument("--max_fit_frames", type=int, default=200000, help="subsample frames for the fit")
    parser.add_argument("--model_out", type=Path, required=True, help="where to pickle the fitted k-means")
    parser.add_argument("--apply", type=parse_apply, action="append", default=[], help="WAV_SCP=LABEL_FILE")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(cmd: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.manual_seed(args.seed)
    extractor = extractor_from_config(args.config)
    LayerSelector(extractor.num_layers, args.layer)  # fails now, not after the fit, on a bad index
    for scp, _ in args.apply:
        if not scp.is_file():
            raise FileNotFoundError(f"--apply: wav.scp not found: {scp}")

    cache: Dict[Path, Dict[str, np.ndarray]] = {args.fit_scp.resolve(): extract_frames(extractor, args.layer, args.fit_scp)}
    fit_frames = np.concatenate(list(cache[args.fit_scp.resolve()].values()))
    if len(fit_frames) < args.n_clusters:
        raise ValueError(f"{args.fit_scp}: {len(fit_frames)} frames are fewer than --n_clusters {args.n_clusters}")
    kmeans = fit_kmeans(fit_frames, args.n_clusters, args.max_fit_frames, args.seed)
    fitted = min(len(fit_frames), args.max_fit_frames)
    logging.info("k-means: %d clusters on %d frames, inertia/frame %.3f", args.n_clusters, fitted, kmeans.inertia_ / fitted)
    with atomic_file(args.model_out, binary=True) as f:
        pickle.dump({"kmeans": kmeans, "layer": args.layer, "config": str(args.config)}, f)

    for scp, out in args.apply:
        frames = cache.get(scp.resolve()) or extract_frames(extractor, args.layer, scp)
        write_labels(out, {utt: kmeans.predict(f).astype(np.int64) for utt, f in frames.items()})
        logging.info("wrote %s (%d utterances)", out, len(frames))


if __name__ == "__main__":
    main()
