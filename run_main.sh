#!/usr/bin/env bash
# The main job: set up .venv if needed, then run the FSDD connected-digit
# recipe (egs2/fsdd_mixrep/asr1) end to end: data from FSDD, a SpecAugment
# baseline and MixRep trained side by side on CPU, decoding of the unseen test
# speaker, scoring into RESULTS.md, packed models; prints the WER table.
# Arguments go to the recipe's run.sh (e.g. ./run_main.sh --stage 11).
set -euo pipefail
cd "$(dirname "$0")"
bash tools/setup_venv.sh
cd egs2/fsdd_mixrep/asr1
exec ./run.sh "$@"
