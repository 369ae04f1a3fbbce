"""ESPnet's classification inference with espnet-mixrep's classes registered.

Same options as ``python -m espnet2.bin.cls_inference``; a ``speechmix`` model
averages its softmax over the test crops inside ``score()``.
"""

from typing import List, Optional

from espnet_mixrep.registration import register_all


def main(cmd: Optional[List[str]] = None) -> None:
    register_all()
    from espnet2.bin.cls_inference import main as espnet_main

    espnet_main(cmd)


if __name__ == "__main__":
    main()
