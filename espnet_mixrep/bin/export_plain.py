"""Export a MixRep ASR experiment or packed zip for stock ESPnet (no plugin needed).

    python -m espnet_mixrep.bin.export_plain --packed exp/asr_x/asr_x_valid.acc.ave.zip --output_dir exp/asr_x/plain
    python -m espnet_mixrep.bin.export_plain --asr_exp exp/asr_x [--inference_asr_model valid.acc.ave.pth] --output_dir DIR

Writes DIR/config.yaml (encoder: conformer, model: espnet, no mix_* options)
and DIR/<zip name>_plain.zip, which ``Speech2Text.from_pretrained`` loads in
an ESPnet without espnet-mixrep and decodes exactly as the MixRep model does.
Run it from the recipe directory (the config's paths are relative to it).
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from espnet_mixrep.bin import exit_on_user_error


@exit_on_user_error
def main(cmd: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m espnet_mixrep.bin.export_plain", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--packed", help="a zip made by asr.sh stage 14 (espnet2.bin.pack asr)")
    source.add_argument("--asr_exp", help="an ASR experiment directory (config.yaml and the model file)")
    parser.add_argument("--inference_asr_model", default="valid.acc.ave.pth", help="model file of --asr_exp")
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args(cmd)

    from espnet_mixrep.mixrep.export import export_plain_exp, export_plain_zip
    
    if args.packed:
        config, packed = export_plain_zip(args.packed, args.output_dir)
    else:
        config, packed = export_plain_exp(args.asr_exp, args.inference_asr_model, args.output_dir)
    print(f"stock ESPnet config: {config}", file=sys.stderr)
    print(packed)


if __name__ == "__main__":
    main()
