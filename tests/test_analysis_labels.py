"""Unit labels: utterance maps, CTM, TextGrid (long and short format), specs, checks, pooling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from espnet_mixrep.analysis.extract import unit_frames
from espnet_mixrep.analysis.labels import (
    LabelError,
    Unit,
    check_units_against_data,
    load_label_set,
    parse_label_spec,
    read_ctm,
    read_textgrid,
)

LONG_TEXTGRID = '''File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 1.5
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "words"
        xmin = 0
        xmax = 1.5
        intervals: size = 3
        intervals [1]:
            xmin = 0
            xmax = 0.4
            text = ""
        intervals [2]:
            xmin = 0.4
            xmax = 0.9
            text = "say ""one"""
        intervals [3]:
            xmin = 0.9
            xmax = 1.5
            text = "two"
    item [2]:
        class = "IntervalTier"
        name = "phones"
        xmin = 0
        xmax = 1.5
        intervals: size = 2
        intervals [1]:
            xmin = 0
            xmax = 0.4
            text = "sil"
        intervals [2]:
            xmin = 0.4
            xmax = 1.5
            text = "W"
'''

SHORT_TEXTGRID = '''File type = "ooTextFile"
Object class = "TextGrid"

0
1.5
<exists>
1
"IntervalTier"
"words"
0
1.5
2
0
0.7
"one"
0.7
1.5
"two"
'''


def test_textgrid_long_and_short_formats(tmp_path: Path) -> None:
    (tmp_path / "utt1.TextGrid").write_text(LONG_TEXTGRID)
    (tmp_path / "utt2.TextGrid").write_text(SHORT_TEXTGRID)
    words = read_textgrid(tmp_path / "utt1.TextGrid", "words")
    assert [(u.utt_id, u.label, u.start, u.end) for u in words] == [
        ("utt1", 'say "one"', 0.4, 0.9),
        ("utt1", "two", 0.9, 1.5),
    ]
    assert [u.label for u in read_textgrid(tmp_path / "utt1.TextGrid", "phones")] == ["sil", "W"]
    assert [(u.label, u.end) for u in read_textgrid(tmp_path / "utt2.TextGrid", "words")] == [("one", 0.7), ("two", 1.5)]
    with pytest.raises(LabelError, match="no tier named 'phone'"):
        read_textgrid(tmp_path / "utt1.TextGrid", "phone")
    # A directory of TextGrids (searched recursively); silences dropped by default.
    words = load_label_set(f"name=word,textgrid={tmp_path},tier=words")
    assert [(u.utt_id, u.label) for u in words.units] == [("utt1", 'say "one"'), ("utt1", "two"), ("utt2", "one"), ("utt2", "two")]
    with pytest.raises(LabelError, match="utt2.TextGrid: no tier named 'phones'"):
        load_label_set(f"name=phone,textgrid={tmp_path},tier=phones")
    (tmp_path / "spk").mkdir()
    (tmp_path / "spk" / "utt1.TextGrid").write_text(LONG_TEXTGRID)
    phones = load_label_set(f"name=phone,textgrid={tmp_path / 'spk'},tier=phones")
    assert [u.label for u in phones.units] == ["W"]
    with pytest.raises(LabelError, match="also has"):
        load_label_set(f"name=word,textgrid={tmp_path},tier=words")


def test_truncated_textgrid_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "cut.TextGrid"
    path.write_text(SHORT_TEXTGRID.rsplit("0.7", 1)[0])
    with pytest.raises(LabelError, match="cut.TextGrid"):
        read_textgrid(path, "words")


def test_ctm_reading_and_bad_lines(tmp_path: Path) -> None:
    ctm = tmp_path / "a.ctm"
    ctm.write_text("u1 1 0.00 0.30 sil\nu1 1 0.30 0.25 AH 0.9\nu2 1 0.10 0.20 B\n")
    units = read_ctm(ctm)
    assert [(u.utt_id, u.label, u.start) for u in units] == [("u1", "sil", 0.0), ("u1", "AH", 0.3), ("u2", "B", 0.1)]
    assert units[1].end == pytest.approx(0.55)
    assert units[1].origin == f"{ctm}:2"
    ctm.write_text("u1 1 0.00 zero AH\n")
    with pytest.raises(LabelError, match=r"a\.ctm:1: start and duration must be numbers"):
        read_ctm(ctm)
    ctm.write_text("u1 1 0.5 0.0 AH\n")
    with pytest.raises(LabelError, match="duration > 0"):
        read_ctm(ctm)


def test_label_spec_options(tmp_path: Path) -> None:
    ctm = tmp_path / "a.ctm"
    labels = ["a", "a", "a", "b", "b", "c", "sil", "spn"]
    ctm.write_text("".join(f"u{i} 1 0.0 0.1 {label}\n" for i, label in enumerate(labels)))
    assert [u.label for u in load_label_set(f"name=p,ctm={ctm}").units] == labels[:6]
    assert [u.label for u in load_label_set(f"name=p,ctm={ctm},exclude=").units] == labels
    assert [u.label for u in load_label_set(f"name=p,ctm={ctm},exclude=a:sil").units] == ["b", "b", "c", "spn"]
    top = load_label_set(f"name=p,ctm={ctm},top=2,pool=middle_third,k=7")
    assert [u.label for u in top.units] == ["a", "a", "a", "b", "b"]
    assert (top.pooling, top.n_clusters, top.is_utterance_level) == ("middle_third", 7, False)
    utt2spk = tmp_path / "utt2spk"
    utt2spk.write_text("u1 spk a\nu2 spk b\n")
    speakers = load_label_set(f"name=speaker,utt={utt2spk}")
    assert [u.label for u in speakers.units] == ["spk a", "spk b"] and speakers.is_utterance_level
    for bad, message in (
        ("name=x", "exactly one of"),
        (f"name=x,utt={utt2spk},ctm={ctm}", "exactly one of"),
        (f"utt={utt2spk}", "needs name="),
        (f"name=x,textgrid={tmp_path}", "needs tier="),
        (f"name=x,utt={utt2spk},pool=max", "pool must be"),
        (f"name=x,utt={utt2spk},top=-3", "positive integer"),
        (f"name=x,utt={utt2spk},colour=red", "bad item"),
    ):
        with pytest.raises(LabelError, match=message):
            parse_label_spec(bad)
    with pytest.raises(LabelError, match="file not found"):
        load_label_set(f"name=x,utt={tmp_path / 'missing'}")


def test_units_are_checked_against_the_data() -> None:
    durations = {"u1": 1.0, "u2": None}
    units = [Unit("u1", "a", 0.2, 1.02, "a.ctm:1"), Unit("u2", "b", 0.0, 99.0, "a.ctm:2")]
    from espnet_mixrep.analysis.labels import LabelSet

    check_units_against_data(LabelSet("p", units, source="a.ctm"), durations)  # within 30 ms; u2 unknown yet
    late = LabelSet("p", [Unit("u1", "a", 0.5, 1.2, "a.ctm:7")], source="a.ctm")
    with pytest.raises(LabelError, match=r"a\.ctm:7: unit 'a' of 'u1' ends at 1\.200 s, past the audio's end \(1\.000 s\)"):
        check_units_against_data(late, durations)
    stranger = LabelSet("p", [Unit("u9", "a", None, None, "labels")], source="labels")
    with pytest.raises(LabelError, match=r"labels: 1 utterance ids of label set 'p' are not in the data directory \(e\.g\. \['u9'\]\)"):
        check_units_against_data(stranger, durations)


def test_unit_frames_pooling() -> None:
    # 10 frames over 1 s: frame i centred at (i + 0.5) / 10.
    whole = unit_frames(10, 1.0, Unit("u", "a", None, None, ""), "mean")
    assert whole.tolist() == list(range(10))
    span = unit_frames(10, 1.0, Unit("u", "a", 0.3, 0.9, ""), "mean")
    assert span.tolist() == [3, 4, 5, 6, 7, 8]
    middle = unit_frames(10, 1.0, Unit("u", "a", 0.3, 0.9, ""), "middle_third")
    assert middle.tolist() == [5, 6]  # [0.5, 0.7): centres 0.55, 0.65
    short = unit_frames(10, 1.0, Unit("u", "a", 0.41, 0.44, ""), "mean")
    assert short.tolist() == [4]  # no centre inside: the nearest frame
    assert unit_frames(1, 1.0, Unit("u", "a", 0.3, 0.9, ""), "mean").tolist() == [0]
    assert np.issubdtype(span.dtype, np.integer)
