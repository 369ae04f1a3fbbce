#!/usr/bin/env bash
# ASR recipe driver of espnet-mixrep: ESPnet's asr.sh stages and option names,
# working from a pip install (no ESPnet checkout, no Kaldi, no sox/sclite).
# Each stage is a few lines calling a Python step (python -m espnet_mixrep.bin.recipe
# <step>, see espnet_mixrep/recipes/) or ESPnet's own entry points.
#
#  1 data prep (local/data.sh)          8 LM perplexity on the first test set
#  2 speed perturbation                 9 (n-gram LM: not provided)
#  3 format audio into dump/raw         10 ASR collect stats
#  4 drop too short/long, empty text    11 ASR training (espnet2.bin.launch)
#  5 token list (bpe / char)            12 decoding (inference_nj jobs)
#  6 LM text and collect stats          13 scoring (jiwer), local/score.sh, RESULTS.md
#    (with --use_lm true)               14 pack (espnet2.bin.pack asr)
#  7 LM training (espnet2.bin.launch)   15 upload to the Hugging Face hub
set -e
set -u
set -o pipefail

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}
SECONDS=0

# General
stage=1                 # first stage to run
stop_stage=10000        # last stage to run
skip_data_prep=false    # skip stages 1-5
skip_train=false        # skip stages 6-8 and 10-11
skip_eval=false         # skip stages 12-13
skip_packing=false      # skip stage 14
skip_upload_hf=true     # skip stage 15
ngpu=1                  # GPUs per node for training (0: CPU)
num_nodes=1             # nodes for training (multi-node: Slurm via cmd.sh, or --dist_host)
dist_host=""            # ssh hosts for espnet2.bin.launch --host, e.g. "host1:0:1,host2:0:1"
dist_master_port=""     # TCP port for multi-node rendezvous (default: shared-file init)
nj=4                    # parallel jobs for formatting and collect-stats
inference_nj=4          # parallel decoding jobs
gpu_inference=false     # decode on GPU
dumpdir=dump
expdir=exp
python=python

# Data preparation
local_data_opts=""       # options for local/data.sh
speed_perturb_factors="" # e.g. "0.9 1.0 1.1"

# Features
feats_type=raw          # only raw (waveforms; the model's frontend computes features)
audio_format=wav
use_sph2pipe=true       # stage 3: run sph2pipe for sph2pipe wav.scp entries when it exists (false: our decoder)
fs=16k                  # sampling rate of dump/raw
min_wav_duration=0.1    # seconds
max_wav_duration=20     # seconds

# Tokens
token_type=bpe          # bpe or char
nbpe=30
bpemode=unigram
bpe_train_text=""       # default: dump/raw/<train_set>/text
nlsyms_txt=none         # non-linguistic symbols file (removed when scoring WER/CER, packed in stage 14)
cleaner=none            # text cleaner (tokens, training, and the references when scoring)
lang=noinfo             # language tag used in directory names and the model card

# Language model (stages 6-8), trained with ESPnet's LM task on the ASR token list
use_lm=false            # train an LM and use it in decoding (shallow fusion, weight from inference_config)
use_ngram=false         # n-gram LM (stage 9): not provided
lm_tag=""               # experiment name, default: from lm_config
lm_exp=""               # experiment dir, default: ${expdir}/lm_${lm_tag}
lm_stats_dir=""         # default: ${expdir}/lm_stats_<lang>_<token>
lm_config=""
lm_args=""              # extra options for LM training
lm_train_text=""        # texts (Kaldi "id words" lines) for the LM, default: dump/raw/<train_set>/text
lm_dev_text=""          # default: dump/raw/<valid_set>/text
lm_test_text=""         # perplexity (stage 8), default: dump/raw/<first test set>/text
lm_fold_length=150
inference_lm=valid.loss.ave.pth

# ASR
asr_tag=""              # experiment name, default: from asr_config
asr_exp=""              # experiment dir, default: ${expdir}/asr_${asr_tag}
asr_stats_dir=""        # default: ${expdir}/asr_stats_<feats>_<lang>_<token>
asr_config=""
asr_args=""             # extra options for training
pretrained_model=""     # --init_param for training
ignore_init_mismatch=false
retrain=false           # true: stages 7 and 11 start their experiment again from epoch 1 (old state -> superseded_<n>/)
feats_normalize=global_mvn
asr_speech_fold_length=800
asr_text_fold_length=150

# Decoding
batch_size=1
inference_tag=""        # default: from inference_config, inference_args, the LM and inference_asr_model
inference_config=""
inference_args=""       # extra decoding options, e.g. "--beam_size 5" (they name the decode dir)
inference_asr_model=valid.acc.ave.pth

# Scoring
local_score_opts=""     # options for local/score.sh, run after scoring when the recipe has one

# Packing and upload
packed_model=""         # default: ${asr_exp}/${asr_exp##*/}_<model>.zip
hf_repo=""              # hub repo id "user/name", or file:///folder for a local target

train_set=""
valid_set=""
test_sets=""

help_message=$(cat << EOF
Usage: $0 --train_set <name> --valid_set <name> --test_sets "<names>" --asr_config <yaml> [options]

Stages (--stage N --stop_stage M): 1 data prep, 2 speed perturbation, 3 format
audio, 4 filter, 5 token list, 6 LM text and collect stats, 7 LM training,
8 LM perplexity, 9 n-gram LM (not provided), 10 collect stats, 11 training,
12 decoding, 13 scoring, 14 pack, 15 Hugging Face upload.

Options (with their defaults):
  --stage ${stage} --stop_stage ${stop_stage}
  --skip_data_prep ${skip_data_prep} --skip_train ${skip_train} --skip_eval ${skip_eval}
  --skip_packing ${skip_packing} --skip_upload_hf ${skip_upload_hf}
  --ngpu ${ngpu}           GPUs per node for training (0 = CPU); >1 runs DDP
  --num_nodes ${num_nodes}      nodes; needs cuda_cmd=slurm.pl in cmd.sh or --dist_host
  --dist_host "${dist_host}"    ssh hosts for espnet2.bin.launch (host:gpu_ids,...)
  --dist_master_port "${dist_master_port}"
  --nj ${nj}               parallel jobs (formatting, collect stats)
  --inference_nj ${inference_nj}     parallel decoding jobs
  --gpu_inference ${gpu_inference}
  --dumpdir ${dumpdir} --expdir ${expdir} --python ${python}
  --local_data_opts "${local_data_opts}"
  --speed_perturb_factors "${speed_perturb_factors}"   e.g. "0.9 1.0 1.1"
  --fs ${fs} --min_wav_duration ${min_wav_duration} --max_wav_duration ${max_wav_duration}
  --use_sph2pipe ${use_sph2pipe}   stage 3: sph2pipe for its wav.scp entries if it exists (false: our decoder)
  --token_type ${token_type} (bpe|char|word) --nbpe ${nbpe} --bpemode ${bpemode}
  --bpe_train_text "${bpe_train_text}" --nlsyms_txt ${nlsyms_txt} --cleaner ${cleaner} --lang ${lang}
  --use_lm ${use_lm} --lm_config <yaml> --lm_args "<extra LM training options>" --lm_tag <name>
  --lm_train_text "<text files>" --lm_dev_text <text> --lm_test_text <text>
  --lm_fold_length ${lm_fold_length} --inference_lm ${inference_lm}
  --asr_config <yaml> --asr_args "<extra training options>" --asr_tag <name>
  --pretrained_model <file> --ignore_init_mismatch ${ignore_init_mismatch}
  --retrain ${retrain}     true: retrain an existing experiment from epoch 1 (e.g. after a config change)
  --feats_normalize ${feats_normalize}
  --inference_config <yaml> --inference_args "<extra decoding options>"
  --inference_asr_model ${inference_asr_model} --inference_tag <name> --batch_size ${batch_size}
  --local_score_opts "<options for local/score.sh>"
  --packed_model <zip> --hf_repo <user/name | file:///folder>
  --train_set <name> --valid_set <name> --test_sets "<names>"
EOF
)

log "$0 $*"
run_args=$(printf '%q ' "$0" "$@")
. ./utils/parse_options.sh

. ./path.sh
. ./cmd.sh
. ./utils/driver_helpers.sh

fail() { log "ERROR: $*"; exit 1; }

check_stage_range "${stage}" "${stop_stage}" 1 15 10000

[ $# -eq 0 ] || fail "unexpected positional arguments: $*"
[ -n "${train_set}" ] || fail "--train_set is required"
[ -n "${valid_set}" ] || fail "--valid_set is required"
[ -n "${test_sets}" ] || fail "--test_sets is required"
[ "${feats_type}" = raw ] || fail "--feats_type ${feats_type}: only raw is supported"
case "${token_type}" in bpe|char|word) ;; *) fail "--token_type must be bpe, char or word, got ${token_type}" ;; esac
"${use_ngram}" && fail "--use_ngram true: the n-gram LM stage 9 is not provided by this driver"

# "16k" -> 16000
case "${fs}" in
    *k) fs_hz=$(( ${fs%k} * 1000 )) ;;
    *) fs_hz=${fs} ;;
esac

data_feats=${dumpdir}/raw
orig_train_set=${train_set}
[ -n "${speed_perturb_factors}" ] && train_set="${train_set}_sp"

# As ESPnet: the language appears in names unless it is "noinfo".
lang_suffix=""
[ "${lang}" != noinfo ] && lang_suffix="_${lang}"
if [ "${lang}" != noinfo ]; then token_listdir=data/${lang}_token_list; else token_listdir=data/token_list; fi
if [ "${token_type}" = bpe ]; then
    token_dir=${token_listdir}/bpe_${bpemode}${nbpe}
    bpemodel=${token_dir}/bpe.model
else
    token_dir=${token_listdir}/${token_type}
    bpemodel=none
fi
token_list=${token_dir}/tokens.txt
[ -n "${bpe_train_text}" ] || bpe_train_text=${data_feats}/${train_set}/text
[ -n "${lm_train_text}" ] || lm_train_text=${data_feats}/${train_set}/text
[ -n "${lm_dev_text}" ] || lm_dev_text=${data_feats}/${valid_set}/text
[ -n "${lm_test_text}" ] || lm_test_text=${data_feats}/${test_sets%% *}/text

if [ -z "${asr_tag}" ]; then
    if [ -n "${asr_config}" ]; then asr_tag="$(basename "${asr_config}" .yaml)_${feats_type}"; else asr_tag="train_${feats_type}"; fi
    asr_tag+="${lang_suffix}_${token_type}"
    [ "${token_type}" = bpe ] && asr_tag+="${nbpe}"
    [ -n "${asr_args}" ] && asr_tag+="$(echo "${asr_args}" | sed -e "s/--/\_/g" -e "s/[ |=/]//g")"
    [ -n "${speed_perturb_factors}" ] && asr_tag+="_sp"
fi
if [ -z "${asr_stats_dir}" ]; then
    asr_stats_dir="${expdir}/asr_stats_${feats_type}${lang_suffix}_${token_type}"
    [ "${token_type}" = bpe ] && asr_stats_dir+="${nbpe}"
    [ -n "${speed_perturb_factors}" ] && asr_stats_dir+="_sp"
fi
[ -n "${asr_exp}" ] || asr_exp="${expdir}/asr_${asr_tag}"
if [ -z "${lm_tag}" ]; then
    if [ -n "${lm_config}" ]; then lm_tag="$(basename "${lm_config}" .yaml)"; else lm_tag=train; fi
    lm_tag+="${lang_suffix}_${token_type}"
    [ "${token_type}" = bpe ] && lm_tag+="${nbpe}"
    [ -n "${lm_args}" ] && lm_tag+="$(echo "${lm_args}" | sed -e "s/--/\_/g" -e "s/[ |=/]//g")"
fi
if [ -z "${lm_stats_dir}" ]; then
    lm_stats_dir="${expdir}/lm_stats${lang_suffix}_${token_type}"
    [ "${token_type}" = bpe ] && lm_stats_dir+="${nbpe}"
fi
[ -n "${lm_exp}" ] || lm_exp="${expdir}/lm_${lm_tag}"
if [ -z "${inference_tag}" ]; then
    if [ -n "${inference_config}" ]; then inference_tag="$(basename "${inference_config}" .yaml)"; else inference_tag=inference; fi
    [ -n "${inference_args}" ] && inference_tag+="$(echo "${inference_args}" | sed -e "s/--/\_/g" -e "s/[ |=]//g")"
    "${use_lm}" && inference_tag+="_lm_$(basename "${lm_exp}")_$(echo "${inference_lm}" | sed -e "s/\//_/g" -e "s/\.[^.]*$//g")"
    inference_tag+="_asr_model_$(echo "${inference_asr_model}" | sed -e "s/\//_/g" -e "s/\.[^.]*$//g")"
fi
[ -n "${packed_model}" ] || packed_model="${asr_exp}/${asr_exp##*/}_${inference_asr_model%.pth}.zip"
# A hub upload (stage 15) needs a token and the network: find out before any stage runs.
if [ ${stage} -le 15 ] && [ ${stop_stage} -ge 15 ] && ! "${skip_upload_hf}"; then
    [ -n "${hf_repo}" ] || fail "--hf_repo is required for stage 15 (or --skip_upload_hf true)"
    ${python} -m espnet_mixrep.bin.recipe check_hub_access --repo "${hf_repo}" || exit 1
fi

if "${skip_data_prep}"; then [ "${stage}" -lt 6 ] && stage=6; fi

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
    log "Stage 1: data preparation (local/data.sh ${local_data_opts})"
    # shellcheck disable=SC2086
    local/data.sh ${local_data_opts}
    for dset in "${orig_train_set}" "${valid_set}" ${test_sets}; do
        ${python} -m espnet_mixrep.bin.recipe validate_data_dir "data/${dset}"
    done
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ] && [ -n "${speed_perturb_factors}" ]; then
    log "Stage 2: speed perturbation (${speed_perturb_factors}): data/${orig_train_set} -> data/${train_set}"
    ${python} -m espnet_mixrep.bin.recipe speed_perturb "data/${orig_train_set}" "data/${train_set}" \
        --factors "${speed_perturb_factors}" --nj "${nj}"
fi

if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
    log "Stage 3: format audio into ${data_feats} (${fs_hz} Hz ${audio_format})"
    [ "${audio_format}" = wav ] || fail "--audio_format ${audio_format}: only wav is supported"
    for dset in "${train_set}" "${valid_set}" ${test_sets}; do
        if [ "${dset}" = "${train_set}" ] || [ "${dset}" = "${valid_set}" ]; then out=${data_feats}/org/${dset}; else out=${data_feats}/${dset}; fi
        # --nj jobs, one process each; SPHERE entries are decoded in those processes.
        ${python} -m espnet_mixrep.bin.recipe format "data/${dset}" "${out}" --fs "${fs_hz}" --nj "${nj}" \
            --use_sph2pipe "${use_sph2pipe}"
    done
fi

if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
    log "Stage 4: drop utterances shorter than ${min_wav_duration}s, longer than ${max_wav_duration}s, or with empty text"
    for dset in "${train_set}" "${valid_set}"; do
        ${python} -m espnet_mixrep.bin.recipe filter "${data_feats}/org/${dset}" "${data_feats}/${dset}" \
            --fs "${fs_hz}" --min_duration "${min_wav_duration}" --max_duration "${max_wav_duration}"
    done
fi

if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ]; then
    log "Stage 5: ${token_type} token list from ${bpe_train_text} -> ${token_list}"
    _opts=""
    [ "${nlsyms_txt}" != none ] && _opts+="--nlsyms ${nlsyms_txt} "
    [ "${cleaner}" != none ] && _opts+="--cleaner ${cleaner} "
    # shellcheck disable=SC2086
    ${python} -m espnet_mixrep.bin.recipe token_list --text "${bpe_train_text}" --token_type "${token_type}" \
        --out_dir "${token_listdir}" --nbpe "${nbpe}" --bpemode "${bpemode}" ${_opts} > /dev/null
fi

# Collect stats in parts (nj jobs) and aggregate them into ${stats_dir}/{train,valid},
# moved in place only when complete: training must never find half-written stats.
# $1 = stats dir, $2 = train scp/text (split for the jobs), $3 = valid scp/text, $4 = the
# task's train entry point (espnet_mixrep.bin.asr_train, espnet2.bin.lm_train), the rest
# = its options. Text shapes get the vocabulary size appended (for batch-bins).
collect_stats() {
    local stats_dir=$1 train_src=$2 valid_src=$3 entry_point=$4; shift 4
    local logdir=${stats_dir}/logdir tmp=${stats_dir}/.aggregate input_dirs="" ntok i dset
    rm -rf "${logdir}" "${tmp}"
    mkdir -p "${logdir}"
    # Same number of parts for train and valid: no more than either has lines.
    local n_train n_valid _nj=${nj}
    n_train=$(wc -l < "${train_src}")
    n_valid=$(wc -l < "${valid_src}")
    [ "${n_train}" -lt "${_nj}" ] && _nj=${n_train}
    [ "${n_valid}" -lt "${_nj}" ] && _nj=${n_valid}
    ${python} -m espnet_mixrep.bin.recipe split_scp "${train_src}" "${logdir}/train.JOB.scp" "${_nj}" > /dev/null
    ${python} -m espnet_mixrep.bin.recipe split_scp "${valid_src}" "${logdir}/valid.JOB.scp" "${_nj}" > /dev/null
    # shellcheck disable=SC2086
    ${train_cmd} JOB=1:"${_nj}" "${logdir}/stats.JOB.log" \
        ${python} -m "${entry_point}" --collect_stats true "$@" \
            --train_shape_file "${logdir}/train.JOB.scp" --valid_shape_file "${logdir}/valid.JOB.scp" \
            --output_dir "${logdir}/stats.JOB" \
        || fail "collect stats failed; see ${logdir}/stats.*.log"
    for i in $(seq "${_nj}"); do input_dirs+=" --input_dir ${logdir}/stats.${i}"; done
    # shellcheck disable=SC2086
    ${python} -m espnet2.bin.aggregate_stats_dirs ${input_dirs} --output_dir "${tmp}"
    ntok=$(wc -l < "${token_list}")
    for dset in train valid; do
        awk -v N="${ntok}" '{ print $0 "," N }' "${tmp}/${dset}/text_shape" > "${tmp}/${dset}/text_shape.${token_type}"
    done
    for dset in train valid; do
        rm -rf "${stats_dir:?}/${dset}"
        mv "${tmp}/${dset}" "${stats_dir}/${dset}"
    done
    rm -rf "${tmp}"
}

# Text processing shared by the LM and ASR tasks: both use the ASR token list.
token_opts="--use_preprocessor true --token_type ${token_type} --token_list ${token_list}"
token_opts+=" --bpemodel ${bpemodel} --non_linguistic_symbols ${nlsyms_txt} --cleaner ${cleaner} --g2p none"
# Options shared by the LM's collect-stats and training.
lm_common_opts=${token_opts}
[ -n "${lm_config}" ] && lm_common_opts+=" --config ${lm_config}"
lm_data=${lm_stats_dir}/data

if [ ${stage} -le 8 ] && [ ${stop_stage} -ge 6 ] && { ! "${use_lm}" || "${skip_train}"; }; then
    log "Stages 6-8: language model skipped (--use_lm ${use_lm}, --skip_train ${skip_train})"
fi

if [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ] && "${use_lm}" && ! "${skip_train}"; then
    [ -n "${lm_config}" ] || fail "--lm_config is required with --use_lm true"
    [ -f "${token_list}" ] || fail "${token_list}: token list not found (run stage 5)"
    log "Stage 6: LM text (${lm_train_text}) and collect stats -> ${lm_stats_dir}"
    # shellcheck disable=SC2086
    ${python} -m espnet_mixrep.bin.recipe lm_text ${lm_train_text} --out "${lm_data}/train.txt"
    ${python} -m espnet_mixrep.bin.recipe lm_text "${lm_dev_text}" --out "${lm_data}/dev.txt"
    # shellcheck disable=SC2086
    collect_stats "${lm_stats_dir}" "${lm_data}/train.txt" "${lm_data}/dev.txt" espnet2.bin.lm_train ${lm_common_opts} \
        --train_data_path_and_name_and_type "${lm_data}/train.txt,text,text" \
        --valid_data_path_and_name_and_type "${lm_data}/dev.txt,text,text" ${lm_args}
fi

if [ ${stage} -le 7 ] && [ ${stop_stage} -ge 7 ] && "${use_lm}" && ! "${skip_train}"; then
    [ -f "${lm_stats_dir}/train/text_shape.${token_type}" ] || fail "${lm_stats_dir}/train/text_shape.${token_type} not found (run stage 6)"
    log "Stage 7: LM training -> ${lm_exp} (ngpu=${ngpu}, num_nodes=${num_nodes}); log: ${lm_exp}/train.log"
    # shellcheck disable=SC2086
    launch_training "${lm_exp}" espnet_mixrep.bin.lm_train ${lm_common_opts} \
        --train_data_path_and_name_and_type "${lm_data}/train.txt,text,text" \
        --valid_data_path_and_name_and_type "${lm_data}/dev.txt,text,text" \
        --train_shape_file "${lm_stats_dir}/train/text_shape.${token_type}" \
        --valid_shape_file "${lm_stats_dir}/valid/text_shape.${token_type}" \
        --fold_length "${lm_fold_length}" ${lm_args} || exit 1
    [ -f "${lm_exp}/${inference_lm}" ] || fail "LM training ended without ${lm_exp}/${inference_lm}"
fi

if [ ${stage} -le 8 ] && [ ${stop_stage} -ge 8 ] && "${use_lm}" && ! "${skip_train}"; then
    [ -f "${lm_exp}/${inference_lm}" ] || fail "${lm_exp}/${inference_lm}: LM not found (run stage 7)"
    log "Stage 8: LM perplexity on ${lm_test_text} -> ${lm_exp}/perplexity_test"
    ${python} -m espnet_mixrep.bin.recipe lm_text "${lm_test_text}" --out "${lm_exp}/perplexity_test/test.txt"
    ${decode_cmd} "${lm_exp}/perplexity_test/lm_calc_perplexity.log" \
        ${python} -m espnet2.bin.lm_calc_perplexity --ngpu 0 \
            --data_path_and_name_and_type "${lm_exp}/perplexity_test/test.txt,text,text" \
            --train_config "${lm_exp}/config.yaml" --model_file "${lm_exp}/${inference_lm}" \
            --output_dir "${lm_exp}/perplexity_test" \
        || fail "perplexity failed; see ${lm_exp}/perplexity_test/lm_calc_perplexity.log"
    log "PPL: ${lm_test_text}: $(cat "${lm_exp}/perplexity_test/ppl")"
fi

# Options shared by collect-stats and training.
common_opts="${token_opts} --frontend_conf fs=${fs_hz}"
[ -n "${asr_config}" ] && common_opts+=" --config ${asr_config}"

if [ ${stage} -le 10 ] && [ ${stop_stage} -ge 10 ] && ! "${skip_train}"; then
    [ -n "${asr_config}" ] || fail "--asr_config is required for stage 10"
    [ -f "${token_list}" ] || fail "${token_list}: token list not found (run stage 5)"
    log "Stage 10: collect stats -> ${asr_stats_dir}"
    # shellcheck disable=SC2086
    collect_stats "${asr_stats_dir}" "${data_feats}/${train_set}/wav.scp" "${data_feats}/${valid_set}/wav.scp" \
        espnet_mixrep.bin.asr_train ${common_opts} \
        --train_data_path_and_name_and_type "${data_feats}/${train_set}/wav.scp,speech,sound" \
        --train_data_path_and_name_and_type "${data_feats}/${train_set}/text,text,text" \
        --valid_data_path_and_name_and_type "${data_feats}/${valid_set}/wav.scp,speech,sound" \
        --valid_data_path_and_name_and_type "${data_feats}/${valid_set}/text,text,text" ${asr_args}
fi

if [ ${stage} -le 11 ] && [ ${stop_stage} -ge 11 ] && ! "${skip_train}"; then
    [ -n "${asr_config}" ] || fail "--asr_config is required for stage 11"
    [ -f "${asr_stats_dir}/train/feats_stats.npz" ] || fail "${asr_stats_dir}/train/feats_stats.npz not found (run stage 10)"
    log "Stage 11: ASR training -> ${asr_exp} (ngpu=${ngpu}, num_nodes=${num_nodes}); log: ${asr_exp}/train.log"
    _opts=""
    [ "${feats_normalize}" = global_mvn ] && _opts+="--normalize global_mvn --normalize_conf stats_file=${asr_stats_dir}/train/feats_stats.npz "
    [ -n "${pretrained_model}" ] && _opts+="--init_param ${pretrained_model} "
    # shellcheck disable=SC2086
    launch_training "${asr_exp}" espnet_mixrep.bin.asr_train ${common_opts} ${_opts} \
        --train_data_path_and_name_and_type "${data_feats}/${train_set}/wav.scp,speech,sound" \
        --train_data_path_and_name_and_type "${data_feats}/${train_set}/text,text,text" \
        --train_shape_file "${asr_stats_dir}/train/speech_shape" \
        --train_shape_file "${asr_stats_dir}/train/text_shape.${token_type}" \
        --valid_data_path_and_name_and_type "${data_feats}/${valid_set}/wav.scp,speech,sound" \
        --valid_data_path_and_name_and_type "${data_feats}/${valid_set}/text,text,text" \
        --valid_shape_file "${asr_stats_dir}/valid/speech_shape" \
        --valid_shape_file "${asr_stats_dir}/valid/text_shape.${token_type}" \
        --ignore_init_mismatch "${ignore_init_mismatch}" \
        --fold_length "$(( asr_speech_fold_length * 100 ))" --fold_length "${asr_text_fold_length}" ${asr_args} || exit 1
    [ -f "${asr_exp}/${inference_asr_model}" ] || fail "training ended without ${asr_exp}/${inference_asr_model}"
fi

if [ ${stage} -le 12 ] && [ ${stop_stage} -ge 12 ] && ! "${skip_eval}"; then
    [ -f "${asr_exp}/${inference_asr_model}" ] || fail "${asr_exp}/${inference_asr_model}: model not found (run stage 11)"
    log "Stage 12: decoding with ${inference_asr_model} (${inference_config:-defaults}) -> ${asr_exp}/${inference_tag}"
    if "${gpu_inference}"; then _cmd=${cuda_cmd}; _ngpu=1; else _cmd=${decode_cmd}; _ngpu=0; fi
    _opts=""
    [ -n "${inference_config}" ] && _opts+="--config ${inference_config} "
    if "${use_lm}"; then
        [ -f "${lm_exp}/${inference_lm}" ] || fail "${lm_exp}/${inference_lm}: LM not found (run stages 6-7, or --use_lm false)"
        _opts+="--lm_train_config ${lm_exp}/config.yaml --lm_file ${lm_exp}/${inference_lm} "
    fi
    # As ESPnet: a script that reruns this decoding (and what follows) from stage 12.
    mkdir -p "${asr_exp}/${inference_tag}"
    printf '%s --stage 12 "$@"; exit $?\n' "${run_args}" > "${asr_exp}/${inference_tag}/run.sh"
    chmod +x "${asr_exp}/${inference_tag}/run.sh"
    for dset in ${test_sets}; do
        _data=${data_feats}/${dset}
        _dir=${asr_exp}/${inference_tag}/${dset}
        _logdir=${_dir}.logdir
        rm -rf "${_logdir}"
        mkdir -p "${_logdir}"
        _nj=$(${python} -m espnet_mixrep.bin.recipe split_scp "${_data}/wav.scp" "${_logdir}/keys.JOB.scp" "${inference_nj}")
        _total=$(wc -l < "${_data}/wav.scp")
        # shellcheck disable=SC2086
        run_with_progress "echo \"${dset}: \$(cat ${_logdir}/output.*/1best_recog/text 2>/dev/null | wc -l) / ${_total} decoded\"" \
            ${_cmd} --gpu "${_ngpu}" JOB=1:"${_nj}" "${_logdir}/asr_inference.JOB.log" \
                ${python} -m espnet_mixrep.bin.asr_inference --batch_size "${batch_size}" --ngpu "${_ngpu}" \
                    --data_path_and_name_and_type "${_data}/wav.scp,speech,sound" \
                    --key_file "${_logdir}/keys.JOB.scp" \
                    --asr_train_config "${asr_exp}/config.yaml" \
                    --asr_model_file "${asr_exp}/${inference_asr_model}" \
                    --output_dir "${_logdir}/output.JOB" ${_opts} ${inference_args} \
            || fail "decoding failed; see ${_logdir}/asr_inference.*.log"
        ${python} -m espnet_mixrep.bin.recipe merge_decode --logdir "${_logdir}" --num_jobs "${_nj}" --out_dir "${_dir}"
    done
fi

if [ ${stage} -le 13 ] && [ ${stop_stage} -ge 13 ] && ! "${skip_eval}"; then
    log "Stage 13: scoring"
    # As ESPnet: the cleaner on the references, non-linguistic symbols removed for WER and CER.
    _opts="--nlsyms ${nlsyms_txt} --cleaner ${cleaner}"
    [ "${token_type}" = bpe ] && _opts+=" --bpemodel ${bpemodel}"
    for dset in ${test_sets}; do
        _dir=${asr_exp}/${inference_tag}/${dset}
        [ -f "${_dir}/text" ] || fail "${_dir}/text not found (run stage 12)"
        # shellcheck disable=SC2086
        ${python} -m espnet_mixrep.bin.recipe score --decode_dir "${_dir}" --ref_text "${data_feats}/${dset}/text" \
            --utt2spk "${data_feats}/${dset}/utt2spk" ${_opts}
    done
    # shellcheck disable=SC2086
    if [ -f local/score.sh ]; then local/score.sh ${local_score_opts} "${asr_exp}"; fi
    # ${asr_exp}/RESULTS.md as ESPnet writes it, and ${expdir}/RESULTS.md summarising every
    # experiment (generated: never a file git tracks, such as a recipe's reference RESULTS.md).
    ${python} -m espnet_mixrep.bin.recipe results "${asr_exp}" --results_md "${expdir}/RESULTS.md" --exp_root "${expdir}" > /dev/null
    log "Results: ${asr_exp}/RESULTS.md and ${expdir}/RESULTS.md"
fi

if [ ${stage} -le 14 ] && [ ${stop_stage} -ge 14 ] && ! "${skip_packing}"; then
    [ -f "${asr_exp}/${inference_asr_model}" ] || fail "${asr_exp}/${inference_asr_model}: model not found (run stage 11)"
    log "Stage 14: pack -> ${packed_model}"
    _opts=""
    [ "${feats_normalize}" = global_mvn ] && _opts+="--option ${asr_stats_dir}/train/feats_stats.npz "
    [ "${token_type}" = bpe ] && _opts+="--option ${bpemodel} "
    [ "${nlsyms_txt}" != none ] && _opts+="--option ${nlsyms_txt} "
    [ -f "${asr_exp}/RESULTS.md" ] && _opts+="--option ${asr_exp}/RESULTS.md "
    [ -d "${asr_exp}/images" ] && _opts+="--option ${asr_exp}/images "
    if "${use_lm}"; then
        _opts+="--lm_train_config ${lm_exp}/config.yaml --lm_file ${lm_exp}/${inference_lm} "
        [ -f "${lm_exp}/perplexity_test/ppl" ] && _opts+="--option ${lm_exp}/perplexity_test/ppl "
        [ -d "${lm_exp}/images" ] && _opts+="--option ${lm_exp}/images "
    fi
    # shellcheck disable=SC2086
    ${python} -m espnet2.bin.pack asr --asr_train_config "${asr_exp}/config.yaml" \
        --asr_model_file "${asr_exp}/${inference_asr_model}" ${_opts} --outpath "${packed_model}.tmp.zip"
    mv "${packed_model}.tmp.zip" "${packed_model}"
fi

if [ ${stage} -le 15 ] && [ ${stop_stage} -ge 15 ] && ! "${skip_upload_hf}"; then
    log "Stage 15: upload ${packed_model} -> ${hf_repo}"
    # egs2/<corpus>/asr1: the model card names <corpus>/asr1 as the recipe, <corpus> as the dataset.
    ${python} -m espnet_mixrep.bin.recipe upload_hf --packed "${packed_model}" --repo "${hf_repo}" \
        --recipe "$(basename "$(dirname "$PWD")")/$(basename "$PWD")" --lang "${lang}" --task asr
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
