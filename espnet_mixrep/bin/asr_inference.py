"""ESPnet's ASR decoder (``espnet2.bin.asr_inference``) with our classes registered."""

from typing import List, Optional

from espnet_mixrep.registration import register_all


def main(cmd: Optional[List[str]] = None) -> None:
    register_all()
    from espnet2.bin import asr_inference

    asr_inference.main(cmd)


if __name__ == "__main__":
    main()
