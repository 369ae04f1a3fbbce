"""One convention for every recipe driver: the same option parser (with a
pass-through mode for the run.sh wrappers), the same path.sh and cmd.sh, and
one launch_training (espnet2.bin.launch) for asr.sh, cls.sh and the ssl1 run.sh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

REPO = Path(__file__).resolve().parent.parent
UTILS = REPO / "egs2" / "TEMPLATE" / "asr1" / "utils"
RECIPES = sorted(p.parent for p in REPO.glob("egs2/*/*/run.sh"))


def bash(script: str, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script, "driver.sh", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


PARSE = f"""set -euo pipefail
stage=1
use_lm=true
name_with_default=abc
"""


def test_passthrough_collects_unknown_options_in_order() -> None:
    proc = bash(PARSE + f"""rest=(); passthrough_opts=rest
. {UTILS}/parse_options.sh
printf '%s|' "$stage" "$use_lm" "$name_with_default" "${{rest[@]}}" "$#" "$@"
""", "--ngpu", "1", "--stage", "4", "--asr-config=conf/a b.yaml", "--use_lm", "false", "--x", "", "pos")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "4|false|abc|--ngpu|1|--asr_config|conf/a b.yaml|--x||1|pos|"


@pytest.mark.parametrize("args, message", [
    (["--use_lm", "yes"], "option --use_lm takes true or false, got 'yes'"),
    (["--ngpu"], "option --ngpu needs a value"),
    (["--rest", "1"], None),  # the array's own name is passed on, never overwritten
])
def test_passthrough_keeps_the_checks_of_declared_options(args: List[str], message) -> None:
    proc = bash(PARSE + f"""rest=(); passthrough_opts=rest
. {UTILS}/parse_options.sh
printf '%s|' "${{rest[@]}}"
""", *args)
    if message is None:
        assert proc.returncode == 0 and proc.stdout == "--rest|1|", proc.stderr
    else:
        assert proc.returncode == 1 and message in proc.stderr


def test_without_passthrough_an_unknown_option_is_an_error() -> None:
    proc = bash(PARSE + f". {UTILS}/parse_options.sh\necho parsed", "--ngpu", "1")
    assert proc.returncode == 1 and "invalid option --ngpu" in proc.stderr and "parsed" not in proc.stdout


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: str(p.relative_to(REPO / "egs2")))
def test_every_recipe_shares_path_sh_cmd_sh_and_the_parser(recipe: Path) -> None:
    for name in ("path.sh", "cmd.sh", "utils/parse_options.sh", "utils/driver_helpers.sh"):
        assert (recipe / name).resolve() == (REPO / "egs2" / "TEMPLATE" / "asr1" / name).resolve(), f"{recipe / name}"
    for script in [recipe / "run.sh", *sorted((recipe / "local").glob("*.sh"))]:
        text = script.read_text()
        # An option parser of its own would be a seventh convention.
        assert 'case "$1"' not in text, f"{script}: parses its options itself (use utils/parse_options.sh)"


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: str(p.relative_to(REPO / "egs2")))
def test_every_run_sh_rejects_a_stray_argument(recipe: Path) -> None:
    proc = subprocess.run(["./run.sh", "stray"], cwd=recipe, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "stray" in proc.stderr, proc.stderr[-2000:]


# A trainer behind espnet2.bin.launch: records its arguments, prints an epoch line
# as ESPnet's trainer does, and fails when asked.
TRAINER = """
import json, os, sys
out = sys.argv[sys.argv.index("--output_dir") + 1]
os.makedirs(out, exist_ok=True)
json.dump(sys.argv[1:], open(os.path.join(out, "argv.json"), "w"))
print("INFO: 1epoch results: [train] loss=1.0", flush=True)
if os.environ.get("TRAINER_FAILS"):
    print("ERROR: the trainer was told to fail", file=sys.stderr)
    sys.exit(3)
"""


@pytest.mark.parametrize("fails", [False, True])
def test_launch_training_runs_the_entry_point_through_espnet_launch(tmp_path: Path, fails: bool) -> None:
    (tmp_path / "fake_trainer.py").write_text(TRAINER)
    # utils/run.pl runs the python on PATH: the environment's, as path.sh sets it up in a recipe.
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    if fails:
        env["TRAINER_FAILS"] = "1"
    script = f"""set -euo pipefail
log() {{ echo "LOG $*"; }}
. {UTILS}/driver_helpers.sh
python={sys.executable}; cuda_cmd={UTILS}/run.pl; ngpu=0; num_nodes=1; retrain=false
run_args="./asr.sh --stage 11"
launch_training {tmp_path}/exp/asr_x fake_trainer --config c.yaml --seed 3 || {{ echo "RC $?"; exit 0; }}
echo OK
"""
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    exp = tmp_path / "exp" / "asr_x"
    assert (exp / "argv.json").is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    argv = json.loads((exp / "argv.json").read_text())
    assert argv[:6] == ["--resume", "true", "--retrain", "false", "--output_dir", str(exp)]
    assert argv[6:10] == ["--config", "c.yaml", "--seed", "3"]
    assert argv[10:] == ["--ngpu", "0", "--multiprocessing_distributed", "True"]  # added by espnet2.bin.launch
    assert (exp / "run.sh").read_text() == "./asr.sh --stage 11\n"
    assert "epoch results" in (exp / "train.log").read_text()
    if fails:
        assert "RC 1" in proc.stdout and f"ERROR: training failed; see {exp}/train.log" in proc.stdout
        assert "the trainer was told to fail" in proc.stdout
    else:
        assert proc.stdout.rstrip().endswith("OK")
