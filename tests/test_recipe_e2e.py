"""The FSDD recipe's stages 1-15 through the real driver on a tiny config:
Ctrl-C during training leaves no process behind and the rerun resumes,
reruns redo identically, the packed model
decodes in a fresh process, the upload lands in the hub layout, and bad input
stops the run with a message naming the file."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

from espnet_mixrep.core.datadir import read_kaldi_map
from process_tree import as_terminal_job, descendants, wait_until_gone

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "egs2" / "TEMPLATE" / "asr1"
RECIPE = REPO / "egs2" / "fsdd_mixrep" / "asr1"
TAG = "tiny"
COMMON = [
    "--train_set", "train", "--valid_set", "valid", "--test_sets", "test",
    "--lang", "en", "--fs", "8k", "--token_type", "bpe", "--nbpe", "20",
    "--ngpu", "0", "--nj", "1", "--inference_nj", "1",
    "--asr_config", "conf/tuning/train_asr_tiny_mixrep.yaml", "--asr_tag", TAG,
    "--inference_config", "conf/tuning/decode_tiny.yaml",
    "--local_data_opts", "--num_train 40 --num_valid 8 --num_test_seen 0 --num_test 6",
]


def make_recipe_copy(root: Path) -> Path:
    """egs2/fsdd_mixrep/asr1 under ``root`` (shared files linked as ESPnet links them)."""
    recipe = root / "egs2" / "fsdd_mixrep" / "asr1"
    recipe.mkdir(parents=True)
    for name in ("asr.sh", "path.sh", "db.sh", "utils", "scripts"):
        (recipe / name).symlink_to(TEMPLATE / name)
    for name in ("run.sh", "cmd.sh", "local", "conf"):
        (recipe / name).symlink_to(RECIPE / name)
    return recipe


def recipe_env(fsdd_dir: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["FSDD_DIR"] = str(fsdd_dir)
    env["OMP_NUM_THREADS"] = "1"
    return env


def asr(recipe: Path, env: Dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run(["./asr.sh", *COMMON, *args], cwd=recipe, env=env, capture_output=True, text=True)
    if check and out.returncode != 0:
        raise AssertionError(f"asr.sh {' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


def digest(paths: List[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def trained_recipe(fsdd_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Stages 1-13 with a Ctrl-C during training: returns (recipe dir, env, logs)."""
    recipe = make_recipe_copy(tmp_path_factory.mktemp("e2e"))
    env = recipe_env(fsdd_dir)
    logs = {"prep": asr(recipe, env, "--stage", "1", "--stop_stage", "10")}

    # Stage 11, stopped by a SIGINT to its process group (what Ctrl-C in a
    # terminal sends) as soon as epoch 1 is saved (latest.pth is linked after
    # checkpoint.pth and 1epoch.pth are complete).
    exp = recipe / "exp" / f"asr_{TAG}"
    proc = subprocess.Popen(
        ["./asr.sh", *COMMON, "--stage", "11", "--stop_stage", "11"],
        cwd=recipe, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=as_terminal_job,
    )
    deadline = time.time() + 120
    while not (exp / "latest.pth").is_symlink() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    tree = descendants(proc.pid)  # asr.sh, espnet2.bin.launch, run.pl, the trainer...
    os.killpg(proc.pid, signal.SIGINT)
    logs["interrupt_exit"] = proc.wait(timeout=60)
    logs["interrupt_tree"] = tree
    logs["survivors"] = wait_until_gone({p.pid for p in tree}, {p.pgid for p in tree}, timeout=10)
    logs["epochs_before_resume"] = sorted(p.name for p in exp.glob("*epoch.pth"))
    logs["resume"] = asr(recipe, env, "--stage", "11", "--stop_stage", "13")
    return recipe, env, logs


def test_ctrl_c_in_training_leaves_no_process_behind(trained_recipe) -> None:
    _, _, logs = trained_recipe
    assert logs["interrupt_exit"] == 130
    assert any("espnet_mixrep.bin.asr_train" in p.cmdline for p in logs["interrupt_tree"])
    assert not logs["survivors"], logs["survivors"]


def test_stages_1_to_13_resume_after_interruption(trained_recipe) -> None:
    recipe, _, logs = trained_recipe
    exp = recipe / "exp" / f"asr_{TAG}"
    # The interrupted run had finished epoch 1 only; the rerun resumed from it.
    assert "3epoch.pth" not in logs["epochs_before_resume"]
    train_log = (exp / "train.log").read_text()
    assert f"The training was resumed using {exp.relative_to(recipe)}/checkpoint.pth" in train_log
    assert "took over the lock of a trainer that is gone" in train_log  # the stopped trainer's record
    assert "1epoch results" not in train_log and "3epoch results" in train_log
    assert (exp / "train.1.log").exists()  # the interrupted run's log, rotated by espnet2.bin.launch
    assert (exp / "valid.acc.ave.pth").exists()
    # Stage 12-13 outputs: every test utterance decoded and scored; RESULTS.md has the row.
    decode = exp / "decode_tiny_asr_model_valid.acc.ave" / "test"
    assert sorted(read_kaldi_map(decode / "text", allow_empty_value=True)) == sorted(
        read_kaldi_map(recipe / "dump" / "raw" / "test" / "text")
    )
    assert "Sum/Avg" in (decode / "score_wer" / "result.txt").read_text()
    results = (recipe / "exp" / "RESULTS.md").read_text()
    assert f"|asr_{TAG}|decode_tiny_asr_model_valid.acc.ave|test|6|" in results
    assert "Stage 12" in logs["resume"].stdout and "decoded" in logs["resume"].stdout


def test_rerunning_finished_stages_is_an_identical_redo(trained_recipe) -> None:
    recipe, env, _ = trained_recipe
    outputs = sorted((recipe / "dump" / "raw").rglob("*")) + [recipe / "data" / "en_token_list" / "bpe_unigram20" / "tokens.txt"]
    files = [p for p in outputs if p.is_file()]
    before = digest(files)
    asr(recipe, env, "--stage", "1", "--stop_stage", "5")
    assert digest(files) == before
    # A finished training: the trainer loads the last checkpoint, trains no
    # epoch and averages the same models again.
    exp = recipe / "exp" / f"asr_{TAG}"
    model_before = (exp / "valid.acc.ave.pth").read_bytes()
    asr(recipe, env, "--stage", "11", "--stop_stage", "11")
    assert "already reached at max_epoch" in (exp / "train.log").read_text()
    assert (exp / "valid.acc.ave.pth").read_bytes() == model_before


def test_pack_decode_in_fresh_process_and_upload(trained_recipe, tmp_path: Path) -> None:
    recipe, env, _ = trained_recipe
    target = tmp_path / "hub" / "user__fsdd_tiny"
    asr(recipe, env, "--stage", "14", "--stop_stage", "15", "--skip_upload_hf", "false", "--hf_repo", target.as_uri())
    packed = recipe / "exp" / f"asr_{TAG}" / f"asr_{TAG}_valid.acc.ave.zip"
    assert packed.is_file() and not list(packed.parent.glob("*.tmp.zip"))
    wav = read_kaldi_map(recipe / "dump" / "raw" / "test" / "wav.scp")
    first_wav = wav[sorted(wav)[0]]
    # A fresh interpreter, outside the recipe, with only the start-up hook to
    # register our classes: the zip, then the hub layout through
    # espnet_model_zoo's own snapshot-unpacking code.
    script = f"""
import soundfile
from espnet2.bin.asr_inference import Speech2Text
from espnet_model_zoo.downloader import ModelDownloader
speech, rate = soundfile.read({first_wav!r})
s2t = Speech2Text.from_pretrained({str(packed)!r}, ctc_weight=1.0, beam_size=1, maxlenratio=-8.0)
print("ENCODER", type(s2t.asr_model.encoder).__name__)
print("ZIP", s2t(speech)[0][0])
paths = ModelDownloader._unpack_cache_dir_for_huggingfase({str(target)!r})
s2t = Speech2Text(**paths, ctc_weight=1.0, beam_size=1, maxlenratio=-8.0)
print("HUB", s2t(speech)[0][0])
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if line.split(" ", 1)[0] in ("ENCODER", "ZIP", "HUB"))
    assert lines["ENCODER"] == "MixRepConformerEncoder"
    assert lines["ZIP"] == lines["HUB"]
    assert (target / "meta.yaml").is_file() and "Speech2Text.from_pretrained" in (target / "README.md").read_text()


def _packed_model(recipe: Path, env: Dict[str, str]) -> Path:
    packed = recipe / "exp" / f"asr_{TAG}" / f"asr_{TAG}_valid.acc.ave.zip"
    if not packed.is_file():
        asr(recipe, env, "--stage", "14", "--stop_stage", "14")
    return packed


def test_hub_upload_without_a_token_stops_before_any_stage(trained_recipe, tmp_path: Path) -> None:
    recipe, env, _ = trained_recipe
    packed = _packed_model(recipe, env)
    before = hashlib.sha256(packed.read_bytes()).hexdigest(), packed.stat().st_mtime_ns
    no_login = {k: v for k, v in env.items() if not k.startswith("HF_")}
    no_login["HF_HOME"] = str(tmp_path / "hf_home")
    out = asr(recipe, no_login, "--stage", "14", "--stop_stage", "15", "--skip_upload_hf", "false",
              "--hf_repo", "me/fsdd_tiny", check=False)  # fmt: skip
    assert out.returncode != 0
    assert "ERROR: me/fsdd_tiny: no Hugging Face token found; log in with `huggingface-cli login`" in out.stderr
    assert "Stage 14" not in out.stdout  # refused before the first stage ran
    assert (hashlib.sha256(packed.read_bytes()).hexdigest(), packed.stat().st_mtime_ns) == before


DECODE = """
import json, sys, soundfile
from espnet2.bin.asr_inference import Speech2Text
speech, rate = soundfile.read(sys.argv[2])
s2t = Speech2Text.from_pretrained(sys.argv[1], beam_size=4, ctc_weight=0.3, nbest=1)
text, _, _, hyp = s2t(speech)[0]
print("RESULT", json.dumps({"encoder": type(s2t.asr_model.encoder).__name__, "model": type(s2t.asr_model).__name__,
                            "text": text, "score": float(hyp.score)}))
"""


def test_exported_model_decodes_the_same_in_espnet_without_the_plugin(
    trained_recipe, fsdd_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import json
    import sysconfig

    import yaml

    from espnet_mixrep.bin.export_plain import main as export_plain

    recipe, env, _ = trained_recipe
    packed = _packed_model(recipe, env)
    export_plain(["--packed", str(packed), "--output_dir", str(tmp_path / "plain")])
    plain_zip = Path(capsys.readouterr().out.strip().splitlines()[-1])  # ESPnet's imports print too
    config = yaml.safe_load((tmp_path / "plain" / "config.yaml").read_text())
    assert config["encoder"] == "conformer" and config["model"] == "espnet"
    assert not [k for k in config["encoder_conf"] if k.startswith("mix_")]
    wav = fsdd_dir / "recordings" / "5_nicolas_3.wav"  # an FSDD recording of the unseen test speaker

    def decode(packed_zip: Path, *python_flags: str, prelude: str = "") -> dict:
        clean = {k: v for k, v in env.items() if k != "PYTHONPATH"}
        out = subprocess.run([sys.executable, *python_flags, "-c", prelude + DECODE, str(packed_zip), str(wav)],
                             cwd=tmp_path, env=clean, capture_output=True, text=True)  # fmt: skip
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(next(line for line in out.stdout.splitlines() if line.startswith("RESULT "))[7:])

    # The MixRep model, in an interpreter where the start-up hook registers our classes.
    mixrep = decode(packed)
    assert (mixrep["encoder"], mixrep["model"]) == ("MixRepConformerEncoder", "MixRepASRModel")
    # Stock ESPnet: "python -S" skips site-packages' .pth files, so neither the hook
    # nor the editable install of espnet-mixrep is there; the venv's packages are added by hand.
    site_packages = sysconfig.get_paths()["purelib"]
    without_plugin = f"""
import importlib.util, sys
sys.path.append({site_packages!r})
assert importlib.util.find_spec("espnet_mixrep") is None, "espnet-mixrep is importable"
from espnet2.bin.asr_inference import Speech2Text
try:
    Speech2Text.from_pretrained({str(packed)!r})
    raise AssertionError("stock ESPnet loaded the MixRep model")
except (SystemExit, ValueError, KeyError) as exc:
    print("REFUSED", exc)
"""
    plain = decode(plain_zip, "-S", prelude=without_plugin)
    assert (plain["encoder"], plain["model"]) == ("ConformerEncoder", "ESPnetASRModel")
    assert plain["text"] == mixrep["text"] and plain["score"] == pytest.approx(mixrep["score"], abs=1e-4)


def test_missing_fsdd_folder_stops_stage_1(fsdd_dir: Path, tmp_path: Path) -> None:
    recipe = make_recipe_copy(tmp_path)
    env = recipe_env(tmp_path / "nowhere")
    out = asr(recipe, env, "--stage", "1", "--stop_stage", "1", check=False)
    assert out.returncode != 0
    assert f"ERROR: {tmp_path / 'nowhere' / 'recordings'}: FSDD folder not found" in out.stderr
    assert not (recipe / "data" / "train").exists()


def test_mismatched_ids_stop_stage_3(fsdd_dir: Path, tmp_path: Path) -> None:
    recipe = make_recipe_copy(tmp_path)
    env = recipe_env(fsdd_dir)
    asr(recipe, env, "--stage", "1", "--stop_stage", "1")
    text = recipe / "data" / "test" / "text"
    text.write_text(text.read_text().replace("nicolas-test00001", "nicolas-test99999"))
    out = asr(recipe, env, "--stage", "3", "--stop_stage", "3", check=False)
    assert out.returncode != 0
    assert "utterance ids do not match" in out.stderr and str(Path("data") / "test" / "text") in out.stderr
