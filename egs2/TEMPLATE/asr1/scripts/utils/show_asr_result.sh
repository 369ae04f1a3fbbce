#!/usr/bin/env bash
# Print the WER table of every scored experiment under an exp dir (default exp)
# and rewrite its summary: ./RESULTS.md for exp, <expdir>/RESULTS.md otherwise.
set -euo pipefail
# Run from a recipe directory: its path.sh puts the project's python first.
if [ -f ./path.sh ]; then
    # shellcheck disable=SC1091
    . ./path.sh
fi
expdir=${1:-exp}
results_md=RESULTS.md
[ "${expdir}" = exp ] || results_md=${expdir}/RESULTS.md
exec python -m espnet_mixrep.bin.recipe results --results_md "${results_md}" --exp_root "${expdir}"
