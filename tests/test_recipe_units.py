"""Fast checks of the recipe driver's pieces: option parsing, job runners,
data-dir fixing, formatting, scoring, decoding merge, upload staging."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from espnet_mixrep.bin import run_jobs
from espnet_mixrep.stages.format import filter_data_dir, format_data_dir, split_scp
from espnet_mixrep.core.datadir import (
    DataDirError,
    Utterance,
    atomic_file,
    fix_data_dir,
    read_kaldi_map,
    validate_data_dir,
    write_data_dir,
)
from espnet_mixrep.stages.decode import merge_decode_outputs
from espnet_mixrep.stages.hub import stage_repository
from espnet_mixrep.stages.lm_text import make_lm_text
from espnet_mixrep.stages.scoring import score_decode_dir, write_recipe_results

TEMPLATE = Path(__file__).resolve().parent.parent / "egs2" / "TEMPLATE" / "asr1"


# ---------------------------------------------------------------- options
def _bash(script: str, *args: str, cwd: Path = TEMPLATE) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script, "test", *args], cwd=cwd, capture_output=True, text=True)


OPTS = 'stage=1; use_lm=false; asr_args=""; help_message="usage here"; . utils/parse_options.sh; echo "$stage|$use_lm|$asr_args|$*"'


def test_parse_options_sets_declared_variables() -> None:
    out = _bash(OPTS, "--stage", "11", "--use-lm", "true", "--asr_args=--max_epoch 3", "pos")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "11|true|--max_epoch 3|pos"


@pytest.mark.parametrize(
    "args, message",
    [(["--stgae", "3"], "invalid option --stgae"), (["--use_lm", "yes"], "true or false"), (["--stage"], "needs a value")],
)
def test_parse_options_rejects_bad_options(args: list, message: str) -> None:
    out = _bash(OPTS, *args)
    assert out.returncode == 1 and message in out.stderr


def test_parse_options_help() -> None:
    out = _bash(OPTS, "--help")
    assert out.returncode == 0 and "usage here" in out.stderr


def test_asr_sh_help_and_missing_options() -> None:
    out = subprocess.run(["bash", "asr.sh", "--help"], cwd=TEMPLATE, capture_output=True, text=True)
    assert out.returncode == 0 and "--inference_nj" in out.stderr and "--hf_repo" in out.stderr


def test_asr_sh_refuses_ngram_and_lm_without_config(tmp_path: Path) -> None:
    sets = ["--train_set", "tr", "--valid_set", "dv", "--test_sets", "ev"]
    out = subprocess.run(["bash", "asr.sh", *sets, "--use_ngram", "true"], cwd=TEMPLATE, capture_output=True, text=True)
    assert out.returncode == 1 and "n-gram LM stage 9 is not provided" in out.stdout
    token_list = tmp_path / "data" / "en_token_list" / "char" / "tokens.txt"
    token_list.parent.mkdir(parents=True)
    token_list.write_text("<blank>\n<unk>\na\n<sos/eos>\n")
    for name in ("asr.sh", "path.sh", "cmd.sh", "utils"):
        (tmp_path / name).symlink_to(TEMPLATE / name)
    out = subprocess.run(
        ["bash", "asr.sh", *sets, "--lang", "en", "--token_type", "char", "--use_lm", "true", "--stage", "6", "--stop_stage", "6"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 1 and "--lm_config is required with --use_lm true" in out.stdout


def test_lm_text_joins_files_drops_empty_and_refuses_duplicate_ids(tmp_path: Path) -> None:
    train, extra, out = tmp_path / "text", tmp_path / "other_text", tmp_path / "lm" / "train.txt"
    train.write_text("u1 A B\nu2\nu3 C\n")
    extra.write_text("lm1 D E F\n\nlm2 G\n")
    assert make_lm_text([train, extra], out) == 4
    assert out.read_text() == "u1 A B\nu3 C\nlm1 D E F\nlm2 G\n"
    extra.write_text("lm1 D\nu3 again\n")
    with pytest.raises(DataDirError, match=r"other_text:2: utterance id 'u3' already used in .*text"):
        make_lm_text([train, extra], tmp_path / "dup.txt")
    with pytest.raises(DataDirError, match="LM text not found: .*missing"):
        make_lm_text([train, tmp_path / "missing"], tmp_path / "x.txt")
    (tmp_path / "empty").write_text("u1\nu2 \n")
    with pytest.raises(DataDirError, match="no utterance with words"):
        make_lm_text([tmp_path / "empty"], tmp_path / "e.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "lm", "other_text", "text"]  # nothing half-written


# ---------------------------------------------------------------- job runners
def test_local_runner_runs_job_arrays_and_reports_failures(tmp_path: Path) -> None:
    log = str(tmp_path / "log" / "job.JOB.log")
    code = run_jobs.run_local(*run_jobs.parse_runner_args(["--max_jobs_run", "2", "JOB=1:3", log, "echo", "task JOB", "done"]))
    assert code == 0
    for i in (1, 2, 3):
        text = (tmp_path / "log" / f"job.{i}.log").read_text()
        assert f"task {i} done" in text and "# Ended (code 0)" in text
    code = run_jobs.run_local(*run_jobs.parse_runner_args(["JOB=1:2", log, "test JOB -eq 1"]))
    assert code == 1 and "# Ended (code 1)" in (tmp_path / "log" / "job.2.log").read_text()


def test_runner_option_errors() -> None:
    with pytest.raises(SystemExit, match="unknown option --gpus"):
        run_jobs.parse_runner_args(["--gpus", "1", "log", "true"])
    with pytest.raises(SystemExit, match="usage"):
        run_jobs.parse_runner_args(["JOB=1:2", "log"])


def test_slurm_script_is_an_array_job_with_resources(tmp_path: Path) -> None:
    opts, job_range, log, command = run_jobs.parse_runner_args(
        ["--gpu", "2", "--mem", "8G", "--num_threads", "4", "--partition", "gpu", "JOB=1:5", "exp/log/dec.JOB.log", "python", "x.py", "--part", "JOB"]
    )
    script, sbatch = run_jobs.build_sbatch_script(opts, job_range, log, command, "/recipe")
    assert {"--array=1-5", "--gres=gpu:2", "--mem=8G", "--cpus-per-task=4", "--partition=gpu", "--wait"} <= set(sbatch)
    assert 'log="exp/log/dec.${SLURM_ARRAY_TASK_ID}.log"' in script
    assert "python x.py --part ${SLURM_ARRAY_TASK_ID}" in script and "cd /recipe" in script
    # The script is valid bash.
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


# ---------------------------------------------------------------- data dirs
def _write_wav(path: Path, seconds: float, rate: int = 8000) -> str:
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(str(path), 0.3 * np.sin(2 * np.pi * 440 * t), rate, subtype="PCM_16")
    return str(path)


def _data_dir(tmp_path: Path, n: int = 3) -> Path:
    utts = [
        Utterance(f"spk{i % 2}-u{i}", f"spk{i % 2}", "ONE TWO", _write_wav(tmp_path / f"u{i}.wav", 0.5 + 0.1 * i)) for i in range(n)
    ]
    write_data_dir(tmp_path / "data", utts)
    return tmp_path / "data"


def test_validate_names_the_mismatching_file(tmp_path: Path) -> None:
    data = _data_dir(tmp_path)
    with open(data / "utt2spk", "a") as f:
        f.write("spk9-extra spk9\n")
    with pytest.raises(DataDirError, match=r"ids only in .*utt2spk"):
        validate_data_dir(data)
    (data / "text").write_text((data / "text").read_text() + "spk1-u9 \n")
    with pytest.raises(DataDirError, match=r"text:\d+: 'spk1-u9' has an empty value"):
        validate_data_dir(data)


def test_validate_cli_exits_with_one_error_line(tmp_path: Path) -> None:
    data = _data_dir(tmp_path)
    (data / "wav.scp").write_text("\n".join((data / "wav.scp").read_text().splitlines()[1:]) + "\n")
    out = subprocess.run(
        [sys.executable, "-m", "espnet_mixrep.bin.recipe", "validate_data_dir", str(data)], capture_output=True, text=True
    )
    assert out.returncode == 1 and out.stderr.startswith("ERROR: ") and "wav.scp" in out.stderr
    assert "Traceback" not in out.stderr


def test_fix_data_dir_drops_incomplete_utterances(tmp_path: Path) -> None:
    data = _data_dir(tmp_path, n=4)
    (data / "text").write_text("spk0-u0 ONE\nspk0-u2 \nspk1-u1 TWO\nspk1-u3 THREE\nzz-extra FOUR\n")
    (data / "utt2spk").write_text("spk0-u0 spk0\nspk0-u2 spk0\nspk1-u1 spk1\n")
    assert fix_data_dir(data) == {"kept": 2, "dropped": 3}
    validate_data_dir(data)
    assert sorted(read_kaldi_map(data / "text")) == ["spk0-u0", "spk1-u1"]
    assert read_kaldi_map(data / "spk2utt") == {"spk0": "spk0-u0", "spk1": "spk1-u1"}


def test_format_speed_perturb_and_filter(tmp_path: Path) -> None:
    data = _data_dir(tmp_path)
    n = format_data_dir(data, tmp_path / "sp", fs=8000, speed_factors=[0.9, 1.0, 1.1])
    assert n == 9
    lengths = {k: int(v) for k, v in read_kaldi_map(tmp_path / "sp" / "utt2num_samples").items()}
    assert abs(lengths["sp0.9-spk0-u0"] - 4000 / 0.9) <= 2 and abs(lengths["sp1.1-spk0-u0"] - 4000 / 1.1) <= 2
    assert lengths["spk0-u0"] == 4000
    assert read_kaldi_map(tmp_path / "sp" / "utt2spk")["sp0.9-spk0-u0"] == "sp0.9-spk0"
    validate_data_dir(tmp_path / "sp")

    n = format_data_dir(data, tmp_path / "dump16k", fs=16000)
    audio, rate = soundfile.read(read_kaldi_map(tmp_path / "dump16k" / "wav.scp")["spk0-u0"])
    assert n == 3 and rate == 16000 and len(audio) == 8000
    assert (tmp_path / "dump16k" / "feats_type").read_text() == "raw\n"

    result = filter_data_dir(tmp_path / "sp", tmp_path / "filtered", fs=8000, min_duration=0.5, max_duration=0.6)
    kept = read_kaldi_map(tmp_path / "filtered" / "utt2num_samples")
    assert result["kept"] == len(kept) and all(4000 <= int(v) <= 4800 for v in kept.values())


def test_format_names_a_corrupt_wav_and_leaves_nothing(tmp_path: Path) -> None:
    data = _data_dir(tmp_path)
    broken = read_kaldi_map(data / "wav.scp")["spk1-u1"]
    Path(broken).write_bytes(b"RIFF....garbage")
    with pytest.raises(DataDirError, match=rf"wav.scp: cannot read audio '{broken}'"):
        format_data_dir(data, tmp_path / "dump", fs=8000)
    assert not (tmp_path / "dump").exists() and not list(tmp_path.glob(".dump.*"))


def test_split_scp(tmp_path: Path) -> None:
    scp = tmp_path / "wav.scp"
    scp.write_text("".join(f"u{i} x\n" for i in range(5)))
    assert split_scp(scp, str(tmp_path / "keys.JOB.scp"), 2) == 2
    assert [len((tmp_path / f"keys.{i}.scp").read_text().splitlines()) for i in (1, 2)] == [2, 3]
    assert split_scp(scp, str(tmp_path / "k.JOB"), 9) == 5


# ---------------------------------------------------------------- decoding and scoring
def test_merge_decode_requires_every_key(tmp_path: Path) -> None:
    for job, keys in ((1, ["a", "b"]), (2, ["c"])):
        (tmp_path / f"keys.{job}.scp").write_text("".join(f"{k} x\n" for k in keys))
        out = tmp_path / f"output.{job}" / "1best_recog"
        out.mkdir(parents=True)
        (out / "text").write_text("".join(f"{k} ONE\n" for k in keys if k != "b"))
    with pytest.raises(DataDirError, match=r"1 utterances not decoded \(e.g. \['b'\]\)"):
        merge_decode_outputs(tmp_path, 2, tmp_path / "decode")
    assert not (tmp_path / "decode").exists()
    (tmp_path / "output.1" / "1best_recog" / "text").write_text("a ONE\nb \n")
    assert merge_decode_outputs(tmp_path, 2, tmp_path / "decode") == 3
    assert (tmp_path / "decode" / "text").read_text() == "a ONE\nb \nc ONE\n"


def test_scoring_counts_and_reports(tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    ref.write_text("spkA-1 ONE TWO THREE\nspkA-2 FOUR FIVE\nspkB-3 SIX\n")
    dec = tmp_path / "exp" / "asr_x" / "decode_ctc" / "test"
    dec.mkdir(parents=True)
    # 1: one substitution + one insertion; 2: one deletion; 3: empty hypothesis.
    (dec / "text").write_text("spkA-1 ONE TOO THREE SEVEN\nspkA-2 FIVE\nspkB-3 \n")
    scores = score_decode_dir(dec, ref)
    wer = scores["wer"].total
    assert (wer.words, wer.correct, wer.substitutions, wer.deletions, wer.insertions) == (6, 3, 1, 2, 1)
    assert wer.sentence_errors == 3 and wer.percentages()["err"] == pytest.approx(400 / 6)
    assert scores["wer"].by_speaker["spkA"].words == 5
    result = (dec / "score_wer" / "result.txt").read_text()
    assert "Sum/Avg" in result and "66.7" in result and "Eval:" in result
    assert json.loads((dec / "score_wer" / "scores.json").read_text())["deletions"] == 2
    assert "ONE TWO THREE\t(spkA-spkA-1)" in (dec / "score_wer" / "ref.trn").read_text()
    # CER counts characters with <space> as a token, as ESPnet does.
    assert scores["cer"].total.words == len("ONE TWO THREE") + len("FOUR FIVE") + len("SIX")
    md = write_recipe_results(tmp_path / "RESULTS.md", tmp_path / "exp").read_text()
    assert "|asr_x|decode_ctc|test|3|66.67|" in md and "|decode_ctc/test|3|6|50.0|16.7|33.3|16.7|66.7|100.0|" in md


@pytest.mark.parametrize("cleaner", [None, "tacotron"])
def test_scoring_tokenizes_as_espnet_stage_13(tmp_path: Path, cleaner) -> None:
    """ref.trn / hyp.trn hold what espnet2.bin.tokenize_text gives with ESPnet's stage-13 options:
    non-linguistic symbols removed for WER and CER, the cleaner on references only."""
    from espnet2.bin.tokenize_text import tokenize

    nlsyms = tmp_path / "nlsyms.txt"
    nlsyms.write_text("<NOISE>\n[laughter]\n")
    ref, dec = tmp_path / "ref", tmp_path / "decode"
    ref.write_text("s-1 ONE <NOISE> TWO\ns-2 [laughter]  THREE  FOUR\n")
    dec.mkdir()
    (dec / "text").write_text("s-1 ONE TWO <NOISE>\ns-2 THREE FOUR\n")
    scores = score_decode_dir(dec, ref, non_linguistic_symbols=nlsyms, cleaner=cleaner)
    for metric, token_type in (("wer", "word"), ("cer", "char")):
        for side, source, side_cleaner in (("ref", ref, cleaner), ("hyp", dec / "text", None)):
            expected = tmp_path / f"{side}.{metric}"
            tokenize(
                input=str(source), output=str(expected), field="2-", delimiter=None, token_type=token_type,
                space_symbol="<space>", non_linguistic_symbols=str(nlsyms), bpemodel=None, log_level="ERROR",
                write_vocabulary=False, vocabulary_size=0, remove_non_linguistic_symbols=True, cutoff=0,
                add_symbol=[], cleaner=side_cleaner, g2p=None, add_nonsplit_symbol=[],
            )  # fmt: skip
            ours = [line.split("\t")[0] for line in (dec / f"score_{metric}" / f"{side}.trn").read_text().splitlines()]
            assert ours == expected.read_text().splitlines(), (metric, side)
    refs = (dec / "score_wer" / "ref.trn").read_text()
    if cleaner is None:
        assert "<NOISE>" not in refs and "<NOISE>" not in (dec / "score_wer" / "hyp.trn").read_text()
        assert scores["wer"].total.percentages()["err"] == 0.0
    else:  # tacotron strips the brackets of the references before the symbols are matched, as in ESPnet
        assert refs.startswith("ONE NOISE TWO\t") and "<NOISE>" not in (dec / "score_wer" / "hyp.trn").read_text()
        assert scores["wer"].total.deletions == 2


def test_generated_results_never_overwrite_a_git_tracked_file(tmp_path: Path) -> None:
    from espnet_mixrep.stages.scoring import check_not_tracked_by_git

    (tmp_path / "exp").mkdir()
    (tmp_path / "RESULTS.md").write_text("reference numbers\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    check_not_tracked_by_git(tmp_path / "RESULTS.md")  # untracked: may be written
    subprocess.run(["git", "add", "RESULTS.md"], cwd=tmp_path, check=True)
    with pytest.raises(DataDirError, match="RESULTS.md: tracked by git"):
        write_recipe_results(tmp_path / "RESULTS.md", tmp_path / "exp")
    assert (tmp_path / "RESULTS.md").read_text() == "reference numbers\n"


def test_scoring_refuses_missing_hypotheses(tmp_path: Path) -> None:
    (tmp_path / "ref").write_text("a ONE\nb TWO\n")
    (tmp_path / "text").write_text("a ONE\n")
    with pytest.raises(DataDirError, match=r"1 not decoded \(e.g. \['b'\]\)"):
        score_decode_dir(tmp_path, tmp_path / "ref")


# ---------------------------------------------------------------- token lists
@pytest.mark.parametrize("token_type", ["char", "bpe", "word"])
def test_token_list_matches_espnet_tokenize_text(tmp_path: Path, token_type: str) -> None:
    from espnet2.bin.tokenize_text import tokenize

    from espnet_mixrep.stages.tokens import make_token_list

    text = tmp_path / "text"
    words = ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"]
    text.write_text("".join(f"u{i} {' '.join(words[(i * k) % 10] for k in range(1, 2 + i % 5))}\n" for i in range(60)))
    ours = make_token_list(text, token_type, tmp_path / "tokens", nbpe=25)
    ref = tmp_path / "ref.txt"
    tokenize(
        input=str(text), output=str(ref), field="2-", delimiter=None, token_type=token_type, space_symbol="<space>",
        non_linguistic_symbols=None, bpemodel=str(ours.parent / "bpe.model") if token_type == "bpe" else None,
        log_level="ERROR", write_vocabulary=True, vocabulary_size=0, remove_non_linguistic_symbols=False, cutoff=0,
        add_symbol=["<blank>:0", "<unk>:1", "<sos/eos>:-1"], cleaner=None, g2p=None, add_nonsplit_symbol=[],
    )
    assert ours.read_text() == ref.read_text()
    lines = ours.read_text().splitlines()
    assert lines[0] == "<blank>" and lines[1] == "<unk>" and lines[-1] == "<sos/eos>"


def test_token_list_names_the_text_when_nbpe_is_too_big(tmp_path: Path) -> None:
    from espnet_mixrep.stages.tokens import make_token_list

    (tmp_path / "text").write_text("u1 ONE TWO\nu2 TWO\n")
    with pytest.raises(DataDirError, match=r"text: sentencepiece failed with --nbpe 500"):
        make_token_list(tmp_path / "text", "bpe", tmp_path / "tokens", nbpe=500)


# ---------------------------------------------------------------- upload staging
def test_upload_staging_rejects_bad_archives(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_text("not a zip")
    with pytest.raises(DataDirError, match="not a zip file"):
        stage_repository(tmp_path / "x.zip", "me/model", "fsdd", tmp_path / "a")
    with zipfile.ZipFile(tmp_path / "y.zip", "w") as zf:
        zf.writestr("exp/config.yaml", "a: 1\n")
    with pytest.raises(DataDirError, match="no meta.yaml"):
        stage_repository(tmp_path / "y.zip", "me/model", "fsdd", tmp_path / "b")
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as zf:
        zf.writestr("meta.yaml", "files:\n  asr_model_file: exp/model.pth\nyaml_files: {}\n")
    with pytest.raises(DataDirError, match="lacks it"):
        stage_repository(tmp_path / "z.zip", "me/model", "fsdd", tmp_path / "c")


@pytest.mark.parametrize("binary", [False, True])
def test_atomic_file_replaces_only_on_success(tmp_path: Path, binary: bool) -> None:
    target = tmp_path / "sub" / "out.bin"
    payload, old = (b"\x00new", b"old") if binary else ("new\n", "old")
    with atomic_file(target, binary=binary) as f:
        f.write(old)
    with pytest.raises(RuntimeError):
        with atomic_file(target, binary=binary) as f:
            f.write(payload)
            raise RuntimeError("interrupted writer")
    read = target.read_bytes if binary else target.read_text
    assert read() == old
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]  # no temp file left behind
    with atomic_file(target, binary=binary) as f:
        f.write(payload)
    assert read() == payload
