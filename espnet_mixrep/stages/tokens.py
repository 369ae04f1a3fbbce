"""Stage 5: token lists (sentencepiece BPE, characters or words), as ESPnet's asr.sh
builds them: ``<blank>`` first, ``<unk>`` second, ``<sos/eos>`` last."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Optional

from espnet_mixrep.core.datadir import DataDirError, PathLike, read_kaldi_map, write_text_atomic

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
    ``bpe.model`` for BPE) from a Kaldi ``text`` file; return the token list path.

    Same list as ``espnet2.bin.tokenize_text --write_vocabulary true`` with
    ``--add_symbol <blank>:0 --add_symbol <unk>:1 --add_symbol <sos/eos>:-1``
    (tokens by descending count, ties in order of first appearance). ESPnet's
    tokenizer classes are used directly: ``build_tokenizer`` would import the
    phoneme tokenizers (g2p_en, nltk), seconds of start-up for nothing here.
    """
    texts = read_kaldi_map(text_file)
    if token_type == "bpe":
        token_dir = Path(out_dir) / f"bpe_{bpemode}{nbpe}"
    elif token_type in ("char", "word"):
        token_dir = Path(out_dir) / token_type
    else:
        raise ValueError(f"--token_type must be bpe, char or word, got '{token_type}'")
    token_dir.mkdir(parents=True, exist_ok=True)
    if cleaner:
        from espnet2.text.cleaner import TextCleaner

        clean = TextCleaner(cleaner)
        texts = {k: clean(v) for k, v in texts.items()}
    if token_type == "bpe":
        from espnet2.text.sentencepiece_tokenizer import SentencepiecesTokenizer

        _train_sentencepiece(list(texts.values()), token_dir, nbpe, bpemode, text_file)
        tokenizer = SentencepiecesTokenizer(str(token_dir / "bpe.model"))
    elif token_type == "word":
        from espnet2.text.word_tokenizer import WordTokenizer

        tokenizer = WordTokenizer(
            non_linguistic_symbols=str(non_linguistic_symbols) if non_linguistic_symbols else None
        )
    else:
        from espnet2.text.char_tokenizer import CharTokenizer

        tokenizer = CharTokenizer(
            non_linguistic_symbols=str(non_linguistic_symbols) if non_linguistic_symbols else None, space_symbol="<space>"
        )
    counts: Counter = Counter()
    for text in texts.values():
        counts.update(tokenizer.text2tokens(text))
    vocabulary = [token for token, _ in sorted(counts.items(), key=lambda item: -item[1])]
    tokens = ["<blank>", "<unk>"] + [t for t in vocabulary if t not in ("<blank>", "<unk>", "<sos/eos>")] + ["<sos/eos>"]

    token_list = token_dir / "tokens.txt"
    write_text_atomic(token_list, "".join(t + "\n" for t in tokens))
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
