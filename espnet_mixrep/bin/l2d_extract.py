"""Extract Learn2Diss representations per utterance into an .npz file.

Writes ``utt_ids``, ``utterance`` (the utterance encoder's embedding, for
speaker tasks), ``frames`` (the chosen frame-encoder layer averaged over time,
for content probes), ``club_x``/``club_y`` (CLUB's inputs) and ``club_mi``
(CLUB's estimate between the two over all pairs of the set, with the run's
trained q). Example::

    python -m espnet_mixrep.bin.l2d_extract --config exp/l2d_joint/config.yaml \\
        --model exp/l2d_joint/valid.loss.best.pth --wav_scp data/test/wav.scp --out exp/l2d_joint/emb/test.npz
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch

from espnet_mixrep.core.audio import iter_wav_scp
from espnet_mixrep.learn2diss.io import load_learn2diss, wav_tensor


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, required=True, help="config.yaml of the l2d_train run")
    parser.add_argument("--model", type=Path, required=True, help="checkpoint (.pth) of the l2d_train run")
    parser.add_argument("--wav_scp", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="output .npz")
    parser.add_argument("--frame_layer", type=int, default=-1, help="frame-encoder block whose output is pooled")
    return parser


def main(cmd: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    model = load_learn2diss(args.config, args.model)
    num_blocks = model.frame_encoder.num_blocks
    if not -num_blocks <= args.frame_layer < num_blocks:
        raise ValueError(f"--frame_layer {args.frame_layer} is out of range: the frame encoder has {num_blocks} blocks")
    utt_ids, utterance, frames, club_x, club_y = [], [], [], [], []
    with torch.no_grad():
        for utt_id, audio, _ in iter_wav_scp(args.wav_scp):
            speech, lengths = wav_tensor(audio)
            layers, feat_lengths = model.extract(speech, lengths)
            frame_layers, frame_lengths = model.frame_encoder(layers, feat_lengths)
            utt_ids.append(utt_id)
            embedding = model.utterance_encoder(layers, feat_lengths)
            x, y = model.club_pair(frame_layers[-1], frame_lengths, embedding)
            utterance.append(embedding[0])
            frames.append(model.pool_frames(frame_layers[args.frame_layer], frame_lengths)[0])
            club_x.append(x[0])
            club_y.append(y[0])
        if not utt_ids:
            raise ValueError(f"{args.wav_scp}: no utterances")
        club_mi = model.club.mi_upper_bound(torch.stack(club_x), torch.stack(club_y), sampled=False).item()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.stem}.tmp.npz")
    np.savez(
        tmp,
        utt_ids=np.array(utt_ids),
        utterance=torch.stack(utterance).numpy(),
        frames=torch.stack(frames).numpy(),
        club_x=torch.stack(club_x).numpy(),
        club_y=torch.stack(club_y).numpy(),
        club_mi=np.float64(club_mi),
    )
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
