"""A tiny MixRep ASR training on a few real FSDD recordings, for the tests of
interrupted, resumed and distributed training: data sets, config, and runs of
the stock and our entry points (in a fresh process, or in this one)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import torch
import yaml

DIGITS = "zero one two three four five six seven eight nine".split()
CONFIG = {
    "frontend": "default",
    "frontend_conf": {"fs": 8000, "n_fft": 256, "hop_length": 80, "n_mels": 20},
    "specaug": "specaug",
    "specaug_conf": {"apply_time_warp": False, "apply_freq_mask": True, "freq_mask_width_range": [0, 4],
                     "num_freq_mask": 1, "apply_time_mask": True, "time_mask_width_range": [0, 5],
                     "num_time_mask": 1},
    "normalize": "utterance_mvn",
    "encoder": "mixrep_conformer",
    "encoder_conf": {"output_size": 32, "attention_heads": 2, "linear_units": 64, "num_blocks": 2,
                     "input_layer": "conv2d", "macaron_style": True, "pos_enc_layer_type": "rel_pos",
                     "selfattention_layer_type": "rel_selfattn", "use_cnn_module": True,
                     "cnn_module_kernel": 7, "mix_layers": "0,1,2", "mix_alpha": 2.0, "mix_tau": 0.5,
                     "mix_lambda_per_utterance": True},
    "decoder": "transformer",
    "decoder_conf": {"attention_heads": 2, "linear_units": 64, "num_blocks": 1},
    "model": "mixrep",
    "model_conf": {"ctc_weight": 0.3, "lsm_weight": 0.1},
    "optim": "adam",
    "optim_conf": {"lr": 0.002},
    # unsorted batches of 3: split over 2 DDP ranks, one rank gets a single
    # utterance and cannot mix while the other mixes one row (tau 0.5)
    "batch_type": "unsorted",
    "batch_size": 3,
    "max_epoch": 2,
    "num_workers": 0,
    "seed": 3,
    "num_att_plot": 0,
    "use_tensorboard": False,
    "use_matplotlib": False,
    "best_model_criterion": [["valid", "acc", "max"]],
    "keep_nbest_models": 2,
}


def write_set(root: Path, name: str, files: Sequence[Path]) -> Path:
    """A Kaldi-style set (wav.scp, text)."""
    d = root / name
    d.mkdir(parents=True)
    with open(d / "wav.scp", "w") as wav, open(d / "text", "w") as text:
        for f in sorted(files):
            digit, speaker, index = f.stem.split("_")
            utt = f"{speaker}_{digit}_{index}"
            wav.write(f"{utt} {f}\n")
            text.write(f"{utt} {DIGITS[int(digit)]}\n")
    return d


def prepare(root: Path, fsdd_dir: Path, config: Dict = CONFIG, **overrides) -> List[str]:
    """Data, token list and config under ``root``; -> training options without --output_dir."""
    recs = fsdd_dir / "recordings"
    if not (root / "train").exists():
        write_set(root, "train", [recs / f"{d}_george_{i}.wav" for d in (1, 4, 7) for i in (3, 4)])
        write_set(root, "valid", [recs / f"{d}_lucas_3.wav" for d in (2, 5, 8)])
        chars = sorted({c for w in DIGITS for c in w})
        (root / "tokens.txt").write_text("\n".join(["<blank>", "<unk>", *chars, "<sos/eos>"]) + "\n")
    config_path = root / "train.yaml"
    config_path.write_text(yaml.safe_dump(dict(config, **overrides)))
    opts = ["--token_type", "char", "--token_list", str(root / "tokens.txt"), "--use_preprocessor", "true",
            "--ngpu", "0", "--config", str(config_path)]
    for split in ("train", "valid"):
        opts += [f"--{split}_data_path_and_name_and_type", f"{root / split}/wav.scp,speech,sound",
                 f"--{split}_data_path_and_name_and_type", f"{root / split}/text,text,text",
                 f"--{split}_shape_file", f"{root / split}/wav.scp"]  # unsorted batches read only the keys
    return opts


def env() -> Dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")


def train(opts: Sequence[str], output_dir: Path, *extra: str, module: str = "espnet_mixrep.bin.asr_train",
          timeout: int = 1800, check: bool = True) -> subprocess.CompletedProcess:
    """One training process; fails the caller with the log tail if ``check`` and it fails."""
    proc = subprocess.run([sys.executable, "-m", module, *opts, "--output_dir", str(output_dir), *extra],
                          env=env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{module} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


def train_in_process(opts: Sequence[str], output_dir: Path, *extra: str) -> None:
    """Our entry point's main() in this process, on one thread as the subprocesses run
    (so that its numbers can be compared with theirs bit for bit)."""
    from espnet_mixrep.bin import asr_train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        asr_train.main([*opts, "--output_dir", str(output_dir), *extra])
    finally:
        torch.set_num_threads(threads)


def epoch_stats(exp_dir: Path) -> Dict:
    """The reporter's per-epoch statistics saved in checkpoint.pth (exact floats)."""
    return torch.load(exp_dir / "checkpoint.pth", map_location="cpu", weights_only=False)["reporter"]["stats"]


def train_stats(stats: Dict, epoch: int) -> Dict[str, float]:
    """Epoch ``epoch``'s training statistics without the timings (which differ run to run)."""
    timing = ("time", "iter_time", "forward_time", "backward_time", "optim_step_time", "train_time",
              "gpu_max_cached_mem_GB")
    return {k: v for k, v in stats[epoch]["train"].items() if not any(k.endswith(t) for t in timing)}


def weights(path: Path) -> Dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=False)


def same_weights(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
