#!/usr/bin/env bash
# Audio classification driver for espnet-mixrep (ESPnet 202511's cls1 stage layout).
#  1 data prep (local/data.sh)          5 shape files / collect stats (--espnet_stats true)
#  2 format + clip checks (dump/raw)    6 training (espnet2.bin.launch)
#  3 (reserved: ESPnet's filtering; clips are checked in stage 2)
#  4 class token list + label checks    7 inference (multi-crop)   8 scoring, RESULTS.md
#  9 pack (espnet2.bin.pack cls)        10 upload to the Hugging Face hub (9-10: --skip_upload false)
set -euo pipefail

log() { echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (cls.sh) $*"; }

stage=1; stop_stage=100
ngpu=0; num_nodes=1
nj=1                     # parallel jobs: stage 2 (reading clips) and stage 5 (collect stats)
python=python3
local_data_opts=""
fs=16000
min_clip_samples=0       # clips shorter than this (the training crop) are an error...
pad_short_clips=false    # ...unless padded with zeros to that length
remove_dc_offset=false   # subtract each clip's mean in stage 2 (before any zero padding)
train_set=""; valid_set=""; test_sets=""
dumpdir=dump; expdir=exp
token_list=""
cls_config=""; cls_args=""; cls_tag=""
inference_model=valid.acc.best.pth
inference_args=""
espnet_stats=false      # true: stage 5 runs ESPnet's collect-stats (needed for global_mvn)
retrain=false           # true: stage 6 starts an existing experiment again from epoch 1 (old state -> superseded_<n>/)
eval_valid=true         # stages 7-8 also decode and score the validation set
skip_upload=true        # skip stages 9-10 (as ESPnet's cls.sh)
hf_repo=""              # hub repo id "user/name", or file:///folder for a local target
lang=en                 # language of the model card (ESPnet's cls.sh writes en)

help_message="Usage: $0 --train_set <set> --valid_set <set> --test_sets '<sets>' --cls_config <yaml> [options]
Options (--name value):
  --stage/--stop_stage   first/last stage (${stage}/${stop_stage})
  --ngpu                 GPUs per node for training, and inference on GPU when > 0 (${ngpu})
  --num_nodes            nodes for training, through espnet2.bin.launch (${num_nodes})
  --nj                   parallel jobs of stages 2 and 5 (${nj})
  --fs                   sample rate of all clips (${fs})
  --min_clip_samples     shortest allowed clip = training crop (${min_clip_samples})
  --pad_short_clips      zero-pad shorter clips instead of failing (${pad_short_clips})
  --remove_dc_offset     subtract each clip's mean in stage 2 (${remove_dc_offset})
  --local_data_opts      options for local/data.sh
  --token_list           class list (default data/token_list/classes.txt)
  --cls_config/--cls_args/--cls_tag   training config, extra options, exp name
  --inference_model      checkpoint to decode with (${inference_model}; latest.pth = last epoch)
  --inference_args       extra options for cls_inference
  --espnet_stats         stage 5 via ESPnet's collect-stats instead of shape files from clip lengths (${espnet_stats})
  --eval_valid           decode and score the validation set too (${eval_valid})
  --retrain              retrain an existing experiment from epoch 1, e.g. after a config change (${retrain})
  --skip_upload          skip stages 9 (pack) and 10 (upload) (${skip_upload})
  --hf_repo              hub repo id user/name, or file:///folder (stage 10)
  --lang                 language of the model card (${lang})
  --python               (${python})
  --dumpdir/--expdir     (${dumpdir}/${expdir})"

run_args=$(printf '%q ' "$0" "$@")  # the command line, kept as <exp>/run.sh by stage 6
. ./utils/parse_options.sh
if [ $# -gt 0 ]; then echo "ERROR: unexpected argument $1" >&2; echo "${help_message}" >&2; exit 1; fi

. ./path.sh
. ./cmd.sh
. ./utils/driver_helpers.sh  # stage checks; Ctrl-C stops training and inference

check_stage_range "${stage}" "${stop_stage}" 1 8 100

for var in train_set valid_set cls_config; do
    if [ -z "${!var}" ]; then echo "ERROR: --${var} is required" >&2; echo "${help_message}" >&2; exit 1; fi
done
[ -f "${cls_config}" ] || { echo "ERROR: ${cls_config}: config not found" >&2; exit 1; }
[ -z "${token_list}" ] && token_list=data/token_list/classes.txt
[ -z "${cls_tag}" ] && cls_tag="$(basename "${cls_config}" .yaml)"
cls_exp="${expdir}/cls_${cls_tag}"
cls_stats_dir="${expdir}/cls_stats_${train_set}"
data_feats="${dumpdir}/raw"
stages_py="${python} -m espnet_mixrep.bin.cls_stages"
packed_model="${cls_exp}/${cls_exp##*/}_${inference_model%.*}.zip"
# A hub upload (stage 10) needs a token and the network: find out before any stage runs.
if [ ${stage} -le 10 ] && [ ${stop_stage} -ge 10 ] && ! "${skip_upload}"; then
    [ -n "${hf_repo}" ] || { echo "ERROR: --hf_repo is required for stage 10 (or --skip_upload true)" >&2; exit 1; }
    ${python} -m espnet_mixrep.bin.recipe check_hub_access --repo "${hf_repo}"
fi

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
    log "Stage 1: data preparation (local/data.sh ${local_data_opts})"
    # shellcheck disable=SC2086
    local/data.sh ${local_data_opts}
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
    log "Stage 2: format clips into ${data_feats} (fs=${fs}, min_clip_samples=${min_clip_samples})"
    for dset in ${train_set} ${valid_set} ${test_sets}; do
        ${stages_py} format --src "data/${dset}" --dst "${data_feats}/${dset}" --fs "${fs}" \
            --min_samples "${min_clip_samples}" --pad_short "${pad_short_clips}" \
            --remove_dc "${remove_dc_offset}" --nj "${nj}"
    done
fi

if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
    log "Stage 4: class token list ${token_list}"
    ${stages_py} token_list --train_text "${data_feats}/${train_set}/text" --output "${token_list}"
    _texts=""
    for dset in ${valid_set} ${test_sets}; do _texts+="--text ${data_feats}/${dset}/text "; done
    # shellcheck disable=SC2086
    ${stages_py} check_labels --token_list "${token_list}" ${_texts}
fi

_data_opts() {  # train/valid data options shared by stages 5 and 6
    echo "--train_data_path_and_name_and_type ${data_feats}/${train_set}/wav.scp,speech,sound" \
         "--train_data_path_and_name_and_type ${data_feats}/${train_set}/text,label,text" \
         "--valid_data_path_and_name_and_type ${data_feats}/${valid_set}/wav.scp,speech,sound" \
         "--valid_data_path_and_name_and_type ${data_feats}/${valid_set}/text,label,text" \
         "--token_list ${token_list} --token_type word"
}

if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ] && ! "${espnet_stats}"; then
    # Raw waveforms without feature normalisation: collect-stats would only
    # produce the shape files, and stage 2 already counted the samples.
    log "Stage 5: shape files from clip lengths -> ${cls_stats_dir}"
    ${stages_py} shapes --train_dir "${data_feats}/${train_set}" --valid_dir "${data_feats}/${valid_set}" \
        --output_dir "${cls_stats_dir}"
elif [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ]; then
    log "Stage 5: collect stats (${nj} jobs) -> ${cls_stats_dir}"
    _logdir="${cls_stats_dir}/logdir"
    rm -rf "${_logdir}"
    mkdir -p "${_logdir}"
    # As many parts for train as for valid: no more than either has clips.
    _nj=$(( nj < $(wc -l < "${data_feats}/${train_set}/wav.scp") ? nj : $(wc -l < "${data_feats}/${train_set}/wav.scp") ))
    _nj=$(( _nj < $(wc -l < "${data_feats}/${valid_set}/wav.scp") ? _nj : $(wc -l < "${data_feats}/${valid_set}/wav.scp") ))
    for dset in train valid; do
        _set=${train_set}; [ "${dset}" = valid ] && _set=${valid_set}
        ${python} -m espnet_mixrep.bin.recipe split_scp "${data_feats}/${_set}/wav.scp" "${_logdir}/${dset}.JOB.scp" "${_nj}" > /dev/null
    done
    # shellcheck disable=SC2046,SC2086
    ${train_cmd} JOB=1:"${_nj}" "${_logdir}/stats.JOB.log" ${python} -m espnet_mixrep.bin.cls_train --collect_stats true \
        --config "${cls_config}" $(_data_opts) \
        --train_shape_file "${_logdir}/train.JOB.scp" --valid_shape_file "${_logdir}/valid.JOB.scp" \
        --output_dir "${_logdir}/stats.JOB" ${cls_args}
    # shellcheck disable=SC2046
    ${python} -m espnet2.bin.aggregate_stats_dirs $(for i in $(seq "${_nj}"); do echo "--input_dir ${_logdir}/stats.${i}"; done) \
        --output_dir "${cls_stats_dir}"
fi

if [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ]; then
    log "Stage 6: training -> ${cls_exp} (ngpu=${ngpu}, num_nodes=${num_nodes}; log: ${cls_exp}/train.log)"
    # shellcheck disable=SC2046,SC2086
    launch_training "${cls_exp}" espnet_mixrep.bin.cls_train \
        --config "${cls_config}" $(_data_opts) \
        --train_shape_file "${cls_stats_dir}/train/speech_shape" --valid_shape_file "${cls_stats_dir}/valid/speech_shape" \
        ${cls_args} || exit 1
fi

eval_sets="${test_sets}"
"${eval_valid}" && eval_sets="${valid_set} ${test_sets}"

if [ ${stage} -le 7 ] && [ ${stop_stage} -ge 7 ]; then
    log "Stage 7: inference with ${cls_exp}/${inference_model}"
    _ngpu=$([ "${ngpu}" -gt 0 ] && echo 1 || echo 0)
    for dset in ${eval_sets}; do
        _dir="${cls_exp}/cls_${dset}"
        rm -rf "${_dir}/output.tmp"
        # shellcheck disable=SC2086
        run_in_group ${decode_cmd} "${_dir}/logdir/cls_inference.log" ${python} -m espnet_mixrep.bin.cls_inference \
            --ngpu "${_ngpu}" --data_path_and_name_and_type "${data_feats}/${dset}/wav.scp,speech,sound" \
            --classification_train_config "${cls_exp}/config.yaml" \
            --classification_model_file "${cls_exp}/${inference_model}" \
            --output_dir "${_dir}/output.tmp" ${inference_args}
        for f in score text token; do
            LC_ALL=C sort -k1,1 "${_dir}/output.tmp/prediction/${f}" > "${_dir}/.${f}.tmp"
            mv "${_dir}/.${f}.tmp" "${_dir}/${f}"
        done
        rm -rf "${_dir}/output.tmp"
    done
fi

if [ ${stage} -le 8 ] && [ ${stop_stage} -ge 8 ]; then
    log "Stage 8: scoring"
    for dset in ${eval_sets}; do
        ${stages_py} score --ref "${data_feats}/${dset}/text" --hyp "${cls_exp}/cls_${dset}/text" \
            --out "${cls_exp}/cls_${dset}/scoring"
    done
    ${stages_py} results --exp "${cls_exp}"
fi

if [ ${stage} -le 9 ] && [ ${stop_stage} -ge 9 ] && ! "${skip_upload}"; then
    [ -f "${cls_exp}/${inference_model}" ] || { echo "ERROR: ${cls_exp}/${inference_model}: model not found (run stage 6)" >&2; exit 1; }
    log "Stage 9: pack -> ${packed_model}"
    _opts=""
    [ -f "${cls_stats_dir}/train/feats_stats.npz" ] && _opts+="--option ${cls_stats_dir}/train/feats_stats.npz "
    [ -f "${cls_exp}/RESULTS.md" ] && _opts+="--option ${cls_exp}/RESULTS.md "
    [ -d "${cls_exp}/images" ] && _opts+="--option ${cls_exp}/images "
    # shellcheck disable=SC2086
    ${python} -m espnet2.bin.pack cls --classification_train_config "${cls_exp}/config.yaml" \
        --classification_model_file "${cls_exp}/${inference_model}" ${_opts} --option "${token_list}" \
        --outpath "${packed_model}.tmp.zip"
    mv "${packed_model}.tmp.zip" "${packed_model}"
fi

if [ ${stage} -le 10 ] && [ ${stop_stage} -ge 10 ] && ! "${skip_upload}"; then
    log "Stage 10: upload ${packed_model} -> ${hf_repo}"
    ${python} -m espnet_mixrep.bin.recipe upload_hf --packed "${packed_model}" --repo "${hf_repo}" \
        --recipe "$(basename "$(dirname "$PWD")")/$(basename "$PWD")" --lang "${lang}" --task cls
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
