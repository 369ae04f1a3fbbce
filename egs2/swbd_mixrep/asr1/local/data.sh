#!/usr/bin/env bash
# Stage 1 of the Switchboard recipe: LDC97S62 + eval2000 ->
# data/{train_nodup,train_dev,train_40h,train_80h,eval2000} (eval2000 with its
# stm and glm for Hub5 scoring). Every corpus file is checked first: a missing
# or partial corpus stops with one error listing what is missing, before
# anything is written. No download: the ms98 transcripts must be unpacked
# under <LDC97S62>/transcriptions/ (or given with --ms98).
set -euo pipefail

swbd=""             # default: SWBD1 of db.sh
ms98=""             # default: MS98 of db.sh, else <swbd>/transcriptions/swb_ms98_transcriptions
eval2000_speech=""  # default: EVAL2000_SPEECH of db.sh
eval2000_text=""    # default: EVAL2000_TEXT of db.sh
dev_utts=4000       # train_dev = the first utterances (by id)
subsets="train_40h:40,train_80h:80"  # name:hours drawn from train_nodup (whole conversations)
letters=""          # letter pronunciations for acronyms (e.g. ESPnet's local/MSU_single_letter.txt)

help_message="Usage: $0 [--swbd DIR] [--ms98 DIR] [--eval2000_speech DIR] [--eval2000_text DIR] [--dev_utts N] [--subsets name:hours,...] [--letters FILE]"
. utils/parse_options.sh
. ./db.sh

swbd=${swbd:-${SWBD1}}
ms98=${ms98:-${MS98}}
eval2000_speech=${eval2000_speech:-${EVAL2000_SPEECH}}
eval2000_text=${eval2000_text:-${EVAL2000_TEXT}}
if [ -z "${swbd}" ] || [ -z "${eval2000_speech}" ] || [ -z "${eval2000_text}" ]; then
    echo "$0: set SWBD (or SWBD1, EVAL2000_SPEECH, EVAL2000_TEXT) in db.sh, or pass --swbd / --eval2000_speech / --eval2000_text" 1>&2
    exit 1
fi
opts=()
[ -n "${ms98}" ] && opts+=(--ms98 "${ms98}")
[ -n "${letters}" ] && opts+=(--letters "${letters}")
python -m espnet_mixrep.bin.prepare_swbd --swbd "${swbd}" --eval2000_speech "${eval2000_speech}" \
    --eval2000_text "${eval2000_text}" --data_dir data --dev_utts "${dev_utts}" --subsets "${subsets}" \
    "${opts[@]+"${opts[@]}"}"
