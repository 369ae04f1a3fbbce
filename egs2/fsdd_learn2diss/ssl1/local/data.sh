#!/usr/bin/env bash
# Stage 1 data preparation: FSDD isolated digits -> data/{train,valid,test}.
# FSDD is read in place from $1 (--fsdd_dir), else $FSDD_DIR, else
# ../shared/data/fsdd next to the repository ($MAIN_ROOT, set by path.sh);
# with none of them, the public release is downloaded into downloads/.
set -euo pipefail
fsdd_dir=${1:-}
python -m espnet_mixrep.bin.prepare_fsdd_isolated ${fsdd_dir:+--fsdd_dir "${fsdd_dir}"} \
    --repo_root "${MAIN_ROOT}" --download_dir downloads --data_dir data
