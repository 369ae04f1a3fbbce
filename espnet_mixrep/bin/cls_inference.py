"""ESPnet's classification inference for models trained by ``espnet_mixrep.bin.cls_train``.

Same options as ``python -m espnet2.bin.cls_inference``; a ``speechmix`` model
averages its softmax over the test crops inside ``score()``. ESPnet's
inference module builds its model through the name ``CLSTask`` it imported;
this process (only) runs ESPnet's ``main()`` with that name bound to
``SpeechMixCLSTask``, so that ``--model speechmix`` is honoured.
"""

from typing import List, Optional

from espnet_mixrep.registration import register_all


def main(cmd: Optional[List[str]] = None) -> None:
    register_all()
    from espnet2.bin import cls_inference

    from espnet_mixrep.speechmix.task import SpeechMixCLSTask

    stock_task = cls_inference.CLSTask
    cls_inference.CLSTask = SpeechMixCLSTask
    try:
        cls_inference.main(cmd)
    finally:
        cls_inference.CLSTask = stock_task


if __name__ == "__main__":
    main()
