"""Result table (CSV + JSON) and layer-wise plot of the analysis."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Dict, Sequence

import numpy as np

from espnet_mixrep.core.datadir import atomic_file

CSV_COLUMNS = ("model", "labels", "layer", "layer_name", "metric", "mean", "spread", "n", "n_units", "n_classes")
METRIC_TITLES = {"pwcca": "PWCCA", "nmi": "MI / H(label)"}


def write_table(rows: Sequence[Dict], csv_path: Path, json_path: Path) -> None:
    """CSV of the summary columns; JSON of the full rows (per-trial scores, chosen ridge values, K)."""
    with atomic_file(csv_path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: (f"{row[key]:.6f}" if isinstance(row[key], float) else row[key]) for key in CSV_COLUMNS})
    with atomic_file(json_path) as f:
        json.dump(list(rows), f, indent=1)


def plot_layerwise(rows: Sequence[Dict], png_path: Path) -> None:
    """One panel per (label set, metric); one line per model with +-spread bars.

    The MI panels also show each model's chance level (same clusters, permuted
    labels) as a dotted line.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    label_sets = list(dict.fromkeys(row["labels"] for row in rows))
    models = list(dict.fromkeys(row["model"] for row in rows))
    metrics = [metric for metric in METRIC_TITLES if any(row["metric"] == metric for row in rows)]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(
        len(label_sets), len(metrics), figsize=(5.2 * len(metrics), 3.6 * len(label_sets)), squeeze=False
    )
    for i, label_set in enumerate(label_sets):
        for j, metric in enumerate(metrics):
            ax = axes[i][j]
            for k, model in enumerate(models):
                colour = colours[k % len(colours)]
                series = _series(rows, model, label_set, metric)
                if not series:
                    continue
                layers, means, spreads, names = series
                ax.errorbar(layers, means, yerr=spreads, marker="o", ms=4, capsize=3, color=colour, label=model)
                chance = _series(rows, model, label_set, f"{metric}_chance")
                if chance:
                    ax.plot(chance[0], chance[1], ls=":", color=colour, lw=1.2, label=f"{model} (chance)")
                ax.set_xticks(layers)
                ax.set_xticklabels(names, rotation=30 if max(len(n) for n in names) > 3 else 0, fontsize=8)
            sizes = next(row for row in rows if row["labels"] == label_set)
            ax.set_title(
                f"{label_set} ({sizes['n_units']} units, {sizes['n_classes']} labels): {METRIC_TITLES[metric]}",
                fontsize=10,
            )
            ax.set_xlabel("layer")
            ax.set_ylim(-0.02, 1.02)
            ax.grid(alpha=0.3)
            if i == 0 and j == len(metrics) - 1:
                ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    try:
        with atomic_file(png_path, binary=True) as f:
            fig.savefig(f, format="png", dpi=120)
    finally:
        plt.close(fig)


def _series(rows: Sequence[Dict], model: str, label_set: str, metric: str):
    selected = sorted(
        (row for row in rows if row["model"] == model and row["labels"] == label_set and row["metric"] == metric),
        key=lambda row: row["layer"],
    )
    if not selected:
        return None
    return (
        [row["layer"] for row in selected],
        np.array([row["mean"] for row in selected]),
        np.array([row["spread"] for row in selected]),
        [row["layer_name"] for row in selected],
    )
