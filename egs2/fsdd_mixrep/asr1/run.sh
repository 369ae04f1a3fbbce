#!/usr/bin/env bash
# FSDD connected digits, end to end: data, a SpecAugment baseline and MixRep
# trained side by side, CTC-only and joint decoding of the seen-speaker test
# set (test_seen) and the unseen test speaker (test), scoring, one RESULTS.md
# with a row per model, decoding and set, packed models.
#
#   ./run.sh                         # the main job (stages 1-14)
#   ./run.sh --stage 11              # resume training after an interruption
#   ./run.sh --asr_configs "conf/train_asr_baseline.yaml conf/train_asr_mixspeech.yaml conf/train_asr_mixrep.yaml"
#
# Own options (below) are read here; every other "--name value" goes to asr.sh
# (see ./asr.sh --help), e.g. --ngpu 1 --inference_nj 4 --local_data_opts "--num_train 1500".
set -euo pipefail

stage=1
stop_stage=14
asr_configs="conf/train_asr_baseline.yaml conf/train_asr_mixrep.yaml"
inference_configs="conf/decode_ctc.yaml conf/decode_joint.yaml"
test_sets="test_seen test"   # decoded and scored; add valid (the seen speakers' held-out takes, the checkpoint selection set) with --test_sets "valid test_seen test"
train_parallel=true     # train the configs at the same time (one CPU thread each)
tag_suffix=""           # appended to each experiment name, e.g. _seed1
expdir=exp

help_message="$(sed -n '2,12p' "$0" | sed -e 's/^# \{0,1\}//')
Own options: --stage ${stage} --stop_stage ${stop_stage} --asr_configs \"${asr_configs}\"
  --inference_configs \"${inference_configs}\" --test_sets \"${test_sets}\"
  --train_parallel ${train_parallel} --tag_suffix \"${tag_suffix}\" --expdir ${expdir}"
asr_opts=(); passthrough_opts=asr_opts
. ./utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: unexpected argument '$1'" >&2; exit 1; }
. ./utils/driver_helpers.sh  # stage checks; Ctrl-C stops the parallel trainings too
check_stage_range "${stage}" "${stop_stage}" 1 15

# Word tokens (ten digit words); per-utterance mean and variance normalisation,
# which carries over to an unseen speaker better than global statistics of three.
common=(
    --train_set train --valid_set valid --test_sets "${test_sets}"
    --lang en --fs 8k --token_type word --feats_normalize utterance_mvn
    --ngpu 0 --nj 2 --inference_nj 2
    --expdir "${expdir}"
)
# Stage range of asr.sh for one phase: the intersection with --stage/--stop_stage.
range() {
    local lo=$(( stage > $1 ? stage : $1 )) hi=$(( stop_stage < $2 ? stop_stage : $2 ))
    [ "${lo}" -le "${hi}" ] && echo "--stage ${lo} --stop_stage ${hi}"
}
read -r -a configs <<< "${asr_configs}"
read -r -a decodes <<< "${inference_configs}"
for f in "${configs[@]}" "${decodes[@]}"; do [ -f "${f}" ] || { echo "$0: config ${f} not found" >&2; exit 1; }; done
tag_of() { echo "$(basename "$1" .yaml)${tag_suffix}"; }
SECONDS=0

# Stages 1-10 (data, tokens, collect stats) are shared by every model.
if r=$(range 1 10); then
    # shellcheck disable=SC2086
    ./asr.sh "${common[@]}" ${r} --asr_config "${configs[0]}" "${asr_opts[@]}"
fi

# Stage 11: train every config; side by side when asked.
if r=$(range 11 11); then
    pids=()
    for cfg in "${configs[@]}"; do
        tag=$(tag_of "${cfg}")
        # shellcheck disable=SC2086
        if "${train_parallel}" && [ "${#configs[@]}" -gt 1 ]; then
            start_group ./asr.sh "${common[@]}" ${r} --asr_config "${cfg}" --asr_tag "${tag}" "${asr_opts[@]}" \
                > >(prefix_lines "[${tag}] ") 2>&1
            pids+=("${last_group_pid}")
        else
            ./asr.sh "${common[@]}" ${r} --asr_config "${cfg}" --asr_tag "${tag}" "${asr_opts[@]}"
        fi
    done
    failed=0
    for pid in "${pids[@]}"; do wait_group "${pid}" || failed=1; done
    [ "${failed}" -eq 0 ] || { echo "$0: training failed (see ${expdir}/asr_*/train.log)" >&2; exit 1; }
fi

# Stages 12-13: decode and score every model with every decoding config.
if r=$(range 12 13); then
    for cfg in "${configs[@]}"; do
        for dec in "${decodes[@]}"; do
            # shellcheck disable=SC2086
            ./asr.sh "${common[@]}" ${r} --asr_config "${cfg}" --asr_tag "$(tag_of "${cfg}")" --inference_config "${dec}" "${asr_opts[@]}"
        done
    done
fi

# Stages 14-15: pack (and upload) each model.
if r=$(range 14 15); then
    for cfg in "${configs[@]}"; do
        # shellcheck disable=SC2086
        ./asr.sh "${common[@]}" ${r} --asr_config "${cfg}" --asr_tag "$(tag_of "${cfg}")" --inference_config "${decodes[0]}" "${asr_opts[@]}"
    done
fi

if [ "${stop_stage}" -ge 13 ]; then
    echo "WER (%) per model, decoding and set (test = the unseen speaker); full tables in RESULTS.md:"
    scripts/utils/show_asr_result.sh "${expdir}"
fi
echo "run.sh finished in ${SECONDS}s"
