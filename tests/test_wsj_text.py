"""WSJ transcript normalisation, rule by rule, against hand-written outputs
(Kaldi's normalize_transcript.pl), and the .ndx / .dot parsers."""

from __future__ import annotations

import gzip

import pytest

from espnet_mixrep.recipes.wsj import (
    WsjCorpusError,
    lm_text_lines,
    normalise_wsj_transcript,
    normalise_wsj_word,
    parse_dot_file,
    read_ndx,
)


@pytest.mark.parametrize(
    "word, expected",
    [
        ("company", "COMPANY"),  # upper-case
        ("isn\\'t", "ISN'T"),  # backslashes dropped
        ("I\\.", "I."),
        ("%percent", "PERCENT"),  # Nov'93 spellings
        ("%PERCENT", "PERCENT"),
        (".point", "POINT"),
        ("[<door_slam]", None),  # noise during the preceding word
        ("[door_slam>]", None),  # noise during the next word
        ("[phone_ring/]", None),  # start / end of a phenomenon
        ("[/phone_ring]", None),
        ("~", None),  # truncation
        (".", None),  # pause
        ("[loud_breath]", "<NOISE>"),  # other noises
        ("[lip_smack]", "<NOISE>"),
        ("<and>", "AND"),  # verbal deletion, still spoken
        ("<don't>", "DON'T"),
        ("<*in*>", "<*IN*>"),  # not a plain word: kept (becomes a non-linguistic symbol)
        ("--dash", "-DASH"),
        ("-hyphen", "-HYPHEN"),
        ("*mumble*", "*MUMBLE*"),
    ],
)
def test_word_rules(word, expected):
    assert normalise_wsj_word(word) == expected


def test_transcript():
    raw = "[loud_breath] And new hardware such as the I\\. B\\. M\\. computers [<door_slam] . rose ten %percent ~"
    assert normalise_wsj_transcript(raw) == "<NOISE> AND NEW HARDWARE SUCH AS THE I. B. M. COMPUTERS ROSE TEN PERCENT"
    assert normalise_wsj_transcript("[phone_ring/] <uh> yes [/phone_ring]") == "UH YES"
    assert normalise_wsj_transcript("~ .") == ""


def test_dot_and_ndx_parsers(tmp_path):
    dot = tmp_path / "01ic0200.dot"
    dot.write_text("Of course there isn\\'t (01ic0201)\n\n[loud_breath] Yes (01IC0202)\n")
    assert parse_dot_file(dot) == {"01ic0201": "Of course there isn\\'t", "01ic0202": "[loud_breath] Yes"}
    dot.write_text("no id here\n")
    with pytest.raises(WsjCorpusError, match="01ic0200.dot:1"):
        parse_dot_file(dot)
    ndx = tmp_path / "tr_s_wv1.ndx"
    ndx.write_text(";; File: tr_s_wv1.ndx\n;;\n11_1_1:wsj0/si_tr_s/01i/01ic0201.wv1\n13_16_1: /wsj1/si_dt_20/4k0/4k0c0301.wv1\n")
    entries = read_ndx(ndx)
    assert [(e.disc_name, e.relative) for e in entries] == [
        ("11-1.1", "wsj0/si_tr_s/01i/01ic0201.wv1"),
        ("13-16.1", "wsj1/si_dt_20/4k0/4k0c0301.wv1"),
    ]
    ndx.write_text("garbage line\n")
    with pytest.raises(WsjCorpusError, match="tr_s_wv1.ndx:1"):
        read_ndx(ndx)


def _compress_literals(data: bytes) -> bytes:
    """A Unix compress (.Z) stream of literal 9-bit LZW codes (valid while under 255 codes)."""
    assert len(data) < 255
    bits = 0
    nbits = 0
    out = bytearray(b"\x1f\x9d\x90")  # magic, block mode, 16-bit maximum
    for byte in data:
        bits |= byte << nbits
        nbits += 9
        while nbits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    if nbits:
        out.append(bits & 0xFF)
    return bytes(out)


def test_lm_text_lines_from_gzip_compress_and_plain(tmp_path):
    body = "<art.870102.0001>\n<p>\n<s>\nthe market rose\n</s>\n</p>\n"
    (tmp_path / "870102.z").write_bytes(_compress_literals(body.encode()))
    with gzip.open(tmp_path / "880102.z", "wt") as f:
        f.write("shares fell\n<s>\n")
    (tmp_path / "890102").write_text("Prices held\n\n")
    files = [tmp_path / "870102.z", tmp_path / "880102.z", tmp_path / "890102"]
    assert list(lm_text_lines(files)) == ["THE MARKET ROSE", "SHARES FELL", "PRICES HELD"]
