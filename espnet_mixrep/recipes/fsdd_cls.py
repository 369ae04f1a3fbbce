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

from espnet_mixrep.recipes.datadir import DataDirError, PathLike, Utterance, write_data_dir
from espnet_mixrep.recipes.fsdd import check_fsdd_dir, download_fsdd, find_or_download_fsdd, list_recordings

DIGIT_CLASSES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

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


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Prepare FSDD digit classification data dirs.")
    parser.add_argument("--fsdd_dir", default=None, help="FSDD folder (default: $FSDD_DIR, ../shared/data/fsdd, else download)")
    parser.add_argument("--download_dir", default="downloads")
    parser.add_argument("--data_dir", default="data")
    parser.add_argument("--train_speakers", default="george,jackson,lucas")
    parser.add_argument("--test_speakers", default="nicolas")
    parser.add_argument("--takes_per_digit", type=int, default=50)
    parser.add_argument("--train_subsets", type=int, nargs="*", default=[],
                        help="also write train_t<n>: the first n training takes per digit and speaker")
    parser.add_argument("--repo_root", default=None, help="repository root for the shared-data default")
    args = parser.parse_args()
    try:
        fsdd_dir = find_or_download_fsdd(args.fsdd_dir, args.repo_root, args.download_dir)
        counts = prepare_fsdd_cls(
            fsdd_dir,
            args.data_dir,
            args.train_speakers.split(","),
            args.test_speakers.split(","),
            takes_per_digit=args.takes_per_digit,
            train_subsets=args.train_subsets,
        )
    except DataDirError as err:
        raise SystemExit(f"ERROR: {err}")
    print(f"FSDD classification from {fsdd_dir}: {counts}")


if __name__ == "__main__":
    main()
