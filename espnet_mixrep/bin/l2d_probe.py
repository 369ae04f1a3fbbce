"""Linear probes on extracted Learn2Diss representations: digit and speaker accuracy.

For each run: a logistic-regression probe is fitted on the train set's
``frames`` and ``utterance`` vectors and scored on the test set, once with the
digit (text) and once with the speaker (utt2spk) as target. CLUB is reported
twice: with the run's own q (as trained alongside the encoders) and with a q
refitted to convergence on the frozen train-set pairs (a q that lagged behind
the encoders during joint training can under-estimate; the refit cannot be
fooled that way). Prints a markdown table and writes it, plus JSON (with each
probe's per-utterance correctness, for intervals over utterances), to --out_dir. Example::

    python -m espnet_mixrep.bin.l2d_probe --train_data data/train --test_data data/test \\
        --run no_mi=exp/l2d_nomi/emb --run mi=exp/l2d_joint/emb --out_dir exp/probe
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import List, Optional, Tuple

from espnet_mixrep.core.datadir import write_text_atomic
from espnet_mixrep.learn2diss.probes import probe_run, probe_table

def parse_run(spec: str) -> Tuple[str, Path]:
    name, sep, path = spec.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"--run expects NAME=EMB_DIR, got '{spec}'")
    return name, Path(path)


def main(cmd: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train_data", type=Path, required=True)
    parser.add_argument("--test_data", type=Path, required=True)
    parser.add_argument("--run", type=parse_run, action="append", required=True, help="NAME=EMB_DIR (train.npz, test.npz)")
    parser.add_argument("--out_dir", type=Path, required=True)
    args = parser.parse_args(cmd)

    results = [probe_run(name, emb_dir, args.train_data, args.test_data) for name, emb_dir in args.run]
    table = probe_table(results)
    print(table)
    for file_name, content in (("probe.md", table + "\n"), ("probe.json", json.dumps(results, indent=2))):
        write_text_atomic(args.out_dir / file_name, content)

if __name__ == "__main__":
    main()
