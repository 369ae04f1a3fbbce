"""MixRep: hidden-representation mixup for ASR (Xie & Hansen, Interspeech 2023).

MixSpeech (input mixup, Meng et al. 2021) is the special case ``mix_layers: "0"``.
"""
