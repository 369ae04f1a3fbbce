"""ESPnet's classification trainer with espnet-mixrep's classes.

Same options as ``python -m espnet2.bin.cls_train`` (collect-stats included),
plus ``--encoder envnet_v2`` and ``--model speechmix``: it runs
``SpeechMixCLSTask`` (ESPnet's CLSTask with its own ``--model`` choices, see
espnet_mixrep/speechmix/task.py).
"""

from typing import List, Optional

from espnet_mixrep.registration import register_all


def main(cmd: Optional[List[str]] = None) -> None:
    register_all()
    from espnet_mixrep.speechmix.task import SpeechMixCLSTask

    SpeechMixCLSTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
