"""ESPnet's LM trainer (``python -m espnet2.bin.lm_train``'s options) behind the
guard of :mod:`espnet_mixrep.stages.training` (experiment lock, checkpoint
recovery, config-drift check, ``--retrain true``); asr.sh stage 7 uses it.
"""

from typing import List, Optional

from espnet2.tasks.lm import LMTask

from espnet_mixrep.stages.training import ResumeSafeTrainer, run_training


class GuardedLMTask(LMTask):
    """LMTask with the resume-safe trainer (a module-level class: spawned workers unpickle it)."""

    trainer = ResumeSafeTrainer


def main(cmd: Optional[List[str]] = None) -> None:
    run_training(GuardedLMTask, cmd)


if __name__ == "__main__":
    main()
