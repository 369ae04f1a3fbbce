"""espnet-mixrep: an ESPnet plugin for low-resource speech (MixRep, SpeechMix,
Learn2Diss, layer-wise analysis) with Kaldi-style recipes."""

import ast
import os

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

# ESPnet has no plugin mechanism: this .pth file, placed in site-packages,
# installs an import hook that registers our classes whenever ESPnet's task
# modules load (see espnet_mixrep/_import_hook.py).
HOOK_PTH = "espnet_mixrep_hook.pth"
HERE = os.path.dirname(os.path.abspath(__file__))


class BuildPyWithHook(build_py):
    """Regular wheels: ship the .pth at the root of purelib (= site-packages)."""

    def run(self) -> None:
        super().run()
        self.copy_file(os.path.join(HERE, HOOK_PTH), os.path.join(self.build_lib, HOOK_PTH))

    def get_outputs(self, include_bytecode: bool = True):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, HOOK_PTH)]


class EditableWheelWithHook(editable_wheel):
    """Editable installs (pip install -e .): add the same .pth to the editable wheel."""

    def _select_strategy(self, name, tag, build_lib):
        return _StrategyWithHook(super()._select_strategy(name, tag, build_lib))


class _StrategyWithHook:
    def __init__(self, inner) -> None:
        self._inner = inner

    def __call__(self, wheel, files, mapping) -> None:
        self._inner(wheel, files, mapping)
        with open(os.path.join(HERE, HOOK_PTH), "rb") as hook:
            wheel.writestr(HOOK_PTH, hook.read())

    def __enter__(self):
        self._inner.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._inner.__exit__(*exc)


with open(os.path.join(HERE, "README.md"), encoding="utf-8") as readme:
    long_description = readme.read()


def supported_espnet() -> str:
    """SUPPORTED_ESPNET of espnet_mixrep/registration.py, read without importing the package."""
    with open(os.path.join(HERE, "espnet_mixrep", "registration.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["SUPPORTED_ESPNET"]:
            return ast.literal_eval(node.value)
    raise RuntimeError("espnet_mixrep/registration.py: SUPPORTED_ESPNET not found")


setup(
    name="espnet-mixrep",
    version="0.1.0",
    description=__doc__.strip().splitlines()[0],
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=find_packages(include=["espnet_mixrep", "espnet_mixrep.*"]),
    include_package_data=True,
    install_requires=[
        # The tested range (espnet_mixrep/registration.py); constraints.txt pins the exact versions.
        "espnet" + supported_espnet(),
        "torch>=2.1",
        "torchaudio>=2.1",
        "sentencepiece",
        "pyyaml",
        "jiwer>=3.0",
        # ESPnet's trainer imports these, but its base requirements omit them.
        "tensorboard",
        "matplotlib",
        # Speech2Text.from_pretrained(<zip or hub repo>) and the upload stage.
        "espnet_model_zoo",
        "huggingface_hub",
        # MiniBatchKMeans for the layer-wise MI analysis and Learn2Diss labels.
        "scikit-learn",
        # ESPnet 202511's classification model imports it (not in espnet's requirements).
        "torcheval",
        # The compiled shorten decoder (ESPnet already brings it in, through librosa).
        "numba",
    ],
    extras_require={"test": ["pytest"]},
    cmdclass={"build_py": BuildPyWithHook, "editable_wheel": EditableWheelWithHook},
)
