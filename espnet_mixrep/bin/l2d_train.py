"""Learn2Diss pretraining with ESPnet's trainer.

Same options as any ESPnet ``*_train`` entry point (``--config``,
``--collect_stats``, ``--init_param``, ``--resume``...) plus
``--extractor``/``--extractor_conf`` and ``--model_conf`` (stage, loss weights,
encoder sizes); training runs behind the guard of
:mod:`espnet_mixrep.stages.training`. Example::

    python -m espnet_mixrep.bin.l2d_train --config conf/train_stage1.yaml \\
        --train_data_path_and_name_and_type dump/train/wav.scp,speech,sound \\
        --train_data_path_and_name_and_type dump/train/kmeans,kmeans,text_int ...
"""

from typing import List, Optional

from espnet_mixrep.registration import register_all

register_all()  # at import: DDP workers spawned by ESPnet re-import this module

from espnet_mixrep.learn2diss.monitor import Learn2DissTrainer  # noqa: E402
from espnet_mixrep.learn2diss.task import Learn2DissTask  # noqa: E402
from espnet_mixrep.stages.training import ResumeSafeTrainer, run_training  # noqa: E402


class GuardedLearn2DissTrainer(ResumeSafeTrainer, Learn2DissTrainer):
    """The resume-safe run around Learn2Diss's validation (CLUB refit monitor)."""


class GuardedLearn2DissTask(Learn2DissTask):
    """Learn2DissTask with the resume-safe trainer (module-level classes: spawned workers unpickle them)."""

    trainer = GuardedLearn2DissTrainer


def main(cmd: Optional[List[str]] = None) -> None:
    run_training(GuardedLearn2DissTask, cmd)


if __name__ == "__main__":
    main()
