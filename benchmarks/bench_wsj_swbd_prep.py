"""Stages 1-5 of the WSJ and Switchboard recipes on the generated LDC-layout
corpora of the tests (target: under 2 minutes each). The SPHERE decoder's
own speed: benchmarks/bench_sphere_decode.py.

    python benchmarks/bench_wsj_swbd_prep.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from ldc_fixtures import make_swbd_corpus, make_wsj_corpus  # noqa: E402
from recipe_runner import run_recipe, scratch_recipe  # noqa: E402

TARGET_S = 120.0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        wsj = make_wsj_corpus(root / "wsj_ldc")
        recipe = scratch_recipe("wsj_mixrep", root / "wsj")
        wall, cpu, _ = run_recipe(
            recipe, ["--wsj0", str(wsj.wsj0), "--wsj1", str(wsj.wsj1), "--stage", "1", "--stop_stage", "5", "--nj", "1", "--ngpu", "0"],
            "stages_1_5.log",
        )  # fmt: skip
        n_wsj = len({u for texts in wsj.expected.values() for u in texts})
        print(f"WSJ  stages 1-5 ({n_wsj} utterances): {wall:6.1f} s wall, {cpu:6.1f} s CPU, {wall / TARGET_S:.2f} of the 2-minute target")
        swbd = make_swbd_corpus(root / "swbd_ldc")
        recipe = scratch_recipe("swbd_mixrep", root / "swbd")
        wall, cpu, _ = run_recipe(
            recipe,
            ["--swbd", str(swbd.swbd), "--eval2000_speech", str(swbd.eval2000_speech), "--eval2000_text", str(swbd.eval2000_text),
             "--dev_utts", "4", "--subsets", "train_40h:0.002,train_80h:0.004", "--stage", "1", "--stop_stage", "5",
             "--nj", "1", "--ngpu", "0", "--speed_perturb_factors", "", "--nbpe", "40"],
            "stages_1_5.log",
        )  # fmt: skip
        n_swbd = len(swbd.train_texts) + len(swbd.eval_utts)
        print(f"SWBD stages 1-5 ({n_swbd} utterances): {wall:6.1f} s wall, {cpu:6.1f} s CPU, {wall / TARGET_S:.2f} of the 2-minute target")


if __name__ == "__main__":
    main()
