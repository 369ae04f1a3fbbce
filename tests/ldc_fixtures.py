"""Small corpora in the real LDC layouts, for the WSJ and Switchboard recipe tests.

Audio is real SPHERE: 16 kHz .wv1 for WSJ (WSJ0 plain PCM, WSJ1
shorten-compressed as on the LDC discs), two-channel 8 kHz u-law .sph for
Switchboard and Hub5 eval2000 (every other conversation u-law shorten, as
many Switchboard copies are). The speech is FSDD digit recordings
(upsampled) when FSDD is present, otherwise synthesized tones (the tests that
use these corpora check data layouts and the pipeline, not recognition).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import soundfile

from conftest import find_fsdd_dir
from shorten_encoder import encode_shorten

from espnet_mixrep.core.g711 import linear_to_ulaw
from espnet_mixrep.core.shorten import TYPE_AU2
from espnet_mixrep.core.audio import resample
from espnet_mixrep.core.sphere import write_sphere
from espnet_mixrep.recipes.swbd import hub5_utterance_id

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


class SpeechSource:
    """Deterministic short digit recordings at a requested rate (FSDD, or tones without it)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.fsdd = find_fsdd_dir()
        self._cache: Dict[Tuple[int, int], np.ndarray] = {}

    def digit(self, digit: int, take: int) -> np.ndarray:
        key = (digit, take)
        if key not in self._cache:
            if self.fsdd is not None:
                speaker = ["george", "jackson", "lucas", "nicolas"][take % 4]
                path = self.fsdd / "recordings" / f"{digit}_{speaker}_{take % 50}.wav"
                samples, rate = soundfile.read(path, dtype="int16")
                samples = resample(samples, rate, self.rate)
            else:
                t = np.arange(int(0.35 * self.rate)) / self.rate
                samples = (8000 * np.sin(2 * np.pi * (300 + 60 * digit + 7 * take) * t)).astype(np.int16)
            self._cache[key] = samples[: int(0.6 * self.rate)]
        return self._cache[key]

    def utterance(self, digits: List[int], take: int) -> np.ndarray:
        gap = np.zeros(int(0.05 * self.rate), dtype=np.int16)
        parts = []
        for i, d in enumerate(digits):
            parts += [self.digit(d, take + i), gap]
        return np.concatenate(parts)


# =========================================================================== WSJ
# Markup in the .dot transcripts, each with its normalised form (None: dropped).
WSJ_MARKUP = [
    ("[loud_breath]", "<NOISE>"),
    ("[<door_slam]", None),
    ("[phone_ring/]", None),
    ("<and>", "AND"),
    ("~", None),
    (".", None),
    ("%percent", "PERCENT"),
    ("--dash", "-DASH"),
    ("I\\.", "I."),
    ("[/phone_ring]", None),
]


@dataclass
class WsjFixture:
    wsj0: Path
    wsj1: Path
    # set -> {utt_id: expected normalised text}
    expected: Dict[str, Dict[str, str]] = field(default_factory=dict)
    lm_lines: List[str] = field(default_factory=list)


def write_shorten_sphere(path: Path, samples: np.ndarray, rate: int, coding: str = "pcm") -> None:
    """A shorten-compressed SPHERE file of int16 samples ([n] or [n, channels]): 16-bit PCM, as
    most WSJ .wv1 files are, or u-law (coded as the LDC's u-law shorten files are: AU2, no means)."""
    samples = np.asarray(samples)
    samples = samples[:, None] if samples.ndim == 1 else samples
    if coding == "ulaw":
        stream = encode_shorten(linear_to_ulaw(samples), sample_type=TYPE_AU2, nmean=0)
        width, order = ("-i", 1), ("-s1", "1")
    else:
        stream, width, order = encode_shorten(samples), ("-i", 2), ("-s2", "10")
    sample_coding = f"{coding},embedded-shorten-v2.00"
    fields = [
        ("sample_count", "-i", len(samples)), ("sample_rate", "-i", rate), ("channel_count", "-i", samples.shape[1]),
        ("sample_n_bytes", *width), ("sample_byte_format", *order),
        ("sample_coding", f"-s{len(sample_coding)}", sample_coding),
    ]  # fmt: skip
    header = "NIST_1A\n   1024\n" + "".join(f"{k} {t} {v}\n" for k, t, v in fields) + "end_head\n"
    path.write_bytes(header.encode().ljust(1024, b" ") + stream)


def _wsj_utterances(
    source: SpeechSource, disc: Path, subdir: str, speaker: str, n: int, start: int, dot_dir: Optional[Path],
    shorten: bool = False,
) -> Tuple[List[str], Dict[str, str], Dict[str, str]]:
    """Write n .wv1 files of one speaker (shorten-compressed or plain PCM) and its .dot file;
    -> (relative paths, raw texts, expected texts)."""
    audio_dir = disc / subdir / speaker
    audio_dir.mkdir(parents=True, exist_ok=True)
    session = f"{speaker}c02"
    raw, expected, rel = {}, {}, []
    for i in range(n):
        utt = f"{session}{i + 1:02d}"
        digits = [(start + i + k) % 10 for k in range(1 + (start + i) % 3)]
        audio = source.utterance(digits, start + i)
        if shorten:
            write_shorten_sphere(audio_dir / f"{utt}.wv1", audio, 16000)
        else:
            write_sphere(audio_dir / f"{utt}.wv1", audio, 16000)
        markup, normalised = WSJ_MARKUP[(start + i) % len(WSJ_MARKUP)]
        words = [DIGITS[d] for d in digits]
        raw[utt] = " ".join(words[:1] + [markup] + words[1:])
        exp_words = [w.upper() for w in words]
        if normalised:
            exp_words.insert(1, normalised)
        expected[utt] = " ".join(exp_words)
        rel.append(f"{subdir}/{speaker}/{utt}.wv1")
    target = (dot_dir or audio_dir) / speaker if dot_dir else audio_dir
    target.mkdir(parents=True, exist_ok=True)
    (target / f"{session}00.dot").write_text("".join(f"{raw[u]} ({u})\n" for u in sorted(raw)), encoding="latin-1")
    return rel, raw, expected


def make_wsj_corpus(root: Path, per_speaker: int = 3) -> WsjFixture:
    """WSJ0 / WSJ1 disc trees with index files, .dot transcripts, .wv1 audio and LM text."""
    source = SpeechSource(16000)
    wsj0, wsj1 = root / "LDC93S6B", root / "LDC94S13B"
    fx = WsjFixture(wsj0, wsj1)
    sets: Dict[str, Dict[str, str]] = {k: {} for k in ("train_si84", "train_si284", "test_dev93", "test_eval92")}
    ndx: Dict[str, List[str]] = {"si84": [], "si_tr_s": [], "dev93": [], "eval92": []}
    dots0 = wsj0 / "11-4.1" / "wsj0" / "transcrp" / "dots"
    counter = 0
    # WSJ0 si_tr_s: speakers 01a, 01b on disc 11-1.1 and 401 (excluded by every recipe) on 11-2.1.
    for disc, speaker in (("11-1.1", "01a"), ("11-1.1", "01b"), ("11-2.1", "401")):
        rel, _, exp = _wsj_utterances(source, wsj0 / disc, "wsj0/si_tr_s", speaker, per_speaker, counter, dots0 / "si_tr_s")
        counter += per_speaker
        ndx["si84"] += [f"{disc.replace('-', '_').replace('.', '_')}:{r}" for r in rel]
        if speaker != "401":
            sets["train_si84"].update(exp)
            sets["train_si284"].update(exp)
    # WSJ1 si_tr_s on 13-1.1 (dot files beside the audio, as in WSJ1), shorten-compressed.
    for speaker in ("46a", "46b"):
        rel, _, exp = _wsj_utterances(source, wsj1 / "13-1.1", "wsj1/si_tr_s", speaker, per_speaker, counter, None, True)
        counter += per_speaker
        ndx["si_tr_s"] += [f"13_1_1:{r}" for r in rel]
        sets["train_si284"].update(exp)
    # dev93 on 13-16.1, eval92 on 11-14.1 (its index lists files without extension).
    rel, _, exp = _wsj_utterances(source, wsj1 / "13-16.1", "wsj1/si_dt_20", "4k0", per_speaker, counter, None, True)
    counter += per_speaker
    ndx["dev93"] += [f"13_16_1:{r}" for r in rel]
    sets["test_dev93"].update(exp)
    rel, _, exp = _wsj_utterances(source, wsj0 / "11-14.1", "wsj0/si_et_20", "440", per_speaker, counter, dots0 / "si_et_20")
    ndx["eval92"] += [f"11_14_1:{r[:-4]}" for r in rel]
    sets["test_eval92"].update(exp)

    header = ";; Index for WSJ test fixture\n;;\n"
    idx0 = wsj0 / "11-13.1" / "wsj0" / "doc" / "indices"
    idx1 = wsj1 / "13-34.1" / "wsj1" / "doc" / "indices"
    for path, lines in (
        (idx0 / "train" / "tr_s_wv1.ndx", ndx["si84"]),
        (idx0 / "test" / "nvp" / "si_et_20.ndx", ndx["eval92"]),
        (idx1 / "si_tr_s.ndx", ndx["si_tr_s"]),
        (idx1 / "h1_p0.ndx", ndx["dev93"]),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + "".join(f"{line}\n" for line in lines), encoding="latin-1")

    # LM text: SGML-marked articles, gzip-compressed like zcat-able .z files.
    np_data = wsj1 / "13-32.1" / "wsj1" / "doc" / "lng_modl" / "lm_train" / "np_data"
    for y, year in enumerate(("87", "88", "89")):
        (np_data / year).mkdir(parents=True, exist_ok=True)
        sentences = [f"the {DIGITS[y]} companies said {DIGITS[(y + k) % 10]} shares rose" for k in range(3)]
        body = f"<art.{year}0101.0001>\n<p>\n" + "".join(f"<s>\n{s}\n</s>\n" for s in sentences) + "</p>\n</art>\n"
        with gzip.open(np_data / year / f"{year}0101.z", "wt", encoding="latin-1") as f:
            f.write(body)
        fx.lm_lines += [s.upper() for s in sentences]
    fx.expected = sets
    return fx


# =========================================================================== Switchboard
# ms98 words and their prepared (lower-case, ESPnet-formatted) forms.
SWBD_WORDS = [
    ("[laughter-yes]", "yes"),
    ("[noise]", "[noise]"),
    ("them_1", "them"),
    ("ibm", "i b m"),
    ("{yuppiedom}", "yuppiedom"),
    ("ab[solute]-", "ab-"),
    ("[vocalized-noise]", "[vocalized-noise]"),
    ("-[an]y", "-y"),
]
SWBD_DICT = [
    "ibm  ay b iy eh m",
    "yes  y eh s",
    "them_1  eh m",
    "uh-huh  ah hh ah",
]


@dataclass
class SwbdFixture:
    swbd: Path  # LDC97S62
    eval2000_speech: Path  # LDC2002S09/hub5e_00
    eval2000_text: Path  # LDC2002T43
    train_texts: Dict[str, str] = field(default_factory=dict)  # utt_id -> expected text
    conversations: List[str] = field(default_factory=list)
    eval_utts: Dict[str, str] = field(default_factory=dict)  # eval2000 utt_id -> stm text


def _fmt_time(t: float) -> str:
    return f"{t:.6f}"


def make_swbd_corpus(root: Path, conversations: int = 6, utts_per_side: int = 3) -> SwbdFixture:
    """LDC97S62 (swb1_d1/data/*.sph, transcriptions/swb_ms98_transcriptions) and
    LDC2002S09 / LDC2002T43 (hub5e_00/english, pem, stm, glm)."""
    source = SpeechSource(8000)
    swbd = root / "LDC97S62"
    ms98 = swbd / "transcriptions" / "swb_ms98_transcriptions"
    ms98.mkdir(parents=True)
    (ms98 / "sw-ms98-dict.text").write_text("# ms98 dictionary (fixture)\n" + "\n".join(SWBD_DICT) + "\n")
    fx = SwbdFixture(swbd, root / "LDC2002S09" / "hub5e_00", root / "LDC2002T43")
    duplicate_text = "uh-huh"
    for c in range(conversations):
        number = 2001 + c
        conv = f"sw0{number}"
        fx.conversations.append(conv)
        disc = swbd / f"swb1_d{1 + c % 2}" / "data"
        disc.mkdir(parents=True, exist_ok=True)
        channels = []
        for side_index, side in enumerate("AB"):
            signal = np.zeros(int(8000 * (1.0 + 1.6 * utts_per_side + 0.5)), dtype=np.int16)
            lines = [f"sw{number}{side}-ms98-a-0001 {_fmt_time(0.0)} {_fmt_time(0.8)} [silence]"]
            t = 1.0
            for u in range(utts_per_side):
                take = c * 10 + side_index * 5 + u
                digits = [(take + k) % 10 for k in range(2)]
                audio = source.utterance(digits, take)
                start = int(t * 8000)
                signal[start : start + len(audio)] = audio[: len(signal) - start]
                end = t + len(audio) / 8000
                special, expected_special = SWBD_WORDS[take % len(SWBD_WORDS)]
                words = [DIGITS[d] for d in digits]
                if u == 0 and c < 2:
                    # the same short answer in several conversations: remove_dup_utts keeps them (<= 300)
                    ms98_words, expected = [duplicate_text], duplicate_text
                else:
                    ms98_words = ["<b_aside>", words[0], "[silence]", special, words[1], "<e_aside>"]
                    expected = " ".join([words[0], expected_special, words[1]])
                lines.append(f"sw{number}{side}-ms98-a-{u + 2:04d} {_fmt_time(t)} {_fmt_time(end)} {' '.join(ms98_words)}")
                utt = f"{conv}-{side}_{int(100 * t + 0.5):06d}-{int(100 * end + 0.5):06d}"
                fx.train_texts[utt] = expected
                t = end + 0.6
            # a segment of only silence: dropped
            lines.append(f"sw{number}{side}-ms98-a-{utts_per_side + 2:04d} {_fmt_time(t)} {_fmt_time(t + 0.3)} [silence]")
            trans_dir = ms98 / f"{number // 100}" / f"{number}"
            trans_dir.mkdir(parents=True, exist_ok=True)
            (trans_dir / f"sw{number}{side}-ms98-a-trans.text").write_text("\n".join(lines) + "\n")
            (trans_dir / f"sw{number}{side}-ms98-a-word.text").write_text("")
            channels.append(signal)
        if c % 2:
            write_shorten_sphere(disc / f"{conv}.sph", np.stack(channels, axis=1), 8000, coding="ulaw")
        else:
            write_sphere(disc / f"{conv}.sph", np.stack(channels, axis=1), 8000, coding="ulaw")

    # eval2000: one Switchboard and one CallHome conversation.
    english = fx.eval2000_speech / "english"
    english.mkdir(parents=True)
    reference = fx.eval2000_text / "2000_hub5_eng_eval_tr" / "reference"
    reference.mkdir(parents=True)
    pem = [";; hub5e_00.pem (fixture)"]
    stm = [
        ';; CATEGORY "0" "" ""',
        ';; LABEL "O" "Overall" "Overall"',
        ';; CATEGORY "1" "Language" ""',
        ';; LABEL "en" "English" ""',
        ';; CATEGORY "2" "Sex" ""',
        ';; LABEL "F" "Female" ""',
        ';; LABEL "en-F" "English female" ""',
    ]
    stm_texts = [
        ["HE IS A", "(%HESITATION) ONE TWO", "THREE (UH) FOUR"],
        ["I'M FINE", "FIVE <B_ASIDE> SIX", "SEVEN (EIGHT-)"],
    ]
    for e, conv in enumerate(("sw_4390", "en_4156")):
        channels = []
        for side_index, side in enumerate("AB"):
            signal = np.zeros(8000 * 8, dtype=np.int16)
            t = 0.5
            for u, text in enumerate(stm_texts[side_index]):
                take = 100 + e * 10 + side_index * 5 + u
                audio = source.utterance([(take + k) % 10 for k in range(2)], take)
                start = int(t * 8000)
                signal[start : start + len(audio)] = audio
                end = round(t + len(audio) / 8000, 2)
                pem.append(f"{conv} {side} unknown_speaker {t:.2f} {end:.2f}")
                stm.append(f"{conv} {side} {conv}_{side} {t:.2f} {end:.2f} <O,en,F,en-F>  {text}")
                fx.eval_utts[hub5_utterance_id(conv, side, f"{t:.2f}", f"{end:.2f}")] = text
                t = round(end + 0.7, 2)
            channels.append(signal)
        if e:
            write_shorten_sphere(english / f"{conv}.sph", np.stack(channels, axis=1), 8000, coding="ulaw")
        else:
            write_sphere(english / f"{conv}.sph", np.stack(channels, axis=1), 8000, coding="ulaw")
    (english / "hub5e_00.pem").write_text("\n".join(pem) + "\n")
    (reference / "hub5e00.english.000405.stm").write_text("\n".join(stm) + "\n")
    (reference / "en20000405_hub5.glm").write_text(
        ";; en20000405_hub5.glm (fixture subset)\n"
        '* name "hub5_english"\n'
        "* desc \"fixture\"\n"
        "UH => %HESITATION / [ ] __ [ ] ;; hesitation\n"
        "UM => %HESITATION / [ ] __ [ ]\n"
        "I'M => { I'M / I AM } / [ ] __ [ ]\n"
        "OKAY => { OKAY / OK } / [ ] __ [ ]\n"
    )
    return fx
