"""SpeechMix (Jindal et al., INTERSPEECH 2020) for ESPnet's classification task.

* :mod:`.gain` — A-weighted sound-pressure gain (BC learning's ``compute_gain``).
* :mod:`.mixing` — partner pairing, gain-aware and plain mixes, soft targets, KL loss.
* :mod:`.envnet_v2` — the EnvNet-v2 raw-waveform encoder with its mix points.
* :mod:`.model` — ``SpeechMixClassificationModel`` (``--model speechmix``):
  crops, mixing at a layer drawn from S, 10-crop test-time averaging.
* :mod:`.normalize` — ``normalize: waveform_mvn``, per-clip mean/variance normalisation of waveforms.
* :mod:`.schedule` — ``--scheduler warmup_multisteplr``, the BC recipes' warm-up + lr steps.
* :mod:`.task` — the patch that makes ``CLSTask`` honour ``--model``.
"""
