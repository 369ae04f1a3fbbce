#!/usr/bin/env bash
# Check Kaldi data dirs (ids agree across wav.scp/segments, text, utt2spk, spk2utt).
#   utils/validate_data_dir.sh data/train [data/dev ...]
exec python -m espnet_mixrep.bin.recipe validate_data_dir "$@"
