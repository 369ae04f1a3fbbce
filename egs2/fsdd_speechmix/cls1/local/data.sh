#!/usr/bin/env bash
# Stage 1: FSDD digit classification sets data/{train,valid,test}.
# Uses --fsdd_dir, else $FSDD_DIR, else ../shared/data/fsdd next to the repo,
# else downloads the public release into downloads/.
set -euo pipefail
fsdd_dir=""
takes_per_digit=50
train_subsets=""     # e.g. "8": also data/train_t8, the first 8 training takes per digit and speaker
help_message="Usage: $0 [--fsdd_dir DIR] [--takes_per_digit N] [--train_subsets \"N ...\"]"
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: unexpected argument '$1'" >&2; exit 1; }
. ./path.sh
python3 -m espnet_mixrep.bin.prepare_fsdd_cls ${fsdd_dir:+--fsdd_dir "${fsdd_dir}"} \
    --repo_root "${MAIN_ROOT}" --download_dir downloads --data_dir data --takes_per_digit "${takes_per_digit}" \
    ${train_subsets:+--train_subsets ${train_subsets}}
