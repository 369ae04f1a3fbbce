"""ESPnet's classification trainer with espnet-mixrep's classes.

Same options as ``python -m espnet2.bin.cls_train`` (collect-stats included),
plus ``--encoder envnet_v2`` and ``--model speechmix``: it runs
``SpeechMixCLSTask`` (ESPnet's CLSTask with its own ``--model`` choices, see
espnet_mixrep/speechmix/task.py) behind the guard of
:mod:`espnet_mixrep.stages.training`.
"""

from typing import List, Optional

from espnet_mixrep.registration import register_all

register_all()  # at import: DDP workers spawned by ESPnet re-import this module

from espnet_mixrep.stages.training import ResumeSafeTrainer, run_training  # noqa: E402
from espnet_mixrep.speechmix.task import SpeechMixCLSTask  # noqa: E402


class GuardedCLSTask(SpeechMixCLSTask):
    """SpeechMixCLSTask with the resume-safe trainer (a module-level class: spawned workers unpickle it)."""

    trainer = ResumeSafeTrainer


def main(cmd: Optional[List[str]] = None) -> None:
    run_training(GuardedCLSTask, cmd)


if __name__ == "__main__":
    main()
