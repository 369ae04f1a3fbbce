#!/usr/bin/env bash
# Learn2Diss on FSDD (isolated digits, 4 speakers, 8 kHz): k-means labels,
# stage-1 training (each encoder alone), joint training with and without the
# CLUB MI term, the adversarial speaker control (gradient reversal), linear
# probes for digit (content) and speaker, and an ASR model that uses a trained
# checkpoint as its `learn2diss` frontend.
#
#   ./run.sh [--stage N] [--stop_stage N] [--fsdd_dir DIR] [--mi_weights "0.001 0.1"] ...
#   ./run.sh --stage 4               # resume the trainings after an interruption
#
# Stages: 1 data, 2 k-means labels and speaker ids, 3 collect stats (shape
# files), 4 stage-1 training, 5 joint training (one run per mi_weight, 0 = no
# MI term, and one per adversary_weight: the speaker adversary, no MI term),
# 6 embeddings (l2d_extract), 7 probe table, 8-10 ASR with the learn2diss
# frontend (stock espnet2.bin.asr_train collect stats, our guarded
# espnet_mixrep.bin.asr_train, stock asr_inference; decode + WER).
# Trainings (4, 5, 9) resume from their checkpoints; --retrain true starts them
# again from epoch 1 (e.g. after a config change; the old state moves to superseded_<n>/).
set -euo pipefail

stage=1
stop_stage=10
fsdd_dir=
n_clusters=50
stage1_config=conf/train_stage1.yaml
joint_config=conf/train_joint.yaml
stage1_epochs=6
joint_epochs=6
mi_weights="0 0.1 1"         # 0 is the matched run without the MI term
adversary_weights="1"        # gradient-reversal speaker adversary runs (the non-CLUB control); "" for none
seed=0
expdir=exp
asr_config=conf/train_asr_learn2diss.yaml
asr_l2d_run=mi0.1            # which Learn2Diss run feeds the ASR frontend
inference_config=conf/decode_asr.yaml
retrain=false
ngpu=0                       # GPUs for the trainings (stages 4, 5, 9)
num_nodes=1
python=python3

help_message="$(sed -n '2,18p' "$0" | sed -e 's/^# \{0,1\}//')
Options (with their defaults):"
for name in stage stop_stage fsdd_dir n_clusters stage1_config joint_config stage1_epochs joint_epochs mi_weights \
    adversary_weights seed expdir asr_config asr_l2d_run inference_config retrain ngpu num_nodes python; do
    help_message+=$'\n'"  --${name} \"${!name}\""
done
unset name
. ./utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: unexpected argument '$1'" >&2; exit 1; }

. ./path.sh
. ./cmd.sh
. ./utils/driver_helpers.sh  # stage checks; Ctrl-C stops the running step
check_stage_range "${stage}" "${stop_stage}" 1 10

log() { echo "$(date -u '+%Y-%m-%dT%H:%M:%S') (${BASH_SOURCE[0]##*/}:${BASH_LINENO[0]}) $*"; }

data_opts() {  # $1 = train|valid prefix, $2 = set name
    echo "--$1_data_path_and_name_and_type data/$2/wav.scp,speech,sound"
    echo "--$1_data_path_and_name_and_type dump/$2/kmeans,kmeans,text_int"
    echo "--$1_data_path_and_name_and_type dump/$2/speaker,speaker,text_int"
}
run_job() {  # $1 = log file; the rest is the command, run through cmd.sh's ${train_cmd} (the full log goes to the file)
    local logfile=$1; shift
    log "  log: ${logfile}"
    if ! run_in_group ${train_cmd} "${logfile}" "$@"; then
        tail -n 30 "${logfile}" >&2
        log "failed: $*"
        exit 1
    fi
}

l2d_data="$(data_opts train train) $(data_opts valid valid)"
l2d_shapes="--train_shape_file ${expdir}/l2d_stats/train/speech_shape --valid_shape_file ${expdir}/l2d_stats/valid/speech_shape --fold_length 8000"

runs="stage1"
for w in ${mi_weights}; do runs="${runs} mi${w}"; done
for w in ${adversary_weights}; do runs="${runs} adv${w}"; done

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
    log "Stage 1: data preparation"
    local/data.sh ${fsdd_dir:+--fsdd_dir "${fsdd_dir}"}
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
    log "Stage 2: k-means (${n_clusters} clusters) on the extractor's frames -> dump/*/kmeans; speaker ids -> dump/*/speaker"
    ${python} -m espnet_mixrep.bin.l2d_kmeans --config "${stage1_config}" --n_clusters "${n_clusters}" \
        --fit_scp data/train/wav.scp --model_out "${expdir}/kmeans/kmeans.pkl" \
        --apply data/train/wav.scp=dump/train/kmeans --apply data/valid/wav.scp=dump/valid/kmeans
    ${python} -m espnet_mixrep.bin.l2d_speaker_ids --index_utt2spk data/train/utt2spk \
        --apply data/train/utt2spk=dump/train/speaker --apply data/valid/utt2spk=dump/valid/speaker
fi

if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
    log "Stage 3: collect stats (shape files)"
    run_job ${expdir}/l2d_stats/stats.log ${python} -m espnet_mixrep.bin.l2d_train --config "${stage1_config}" --collect_stats true \
        --output_dir ${expdir}/l2d_stats ${l2d_data} --batch_type unsorted \
        --train_shape_file data/train/wav.scp --valid_shape_file data/valid/wav.scp
fi

if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
    log "Stage 4: stage-1 training (encoders alone, ${stage1_epochs} epochs) -> ${expdir}/l2d_stage1"
    launch_training "${expdir}/l2d_stage1" espnet_mixrep.bin.l2d_train --config "${stage1_config}" \
        --max_epoch "${stage1_epochs}" --seed "${seed}" ${l2d_data} ${l2d_shapes} || exit 1
fi

if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ]; then
    joint_run() {  # $1 = run name; the rest = --model_conf overrides
        local name=$1; shift
        log "Stage 5: joint training from stage 1, $* (${joint_epochs} epochs) -> ${expdir}/l2d_${name}"
        launch_training "${expdir}/l2d_${name}" espnet_mixrep.bin.l2d_train --config "${joint_config}" --seed "${seed}" \
            --max_epoch "${joint_epochs}" "$@" --init_param ${expdir}/l2d_stage1/valid.loss.best.pth \
            ${l2d_data} ${l2d_shapes} || exit 1
    }
    for w in ${mi_weights}; do joint_run "mi${w}" --model_conf mi_weight="${w}"; done
    num_speakers=$(cut -d' ' -f2 data/train/utt2spk | sort -u | wc -l)
    for w in ${adversary_weights}; do
        joint_run "adv${w}" --model_conf mi_weight=0 --model_conf adversary_weight="${w}" --model_conf num_speakers="${num_speakers}"
    done
fi

if [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ]; then
    for run in ${runs}; do
        for set in train test; do
            log "Stage 6: embeddings of ${set} from ${expdir}/l2d_${run}"
            ${python} -m espnet_mixrep.bin.l2d_extract --config "${expdir}/l2d_${run}/config.yaml" \
                --model "${expdir}/l2d_${run}/valid.loss.best.pth" --wav_scp "data/${set}/wav.scp" \
                --out "${expdir}/l2d_${run}/emb/${set}.npz"
        done
    done
fi

if [ ${stage} -le 7 ] && [ ${stop_stage} -ge 7 ]; then
    log "Stage 7: linear probes (train -> test)"
    run_opts=""
    for run in ${runs}; do run_opts="${run_opts} --run ${run}=${expdir}/l2d_${run}/emb"; done
    ${python} -m espnet_mixrep.bin.l2d_probe --train_data data/train --test_data data/test ${run_opts} --out_dir ${expdir}/probe
fi

asr_exp=${expdir}/asr_learn2diss
if [ ${stage} -le 8 ] && [ ${stop_stage} -ge 8 ]; then
    log "Stage 8: ASR token list (char) and collect stats with frontend learn2diss (${expdir}/l2d_${asr_l2d_run})"
    ${python} -m espnet2.bin.tokenize_text --token_type char --input data/train/text --field 2- \
        --output dump/token_list/char/tokens.txt --write_vocabulary true \
        --add_symbol '<blank>:0' --add_symbol '<unk>:1' --add_symbol '<sos/eos>:-1'
    run_job ${expdir}/asr_stats/stats.log ${python} -m espnet2.bin.asr_train --config "${asr_config}" --collect_stats true \
        --frontend_conf l2d_config="${expdir}/l2d_${asr_l2d_run}/config.yaml" \
        --frontend_conf l2d_model="${expdir}/l2d_${asr_l2d_run}/valid.loss.best.pth" \
        --token_type char --token_list dump/token_list/char/tokens.txt --output_dir ${expdir}/asr_stats \
        --train_data_path_and_name_and_type data/train/wav.scp,speech,sound \
        --train_data_path_and_name_and_type data/train/text,text,text \
        --valid_data_path_and_name_and_type data/valid/wav.scp,speech,sound \
        --valid_data_path_and_name_and_type data/valid/text,text,text \
        --train_shape_file data/train/wav.scp --valid_shape_file data/valid/wav.scp --batch_type unsorted
fi

if [ ${stage} -le 9 ] && [ ${stop_stage} -ge 9 ]; then
    log "Stage 9: ASR training -> ${asr_exp}"
    launch_training "${asr_exp}" espnet_mixrep.bin.asr_train --config "${asr_config}" --seed "${seed}" \
        --frontend_conf l2d_config="${expdir}/l2d_${asr_l2d_run}/config.yaml" \
        --frontend_conf l2d_model="${expdir}/l2d_${asr_l2d_run}/valid.loss.best.pth" \
        --token_type char --token_list dump/token_list/char/tokens.txt \
        --normalize global_mvn --normalize_conf stats_file=${expdir}/asr_stats/train/feats_stats.npz \
        --train_data_path_and_name_and_type data/train/wav.scp,speech,sound \
        --train_data_path_and_name_and_type data/train/text,text,text \
        --valid_data_path_and_name_and_type data/valid/wav.scp,speech,sound \
        --valid_data_path_and_name_and_type data/valid/text,text,text \
        --train_shape_file ${expdir}/asr_stats/train/speech_shape --train_shape_file ${expdir}/asr_stats/train/text_shape \
        --valid_shape_file ${expdir}/asr_stats/valid/speech_shape --valid_shape_file ${expdir}/asr_stats/valid/text_shape \
        --fold_length 8000 --fold_length 150
fi

if [ ${stage} -le 10 ] && [ ${stop_stage} -ge 10 ]; then
    log "Stage 10: decoding data/test (stock espnet2.bin.asr_inference), WER and CER -> ${asr_exp}/decode_test/1best_recog/score_{wer,cer}"
    decode_dir="${asr_exp}/decode_test"
    run_job "${decode_dir}/decode.log" ${python} -m espnet2.bin.asr_inference --config "${inference_config}" --ngpu 0 \
        --asr_train_config "${asr_exp}/config.yaml" --asr_model_file "${asr_exp}/valid.acc.best.pth" \
        --data_path_and_name_and_type data/test/wav.scp,speech,sound --output_dir "${decode_dir}"
    # Scored as asr.sh's stage 13: sclite-style score_{wer,cer}/result.txt beside the hypotheses.
    ${python} -m espnet_mixrep.bin.recipe score --decode_dir "${decode_dir}/1best_recog" \
        --ref_text data/test/text --utt2spk data/test/utt2spk
fi
log "Finished"
