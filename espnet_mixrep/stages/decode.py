"""Stage 12 helper: merge the outputs of ``inference_nj`` decoding jobs."""

from __future__ import annotations

from pathlib import Path

from espnet_mixrep.core.datadir import DataDirError, PathLike, atomic_dir, read_kaldi_map

MERGED_FILES = ("text", "token", "token_int", "score")


def merge_decode_outputs(logdir: PathLike, num_jobs: int, out_dir: PathLike) -> int:
    """Concatenate ``logdir/output.JOB/1best_recog/<file>`` (JOB = 1..n), sorted
    by key, into ``out_dir/<file>``. Every key of ``logdir/keys.JOB.scp`` must be
    decoded; ``out_dir`` is replaced only when the merge is complete."""
    logdir, out_dir = Path(logdir), Path(out_dir)
    expected = set()
    for job in range(1, num_jobs + 1):
        expected |= set(read_kaldi_map(logdir / f"keys.{job}.scp"))
    with atomic_dir(out_dir) as tmp:
        for name in MERGED_FILES:
            merged = {}
            for job in range(1, num_jobs + 1):
                path = logdir / f"output.{job}" / "1best_recog" / name
                if path.exists():
                    merged.update(read_kaldi_map(path, allow_empty_value=True))
            if name == "text":
                missing = sorted(expected - set(merged))
                if missing:
                    raise DataDirError(
                        f"{logdir}: {len(missing)} utterances not decoded (e.g. {missing[:3]}); see {logdir}/asr_inference.*.log"
                    )
            with open(tmp / name, "w", encoding="utf-8") as f:
                for key in sorted(merged):
                    f.write(f"{key} {merged[key]}\n")
    return len(expected)
