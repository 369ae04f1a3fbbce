#!/usr/bin/env bash
# WSJ (si284 -> dev93 / eval92) with the MixRep paper's configurations.
#   ./run.sh [--wsj0 DIR --wsj1 DIR] [--use_lm true|false] [asr.sh options, e.g. --asr_config conf/tuning/train_asr_mixrep_s0_9.yaml]
# Configurations (conf/tuning/): train_asr_conformer_specaug.yaml (SpecAugment
# baseline), train_asr_conformer_te.yaml (time-enhanced), train_asr_mixspeech.yaml
# (input mixup), train_asr_mixrep_s9.yaml / train_asr_mixrep_s0_9.yaml (MixRep).
# Stages: 1-5 and 10-15 are asr.sh's; 6-8 (character Transformer LM, used in
# decoding with weight 1.2 as in the paper) are local/train_lm.sh, since the
# recipe driver has no LM stages.
set -euo pipefail

train_set=train_si284
valid_set=test_dev93      # as ESPnet's WSJ recipe: dev93 is the validation set, eval92 the clean test
test_sets="test_dev93 test_eval92"
asr_config=conf/tuning/train_asr_mixrep_s0_9.yaml
inference_config=conf/decode_asr.yaml
lm_config=conf/tuning/train_lm_transformer.yaml
use_lm=true
ngpu=1
stage=1
stop_stage=10000

# --wsj0 / --wsj1 go to local/data.sh, LM options to local/train_lm.sh, the rest to asr.sh.
local_data_opts=""
asr_opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --wsj0|--wsj1) local_data_opts+=" $1 $2"; shift 2 ;;
        --use_lm) use_lm=$2; shift 2 ;;
        --lm_config) lm_config=$2; shift 2 ;;
        --asr_config) asr_config=$2; shift 2 ;;
        --inference_config) inference_config=$2; shift 2 ;;
        --ngpu) ngpu=$2; shift 2 ;;
        --stage) stage=$2; shift 2 ;;
        --stop_stage) stop_stage=$2; shift 2 ;;
        *) asr_opts+=("$1"); shift ;;
    esac
done
lm_exp=exp/lm_$(basename "${lm_config}" .yaml)_en_char

run_asr() {
    ./asr.sh \
        --lang en \
        --ngpu "${ngpu}" \
        --nj 16 \
        --inference_nj 32 \
        --gpu_inference false \
        --token_type char \
        --nlsyms_txt data/nlsyms.txt \
        --local_data_opts "${local_data_opts}" \
        --asr_config "${asr_config}" \
        --inference_config "${inference_config}" \
        --train_set "${train_set}" \
        --valid_set "${valid_set}" \
        --test_sets "${test_sets}" \
        "$@" \
        "${asr_opts[@]+"${asr_opts[@]}"}"
}

if [ "${stage}" -le 5 ]; then
    run_asr --stage "${stage}" --stop_stage "$(( stop_stage < 5 ? stop_stage : 5 ))"
fi
if "${use_lm}" && [ "${stage}" -le 8 ] && [ "${stop_stage}" -ge 6 ]; then
    local/train_lm.sh --stage "$(( stage > 6 ? stage : 6 ))" --stop_stage "$(( stop_stage < 8 ? stop_stage : 8 ))" \
        --ngpu "${ngpu}" --lm_config "${lm_config}" --lm_exp "${lm_exp}" \
        --lm_train_text "data/${train_set}/text data/local/other_text/text" --lm_dev_text "dump/raw/${valid_set}/text"
fi
if [ "${stop_stage}" -ge 10 ]; then
    lm_opts=()
    if "${use_lm}"; then
        [ -f "${lm_exp}/valid.loss.ave.pth" ] || { echo "$0: ${lm_exp}/valid.loss.ave.pth not found (run stages 6-8, or --use_lm false)" 1>&2; exit 1; }
        lm_opts=(--inference_args "--lm_train_config ${lm_exp}/config.yaml --lm_file ${lm_exp}/valid.loss.ave.pth"
                 --inference_tag "$(basename "${inference_config}" .yaml)_lm_$(basename "${lm_exp}")_asr_model_valid.acc.ave")
    fi
    run_asr --stage "$(( stage > 10 ? stage : 10 ))" --stop_stage "${stop_stage}" "${lm_opts[@]+"${lm_opts[@]}"}"
fi
