#!/usr/bin/env bash
# ESC-50 / ESC-10 with EnvNet-v2 at 44.1 kHz, paper protocol: 5-fold
# cross-validation on the official folds (train on four, test on the fifth),
# the model of the last epoch is tested (no selection on the test fold), and
# the mean accuracy over folds goes to exp/<subset>/RESULTS_<config>.md.
#   ./run.sh                                   # ESC-50, SpeechMix, folds 1-5
#   ./run.sh --subset esc10 --cls_config conf/train_bc.yaml
# Other options are passed to cls.sh (--ngpu 1, --cls_args "--max_epoch 10"...).
set -euo pipefail
subset=esc50
folds="1 2 3 4 5"
esc50_dir=""
cls_config=conf/train_speechmix.yaml
stage=1
stop_stage=100
help_message="$(sed -n '2,8p' "$0" | sed -e 's/^# \{0,1\}//')
Own options: --subset ${subset} --folds \"${folds}\" --esc50_dir \"${esc50_dir}\"
  --cls_config ${cls_config} --stage ${stage} --stop_stage ${stop_stage}
Every other option goes to cls.sh: ./cls.sh --help lists them."
rest=(); passthrough_opts=rest
. ./utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: unexpected argument '$1'" >&2; exit 1; }
. ./path.sh
. ./utils/driver_helpers.sh
check_stage_range "${stage}" "${stop_stage}" 1 8 100

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    local/data.sh --subset "${subset}" ${esc50_dir:+--esc50_dir "${esc50_dir}"}
fi
tag="$(basename "${cls_config}" .yaml)"
for k in ${folds}; do
    # The fold's test set doubles as ESPnet's validation set (it needs one);
    # testing latest.pth keeps it out of model selection.
    ./cls.sh --stage "$(( stage > 2 ? stage : 2 ))" --stop_stage "${stop_stage}" \
        --fs 44100 --min_clip_samples 66650 \
        --train_set "${subset}_train_fold${k}" --valid_set "${subset}_test_fold${k}" --test_sets "" \
        --token_list "data/token_list/${subset}_fold${k}.txt" \
        --expdir "exp/${subset}" --cls_config "${cls_config}" --cls_tag "${tag}_fold${k}" \
        --inference_model latest.pth "${rest[@]}"
done
if [ "${stop_stage}" -ge 8 ]; then
    python3 -m espnet_mixrep.bin.cls_stages cv_summary --output "exp/${subset}/RESULTS_${tag}.md" \
        $(for k in ${folds}; do echo "--exp exp/${subset}/cls_${tag}_fold${k}"; done)
fi
