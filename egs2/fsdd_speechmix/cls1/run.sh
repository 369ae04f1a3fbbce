#!/usr/bin/env bash
# FSDD spoken-digit classification with SpeechMix (EnvNet-v2 at 8 kHz, CPU-sized).
# Train george, jackson, lucas (takes 45-49 held out for validation); test the
# unseen speaker nicolas. Other configs: conf/train_{baseline,bc,plain}.yaml.
set -euo pipefail
./cls.sh \
    --fs 8000 \
    --min_clip_samples 8000 \
    --pad_short_clips true \
    --train_set train --valid_set valid --test_sets test \
    --cls_config conf/train_speechmix.yaml \
    "$@"
