"""Time the layer-wise analysis of FSDD ASR models on CPU (target: under 5 minutes).

Runs the same analysis as egs2/fsdd_mixrep/asr1/local/layer_analysis.sh (all
2000 isolated-digit recordings, word and speaker labels, every layer, PWCCA
with 3 trials x 49 ridge pairs, MI with 3 k-means seeds) and prints the time of
each phase. Usage, from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/layer_analysis_fsdd.py \\
        egs2/fsdd_mixrep/asr1/exp/asr_train_asr_baseline [more exp dirs...]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import torch

from espnet_mixrep.analysis.extract import AudioSource, build_extractor, resolve_layers
from espnet_mixrep.recipes.fsdd_probe import prepare_fsdd_probe
from espnet_mixrep.analysis.pipeline import AnalysisOptions, load_label_sets, score_model
from espnet_mixrep.analysis.report import plot_layerwise, write_table
from espnet_mixrep.recipes.fsdd import resolve_fsdd_dir

BUDGET_S = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exp_dirs", nargs="+", type=Path, help="ASR experiment dirs with config.yaml and a .pth")
    parser.add_argument("--model_file", default="valid.acc.ave.pth")
    parser.add_argument("--fsdd_dir", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    fsdd_dir = resolve_fsdd_dir(args.fsdd_dir, Path(__file__).resolve().parents[1])
    if fsdd_dir is None:
        raise SystemExit("FSDD not found: pass --fsdd_dir or set FSDD_DIR")
    options = AnalysisOptions()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        probe = Path(tmp) / "probe"
        n_utts = prepare_fsdd_probe(fsdd_dir, probe)
        audio = AudioSource(probe)
        label_sets = load_label_sets(
            [f"name=word,utt={probe / 'text'}", f"name=speaker,utt={probe / 'utt2spk'}"], audio, options
        )
        prepared = time.perf_counter()
        rows = []
        per_model = []
        for exp_dir in args.exp_dirs:
            load_start = time.perf_counter()
            extractor = build_extractor(f"name={exp_dir.name},config={exp_dir / 'config.yaml'},model_file={exp_dir / args.model_file}")
            loaded = time.perf_counter()
            rows += score_model(extractor, audio, label_sets, resolve_layers(extractor, None), options)
            per_model.append((exp_dir.name, len(extractor.layers), loaded - load_start, time.perf_counter() - loaded))
        write_table(rows, Path(tmp) / "t.csv", Path(tmp) / "t.json")
        plot_layerwise(rows, Path(tmp) / "t.png")
        total = time.perf_counter() - started
    print(f"probe set: {n_utts} utterances, prepared and checked in {prepared - started:.1f} s")
    for name, n_layers, load_s, score_s in per_model:
        print(f"{name}: {n_layers} layers, model loaded in {load_s:.1f} s, extracted + scored in {score_s:.1f} s")
    print(f"total (without interpreter start-up): {total:.1f} s = {total / BUDGET_S:.2f} x the {BUDGET_S:.0f} s budget")


if __name__ == "__main__":
    main()
