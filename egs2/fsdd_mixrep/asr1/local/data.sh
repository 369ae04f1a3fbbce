#!/usr/bin/env bash
# Stage 1 of the FSDD recipe: connected-digit utterances from the Free Spoken
# Digit Dataset -> data/{train,valid,test} (Kaldi data dirs, 8 kHz wavs under
# data/local/wav). Speaker-disjoint sets; deterministic for a given seed.
set -euo pipefail

fsdd_dir=""          # FSDD folder holding recordings/; default: $FSDD_DIR, else
                     # ../shared/data/fsdd beside the repository, else download
download_dir=downloads
train_speakers="george jackson"
valid_speakers="lucas"
test_speakers="nicolas"
num_train=1000
num_valid=100
num_test=200
min_digits=2
max_digits=7
seed=0

help_message="Usage: $0 [--fsdd_dir DIR] [--num_train N] [--num_valid N] [--num_test N] [--train_speakers \"a b\"] [--valid_speakers ...] [--test_speakers ...] [--min_digits N] [--max_digits N] [--seed N]"
. utils/parse_options.sh
. ./db.sh

python -m espnet_mixrep.bin.recipe prepare_fsdd \
    --fsdd_dir "${fsdd_dir:-${FSDD}}" --repo_root "$(cd ../../.. && pwd)" --download_dir "${download_dir}" \
    --data_dir data \
    --train_speakers "${train_speakers}" --num_train "${num_train}" \
    --valid_speakers "${valid_speakers}" --num_valid "${num_valid}" \
    --test_speakers "${test_speakers}" --num_test "${num_test}" \
    --min_digits "${min_digits}" --max_digits "${max_digits}" --seed "${seed}"
