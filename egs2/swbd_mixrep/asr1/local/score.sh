#!/usr/bin/env bash
# Hub5 scoring of every eval2000 decode under an experiment dir (or all of exp/):
# WER for all, the Switchboard part (sw_*) and the CallHome part (en_*), with
# the glm filtering. Uses hubscr.pl / sclite when both are on PATH, our own
# equivalent filtering and alignment otherwise (--scorer python|sclite|auto).
set -euo pipefail

scorer=auto
test_set=eval2000
data=data/local/eval2000  # stm, glm and segments written by stage 1
help_message="Usage: $0 [--scorer auto|sclite|python] [--data data/local/eval2000] [--test_set eval2000] [<asr-exp-dir>...]"
. utils/parse_options.sh

[ $# -gt 0 ] || set -- exp/asr_*
found=false
for exp in "$@"; do
    for dir in "${exp}"/*/"${test_set}"; do
        [ -f "${dir}/text" ] || continue
        found=true
        echo "${dir}:"
        python -m espnet_mixrep.bin.score_hub5 --decode_dir "${dir}" --data_dir "${data}" --scorer "${scorer}"
    done
done
"${found}" || { echo "$0: no decode of ${test_set} with a text file under: $*" 1>&2; exit 1; }
