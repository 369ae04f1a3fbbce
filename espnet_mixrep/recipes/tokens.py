"""Stage 5: token lists (sentencepiece BPE or characters), as ESPnet's asr.sh
builds them: ``<blank>`` first, ``<unk>`` second, ``<sos/eos>`` last."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional

from espnet_mixrep.recipes.datadir import DataDirError, PathLike, read_kaldi_map

SPECIAL_SYMBOLS = ["<blank>:0", "<unk>:1", "<sos/eos>:-1"]


def make_token_list(
    text_file: PathLike,
    token_type: str,
    out_dir: PathLike,
    nbpe: int = 30,
    bpemode: str = "unigram",
    non_linguistic_symbols: Optional[PathLike] = None,
    cleaner: Optional[str] = None,
) -> Path:
    """Write ``out_dir/<token_type>[_<bpemode><nbpe>]/tokens.txt`` (and
    ``bpe.model`` for BPE) from a Kaldi ``text`` file; return the token list path."""
    from espnet2.bin.tokenize_text import tokenize

    texts = read_kaldi_map(text_file)
    if token_type == "bpe":
        token_dir = Path(out_dir) / f"bpe_{bpemode}{nbpe}"
    elif token_type in ("char", "word"):
        token_dir = Path(out_dir) / token_type
    else:
        raise ValueError(f"--token_type must be bpe, char or word, got '{token_type}'")
    token_dir.mkdir(parents=True, exist_ok=True)
    bpemodel = None
    if token_type == "bpe":
        bpemodel = str(token_dir / "bpe.model")
        _train_sentencepiece(list(texts.values()), token_dir, nbpe, bpemode, text_file)

    token_list = token_dir / "tokens.txt"
    fd, tmp_name = tempfile.mkstemp(prefix=".tokens.", dir=token_dir)
    os.close(fd)
    try:
        tokenize(
            input=str(text_file),
            output=tmp_name,
            field="2-",
            delimiter=None,
            token_type=token_type,
            space_symbol="<space>",
            non_linguistic_symbols=str(non_linguistic_symbols) if non_linguistic_symbols else None,
            bpemodel=bpemodel,
            log_level="WARNING",
            write_vocabulary=True,
            vocabulary_size=0,
            remove_non_linguistic_symbols=False,
            cutoff=0,
            add_symbol=list(SPECIAL_SYMBOLS),
            cleaner=cleaner,
            g2p=None,
            add_nonsplit_symbol=[],
        )
        os.replace(tmp_name, token_list)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return token_list


def _train_sentencepiece(texts: list, token_dir: Path, nbpe: int, bpemode: str, source: PathLike) -> None:
    import sentencepiece as spm

    with tempfile.TemporaryDirectory(dir=token_dir) as work:
        train_txt = Path(work) / "train.txt"
        train_txt.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
        try:
            spm.SentencePieceTrainer.train(
                input=str(train_txt),
                vocab_size=nbpe,
                model_type=bpemode,
                model_prefix=str(Path(work) / "bpe"),
                character_coverage=1.0,
                input_sentence_size=100000000,
                minloglevel=2,
            )
        except RuntimeError as exc:
            # e.g. "Vocabulary size too high": name the input and the option.
            raise DataDirError(f"{source}: sentencepiece failed with --nbpe {nbpe}: {exc}") from exc
        for suffix in ("model", "vocab"):
            os.replace(Path(work) / f"bpe.{suffix}", token_dir / f"bpe.{suffix}")
