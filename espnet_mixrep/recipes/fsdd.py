"""Free Spoken Digit Dataset (FSDD) as a connected-digit ASR corpus.

FSDD (Jakobovski et al., CC BY-SA 4.0) holds isolated digits,
``recordings/{digit}_{speaker}_{index}.wav``, 8 kHz mono. We build
connected-digit utterances from them: ``min_digits`` to ``max_digits``
recordings of ONE speaker joined with short silent gaps, transcript the digit
words ("THREE ONE FOUR"). Everything is drawn from seeded generators, so the
same options always give byte-identical data directories.

The split (:data:`DEFAULT_SETS`): george, jackson and lucas are the seen
speakers, their takes split by index into train (10-49), valid (5-9) and
test_seen (0-4, the release's own test takes); nicolas is the unseen test
speaker. No recording is in two sets.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet_mixrep.core.audio import remove_dc_offset
from espnet_mixrep.core.datadir import DataDirError, PathLike, Utterance, atomic_dir, check_wav_complete, write_data_dir

FSDD_URL = "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.tar.gz"
FSDD_SAMPLE_RATE = 8000
DIGIT_WORDS = ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")
_RECORDING_RE = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")


def resolve_fsdd_dir(fsdd_dir: Optional[PathLike], repo_root: Optional[PathLike] = None) -> Optional[Path]:
    """The FSDD folder to use: explicit argument, else ``$FSDD_DIR``, else
    ``<repo_root>/../shared/data/fsdd`` when present; None means "download".

    An explicitly given folder (argument or environment) must exist: a typo
    should not silently trigger a download.
    """
    explicit = fsdd_dir or os.environ.get("FSDD_DIR")
    if explicit:
        path = Path(explicit)
        check_fsdd_dir(path)
        return path
    if repo_root is not None:
        shared = Path(repo_root).resolve().parent / "shared" / "data" / "fsdd"
        if (shared / "recordings").is_dir():
            return shared
    return None


def find_or_download_fsdd(
    fsdd_dir: Optional[PathLike], repo_root: Optional[PathLike], download_dir: PathLike
) -> Path:
    """``resolve_fsdd_dir``, else the public release downloaded into ``download_dir/fsdd``."""
    found = resolve_fsdd_dir(fsdd_dir, repo_root)
    if found is not None:
        return found
    print(f"FSDD not found locally; downloading the public release into {download_dir}", file=sys.stderr)
    return download_fsdd(download_dir)


def list_recordings(fsdd_dir: PathLike) -> Dict[str, List[Tuple[int, int, Path]]]:
    """speaker -> sorted [(digit, index, path)] of the folder's recordings."""
    rec_dir = Path(fsdd_dir) / "recordings"
    by_speaker: Dict[str, List[Tuple[int, int, Path]]] = defaultdict(list)
    for path in rec_dir.iterdir():
        match = _RECORDING_RE.match(path.name)
        if match:
            digit, speaker, index = match.groups()
            by_speaker[speaker].append((int(digit), int(index), path))
    return {spk: sorted(recs) for spk, recs in sorted(by_speaker.items())}


def check_fsdd_dir(fsdd_dir: PathLike, speakers: Sequence[str] = ()) -> None:
    """Raise DataDirError unless ``fsdd_dir/recordings`` holds the speakers' wavs."""
    fsdd_dir = Path(fsdd_dir)
    rec_dir = fsdd_dir / "recordings"
    if not rec_dir.is_dir():
        raise DataDirError(
            f"{rec_dir}: FSDD folder not found (expected recordings/{{digit}}_{{speaker}}_{{index}}.wav; "
            "pass --fsdd_dir, set FSDD_DIR, or leave both unset to download the public release)"
        )
    found = list_recordings(fsdd_dir)
    missing = [spk for spk in speakers if spk not in found]
    if missing:
        raise DataDirError(f"{rec_dir}: no recordings of speaker(s) {missing}; found {sorted(found)}")


def download_fsdd(download_dir: PathLike, url: str = FSDD_URL) -> Path:
    """Download and unpack the public FSDD release into ``download_dir/fsdd``.

    The release publishes no checksum, so the unpacked tree is checked
    instead: 3000 recordings, 6 speakers x 10 digits x 50 takes, each a
    readable 8 kHz mono wav. The folder appears only once it passed.
    """
    import soundfile

    target = Path(download_dir) / "fsdd"
    if (target / "recordings").is_dir():
        return target
    created = not Path(download_dir).exists()
    Path(download_dir).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".fsdd.", dir=download_dir))
    try:
        archive = work / "fsdd.tar.gz"
        try:
            _download(url, archive)
        except OSError as exc:  # URLError (no network, DNS, HTTP status), timeouts
            raise DataDirError(
                f"{url}: cannot download FSDD ({getattr(exc, 'reason', exc)}), and no local copy was found: "
                "pass --fsdd_dir <folder holding recordings/> or set FSDD_DIR"
            ) from exc
        with tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")
        (top,) = [p for p in work.iterdir() if p.is_dir()]
        recordings = list_recordings(top)
        counts = {spk: len(recs) for spk, recs in recordings.items()}
        if len(counts) != 6 or any(n != 500 for n in counts.values()):
            raise DataDirError(f"{url}: unexpected FSDD content, recordings per speaker {counts}")
        for recs in recordings.values():
            for _, _, path in recs:
                check_wav_complete(path, url)
                info = soundfile.info(str(path))
                if info.samplerate != FSDD_SAMPLE_RATE or info.channels != 1:
                    raise DataDirError(f"{path}: expected 8 kHz mono, got {info.samplerate} Hz x {info.channels}")
        (top / "SHA256_OF_ARCHIVE").write_text(_sha256(archive) + "\n")
        os.replace(top, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        # A failed first download leaves no empty downloads/ behind.
        if created and not any(Path(download_dir).iterdir()):
            Path(download_dir).rmdir()
    return target


def _download(url: str, dest: Path) -> None:
    from tqdm import tqdm

    with urllib.request.urlopen(url) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc="download FSDD") as bar:
            while chunk := response.read(1 << 16):
                out.write(chunk)
                bar.update(len(chunk))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _read_recording(path: Path) -> np.ndarray:
    import soundfile

    try:
        audio, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
    except Exception as exc:  # soundfile raises several types for broken files
        raise DataDirError(f"{path}: cannot read audio ({exc})") from exc
    if rate != FSDD_SAMPLE_RATE or audio.shape[1] != 1:
        raise DataDirError(f"{path}: expected 8 kHz mono, got {rate} Hz x {audio.shape[1]} channels")
    if audio.shape[0] == 0:
        raise DataDirError(f"{path}: empty recording")
    return audio[:, 0]


@dataclass(frozen=True)
class DigitSet:
    """One connected-digit set: whose recordings, which takes, how many utterances.

    ``indices`` are the FSDD take numbers (the ``{index}`` of
    ``{digit}_{speaker}_{index}.wav``) the set may draw from; two sets that
    share a speaker must use disjoint takes, so no recording is in both.
    """

    speakers: Tuple[str, ...]
    num_utterances: int
    indices: range = range(0, 50)

    def __post_init__(self) -> None:
        object.__setattr__(self, "speakers", tuple(self.speakers))


# The recipe's split. Seen speakers' takes are split by index: 0-4 is the
# FSDD release's own test split (test_seen), 5-9 validation, 10-49 training;
# nicolas is never trained on (test: an unseen speaker).
SEEN_SPEAKERS = ("george", "jackson", "lucas")
UNSEEN_SPEAKERS = ("nicolas",)
DEFAULT_SETS: Dict[str, DigitSet] = {
    "train": DigitSet(SEEN_SPEAKERS, 1800, range(10, 50)),
    "valid": DigitSet(SEEN_SPEAKERS, 150, range(5, 10)),
    "test_seen": DigitSet(SEEN_SPEAKERS, 150, range(0, 5)),
    "test": DigitSet(UNSEEN_SPEAKERS, 200, range(0, 50)),
}


def parse_index_range(spec: str) -> range:
    """``"10-49"`` -> range(10, 50); ``"7"`` -> range(7, 8)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", spec)
    if not match:
        raise ValueError(f"take range {spec!r}: expected FIRST-LAST (e.g. 10-49) or one index")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
        raise ValueError(f"take range {spec!r}: the last index is below the first")
    return range(first, last + 1)


def check_sets_disjoint(sets: Dict[str, DigitSet]) -> None:
    """Raise ValueError if two sets could draw the same recording."""
    names = list(sets)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shared = set(sets[a].speakers) & set(sets[b].speakers)
            overlap = set(sets[a].indices) & set(sets[b].indices)
            if shared and overlap:
                raise ValueError(
                    f"sets '{a}' and '{b}' share speaker(s) {sorted(shared)} and takes "
                    f"{min(overlap)}-{max(overlap)}: sets must be disjoint by speaker or by take index"
                )


def build_connected_digits(
    recordings: List[Tuple[int, int, Path]],
    speaker: str,
    num_utterances: int,
    rng: np.random.Generator,
    prefix: str,
    min_digits: int = 2,
    max_digits: int = 5,
    max_gap_s: float = 0.2,
) -> List[Tuple[str, str, List[Path], List[int]]]:
    """Plan utterances: [(utt_id, transcript, recording paths, gap lengths in samples)].

    Recordings are drawn without replacement from a shuffled pool that is
    refilled when exhausted, so every recording is used about equally often.
    The n-th plan depends only on the generator and the n-1 before it, so a
    smaller ``num_utterances`` gives a prefix of a larger one.
    """
    if not min_digits >= 1 or max_digits < min_digits:
        raise ValueError(f"need 1 <= min_digits <= max_digits, got {min_digits}..{max_digits}")
    pool: List[int] = []
    plans = []
    for n in range(num_utterances):
        length = int(rng.integers(min_digits, max_digits + 1))
        chosen = []
        for _ in range(length):
            if not pool:
                pool = list(rng.permutation(len(recordings)))
            chosen.append(recordings[pool.pop()])
        gaps = [int(g) for g in rng.integers(int(0.02 * FSDD_SAMPLE_RATE), int(max_gap_s * FSDD_SAMPLE_RATE) + 1, size=length + 1)]
        text = " ".join(DIGIT_WORDS[digit] for digit, _, _ in chosen)
        plans.append((f"{speaker}-{prefix}{n:05d}", text, [path for _, _, path in chosen], gaps))
    return plans


def _stable_seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


def prepare_fsdd(
    fsdd_dir: PathLike,
    data_dir: PathLike,
    sets: Dict[str, DigitSet],
    seed: int = 0,
    min_digits: int = 2,
    max_digits: int = 5,
    wav_dir: Optional[PathLike] = None,
    remove_dc: bool = False,
) -> Dict[str, int]:
    """Write Kaldi data directories ``data_dir/<set>`` of connected-digit utterances.

    Each set draws from its speakers' takes ``indices`` only, and its
    utterances are spread evenly over the speakers. Sets must be disjoint
    (:func:`check_sets_disjoint`). Every speaker's utterances come from a
    generator of its own (seed, set, speaker), so sets do not shift when
    another set changes size, and a training set of N utterances is contained
    in one of M > N (nested learning-curve sizes). Audio goes to
    ``wav_dir/<set>/`` (default ``data_dir/local/wav``) and appears, like the
    data directory, only when the whole set is written. ``remove_dc`` subtracts
    each recording's mean before joining: nicolas records at about -238, so his
    digits otherwise start and end with a step (off by default: the published
    figures were measured without it, and it did not change them, see the
    recipe README). Returns utterances per set.
    """
    import soundfile

    fsdd_dir = Path(fsdd_dir)
    data_dir = Path(data_dir)
    wav_root = Path(wav_dir) if wav_dir else data_dir / "local" / "wav"
    check_sets_disjoint(sets)
    all_speakers = sorted({spk for spec in sets.values() for spk in spec.speakers})
    check_fsdd_dir(fsdd_dir, all_speakers)
    recordings = list_recordings(fsdd_dir)

    # Each set's pool; read every source recording before writing anything, so a
    # corrupt wav stops the stage with its name and leaves no partial output behind.
    pools: Dict[Tuple[str, str], List[Tuple[int, int, Path]]] = {}
    audio_cache: Dict[Path, np.ndarray] = {}
    for set_name, spec in sets.items():
        if spec.num_utterances < len(spec.speakers):
            raise ValueError(f"set '{set_name}': {spec.num_utterances} utterances for {len(spec.speakers)} speakers")
        for spk in spec.speakers:
            pool = [rec for rec in recordings[spk] if rec[1] in spec.indices]
            if not pool:
                raise DataDirError(
                    f"{fsdd_dir / 'recordings'}: set '{set_name}' has no recordings of {spk} "
                    f"with takes {spec.indices.start}-{spec.indices.stop - 1}"
                )
            pools[set_name, spk] = pool
            for _, _, path in pool:
                if path not in audio_cache:
                    audio = _read_recording(path)
                    audio_cache[path] = remove_dc_offset(audio) if remove_dc else audio

    counts: Dict[str, int] = {}
    for set_name, spec in sets.items():
        plans = []
        for i, spk in enumerate(spec.speakers):
            share = spec.num_utterances // len(spec.speakers) + (1 if i < spec.num_utterances % len(spec.speakers) else 0)
            rng = np.random.default_rng([seed, _stable_seed(set_name), _stable_seed(spk)])
            plans += build_connected_digits(pools[set_name, spk], spk, share, rng, set_name, min_digits, max_digits)

        final_wav_dir = (wav_root / set_name).resolve()
        utterances = []
        with atomic_dir(final_wav_dir) as tmp_wav_dir:
            for utt_id, text, paths, gaps in plans:
                pieces = [np.zeros(gaps[0], dtype=np.int16)]
                for path, gap in zip(paths, gaps[1:]):
                    pieces += [audio_cache[path], np.zeros(gap, dtype=np.int16)]
                soundfile.write(str(tmp_wav_dir / f"{utt_id}.wav"), np.concatenate(pieces), FSDD_SAMPLE_RATE, subtype="PCM_16")
                spk = utt_id.split("-", 1)[0]
                utterances.append(Utterance(utt_id, spk, text, str(final_wav_dir / f"{utt_id}.wav")))
        write_data_dir(data_dir / set_name, utterances)
        counts[set_name] = len(utterances)
    return counts
