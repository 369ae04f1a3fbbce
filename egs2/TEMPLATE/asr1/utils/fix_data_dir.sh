#!/usr/bin/env bash
# Keep only utterances complete across wav.scp (or segments), text and utt2spk,
# drop empty transcripts, sort, rebuild spk2utt (as Kaldi's fix_data_dir.sh).
#   utils/fix_data_dir.sh data/train
exec python -m espnet_mixrep.bin.recipe fix_data_dir "$@"
