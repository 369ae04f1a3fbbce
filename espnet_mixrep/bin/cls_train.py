"""ESPnet's classification trainer with espnet-mixrep's classes registered.

Same options as ``python -m espnet2.bin.cls_train`` (collect-stats included),
plus ``--encoder envnet_v2`` and ``--model speechmix`` (CLSTask patched to
honour ``--model``, see espnet_mixrep/speechmix/task.py).
"""

from typing import List, Optional

from espnet_mixrep.registration import register_all


def main(cmd: Optional[List[str]] = None) -> None:
    register_all()
    from espnet2.tasks.cls import CLSTask

    CLSTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
