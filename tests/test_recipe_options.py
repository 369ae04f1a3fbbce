"""The driver's options against the differences listed in egs2/TEMPLATE/asr1/README.md
(and ESPnet 202511's asr.sh where it is at hand), and every recipe's --help."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import REPO_ROOT

ASR_SH = REPO_ROOT / "egs2" / "TEMPLATE" / "asr1" / "asr.sh"
README = REPO_ROOT / "egs2" / "TEMPLATE" / "asr1" / "README.md"
ESPNET_ASR_SH = REPO_ROOT.parent / "shared" / "reference" / "espnet-202511" / "asr.sh"
SECTIONS = {
    "same": "Same name and default as ESPnet 202511",
    "changed": "Same name, another default",
    "ours": "Ours only",
    "espnet": "ESPnet 202511's, not provided here",
}


def driver_options(script: Path) -> Dict[str, str]:
    """name -> default of the options a Kaldi-style driver declares before its help message
    (what utils/parse_options.sh accepts as --name)."""
    head = script.read_text().split("\nhelp_message=", 1)[0]
    options = {}
    for line in head.splitlines():
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if match and match.group(1) != "SECONDS":
            value = re.split(r"\s+#", match.group(2), maxsplit=1)[0].strip()
            options[match.group(1)] = shlex.split(value)[0] if value else ""
    return options


def readme_sections() -> Dict[str, List[str]]:
    """section key -> the lines of its ```text block (comments stripped)."""
    text = README.read_text()
    found = {}
    for key, title in SECTIONS.items():
        match = re.search(rf"^### {re.escape(title)}\n\n```text\n(.*?)\n```", text, re.M | re.S)
        assert match, f"{README}: section '### {title}' with a ```text block not found"
        found[key] = [re.split(r"\s+#", line, maxsplit=1)[0].strip() for line in match.group(1).splitlines()]
    return found


def as_defaults(lines: List[str]) -> Dict[str, str]:
    return dict(line.split("=", 1) for line in lines)


def test_readme_lists_every_option_of_the_driver_with_its_default() -> None:
    sections = readme_sections()
    listed = {**as_defaults(sections["same"]), **as_defaults(sections["changed"]), **as_defaults(sections["ours"])}
    assert len(listed) == sum(len(sections[k]) for k in ("same", "changed", "ours")), "an option is listed twice"
    ours = driver_options(ASR_SH)
    assert sorted(set(ours) - set(listed)) == [], f"options of asr.sh missing from {README}"
    assert sorted(set(listed) - set(ours)) == [], f"options in {README} that asr.sh no longer has"
    assert {k: v for k, v in listed.items() if ours[k] != v} == {}, f"defaults in {README} differ from asr.sh"
    assert not set(sections["espnet"]) & set(ours), "an option listed as ESPnet-only is in asr.sh"


def test_readme_espnet_column_matches_espnet_202511() -> None:
    if not ESPNET_ASR_SH.is_file():
        pytest.skip(f"{ESPNET_ASR_SH}: ESPnet 202511's asr.sh not at hand")
    sections = readme_sections()
    espnet = driver_options(ESPNET_ASR_SH)
    same, changed = as_defaults(sections["same"]), as_defaults(sections["changed"])
    assert set(espnet) == set(same) | set(changed) | set(sections["espnet"])
    assert {k: v for k, v in same.items() if espnet[k] != v} == {}
    notes = {line.split("=", 1)[0]: line for line in README.read_text().splitlines() if "# ESPnet 202511:" in line}
    for name in changed:
        assert f"# ESPnet 202511: {espnet[name]}." in notes[name], name
    assert not set(sections["ours"]) & set(espnet)


RUN_SCRIPTS = sorted(REPO_ROOT.glob("egs2/*/*/run.sh"))


@pytest.mark.parametrize("run_sh", RUN_SCRIPTS, ids=lambda p: str(p.parent.relative_to(REPO_ROOT / "egs2")))
def test_every_run_sh_help_exits_0_and_lists_options(run_sh: Path) -> None:
    before = sorted(p.name for p in run_sh.parent.iterdir())
    proc = subprocess.run(["./run.sh", "--help"], cwd=run_sh.parent, capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert "--stage" in out, out[-2000:]
    assert sorted(p.name for p in run_sh.parent.iterdir()) == before  # --help writes nothing


@pytest.mark.parametrize("run_sh", RUN_SCRIPTS, ids=lambda p: str(p.parent.relative_to(REPO_ROOT / "egs2")))
def test_every_path_sh_uses_the_project_venv(run_sh: Path) -> None:
    # A newcomer runs ./run.sh from a plain shell after the README's set-up: the recipe must find .venv itself.
    venv_python = REPO_ROOT / ".venv" / "bin" / "python"
    if not venv_python.exists():
        pytest.skip("no .venv in the repository (installed some other way)")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    proc = subprocess.run(
        ["bash", "-c", ". ./path.sh && python3 -c 'import sys, espnet_mixrep; print(sys.prefix)'"],
        cwd=run_sh.parent, env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert Path(proc.stdout.strip()).resolve() == (REPO_ROOT / ".venv").resolve()
