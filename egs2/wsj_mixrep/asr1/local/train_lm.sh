#!/usr/bin/env bash
# Stages 6-8 of the WSJ recipe (the recipe driver has no LM stages): the
# character Transformer LM on the si284 transcripts + the WSJ1 LM text, with
# ESPnet's own LM task (espnet2.bin.lm_train): 6 LM text, 7 collect stats,
# 8 training (then averaging of the best checkpoints by valid loss).
# Decoding uses it through asr_inference --lm_train_config / --lm_file.
set -euo pipefail

log() { echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (train_lm.sh) $*"; }
fail() { log "ERROR: $*"; exit 1; }

stage=6
stop_stage=8
ngpu=1
num_nodes=1
lm_config=conf/tuning/train_lm_transformer.yaml
lm_exp=exp/lm_train_lm_transformer_en_char
lm_stats_dir=exp/lm_stats_en_char
lm_args=""
token_list=data/en_token_list/char/tokens.txt
nlsyms_txt=data/nlsyms.txt
lm_train_text="data/train_si284/text data/local/other_text/text"
lm_dev_text=dump/raw/test_dev93/text
lm_fold_length=150
python=python

help_message="Usage: $0 [--stage 6] [--stop_stage 8] [--ngpu N] [--lm_config yaml] [--lm_exp dir] [--lm_args '...']"
. utils/parse_options.sh
. ./path.sh
. ./cmd.sh

lm_data=${lm_stats_dir}/data
common_opts="--use_preprocessor true --token_type char --token_list ${token_list}"
common_opts+=" --non_linguistic_symbols ${nlsyms_txt} --cleaner none --g2p none --config ${lm_config}"

if [ "${stage}" -le 6 ] && [ "${stop_stage}" -ge 6 ]; then
    log "Stage 6: LM text: ${lm_train_text} -> ${lm_data}/train.txt"
    for f in ${lm_train_text} "${lm_dev_text}" "${token_list}"; do
        [ -f "${f}" ] || fail "${f} not found (run stages 1-5 first)"
    done
    mkdir -p "${lm_data}"
    # shellcheck disable=SC2086
    cat ${lm_train_text} | awk 'NF > 1' > "${lm_data}/train.txt.tmp"
    mv "${lm_data}/train.txt.tmp" "${lm_data}/train.txt"
    cp "${lm_dev_text}" "${lm_data}/dev.txt"
fi

if [ "${stage}" -le 7 ] && [ "${stop_stage}" -ge 7 ]; then
    log "Stage 7: LM collect stats -> ${lm_stats_dir}"
    rm -rf "${lm_stats_dir}/train" "${lm_stats_dir}/valid" "${lm_stats_dir}/logdir"
    mkdir -p "${lm_stats_dir}/logdir"
    # shellcheck disable=SC2086
    ${train_cmd} "${lm_stats_dir}/logdir/stats.log" \
        ${python} -m espnet2.bin.lm_train --collect_stats true ${common_opts} \
            --train_data_path_and_name_and_type "${lm_data}/train.txt,text,text" \
            --valid_data_path_and_name_and_type "${lm_data}/dev.txt,text,text" \
            --train_shape_file "${lm_data}/train.txt" --valid_shape_file "${lm_data}/dev.txt" \
            --output_dir "${lm_stats_dir}" ${lm_args} \
        || fail "LM collect stats failed; see ${lm_stats_dir}/logdir/stats.log"
    _ntok=$(wc -l < "${token_list}")
    for dset in train valid; do
        awk -v N="${_ntok}" '{ print $0 "," N }' "${lm_stats_dir}/${dset}/text_shape" > "${lm_stats_dir}/${dset}/text_shape.char"
    done
fi

if [ "${stage}" -le 8 ] && [ "${stop_stage}" -ge 8 ]; then
    [ -f "${lm_stats_dir}/train/text_shape.char" ] || fail "${lm_stats_dir}/train/text_shape.char not found (run stage 7)"
    log "Stage 8: LM training -> ${lm_exp} (ngpu=${ngpu}); log: ${lm_exp}/train.log"
    mkdir -p "${lm_exp}"
    # shellcheck disable=SC2086
    ${python} -m espnet2.bin.launch --cmd "${cuda_cmd} --name ${lm_exp##*/}" --log "${lm_exp}/train.log" \
        --ngpu "${ngpu}" --num_nodes "${num_nodes}" --init_file_prefix "${lm_exp}/.dist_init_" \
        --multiprocessing_distributed true -- \
        ${python} -m espnet2.bin.lm_train ${common_opts} \
            --train_data_path_and_name_and_type "${lm_data}/train.txt,text,text" \
            --valid_data_path_and_name_and_type "${lm_data}/dev.txt,text,text" \
            --train_shape_file "${lm_stats_dir}/train/text_shape.char" \
            --valid_shape_file "${lm_stats_dir}/valid/text_shape.char" \
            --fold_length "${lm_fold_length}" --resume true --output_dir "${lm_exp}" ${lm_args} \
        || fail "LM training failed; see ${lm_exp}/train.log"
    [ -f "${lm_exp}/valid.loss.ave.pth" ] || fail "LM training ended without ${lm_exp}/valid.loss.ave.pth"
fi
