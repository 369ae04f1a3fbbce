"""Registration into ESPnet: the start-up hook, the table, and the installed wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from packaging.specifiers import SpecifierSet

from espnet_mixrep import _import_hook, registration

REPO = Path(__file__).resolve().parent.parent


def test_hook_watches_exactly_the_registered_task_modules():
    assert _import_hook.WATCHED_MODULES == set(registration.REGISTRY)


def test_install_requires_is_the_supported_range_and_holds_the_installed_espnet():
    from importlib.metadata import requires, version

    from packaging.requirements import Requirement

    espnet_req = next(Requirement(r) for r in requires("espnet-mixrep") if Requirement(r).name == "espnet")
    assert espnet_req.specifier == SpecifierSet(registration.SUPPORTED_ESPNET)
    assert version("espnet") in espnet_req.specifier
    pinned = next(line for line in (REPO / "constraints.txt").read_text().split() if line.startswith("espnet=="))
    assert pinned[len("espnet==") :] in espnet_req.specifier  # the exact pin lies in the range


def test_registration_names_the_versions_when_a_private_espnet_api_changed(monkeypatch):
    from importlib.metadata import version

    from espnet2.train.class_choices import ClassChoices

    renamed = ModuleType("espnet2.tasks.asr")  # an ESPnet whose ASR task renamed encoder_choices
    renamed.model_choices = renamed.frontend_choices = ClassChoices("x", classes={})
    with pytest.raises(registration.ESPnetVersionError) as error:
        registration.register_task_module(renamed)
    message = str(error.value)
    assert f"supports espnet{registration.SUPPORTED_ESPNET}" in message and f"installed espnet is {version('espnet')}" in message
    assert "espnet2.tasks.asr.encoder_choices (a ClassChoices or a dict of classes)" in message
    import espnet2.tasks.cls

    monkeypatch.setitem(registration.PRIVATE_API, "espnet2.tasks.cls", ["espnet2.tasks.cls:CLSTask.build_model_v2"])
    with pytest.raises(registration.ESPnetVersionError, match=r"lacks espnet2\.tasks\.cls\.CLSTask\.build_model_v2"):
        registration.register_task_module(espnet2.tasks.cls)


def test_every_registered_class_imports():
    for rows in registration.REGISTRY.values():
        for _, _, class_path in rows:
            assert isinstance(registration._load(class_path), type), class_path


def test_register_all_is_idempotent():
    registration.register_all()
    registration.register_all()
    from espnet2.tasks.asr import encoder_choices, model_choices

    assert list(encoder_choices.classes).count("mixrep_conformer") == 1
    assert model_choices.classes["mixrep"].__name__ == "MixRepASRModel"


def test_fresh_interpreter_sees_choices_without_importing_the_plugin():
    """The .pth hook registers on plain `import espnet2.tasks.asr`, and nothing heavy at start-up."""
    code = (
        "import sys\n"
        "assert 'torch' not in sys.modules and 'espnet2' not in sys.modules, 'start-up imported torch/espnet'\n"
        "import espnet2.tasks.asr as asr, espnet2.tasks.cls as cls, espnet2.tasks.abs_task as abs_task\n"
        "print(sorted(k for k in asr.encoder_choices.classes if k.startswith('mixrep')),"
        " 'mixrep' in asr.model_choices.classes, 'envnet_v2' in cls.encoder_choices.classes,"
        " 'warmup_multisteplr' in abs_task.scheduler_classes)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "['mixrep_conformer', 'mixrep_e_branchformer', 'mixrep_transformer'] True True True" in proc.stdout


@pytest.mark.e2e
def test_wheel_ships_the_startup_hook(tmp_path: Path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("espnet_mixrep-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "espnet_mixrep_hook.pth" in names  # at the root of purelib = site-packages
    assert "espnet_mixrep/mixrep/model.py" in names
    assert zipfile.ZipFile(wheel).read("espnet_mixrep_hook.pth").decode().strip() == "import espnet_mixrep._import_hook"
