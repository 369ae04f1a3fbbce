"""egs2/swbd_mixrep end to end on generated Switchboard / eval2000 corpora
(two-channel u-law SPHERE, plain and shorten-compressed): stages 1-5 (stage 3
decoding each conversation once for both sides, in-process), then 10-13 with
a tiny MixRep config on CPU, including the Hub5 scoring split into SWBD and
CallHome."""

from __future__ import annotations

import re

import soundfile
from ldc_fixtures import make_swbd_corpus
from recipe_runner import run_recipe, scratch_recipe

from espnet_mixrep.core.datadir import read_kaldi_map
from espnet_mixrep.core.sphere import sph2pipe_path

COMMON = ["--nj", "1", "--ngpu", "0", "--speed_perturb_factors", "", "--nbpe", "40"]


def test_swbd_recipe_stages_1_to_13(tmp_path):
    corpus = make_swbd_corpus(tmp_path / "ldc")
    recipe = scratch_recipe("swbd_mixrep", tmp_path)
    seconds, cpu, log = run_recipe(
        recipe,
        ["--swbd", str(corpus.swbd), "--eval2000_speech", str(corpus.eval2000_speech),
         "--eval2000_text", str(corpus.eval2000_text), "--dev_utts", "4",
         "--subsets", "train_40h:0.002,train_80h:0.004", "--stage", "1", "--stop_stage", "5", *COMMON],
        "stages_1_5.log",
    )  # fmt: skip
    print(f"SWBD stages 1-5: {seconds:.1f} s wall, {cpu:.1f} s CPU")
    data = recipe / "data"
    ids = sorted(corpus.train_texts)
    assert sorted(read_kaldi_map(data / "train_dev" / "text")) == ids[:4]
    nodup = read_kaldi_map(data / "train_nodup" / "text")
    assert len(nodup) == 32 and "one i b m two" in nodup.values()
    sides = set(read_kaldi_map(data / "train_40h" / "utt2spk").values())
    assert sides and all(re.match(r"^sw0\d{4}-[AB]$", s) for s in sides)
    eval_spk = set(read_kaldi_map(data / "eval2000" / "spk2utt"))
    assert eval_spk == {"sw_4390-A", "sw_4390-B", "en_4156-A", "en_4156-B"}
    dumped = read_kaldi_map(recipe / "dump" / "raw" / "eval2000" / "wav.scp")
    assert len(dumped) == 12 and soundfile.info(next(iter(dumped.values()))).samplerate == 16000  # upsampled
    assert (data / "en_token_list" / "bpe_unigram40" / "bpe.model").is_file()
    # stage 3: the 4 sides of the 2 eval2000 conversations (one u-law shorten), each file read once
    way = "entries run by sph2pipe: 4" if sph2pipe_path() else "SPHERE files read: 2, entries decoded in-process: 4"
    assert f"dump/raw/eval2000: 12 utterances from 4 recordings in 1 job(s) ({way})" in log

    seconds, cpu, _ = run_recipe(
        recipe,
        ["--stage", "10", "--stop_stage", "13", *COMMON, "--inference_nj", "1", "--train_set", "train_40h",
         "--asr_config", "conf/tuning/train_asr_mixrep_tiny.yaml", "--inference_config", "conf/decode_asr_tiny.yaml"],
        "stages_10_13.log",
    )  # fmt: skip
    print(f"SWBD stages 10-13: {seconds:.1f} s wall, {cpu:.1f} s CPU")
    decode = next((recipe / "exp").glob("asr_train_asr_mixrep_tiny_*/decode_*/eval2000"))
    assert len(read_kaldi_map(decode / "text", allow_empty_value=True)) == 12
    result = (decode / "score_hub5" / "result.txt").read_text()
    rows = {m.group(1): [int(x) for x in m.groups()[1:]] for m in re.finditer(r"^\|(all|swbd|callhm)\|(\d+)\|(\d+)\|", result, re.M)}
    # 6 segments and 15 reference words (3 of them optionally deletable) in each half
    assert rows == {"all": [12, 30], "swbd": [6, 15], "callhm": [6, 15]}
