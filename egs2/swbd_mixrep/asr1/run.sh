#!/usr/bin/env bash
# Switchboard-1 (train_nodup, or the 40 h / 80 h subsets) -> Hub5 eval2000 with
# the MixRep paper's configurations; BPE 2000, no LM, 8 kHz audio upsampled to 16 kHz.
#   ./run.sh [--train_set train_40h|train_80h|train_nodup] [--asr_config conf/tuning/...] [asr.sh options]
# Corpus locations: db.sh, or --swbd / --ms98 / --eval2000_speech / --eval2000_text.
# Configurations (conf/tuning/): train_asr_conformer_specaug.yaml (SpecAugment
# baseline), train_asr_mixspeech.yaml (input mixup, S={0}), train_asr_mixrep_s0_5.yaml
# and train_asr_mixrep_s0_9.yaml (MixRep, tau 0.45).
# Stage 13 also runs local/score.sh (asr.sh --local_score_opts, e.g. "--scorer sclite"):
# the Hub5 scores (all / SWBD / CallHome) of eval2000 in
# exp/<asr exp>/<decode>/eval2000/score_hub5/result.txt.
set -euo pipefail

train_set=train_40h
valid_set=train_dev
test_sets=eval2000
asr_config=conf/tuning/train_asr_mixrep_s0_9.yaml
inference_config=conf/decode_asr.yaml
stage=1
stop_stage=10000
expdir=exp

# Corpus locations and subsets, to local/data.sh (empty: db.sh and its defaults).
swbd=""
ms98=""
eval2000_speech=""
eval2000_text=""
dev_utts=""
subsets=""
letters=""
local_data_opts=""        # more options of local/data.sh

help_message="$(sed -n '2,11p' "$0" | sed -e 's/^# \{0,1\}//')
Own options: --train_set ${train_set} --stage ${stage} --stop_stage ${stop_stage} --expdir ${expdir}
  --swbd --ms98 --eval2000_speech --eval2000_text --dev_utts --subsets --letters (to local/data.sh)
Every other option goes to asr.sh: ./asr.sh --help lists them."
asr_opts=(); passthrough_opts=asr_opts
. ./utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: unexpected argument '$1'" >&2; exit 1; }
for name in swbd ms98 eval2000_speech eval2000_text dev_utts subsets letters; do
    if [ -n "${!name}" ]; then local_data_opts+=" --${name} ${!name}"; fi
done

./asr.sh \
    --stage "${stage}" \
    --stop_stage "${stop_stage}" \
    --expdir "${expdir}" \
    --lang en \
    --ngpu 1 \
    --nj 16 \
    --inference_nj 32 \
    --token_type bpe \
    --nbpe 2000 \
    --bpe_train_text "data/${train_set}/text" \
    --speed_perturb_factors "0.9 1.0 1.1" \
    --local_data_opts "${local_data_opts}" \
    --asr_config "${asr_config}" \
    --inference_config "${inference_config}" \
    --train_set "${train_set}" \
    --valid_set "${valid_set}" \
    --test_sets "${test_sets}" \
    "${asr_opts[@]+"${asr_opts[@]}"}"
