#!/usr/bin/env bash
# Stage 1: ESC-50 (or ESC-10) 5-fold sets data/<subset>_{train,test}_fold{1..5}.
set -euo pipefail
subset=esc50
esc50_dir=""
while [ $# -gt 0 ]; do
    case "$1" in
        --subset) subset=$2; shift 2 ;;
        --esc50_dir) esc50_dir=$2; shift 2 ;;
        *) echo "ERROR: local/data.sh: unknown option $1" >&2; exit 1 ;;
    esac
done
. ./path.sh
. ./db.sh
esc50_dir=${esc50_dir:-${ESC50}}
python3 -m espnet_mixrep.bin.prepare_esc50 ${esc50_dir:+--esc50_dir "${esc50_dir}"} \
    --download_dir downloads --data_dir data --subset "${subset}"
