#!/usr/bin/env bash
# Stage 1 data preparation: FSDD isolated digits -> data/{train,valid,test}.
# FSDD is read in place: --fsdd_dir, else $FSDD_DIR, else ../shared/data/fsdd next to the
# repository ($MAIN_ROOT, set by path.sh).
set -euo pipefail
fsdd_dir=${1:-}
python - "${fsdd_dir}" <<'PY'
import os
import sys
from espnet_mixrep.recipes.fsdd import resolve_fsdd_dir
from espnet_mixrep.recipes.fsdd_isolated import prepare_fsdd_isolated

fsdd_dir = resolve_fsdd_dir(sys.argv[1] or None, os.environ.get("MAIN_ROOT"))
if fsdd_dir is None:
    sys.exit("FSDD not found: pass --fsdd_dir or set FSDD_DIR (this recipe reads the recordings in place)")
counts = prepare_fsdd_isolated(fsdd_dir, "data")
print("data/: " + ", ".join(f"{name} {n}" for name, n in counts.items()) + f" utterances from {fsdd_dir}")
PY
