"""FSDD as isolated digits for Learn2Diss: every speaker in every set.

Content (the digit) and speaker are both labelled, so linear probes can ask
which encoder holds which. Sets are split by recording index, not speaker
(a speaker probe needs every speaker on both sides): by default indices 0-4
are test, 5-9 valid, the rest train (FSDD's own convention puts 0-4 in test).
wav.scp points at the original files; nothing is copied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence

from espnet_mixrep.core.datadir import DataDirError, PathLike, Utterance, write_data_dir
from espnet_mixrep.recipes.fsdd import DIGIT_WORDS, check_fsdd_dir, list_recordings


def prepare_fsdd_isolated(
    fsdd_dir: PathLike,
    data_dir: PathLike,
    speakers: Sequence[str] = ("george", "jackson", "lucas", "nicolas"),
    test_indices: Sequence[int] = range(0, 5),
    valid_indices: Sequence[int] = range(5, 10),
    max_train_index: Optional[int] = None,
) -> Dict[str, int]:
    """Write ``data_dir/{train,valid,test}``; text is the digit word. Returns utterances per set."""
    check_fsdd_dir(fsdd_dir, speakers)
    test_set, valid_set = set(test_indices), set(valid_indices)
    if test_set & valid_set:
        raise DataDirError(f"test and valid indices overlap: {sorted(test_set & valid_set)}")
    sets: Dict[str, list] = {"train": [], "valid": [], "test": []}
    recordings = list_recordings(fsdd_dir)
    for speaker in speakers:
        for digit, index, path in recordings[speaker]:
            if index in test_set:
                name = "test"
            elif index in valid_set:
                name = "valid"
            elif max_train_index is None or index <= max_train_index:
                name = "train"
            else:
                continue
            utt_id = f"{speaker}-{digit}-{index:02d}"  # speaker prefix: Kaldi sorting convention
            sets[name].append(Utterance(utt_id, speaker, DIGIT_WORDS[digit], str(Path(path).resolve())))
    for name, utts in sets.items():
        write_data_dir(Path(data_dir) / name, utts)
    return {name: len(utts) for name, utts in sets.items()}
