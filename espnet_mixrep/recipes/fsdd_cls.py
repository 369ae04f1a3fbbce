"""FSDD spoken-digit classification sets for the SpeechMix recipe.

One clip = one digit; its class token is the digit word (``zero`` ... ``nine``).
Speaker-disjoint test (default: train george, jackson, lucas; test the unseen
nicolas). The validation set holds out takes ``valid_takes`` of the training
speakers (same speakers, other recordings), so model selection never sees the
test speaker (by default the last 10 % of takes: 45-49 of 0-49). wav.scp points at the FSDD recordings in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from espnet_mixrep.core.datadir import DataDirError, PathLike, Utterance, write_data_dir
from espnet_mixrep.recipes.fsdd import DIGIT_WORDS, check_fsdd_dir, download_fsdd, list_recordings

DIGIT_CLASSES = tuple(word.lower() for word in DIGIT_WORDS)  # zero ... nine

__all__ = ["DIGIT_CLASSES", "download_fsdd", "prepare_fsdd_cls"]


def prepare_fsdd_cls(
    fsdd_dir: PathLike,
    data_dir: PathLike,
    train_speakers: Sequence[str] = ("george", "jackson", "lucas"),
    test_speakers: Sequence[str] = ("nicolas",),
    takes_per_digit: int = 50,
    valid_takes: Optional[Iterable[int]] = None,
    train_subsets: Sequence[int] = (),
) -> Dict[str, int]:
    """Write ``data_dir/{train,valid,test}``; returns clips per set.

    ``takes_per_digit`` < 50 builds a small subset (takes 0..n-1 of each digit
    and speaker), used by the tests; ``valid_takes`` defaults to the last
    max(1, n // 10) takes of the subset. Each n of ``train_subsets`` also
    writes ``train_t{n}``: the first n training takes of every digit and
    speaker (nested sets for a learning curve; valid and test are unchanged).
    """
    overlap = set(train_speakers) & set(test_speakers)
    if overlap:
        raise DataDirError(f"speakers {sorted(overlap)} are in both train and test: the test must be unseen")
    check_fsdd_dir(fsdd_dir, list(train_speakers) + list(test_speakers))
    if valid_takes is None:
        valid_takes = range(takes_per_digit - max(1, takes_per_digit // 10), takes_per_digit)
    valid_takes = set(valid_takes)
    train_takes = [take for take in range(takes_per_digit) if take not in valid_takes]
    for n in train_subsets:
        if not 1 <= n <= len(train_takes):
            raise DataDirError(f"train subset of {n} takes: the training set has 1..{len(train_takes)} takes per digit")
    subset_of_take = {take: [f"train_t{n}" for n in train_subsets if rank < n] for rank, take in enumerate(train_takes)}
    recordings = list_recordings(fsdd_dir)
    sets: Dict[str, List[Utterance]] = {"train": [], "valid": [], "test": []}
    sets.update({f"train_t{n}": [] for n in train_subsets})
    for speaker in list(train_speakers) + list(test_speakers):
        for digit, take, path in recordings[speaker]:
            if take >= takes_per_digit:
                continue
            if speaker in test_speakers:
                name = "test"
            else:
                name = "valid" if take in valid_takes else "train"
            # ESPnet cuts batches from the sorted key order (it shuffles batches,
            # not clips): ids sorted take-first put all ten digits in every batch.
            utt_id = f"{speaker}-{take:02d}-{digit}"
            utt = Utterance(utt_id, speaker, DIGIT_CLASSES[digit], str(Path(path).resolve()))
            sets[name].append(utt)
            if name == "train":
                for subset in subset_of_take[take]:
                    sets[subset].append(utt)
    for name, utts in sets.items():
        if not utts:
            raise DataDirError(f"{fsdd_dir}: the {name} set would be empty (takes_per_digit={takes_per_digit})")
        write_data_dir(Path(data_dir) / name, utts)
    return {name: len(utts) for name, utts in sets.items()}
