#!/usr/bin/env bash
# Stage 1: ESC-50 (or ESC-10) 5-fold sets data/<subset>_{train,test}_fold{1..5}.
set -euo pipefail
subset=esc50
esc50_dir=""
help_message="Usage: $0 [--subset esc50|esc10] [--esc50_dir DIR]"
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: unexpected argument '$1'" >&2; exit 1; }
. ./path.sh
. ./db.sh
esc50_dir=${esc50_dir:-${ESC50}}
python3 -m espnet_mixrep.bin.prepare_esc50 ${esc50_dir:+--esc50_dir "${esc50_dir}"} \
    --download_dir downloads --data_dir data --subset "${subset}"
