#!/usr/bin/env bash
# Print the WER table of every scored experiment under an exp dir (default exp)
# and rewrite its generated summary <expdir>/RESULTS.md (never a git-tracked
# file: a recipe's own RESULTS.md holds reference numbers and is left alone).
set -euo pipefail
# Run from a recipe directory: its path.sh puts the project's python first.
if [ -f ./path.sh ]; then
    # shellcheck disable=SC1091
    . ./path.sh
fi
expdir=${1:-exp}
exec python -m espnet_mixrep.bin.recipe results --results_md "${expdir}/RESULTS.md" --exp_root "${expdir}"
