"""Layer-wise PWCCA and k-means mutual information of trained models against unit labels.

For every layer of every model: projection-weighted CCA against one-hot
labels (10 label-stratified parts, 3 trials of dev-selected ridge values, mean
test score) and MI(k-means cluster, label) / H(label) over several k-means
seeds, with its chance level. Writes layer_analysis.csv / .json / .png into
--output_dir.

Models (--model, repeatable, comma-separated key=value):
  name=mixrep,config=exp/asr_mixrep/config.yaml,model_file=exp/asr_mixrep/valid.acc.ave.pth
      any ESPnet model (kind=espnet is the default). task=asr by default; another
      espnet2.tasks module (e.g. task=cls) works when its model has
      encode(speech, lengths) and an encoder with an 'encoders' block list.
      fs=16k overrides the sample rate read from the config.
  name=l2d,kind=learn2diss,config=exp/l2d/config.yaml,model_file=exp/l2d/valid.loss.best.pth
  name=hubert,kind=s3prl,upstream=hubert_base        (needs the s3prl package)

Labels (--labels, repeatable, comma-separated key=value):
  name=speaker,utt=data/test/utt2spk           utterance level: 'utt_id label' lines
  name=word,utt=data/test/text                 (the text of single-word utterances)
  name=phone,ctm=exp/ali/phones.ctm,pool=middle_third,top=39
  name=word,textgrid=exp/mfa/,tier=words,top=500
  optional keys: pool=mean|middle_third, exclude=sil:sp:spn (labels to drop;
  silences by default for alignments), top=N (most frequent labels), k=N
  (k-means clusters; default between C and 10 C as the sample allows)
CTM/TextGrid times are seconds from the start of each utterance of --data_dir.

Example:
  python -m espnet_mixrep.bin.layer_analysis --data_dir data/probe \\
      --model name=baseline,config=exp/a/config.yaml,model_file=exp/a/valid.acc.ave.pth \\
      --labels name=word,utt=data/probe/text --labels name=speaker,utt=data/probe/utt2spk \\
      --output_dir exp/layer_analysis
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from espnet_mixrep.analysis.pwcca import EPSILON_GRID


def _int_list(value: str) -> List[int]:
    try:
        return [int(item) for item in value.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}")


def _float_list(value: str) -> List[float]:
    try:
        return [float(item) for item in value.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {value!r}")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_mixrep.bin.layer_analysis",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", action="append", required=True, help="model spec (repeatable; see above)")
    parser.add_argument("--data_dir", type=Path, required=True, help="Kaldi data directory (wav.scp, optional segments)")
    parser.add_argument("--labels", action="append", required=True, help="label set spec (repeatable; see above)")
    parser.add_argument("--output_dir", type=Path, required=True)
    parser.add_argument("--layers", type=_int_list, default=None, help="layer indices, e.g. 0,2,4 (default: all)")
    parser.add_argument("--metrics", default="both", choices=("both", "pwcca", "nmi"), help="which scores to compute")
    parser.add_argument("--n_parts", type=int, default=10, help="label-stratified parts")
    parser.add_argument("--n_trials", type=int, default=3, help="CCA trials (one dev and one test part each)")
    parser.add_argument("--n_seeds", type=int, default=3, help="k-means seeds for the MI")
    parser.add_argument("--epsilons", type=_float_list, default=list(EPSILON_GRID), help="ridge grid (per view)")
    parser.add_argument("--max_units", type=int, default=None, help="random subset of units per label set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num_threads", type=int, default=1, help="torch threads")
    parser.add_argument("--log_level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


def main(cmd: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=args.log_level, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    import torch

    from espnet_mixrep.analysis.extract import ModelSpecError
    from espnet_mixrep.analysis.labels import LabelError
    from espnet_mixrep.analysis.pipeline import AnalysisOptions, run_layer_analysis
    from espnet_mixrep.core.datadir import DataDirError

    torch.set_num_threads(args.num_threads)
    options = AnalysisOptions(
        layers=args.layers,
        n_parts=args.n_parts,
        n_trials=args.n_trials,
        n_seeds=args.n_seeds,
        seed=args.seed,
        epsilons=args.epsilons,
        max_units=args.max_units,
        metrics=("pwcca", "nmi") if args.metrics == "both" else (args.metrics,),
    )
    try:
        run_layer_analysis(args.model, args.data_dir, args.labels, args.output_dir, options)
    except (ModelSpecError, LabelError, DataDirError) as error:
        # Input problems: one clear line instead of a traceback.
        logging.error("%s", error)
        sys.exit(1)
    logging.info("wrote %s/layer_analysis.{csv,json,png}", args.output_dir)


if __name__ == "__main__":
    main()
