"""A probe set for the layer-wise analysis of FSDD models: isolated digits of every speaker.

Each FSDD recording holds one spoken digit, so the utterance-level labels come
with the data directory itself: ``text`` is the digit word, ``utt2spk`` the
speaker. wav.scp points at the original recordings; nothing is copied::

    python -m espnet_mixrep.bin.fsdd_probe --fsdd_dir /path/to/fsdd --out data/probe
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from espnet_mixrep.core.datadir import DataDirError, PathLike, Utterance, write_data_dir
from espnet_mixrep.recipes.fsdd import DIGIT_WORDS, check_fsdd_dir, list_recordings


def prepare_fsdd_probe(
    fsdd_dir: PathLike,
    data_dir: PathLike,
    speakers: Optional[Sequence[str]] = None,
    indices: Optional[Sequence[int]] = None,
) -> int:
    """Write one data directory of isolated-digit recordings; returns its size.

    ``speakers`` defaults to every speaker found, ``indices`` (the recording
    index of each digit and speaker) to all of them.
    """
    check_fsdd_dir(fsdd_dir, speakers or ())
    recordings = list_recordings(fsdd_dir)
    chosen = set(indices) if indices is not None else None
    utterances = [
        Utterance(f"{speaker}-{digit}-{index:02d}", speaker, DIGIT_WORDS[digit], str(Path(path).resolve()))
        for speaker in (speakers or sorted(recordings))
        for digit, index, path in recordings[speaker]
        if chosen is None or index in chosen
    ]
    if not utterances:
        raise DataDirError(f"{fsdd_dir}: no recordings with indices {sorted(chosen or [])}")
    write_data_dir(data_dir, utterances)
    return len(utterances)
