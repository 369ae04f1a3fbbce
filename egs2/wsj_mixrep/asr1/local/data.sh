#!/usr/bin/env bash
# Stage 1 of the WSJ recipe: WSJ0 + WSJ1 -> data/{train_si284,train_si84,test_dev93,test_eval92},
# data/nlsyms.txt and data/local/other_text/text (extra LM text). Every index,
# audio and transcript file is checked first: a missing or partial corpus stops
# with one error listing what is missing, before anything is written.
set -euo pipefail

wsj0=""       # default: WSJ0 of db.sh
wsj1=""       # default: WSJ1 of db.sh
lm_text=true  # also write data/local/other_text/text

help_message="Usage: $0 [--wsj0 <LDC93S6B dir>] [--wsj1 <LDC94S13B dir>] [--lm_text true|false]"
. utils/parse_options.sh
. ./db.sh

wsj0=${wsj0:-${WSJ0}}
wsj1=${wsj1:-${WSJ1}}
if [ -z "${wsj0}" ] || [ -z "${wsj1}" ]; then
    echo "$0: set WSJ0 and WSJ1 in db.sh (or pass --wsj0 / --wsj1 to run.sh)" 1>&2
    exit 1
fi
python -m espnet_mixrep.bin.prepare_wsj --wsj0 "${wsj0}" --wsj1 "${wsj1}" --data_dir data --lm_text "${lm_text}"
