"""egs2/wsj_mixrep end to end on a generated WSJ corpus: stages 1-5 (data prep,
format in two jobs decoding the SPHERE files in-process, filter, char tokens
with <NOISE>), then 6-13 with tiny configs on CPU:
the character LM (asr.sh stages 6-8: LM text, collect stats, training,
perplexity), MixRep training (collect stats, one epoch), decoding eval92 with
the LM, scoring as ESPnet scores (non-linguistic symbols removed), packing the
ASR model with its LM and nlsyms.txt; a second decoding with other
--inference_args gets its own decode dir; the tracked RESULTS.md is left alone."""

from __future__ import annotations

import shutil
import subprocess
import zipfile

import numpy as np
import soundfile
import yaml
from ldc_fixtures import make_wsj_corpus
from conftest import REPO_ROOT
from recipe_runner import run_recipe, scratch_recipe

from espnet_mixrep.core.datadir import read_kaldi_map
from espnet_mixrep.core.sphere import read_sphere, sph2pipe_path

COMMON = ["--ngpu", "0"]


def test_wsj_recipe_stages_1_to_14(tmp_path):
    corpus = make_wsj_corpus(tmp_path / "ldc")
    recipe = scratch_recipe("wsj_mixrep", tmp_path)
    seconds, cpu, log = run_recipe(
        recipe,
        ["--wsj0", str(corpus.wsj0), "--wsj1", str(corpus.wsj1), "--stage", "1", "--stop_stage", "5", "--nj", "2", *COMMON],
        "stages_1_5.log",
    )  # fmt: skip
    print(f"WSJ stages 1-5: {seconds:.1f} s wall, {cpu:.1f} s CPU")
    data = recipe / "data"
    for name, expected in corpus.expected.items():
        assert read_kaldi_map(data / name / "text") == expected
    assert set(read_kaldi_map(data / "train_si284" / "spk2utt")) == {"01a", "01b", "46a", "46b"}
    assert set(read_kaldi_map(data / "test_eval92" / "spk2utt")) == {"440"}
    tokens = (data / "en_token_list" / "char" / "tokens.txt").read_text().split()
    assert tokens[0] == "<blank>" and tokens[-1] == "<sos/eos>" and "<NOISE>" in tokens and "<space>" in tokens
    dumped = read_kaldi_map(recipe / "dump" / "raw" / "test_eval92" / "wav.scp")
    assert len(dumped) == 3 and soundfile.info(next(iter(dumped.values()))).samplerate == 16000
    assert len(read_kaldi_map(recipe / "dump" / "raw" / "train_si284" / "text")) == 12
    # stage 3: two jobs; without sph2pipe every .wv1 (plain PCM, or shorten for WSJ1) decoded in-process
    way = "entries run by sph2pipe: 12" if sph2pipe_path() else "SPHERE files read: 12, entries decoded in-process: 12"
    assert f"dump/raw/org/train_si284: 12 utterances from 12 recordings in 2 job(s) ({way})" in log
    dev93 = read_kaldi_map(recipe / "dump" / "raw" / "org" / "test_dev93" / "wav.scp")
    for utt_id, wav in dev93.items():  # shorten-compressed: sample for sample what the .wv1 holds
        source = next(corpus.wsj1.rglob(f"{utt_id}.wv1"))
        np.testing.assert_array_equal(soundfile.read(wav, dtype="int16")[0], read_sphere(source, channel=1)[0])

    # The recipe's reference numbers, tracked by git as in a checkout: stage 13 must not touch them.
    shutil.copy(REPO_ROOT / "egs2" / "wsj_mixrep" / "asr1" / "RESULTS.md", recipe / "RESULTS.md")
    subprocess.run(["git", "init", "-q"], cwd=recipe, check=True)
    subprocess.run(["git", "add", "RESULTS.md"], cwd=recipe, check=True)
    reference_results = (recipe / "RESULTS.md").read_bytes()

    later = [*COMMON, "--inference_nj", "1", "--test_sets", "test_eval92", "--lm_config", "conf/tuning/train_lm_tiny.yaml",
             "--asr_config", "conf/tuning/train_asr_mixrep_tiny.yaml", "--inference_config", "conf/decode_asr_tiny.yaml"]
    seconds, cpu, _ = run_recipe(
        recipe, ["--stage", "6", "--stop_stage", "14", "--nj", "1", *later, "--inference_args", "--beam_size 2"],
        "stages_6_14.log",
    )
    print(f"WSJ stages 6-14: {seconds:.1f} s wall, {cpu:.1f} s CPU")
    lm_exp = recipe / "exp" / "lm_train_lm_tiny_en_char"
    assert (lm_exp / "valid.loss.ave.pth").exists()
    # the LM saw the si284 transcripts and the WSJ1 LM text
    lm_text = (recipe / "exp" / "lm_stats_en_char" / "data" / "train.txt").read_text().splitlines()
    assert len(lm_text) == 12 + len(corpus.lm_lines)
    ppl = float((lm_exp / "perplexity_test" / "ppl").read_text())
    assert 1.0 < ppl < 1000.0  # tiny vocabulary: a trained LM is far below the token count cubed
    exp = next((recipe / "exp").glob("asr_train_asr_mixrep_tiny_*"))
    decode = exp / "decode_asr_tiny_beam_size2_lm_lm_train_lm_tiny_en_char_valid.loss.ave_asr_model_valid.acc.ave" / "test_eval92"
    assert len(read_kaldi_map(decode / "text", allow_empty_value=True)) == 3
    # Scored as ESPnet scores WSJ: <NOISE> is in the reference text, but not in what WER / CER count.
    assert "<NOISE>" in (recipe / "dump" / "raw" / "test_eval92" / "text").read_text()
    for metric in ("wer", "cer"):
        for side in ("ref.trn", "hyp.trn"):
            assert "<NOISE>" not in (decode / f"score_{metric}" / side).read_text(), (metric, side)
    assert "ZERO ONE TWO\t(440-440c0203)" in (decode / "score_wer" / "ref.trn").read_text()
    inference_log = next(decode.parent.glob("test_eval92.logdir/asr_inference.1.log")).read_text()
    assert "TransformerLM" in inference_log and "for lm" in inference_log  # the LM scored the beam
    results = (exp / "RESULTS.md").read_text()
    assert "test_eval92" in results and "WER" in results
    with zipfile.ZipFile(next(exp.glob("*_valid.acc.ave.zip"))) as packed:
        meta = yaml.safe_load(packed.read("meta.yaml"))
        names = packed.namelist()
        config = yaml.safe_load(packed.read(meta["yaml_files"]["asr_train_config"]))
    # pack resolves valid.loss.ave.pth (a symlink here, one epoch) to the file it points at
    assert meta["yaml_files"]["lm_train_config"] == "exp/lm_train_lm_tiny_en_char/config.yaml"
    assert meta["files"]["lm_file"].startswith("exp/lm_train_lm_tiny_en_char/") and meta["files"]["lm_file"] in names
    # The config's non-linguistic symbols file travels with the model.
    assert config["non_linguistic_symbols"] == "data/nlsyms.txt" and "data/nlsyms.txt" in names
    assert "exp/lm_train_lm_tiny_en_char/perplexity_test/ppl" in names

    # Other decoding options: a second decode dir beside the first, both in the summary.
    run_recipe(recipe, ["--stage", "12", "--stop_stage", "13", *later, "--inference_args", "--beam_size 1"], "stages_12_13.log")
    other = exp / "decode_asr_tiny_beam_size1_lm_lm_train_lm_tiny_en_char_valid.loss.ave_asr_model_valid.acc.ave" / "test_eval92"
    assert len(read_kaldi_map(other / "text", allow_empty_value=True)) == 3 and (decode / "text").is_file()
    assert (other.parent / "run.sh").is_file()  # as ESPnet: reruns this decoding from stage 12
    summary = (recipe / "exp" / "RESULTS.md").read_text()
    assert f"|{decode.parent.name}|test_eval92|3|" in summary and f"|{other.parent.name}|test_eval92|3|" in summary
    assert (recipe / "RESULTS.md").read_bytes() == reference_results
