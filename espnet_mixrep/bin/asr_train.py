"""ESPnet's ASR trainer with espnet-mixrep's classes registered.

Same options as ``python -m espnet2.bin.asr_train`` (collect-stats included);
our choices (``encoder: mixrep_conformer``, ``model: mixrep``...) are added,
and training runs behind the guard of :mod:`espnet_mixrep.stages.training`
(experiment lock, checkpoint recovery, config-drift check, ``--retrain true``).
"""

from typing import List, Optional

from espnet_mixrep.registration import register_all

register_all()  # at import: DDP workers spawned by ESPnet re-import this module

from espnet2.tasks.asr import ASRTask  # noqa: E402

from espnet_mixrep.stages.training import ResumeSafeTrainer, run_training  # noqa: E402


class GuardedASRTask(ASRTask):
    """ASRTask with the resume-safe trainer (a module-level class: spawned workers unpickle it)."""

    trainer = ResumeSafeTrainer


def main(cmd: Optional[List[str]] = None) -> None:
    run_training(GuardedASRTask, cmd)


if __name__ == "__main__":
    main()
