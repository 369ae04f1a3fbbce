"""Switchboard / Hub5 text rules against hand-written outputs: Kaldi's
swbd1_map_words.pl, marker removal, acronyms, ESPnet's formatting, eval2000
texts, extend_segments.pl, remove_dup_utts.sh, the subsets, and the Hub5
scoring filters."""

from __future__ import annotations

import pytest

from espnet_mixrep.recipes.hub5_scoring import GlmNormaliser, align, filter_hyp_words, parse_glm, reference_words
from espnet_mixrep.recipes.swbd import (
    LETTER_PRONUNCIATIONS,
    acronym_map,
    espnet_format,
    extend_segments,
    hub5_utterance_id,
    map_acronyms,
    map_swbd_word,
    ms98_utterance_id,
    normalise_eval2000_text,
    normalise_ms98_words,
    remove_dup_utts,
    remove_swbd_markers,
    segment_duration,
    select_subset,
)


@pytest.mark.parametrize(
    "word, expected",
    [
        ("[laughter-story]", "story"),  # laughing while saying a word
        ("[LAUGHTER-yes]-", "yes-"),
        ("[it'n/isn't]", "it'n"),  # mispronunciation: keep what was said
        ("[lem[guini]-/linguini]", "lem-"),  # ... which may be a partial word
        ("-[an]y", "-y"),  # partial word missing its start
        ("[an]y", "-y"),  # the leading - is sometimes omitted
        ("ab[solute]-", "ab-"),  # partial word missing its end
        ("ab[solute]", "ab-"),
        ("{yuppiedom}", "yuppiedom"),  # non-standard word
        ("them_1", "them"),
        ("ammu[n]it-", "ammn-t-"),  # perl's "$1-$3" with $3 undefined, reproduced as is
        ("[noise]", "[noise]"),
        ("[vocalized-noise]", "[vocalized-noise]"),
        ("uh-huh", "uh-huh"),
    ],
)
def test_map_words(word, expected):
    assert map_swbd_word(word) == expected


def test_marker_removal_and_ids():
    assert remove_swbd_markers(["[silence]", "<b_aside>", "hello", "[SILENCE]", "there<E_ASIDE>"]) == ["hello", "there"]
    assert remove_swbd_markers(["[silence]"]) == []
    assert ms98_utterance_id("sw2001A-ms98-a-0002", 0.977625, 11.561) == "sw02001-A_000098-001156"
    assert ms98_utterance_id("sw4940B-ms98-a-0010", 299.995, 300.004) == "sw04940-B_030000-030000"
    assert segment_duration("sw02001-A_000098-001156") == pytest.approx(10.58)
    # awk's %06d of $4*100 truncates in doubles: 1.13*100 = 112.99999999999999
    assert hub5_utterance_id("en_4156", "A", "1.13", "2.50") == "en_4156-A_000112-000250"


def test_acronyms():
    dictionary = [
        "# comment",
        "ibm  ay b iy eh m",
        "ibm's  ay b iy eh m z",
        "ibms  ay b iy eh m z",
        "cia  s iy ay ey",
        "nasa  n ae s ax",  # a word, not spelled out
        "yes  y eh s",
        "i  ay",
    ]
    mapping = acronym_map(dictionary, LETTER_PRONUNCIATIONS)
    assert mapping == {"ibm": "i._b._m.", "ibm's": "i._b._m.'s", "ibms": "i._b._m.s", "cia": "c._i._a.", "i": "i."}
    words = map_acronyms(["i", "like", "ibm's", "ibm", "and", "nasa"], mapping)
    assert words == ["i", "like", "i._b._m.'s", "i._b._m.", "and", "nasa"]  # "i" itself is never mapped
    assert espnet_format("i._b._m.'s and them_1 ok.") == "i b m's and them ok"


def test_full_ms98_normalisation():
    mapping = {"ibm": "i._b._m."}
    words = ["[silence]", "<b_aside>", "[laughter-yeah]", "ibm", "ab[solute]-", "them_1", "{Yuppiedom}", "<e_aside>"]
    assert normalise_ms98_words(words, mapping) == ("yeah i._b._m. ab- them yuppiedom", "yeah i b m ab- them yuppiedom")
    assert normalise_ms98_words(["[silence]", "<b_aside>"], mapping) == ("", "")


def test_eval2000_text():
    assert normalise_eval2000_text("(%HESITATION) I'M <B_ASIDE> FINE (UH) (%HESITATION) TOO") == "i'm fine uh too"
    assert normalise_eval2000_text("(%HESITATION)") == ""


def test_extend_segments_kaldi_examples():
    # the three examples at the end of Kaldi's extend_segments.pl
    out = extend_segments([("a1", "A", 0, 1), ("a2", "A", 3, 4), ("b1", "B", 0, 1), ("b2", "B", 2, 3)], 1.0)
    assert out == [("a1", "A", 0.0, 2.0), ("a2", "A", 2.0, 5.0), ("b1", "B", 0.0, 1.5), ("b2", "B", 1.5, 4.0)]
    assert extend_segments([("a1", "A", 0, 2), ("a2", "A", 1, 3)], 1.0) == [("a1", "A", 0.0, 2.0), ("a2", "A", 1.0, 4.0)]
    out = extend_segments([("a1", "A", 0, 2), ("a2", "A", 5, 6), ("a3", "A", 3, 4)], 1.0)
    assert out == [("a1", "A", 0.0, 2.5), ("a2", "A", 4.5, 7.0), ("a3", "A", 2.5, 4.5)]


def test_remove_dup_utts():
    rows = [("u1", "uh-huh"), ("u2", "yeah"), ("u3", "uh-huh"), ("u4", "uh-huh"), ("u5", "yeah")]
    assert remove_dup_utts(rows, 2) == ["u1", "u2", "u3", "u5"]
    assert remove_dup_utts(rows, 300) == ["u1", "u2", "u3", "u4", "u5"]


def test_select_subset_whole_conversations_nested():
    utts = [f"sw0{2001 + c}-{s}_{100 * u:06d}-{100 * u + 100:06d}" for c in range(20) for s in "AB" for u in range(5)]
    # 10 s per conversation; 35 s -> the first 4 conversations in SHA-1 order
    small, large = select_subset(utts, 35 / 3600), select_subset(utts, 70 / 3600)
    convs = lambda ids: {u.split("-")[0] for u in ids}  # noqa: E731
    assert len(convs(small)) == 4 and len(convs(large)) == 7
    assert set(small) < set(large)
    assert all(sum(u.startswith(c) for u in small) == 10 for c in convs(small))  # whole conversations
    assert select_subset(list(reversed(utts)), 35 / 3600) == small  # input order does not matter
    assert select_subset(utts, 1000) == sorted(utts)


def test_hub5_filters_and_glm(tmp_path):
    assert filter_hyp_words(["uh", "[noise]", "i'm", "<unk>", "fine-", "Um", "[laughter]", "okay"]) == ["I'M", "OKAY"]
    assert reference_words("(%HESITATION) I'M (UH) FINE <B_ASIDE> (BU-)") == [
        ("%HESITATION", True), ("I'M", False), ("UH", True), ("FINE", False), ("BU-", True)
    ]
    glm = tmp_path / "x.glm"
    glm.write_text(
        ';; comment\n* name "x"\nUH => %HESITATION / [ ] __ [ ]\n'
        "I'M => { I'M / I AM } / [ ] __ [ ] ;; contraction\nOKAY => { OKAY / OK } / [ ] __ [ ]\n"
        "GONNA => GOING TO / [ ] __ [ ]\nX => Y / [ A ] __ [ ]\n"
    )
    normalise = GlmNormaliser(parse_glm(glm))
    assert normalise(["I", "AM", "OK", "UH", "GOING", "TO", "X"]) == ["I'M", "OKAY", "GONNA", "X"]
    assert normalise(["I'M", "OKAY", "GONNA"]) == ["I'M", "OKAY", "GONNA"]
    assert reference_words("I AM (UH) OK", normalise) == [("I'M", False), ("UH", True), ("OKAY", False)]


def test_align_counts():
    c = align("A B C D".split(), "A X C D E".split())
    assert (c.substitutions, c.deletions, c.insertions, c.words) == (1, 0, 1, 4)
    c = align("A B C".split(), [])
    assert (c.substitutions, c.deletions, c.insertions) == (0, 3, 0)
    c = align([], ["A"])
    assert (c.substitutions, c.deletions, c.insertions, c.sentence_errors) == (0, 0, 1, 1)
    # optionally deletable words: free when left out, correct when matched, counted in the total
    ref = [("A", False), ("UH", True), ("B", False), ("BU-", True)]
    c = align(ref, ["A", "B"])
    assert (c.substitutions, c.deletions, c.insertions, c.words) == (0, 0, 0, 4)
    c = align(ref, ["A", "UH", "B"])
    assert (c.substitutions, c.deletions, c.insertions) == (0, 0, 0)
    c = align(ref, ["B"])
    assert (c.substitutions, c.deletions, c.insertions) == (0, 1, 0)
