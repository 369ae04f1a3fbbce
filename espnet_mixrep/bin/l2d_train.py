"""Learn2Diss pretraining with ESPnet's trainer.

Same options as any ESPnet ``*_train`` entry point (``--config``,
``--collect_stats``, ``--init_param``...) plus ``--extractor``/``--extractor_conf``
and ``--model_conf`` (stage, loss weights, encoder sizes). Example::

    python -m espnet_mixrep.bin.l2d_train --config conf/train_stage1.yaml \\
        --train_data_path_and_name_and_type dump/train/wav.scp,speech,sound \\
        --train_data_path_and_name_and_type dump/train/kmeans,kmeans,text_int ...
"""

from typing import List, Optional

from espnet_mixrep.registration import register_all


def main(cmd: Optional[List[str]] = None) -> None:
    register_all()
    from espnet_mixrep.learn2diss.task import Learn2DissTask

    Learn2DissTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
