"""ESPnet's ASR trainer with espnet-mixrep's classes registered.

Same options as ``python -m espnet2.bin.asr_train`` (collect-stats included);
our choices (``encoder: mixrep_conformer``, ``model: mixrep``...) are added.
"""

from typing import List, Optional

from espnet_mixrep.registration import register_all


def main(cmd: Optional[List[str]] = None) -> None:
    register_all()
    from espnet2.tasks.asr import ASRTask

    ASRTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
