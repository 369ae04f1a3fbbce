#!/usr/bin/env bash
# Stage 1 data preparation: FSDD isolated digits -> data/{train,valid,test}.
# FSDD is read in place: --fsdd_dir, else $FSDD_DIR, else ../shared/data/fsdd next to the repository.
set -euo pipefail
fsdd_dir=${1:-}
python - "${fsdd_dir}" <<'PY'
import sys
from pathlib import Path
from espnet_mixrep.recipes.fsdd import resolve_fsdd_dir
from espnet_mixrep.recipes.fsdd_isolated import prepare_fsdd_isolated

repo_root = Path.cwd().resolve().parents[2]
fsdd_dir = resolve_fsdd_dir(sys.argv[1] or None, repo_root)
if fsdd_dir is None:
    sys.exit("FSDD not found: pass --fsdd_dir or set FSDD_DIR (this recipe reads the recordings in place)")
counts = prepare_fsdd_isolated(fsdd_dir, "data")
print("data/: " + ", ".join(f"{name} {n}" for name, n in counts.items()) + f" utterances from {fsdd_dir}")
PY
