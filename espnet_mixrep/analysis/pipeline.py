"""The whole analysis: check inputs, extract every layer, score, write table and plot."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from espnet_mixrep.analysis.extract import (
    AudioSource,
    LayerExtractor,
    ModelSpecError,
    build_extractor,
    extract_unit_representations,
    parse_model_spec,
    resolve_layers,
)
from espnet_mixrep.analysis.labels import LabelError, LabelSet, check_units_against_data, load_label_set
from espnet_mixrep.analysis.mutual_info import kmeans_mutual_info
from espnet_mixrep.analysis.pwcca import EPSILON_GRID, pwcca_against_labels
from espnet_mixrep.analysis.report import plot_layerwise, write_table


@dataclass
class AnalysisOptions:
    layers: Optional[List[int]] = None  # None: every layer of every model
    n_parts: int = 10
    n_trials: int = 3
    n_seeds: int = 3
    seed: int = 0
    epsilons: Sequence[float] = EPSILON_GRID
    max_units: Optional[int] = None  # per label set, random subset for speed
    metrics: Sequence[str] = field(default_factory=lambda: ("pwcca", "nmi"))


def load_label_sets(label_specs: Sequence[str], audio: AudioSource, options: AnalysisOptions) -> List[LabelSet]:
    """Read, subsample and check every label set against the data directory."""
    durations = audio.durations()
    label_sets = []
    for spec in label_specs:
        label_set = load_label_set(spec)
        if any(other.name == label_set.name for other in label_sets):
            raise LabelError(f"two label sets are named {label_set.name!r}")
        check_units_against_data(label_set, durations)
        if options.max_units is not None and len(label_set.units) > options.max_units:
            rng = np.random.default_rng(options.seed)
            keep = np.sort(rng.choice(len(label_set.units), options.max_units, replace=False))
            label_set.units = [label_set.units[i] for i in keep]
        counts = Counter(unit.label for unit in label_set.units)
        if len(counts) < 2:
            raise LabelError(f"{label_set.source}: label set {label_set.name!r} has only one label ({list(counts)})")
        if len(label_set.units) < 2 * options.n_parts:
            raise LabelError(
                f"{label_set.source}: label set {label_set.name!r} has {len(label_set.units)} units; "
                f"the {options.n_parts}-part split needs at least {2 * options.n_parts}"
            )
        n_train = len(label_set.units) * (options.n_parts - 2) // options.n_parts
        if label_set.n_clusters is not None and not 2 <= label_set.n_clusters <= n_train:
            raise LabelError(
                f"label set {label_set.name!r}: k={label_set.n_clusters} clusters, but k-means needs "
                f"between 2 and the {n_train} training units"
            )
        label_sets.append(label_set)
    return label_sets


def score_model(
    extractor: LayerExtractor,
    audio: AudioSource,
    label_sets: Sequence[LabelSet],
    layers: Sequence[int],
    options: AnalysisOptions,
) -> List[Dict]:
    started = time.time()
    representations = extract_unit_representations(extractor, audio, label_sets, layers)
    logging.info("%s: representations extracted in %.1f s", extractor.name, time.time() - started)
    label_set_by_name = {label_set.name: label_set for label_set in label_sets}
    rows: List[Dict] = []
    for pooled in representations:
        n_classes = len(set(pooled.labels))
        k_override = label_set_by_name[pooled.label_set].n_clusters
        for layer, matrix in pooled.layers.items():
            common = dict(
                model=extractor.name,
                labels=pooled.label_set,
                layer=layer,
                layer_name=extractor.layers[layer].name,
                n_units=len(pooled.labels),
                n_classes=n_classes,
            )
            if "pwcca" in options.metrics:
                result = pwcca_against_labels(
                    matrix, pooled.labels, options.n_parts, options.n_trials, options.epsilons, options.seed
                )
                rows.append(
                    dict(
                        common,
                        metric="pwcca",
                        mean=result.mean,
                        spread=result.spread,
                        n=len(result.test_scores),
                        scores=result.test_scores,
                        dev_scores=result.dev_scores,
                        epsilons=[list(pair) for pair in result.epsilons],
                    )
                )
            if "nmi" in options.metrics:
                result = kmeans_mutual_info(
                    matrix, pooled.labels, k_override, options.n_seeds, options.n_parts, options.seed
                )
                for metric, mean, spread, scores in (
                    ("nmi", result.mean, result.spread, result.scores),
                    ("nmi_chance", result.chance_mean, result.chance_spread, result.chance_scores),
                ):
                    rows.append(
                        dict(
                            common,
                            metric=metric,
                            mean=mean,
                            spread=spread,
                            n=len(scores),
                            scores=scores,
                            n_clusters=result.n_clusters,
                        )
                    )
            logging.info(
                "%s %s layer %d: %s",
                extractor.name,
                pooled.label_set,
                layer,
                ", ".join(f"{row['metric']}={row['mean']:.3f}" for row in rows if row["layer"] == layer and row["labels"] == pooled.label_set),
            )
    logging.info("%s: scored in %.1f s in all", extractor.name, time.time() - started)
    return rows


def run_layer_analysis(
    model_specs: Sequence[str],
    data_dir: Path,
    label_specs: Sequence[str],
    output_dir: Path,
    options: AnalysisOptions = AnalysisOptions(),
) -> List[Dict]:
    """Analyse every model; write layer_analysis.{csv,json,png} into output_dir.

    All inputs are checked (specs, labels against the data, layers against
    every model) before any representation is extracted; outputs appear only
    when everything has been scored.
    """
    if not model_specs:
        raise ModelSpecError("no models to analyse")
    if not label_specs:
        raise LabelError("no label sets given")
    if not options.metrics or set(options.metrics) - {"pwcca", "nmi"}:
        raise ValueError(f"metrics must be a non-empty subset of pwcca, nmi; got {list(options.metrics)}")
    if options.n_parts < 2 or not 1 <= options.n_trials <= options.n_parts // 2 or options.n_seeds < 1:
        raise ValueError(
            f"need n_parts >= 2, 1 <= n_trials <= n_parts / 2 and n_seeds >= 1; got "
            f"{options.n_parts}, {options.n_trials}, {options.n_seeds}"
        )
    names = [parse_model_spec(spec)["name"] for spec in model_specs]
    if len(set(names)) != len(names):
        raise ModelSpecError(f"model names must be distinct, got {names}")
    audio = AudioSource(Path(data_dir))
    label_sets = load_label_sets(label_specs, audio, options)
    extractors = [build_extractor(spec) for spec in model_specs]
    layers = {extractor.name: resolve_layers(extractor, options.layers) for extractor in extractors}
    rows: List[Dict] = []
    for extractor in extractors:
        rows.extend(score_model(extractor, audio, label_sets, layers[extractor.name], options))
    output_dir = Path(output_dir)
    write_table(rows, output_dir / "layer_analysis.csv", output_dir / "layer_analysis.json")
    plot_layerwise(rows, output_dir / "layer_analysis.png")
    return rows
