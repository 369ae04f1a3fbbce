"""Stage 6 of asr.sh: the LM training text, from one or more Kaldi ``text`` files.

As ESPnet's asr.sh does, utterances without words are dropped. Ids must be
unique across the files (ESPnet's LM task reads the text as a key -> value
map and stops on a duplicate, after collect-stats has run); the check here
names both files before any work starts. Text is streamed: WSJ's LM text
has about 1.6 M lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence

from espnet_mixrep.core.datadir import DataDirError, PathLike, atomic_file


def make_lm_text(text_files: Sequence[PathLike], out: PathLike) -> int:
    """Write ``out`` (``id words`` lines, file order kept); return the number of lines written."""
    if not text_files:
        raise DataDirError("no LM text files given (--lm_train_text)")
    paths = [Path(f) for f in text_files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataDirError(f"LM text not found: {', '.join(missing)}")
    first_seen: Dict[str, Path] = {}
    written = 0
    with atomic_file(out) as sink:
        for path in paths:
            with open(path, encoding="utf-8") as source:
                for lineno, line in enumerate(source, 1):
                    fields = line.split(maxsplit=1)
                    if not fields:
                        continue
                    key = fields[0]
                    if key in first_seen:
                        raise DataDirError(f"{path}:{lineno}: utterance id '{key}' already used in {first_seen[key]}")
                    first_seen[key] = path
                    if len(fields) == 2 and fields[1].strip():
                        sink.write(f"{key} {fields[1].strip()}\n")
                        written += 1
        if written == 0:
            raise DataDirError(f"{', '.join(map(str, paths))}: no utterance with words for the LM")
    return written
