#!/usr/bin/env bash
# Stage 1 of the FSDD recipe: connected-digit utterances from the Free Spoken
# Digit Dataset -> data/{train,valid,test_seen,test} (Kaldi data dirs, 8 kHz
# wavs under data/local/wav). Deterministic for a given seed.
#
# The split: george, jackson and lucas are the seen speakers, their takes
# split by FSDD take index (the N of {digit}_{speaker}_N.wav): 10-49 train,
# 5-9 valid, 0-4 test_seen (the release's own test takes). nicolas, never
# trained on, is the test speaker. No recording is in two sets.
set -euo pipefail

fsdd_dir=""          # FSDD folder holding recordings/; default: $FSDD_DIR, else
                     # ../shared/data/fsdd beside the repository, else download
download_dir=downloads
train_speakers="george jackson lucas"
train_takes=10-49
num_train=1800
valid_speakers="george jackson lucas"
valid_takes=5-9
num_valid=150
test_seen_speakers="george jackson lucas"
test_seen_takes=0-4
num_test_seen=150    # 0: no seen-speaker test set
test_speakers="nicolas"
test_takes=0-49
num_test=200
min_digits=2
max_digits=5
seed=0
remove_dc_offset=false   # subtract each recording's mean before joining (nicolas records at about -238)

help_message="Usage: $0 [--fsdd_dir DIR] [--num_train N] [--train_speakers \"a b\"] [--train_takes FIRST-LAST]
  (the same three for valid, test_seen and test) [--min_digits N] [--max_digits N] [--seed N]
  [--remove_dc_offset true|false]"
. utils/parse_options.sh
. ./db.sh

python -m espnet_mixrep.bin.recipe prepare_fsdd \
    --fsdd_dir "${fsdd_dir:-${FSDD}}" --repo_root "$(cd ../../.. && pwd)" --download_dir "${download_dir}" \
    --data_dir data \
    --train_speakers "${train_speakers}" --train_takes "${train_takes}" --num_train "${num_train}" \
    --valid_speakers "${valid_speakers}" --valid_takes "${valid_takes}" --num_valid "${num_valid}" \
    --test_seen_speakers "${test_seen_speakers}" --test_seen_takes "${test_seen_takes}" --num_test_seen "${num_test_seen}" \
    --test_speakers "${test_speakers}" --test_takes "${test_takes}" --num_test "${num_test}" \
    --min_digits "${min_digits}" --max_digits "${max_digits}" --seed "${seed}" \
    --remove_dc_offset "${remove_dc_offset}"
