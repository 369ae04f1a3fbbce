#!/usr/bin/env bash
# GPU check of MixRep at the WSJ size (issue 13, item 8); one GPU, under 8 minutes.
#
#   benchmarks/gpu_check.sh [WORKDIR]      (PYTHON=... picks the interpreter; default: python)
#
# Needs espnet-mixrep installed in that interpreter (pip install -e .) and a CUDA GPU.
# Prints two tables:
#  1. benchmarks/mixrep_step.py --device cuda --sizes wsj, in fp32 and under bf16 autocast:
#     per variant (baseline = ESPnet's Conformer, mixrep, authors' double pass):
#     step_s (median step time), time_ratio (to the baseline), peak_MiB and
#     mem_ratio (torch.cuda.max_memory_allocated), frames_per_s.
#  2. a 200-step training with AMP (--use_amp true, bf16 autocast on a bf16 GPU)
#     through the stock espnet2.bin.asr_train, WSJ-size MixRep
#     (train_asr_mixrep_s0_9.yaml) and its baseline (train_asr_conformer_te.yaml),
#     on generated 16 kHz audio (320 utterances of 4-10 s, batches of 16, 10 passes):
#     per model train_s (the 200 steps), s_per_step, frames_per_s (frontend frames,
#     hop 128), max_alloc_GiB (torch.cuda.max_memory_allocated), and the
#     mixrep / baseline ratios of s_per_step and max_alloc_GiB.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-$(mktemp -d /tmp/gpu_check.XXXXXX)}
PYTHON=${PYTHON:-python}
TUNING=${REPO}/egs2/wsj_mixrep/asr1/conf/tuning
export PYTHONWARNINGS=ignore
mkdir -p "${WORK}"
SECONDS=0
echo "gpu_check: work dir ${WORK}"
"${PYTHON}" -c 'import torch; assert torch.cuda.is_available(), "no CUDA GPU"; print("gpu_check:", torch.cuda.get_device_name(0), "torch", torch.__version__)'

echo "== 1. training step, WSJ size (benchmarks/mixrep_step.py) =="
for autocast in none bf16; do
    timeout 150 "${PYTHON}" "${REPO}/benchmarks/mixrep_step.py" --device cuda --sizes wsj --steps 10 \
        --batch_size 16 --autocast "${autocast}"
done

echo "== 2. 200-step AMP training through python -m espnet2.bin.asr_train =="
"${PYTHON}" - "${WORK}" <<'PY'
import sys
from pathlib import Path

import numpy as np
import soundfile

work = Path(sys.argv[1])
rng = np.random.default_rng(0)
letters = list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
chars = letters + ["'", "<space>"]
(work / "tokens.txt").write_text("\n".join(["<blank>", "<unk>", *chars, "<sos/eos>"]) + "\n")
for name, count in (("train", 320), ("valid", 32)):
    d = work / name / "wav"
    d.mkdir(parents=True, exist_ok=True)
    with open(work / name / "wav.scp", "w") as scp, open(work / name / "text", "w") as text:
        for i in range(count):
            seconds = rng.uniform(4, 10)
            audio = (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)
            path = d / f"{name}{i:04d}.wav"
            soundfile.write(path, audio, 16000)
            words = ["".join(rng.choice(letters, rng.integers(2, 8))) for _ in range(int(seconds * 2.5))]
            scp.write(f"{name}{i:04d} {path}\n")
            text.write(f"{name}{i:04d} {' '.join(words)}\n")
PY

train() {  # $1 = name, $2 = config; prints the figures of one training
    local out=${WORK}/exp_$1
    rm -rf "${out}"
    timeout 200 "${PYTHON}" - "${out}" "$2" "${WORK}" <<'PY'
import runpy
import sys

import torch

out, config, work = sys.argv[1:4]
sys.argv = ["espnet2.bin.asr_train", "--config", config, "--ngpu", "1", "--use_amp", "true",
            "--max_epoch", "1", "--num_iters_per_epoch", "200", "--accum_grad", "1",
            "--batch_type", "unsorted", "--batch_size", "16", "--normalize", "utterance_mvn",
            "--num_workers", "4", "--use_tensorboard", "false", "--use_matplotlib", "false",
            "--num_att_plot", "0", "--token_type", "char", "--token_list", f"{work}/tokens.txt",
            "--use_preprocessor", "true", "--frontend_conf", "fs=16000", "--output_dir", out]
for split in ("train", "valid"):
    sys.argv += [f"--{split}_data_path_and_name_and_type", f"{work}/{split}/wav.scp,speech,sound",
                 f"--{split}_data_path_and_name_and_type", f"{work}/{split}/text,text,text",
                 f"--{split}_shape_file", f"{work}/{split}/wav.scp"]
runpy.run_module("espnet2.bin.asr_train", run_name="__main__")  # the stock entry point, as python -m runs it
stats = torch.load(f"{out}/checkpoint.pth", map_location="cpu", weights_only=False)["reporter"]["stats"][1]["train"]
import soundfile
samples = sum(soundfile.info(line.split()[1]).frames for line in open(f"{work}/train/wav.scp"))
frames = 10 * samples / 128  # 200 batches of 16 = 10 passes over the 320 utterances
print(f"RESULT train_s={stats['time']:.1f} s_per_step={stats['time'] / 200:.4f} "
      f"frames_per_s={frames / stats['time']:.0f} max_alloc_GiB={torch.cuda.max_memory_allocated() / 2**30:.2f} "
      f"loss={stats['loss']:.2f}", flush=True)
PY
}

declare -A result
for model in baseline mixrep; do
    if [ "${model}" = baseline ]; then config=${TUNING}/train_asr_conformer_te.yaml; else config=${TUNING}/train_asr_mixrep_s0_9.yaml; fi
    line=$(train "${model}" "${config}" 2> "${WORK}/train_${model}.log" | grep '^RESULT ') \
        || { tail -n 20 "${WORK}/train_${model}.log" >&2; echo "gpu_check: ${model} training failed" >&2; exit 1; }
    result[${model}]=${line#RESULT }
    echo "${model}: ${result[${model}]}"
done
value() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
awk -v a="$(value "${result[mixrep]}" s_per_step)" -v b="$(value "${result[baseline]}" s_per_step)" \
    -v c="$(value "${result[mixrep]}" max_alloc_GiB)" -v d="$(value "${result[baseline]}" max_alloc_GiB)" \
    'BEGIN { printf "mixrep / baseline: step-time ratio %.3f, peak-memory ratio %.3f\n", a / b, c / d }'
echo "gpu_check: done in ${SECONDS}s"
