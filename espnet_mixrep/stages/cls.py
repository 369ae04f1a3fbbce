"""Python side of the classification recipe stages (egs2/TEMPLATE/cls1/cls.sh),
run through ``python -m espnet_mixrep.bin.cls_stages``: clip formatting (stage
2), the class token list (4), shape files (5), scoring and RESULTS.md (8).

Every writer builds its output under a temporary name and renames it at the
end, so an interrupted stage leaves nothing a rerun would trust.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import soundfile

from espnet_mixrep.core.audio import read_wav_entry, remove_dc_offset
from espnet_mixrep.core.datadir import (
    DataDirError,
    PathLike,
    atomic_dir,
    read_kaldi_map,
    validate_data_dir,
    write_kaldi_map,
    write_text_atomic,
)

UNK = "<unk>"


def _read_clip(entry: str, source: Path) -> Tuple[np.ndarray, int]:
    """One wav.scp entry as int16 samples (the shared reader gives float32 in [-1, 1))."""
    audio, rate = read_wav_entry(entry, str(source))
    return np.clip(np.round(audio * 32768), -32768, 32767).astype(np.int16), rate


def _read_clip_job(job: tuple) -> tuple:
    return _read_clip(*job)


def format_cls_data_dir(
    src: PathLike,
    dst: PathLike,
    fs: int,
    min_samples: int = 0,
    pad_short: bool = False,
    nj: int = 1,
    remove_dc: bool = False,
) -> int:
    """Stage 2: copy ``src`` to ``dst`` with every clip checked and written as 16-bit PCM.

    Clips must be mono at ``fs``. A clip shorter than ``min_samples`` (the
    training crop) is an error naming the files, unless ``pad_short``, which
    zero-pads it symmetrically to ``min_samples`` (FSDD's short digits).
    ``remove_dc`` subtracts each clip's mean first, so that the zero padding
    (here and the model's crop padding) adds no step at the clip's edges.
    All clips are checked before anything is written; ``nj`` processes read
    them. Returns the clip count.
    """
    src, dst = Path(src), Path(dst)
    validate_data_dir(src)
    if (src / "segments").exists():
        raise DataDirError(f"{src / 'segments'}: the cls recipe expects one clip per wav.scp entry, no segments")
    wav_scp = read_kaldi_map(src / "wav.scp")
    clips: Dict[str, np.ndarray] = {}
    short: List[str] = []
    jobs = [(entry, src / "wav.scp") for entry in wav_scp.values()]
    if nj > 1:
        from multiprocessing import get_context

        with get_context("spawn").Pool(nj) as pool:
            read = pool.map(_read_clip_job, jobs, chunksize=max(1, len(jobs) // (4 * nj)))
    else:
        read = [_read_clip_job(job) for job in jobs]
    for (utt_id, entry), (audio, rate) in zip(wav_scp.items(), read):
        if rate != fs:
            raise DataDirError(f"{src / 'wav.scp'}: '{entry}' is at {rate} Hz, the recipe's fs is {fs} Hz")
        if remove_dc:
            audio = remove_dc_offset(audio)
        if len(audio) < min_samples:
            if not pad_short:
                short.append(f"{entry} ({len(audio)} samples)")
                continue
            missing = min_samples - len(audio)
            audio = np.pad(audio, (missing // 2, missing - missing // 2))
        clips[utt_id] = audio
    if short:
        listed = ", ".join(short[:5]) + (f" and {len(short) - 5} more" if len(short) > 5 else "")
        raise DataDirError(
            f"{src / 'wav.scp'}: {len(short)} clip(s) shorter than a crop of {min_samples} samples: {listed}"
        )
    with atomic_dir(dst) as tmp:
        (tmp / "data").mkdir()
        final_scp = {}
        for utt_id, audio in clips.items():
            soundfile.write(tmp / "data" / f"{utt_id}.wav", audio, fs, subtype="PCM_16")
            final_scp[utt_id] = str((dst / "data" / f"{utt_id}.wav").resolve())
        write_kaldi_map(tmp / "wav.scp", final_scp)
        write_kaldi_map(tmp / "utt2num_samples", {u: str(len(a)) for u, a in clips.items()})
        for name in ("text", "utt2spk", "spk2utt"):
            if (src / name).exists():
                shutil.copyfile(src / name, tmp / name)
        (tmp / "feats_type").write_text("raw\n")
    return len(clips)


def write_shape_files(train_dir: PathLike, valid_dir: PathLike, stats_dir: PathLike) -> None:
    """Stage 5 without ESPnet's collect-stats: ``stats_dir/{train,valid}/{speech,label}_shape``.

    For raw-waveform input without feature normalisation, collect-stats
    computes nothing the trainer uses except these shape files (samples per
    clip, one label); stage 2 already counted the samples.
    """
    for name, data_dir in (("train", Path(train_dir)), ("valid", Path(valid_dir))):
        lengths = read_kaldi_map(data_dir / "utt2num_samples")
        if set(lengths) != set(read_kaldi_map(data_dir / "text")):
            raise DataDirError(f"{data_dir / 'utt2num_samples'}: ids differ from {data_dir / 'text'} (rerun stage 2)")
        out = Path(stats_dir) / name
        write_text_atomic(out / "speech_shape", "".join(f"{u} {n}\n" for u, n in sorted(lengths.items())))
        write_text_atomic(out / "label_shape", "".join(f"{u} 1\n" for u in sorted(lengths)))


def _labels(text_file: Path) -> Dict[str, str]:
    labels = read_kaldi_map(text_file)
    for utt_id, label in labels.items():
        if len(label.split()) != 1:
            raise DataDirError(f"{text_file}: '{utt_id}' has '{label}'; a cls text holds exactly one class token")
    return labels


def make_class_token_list(train_text: PathLike, output: PathLike) -> List[str]:
    """Stage 4: the sorted classes of the training set, then ``<unk>`` last.

    ESPnet 202511's CLSTask counts len(token_list) - 1 classes, so ``<unk>``
    must be the last line and no class may be missing from the training set.
    """
    classes = sorted(set(_labels(Path(train_text)).values()))
    if UNK in classes:
        raise DataDirError(f"{train_text}: '{UNK}' cannot be a class")
    tokens = classes + [UNK]
    write_text_atomic(Path(output), "".join(f"{t}\n" for t in tokens))
    return tokens


def check_labels(token_list: PathLike, text_files: Sequence[PathLike]) -> None:
    """Raise DataDirError naming the file if a label is not a class of the token list."""
    token_list = Path(token_list)
    if not token_list.is_file():
        raise DataDirError(f"{token_list}: token list not found (run the token list stage)")
    classes = set(token_list.read_text(encoding="utf-8").split()) - {UNK}
    for text_file in map(Path, text_files):
        unknown = sorted({label for label in _labels(text_file).values() if label not in classes})
        if unknown:
            raise DataDirError(
                f"{text_file}: label(s) {unknown[:10]} are not in the token list {token_list} "
                f"({len(classes)} classes)"
            )


def score_predictions(ref_text: PathLike, hyp_text: PathLike, out_dir: PathLike) -> Dict[str, float]:
    """Stage 8: accuracy of ``hyp_text`` (cls_inference's prediction text) against ``ref_text``."""
    refs = _labels(Path(ref_text))
    hyps = read_kaldi_map(hyp_text, allow_empty_value=True)
    missing = sorted(set(refs) - set(hyps))
    if missing:
        raise DataDirError(f"{hyp_text}: no prediction for {len(missing)} clip(s), e.g. {missing[:3]}")
    correct = sum(hyps[u].strip() == label for u, label in refs.items())
    per_class: Dict[str, List[int]] = {}
    for utt_id, label in refs.items():
        per_class.setdefault(label, [0, 0])
        per_class[label][0] += hyps[utt_id].strip() == label
        per_class[label][1] += 1
    metrics = {
        "accuracy": 100.0 * correct / len(refs),
        "correct": correct,
        "clips": len(refs),
        "per_class_accuracy": {c: 100.0 * k / n for c, (k, n) in sorted(per_class.items())},
    }
    write_text_atomic(Path(out_dir) / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    return metrics


def write_results(exp_dir: PathLike) -> Path:
    """RESULTS.md of one experiment: accuracy of every scored set under ``exp_dir/cls_*``."""
    exp_dir = Path(exp_dir)
    rows = []
    for metrics_file in sorted(exp_dir.glob("cls_*/scoring/metrics.json")):
        m = json.loads(metrics_file.read_text())
        rows.append(f"|{metrics_file.parent.parent.name[4:]}|{m['clips']}|{m['correct']}|{m['accuracy']:.2f}|")
    if not rows:
        raise DataDirError(f"{exp_dir}: no cls_*/scoring/metrics.json to summarise (run the scoring stage)")
    content = "\n".join(
        ["# RESULTS", f"## {exp_dir.name}", "", "|set|clips|correct|accuracy (%)|", "|---|---|---|---|", *rows, ""]
    )
    path = exp_dir / "RESULTS.md"
    write_text_atomic(path, content)
    return path


def write_cv_summary(exp_dirs: Sequence[PathLike], output: PathLike) -> Dict[str, float]:
    """Mean and standard deviation of the test-fold accuracy over cross-validation folds."""
    accuracies = []
    rows = []
    for exp_dir in map(Path, exp_dirs):
        found = sorted(exp_dir.glob("cls_*/scoring/metrics.json"))
        if len(found) != 1:
            raise DataDirError(f"{exp_dir}: expected one scored test set, found {len(found)} (run stage 8)")
        m = json.loads(found[0].read_text())
        accuracies.append(m["accuracy"])
        rows.append(f"|{exp_dir.name}|{found[0].parent.parent.name[4:]}|{m['clips']}|{m['accuracy']:.2f}|")
    mean = float(np.mean(accuracies))
    std = float(np.std(accuracies, ddof=1)) if len(accuracies) > 1 else 0.0
    content = "\n".join(
        [
            "# RESULTS (cross-validation)",
            "",
            "|experiment|test fold|clips|accuracy (%)|",
            "|---|---|---|---|",
            *rows,
            "",
            f"mean accuracy over {len(accuracies)} fold(s): {mean:.2f} % (std {std:.2f}); error {100 - mean:.2f} %",
            "",
        ]
    )
    write_text_atomic(Path(output), content)
    return {"mean": mean, "std": std, "folds": len(accuracies)}
