#!/usr/bin/env bash
# Layer-wise analysis of the recipe's ASR models (run from egs2/fsdd_mixrep/asr1
# after training): how much word (the spoken digit) and speaker information
# each encoder layer holds, by PWCCA and k-means mutual information, for every
# model given, in one table and one figure.
#
# Probe set: FSDD's isolated-digit recordings of every speaker (the data
# directory's text is the digit word, utt2spk the speaker). Note that the
# seen speakers' (george, jackson, lucas) takes 10-49 are also the pieces of
# the connected-digit training utterances; nicolas is never trained on.
#
# Example (baseline vs MixRep):
#   local/layer_analysis.sh --asr_exps "exp/asr_train_asr_baseline exp/asr_train_asr_mixrep"
set -euo pipefail

asr_exps=""                 # experiment dirs (each with config.yaml and ${model_file}); default: every exp/asr_*/ that has both
model_file=valid.acc.ave.pth  # checkpoint name inside each experiment dir (falls back to valid.acc.best.pth)
fsdd_dir=""                 # default: $FSDD_DIR, else ../shared/data/fsdd beside the repository
speakers=""                 # default: all speakers
probe_dir=data/layer_probe
outdir=exp/layer_analysis
layers=""                   # e.g. "0,1,2" (default: all)
extra_args=""               # passed to python -m espnet_mixrep.bin.layer_analysis

help_message="Usage: $0 [--asr_exps \"exp/a exp/b\"] [--model_file valid.acc.ave.pth] [--fsdd_dir DIR] [--speakers \"a b\"] [--probe_dir DIR] [--outdir DIR] [--layers 0,1,2] [--extra_args \"...\"]"
. utils/parse_options.sh
. ./db.sh
. ./path.sh

if [ -z "${asr_exps}" ]; then
    for dir in exp/asr_*/; do
        dir=${dir%/}
        if [ -f "${dir}/config.yaml" ] && { [ -f "${dir}/${model_file}" ] || [ -f "${dir}/valid.acc.best.pth" ]; }; then
            asr_exps+="${dir} "
        fi
    done
fi
if [ -z "${asr_exps}" ]; then
    echo "$0: no trained models found under exp/asr_*/ (config.yaml + ${model_file}); train first or pass --asr_exps" >&2
    exit 1
fi

model_args=()
for dir in ${asr_exps}; do
    checkpoint="${dir}/${model_file}"
    [ -f "${checkpoint}" ] || checkpoint="${dir}/valid.acc.best.pth"
    if [ ! -f "${dir}/config.yaml" ] || [ ! -f "${checkpoint}" ]; then
        echo "$0: ${dir} lacks config.yaml or ${model_file}" >&2
        exit 1
    fi
    # exp/asr_train_asr_mixrep[_raw_en_word] -> mixrep
    name=$(basename "${dir}" | sed -e 's/^asr_//' -e 's/^train_asr_//' -e 's/^train_//' -e 's/_raw_.*$//')
    model_args+=(--model "name=${name},config=${dir}/config.yaml,model_file=${checkpoint}")
done

speaker_args=()
[ -n "${speakers}" ] && speaker_args=(--speakers ${speakers})
python -m espnet_mixrep.bin.fsdd_probe --fsdd_dir "${fsdd_dir:-${FSDD}}" --repo_root "$(cd ../../.. && pwd)" \
    --out "${probe_dir}" "${speaker_args[@]}"

layer_args=()
[ -n "${layers}" ] && layer_args=(--layers "${layers}")
# shellcheck disable=SC2086
python -m espnet_mixrep.bin.layer_analysis \
    --data_dir "${probe_dir}" \
    "${model_args[@]}" \
    --labels "name=word,utt=${probe_dir}/text" \
    --labels "name=speaker,utt=${probe_dir}/utt2spk" \
    --output_dir "${outdir}" "${layer_args[@]}" ${extra_args}

echo "$0: results in ${outdir}/layer_analysis.{csv,json,png}"
