#!/usr/bin/env bash
# WSJ (si284 -> dev93 / eval92) with the MixRep paper's configurations.
#   ./run.sh [--wsj0 DIR --wsj1 DIR] [--use_lm true|false] [asr.sh options, e.g. --asr_config conf/tuning/train_asr_mixrep_s0_9.yaml]
# Configurations (conf/tuning/): train_asr_conformer_specaug.yaml (SpecAugment
# baseline), train_asr_conformer_te.yaml (time-enhanced), train_asr_mixspeech.yaml
# (input mixup), train_asr_mixrep_s9.yaml / train_asr_mixrep_s0_9.yaml (MixRep).
# Stages 6-8 train the character Transformer LM on the si284 transcripts + the
# WSJ1 LM text; decoding uses it with weight 1.2, as in the paper.
set -euo pipefail

train_set=train_si284
valid_set=test_dev93      # as ESPnet's WSJ recipe: dev93 is the validation set, eval92 the clean test
test_sets="test_dev93 test_eval92"
asr_config=conf/tuning/train_asr_mixrep_s0_9.yaml
inference_config=conf/decode_asr.yaml
lm_config=conf/tuning/train_lm_transformer.yaml

wsj0=""                   # LDC93S6B directory (default: db.sh's WSJ0)
wsj1=""                   # LDC94S13B directory (default: db.sh's WSJ1)
local_data_opts=""        # more options of local/data.sh

help_message="$(sed -n '2,8p' "$0" | sed -e 's/^# \{0,1\}//')
Own options: --wsj0 <LDC93S6B dir> --wsj1 <LDC94S13B dir> (to local/data.sh; default db.sh)
  --train_set ${train_set} --valid_set ${valid_set} --test_sets \"${test_sets}\"
  --asr_config ${asr_config} --inference_config ${inference_config} --lm_config ${lm_config}
Every other option (--stage N, --stop_stage N, --use_lm, --ngpu ...) goes to asr.sh: ./asr.sh --help lists them."
asr_opts=(); passthrough_opts=asr_opts
. ./utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: unexpected argument '$1'" >&2; exit 1; }
local_data_opts+="${wsj0:+ --wsj0 ${wsj0}}${wsj1:+ --wsj1 ${wsj1}}"

./asr.sh \
    --lang en \
    --ngpu 1 \
    --nj 16 \
    --inference_nj 32 \
    --gpu_inference false \
    --token_type char \
    --nlsyms_txt data/nlsyms.txt \
    --local_data_opts "${local_data_opts}" \
    --use_lm true \
    --lm_config "${lm_config}" \
    --lm_train_text "data/${train_set}/text data/local/other_text/text" \
    --asr_config "${asr_config}" \
    --inference_config "${inference_config}" \
    --train_set "${train_set}" \
    --valid_set "${valid_set}" \
    --test_sets "${test_sets}" \
    "${asr_opts[@]+"${asr_opts[@]}"}"
