"""Phones beyond ARPAbet: articulatory features of IPA phones, visemes by rule, English unchanged."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from emote.animation.channels import index
from emote.engines.phonetic import animate_phones
from emote.engines.phonetic.visemes import PHONE_VISEMES, VISEMES, ipa_viseme, ipa_visemes
from emote.eval import evaluate
from emote.phonetics.features import CONSONANTS, VOWELS, parse_ipa, phone_features
from emote.phonetics.ipa import IPA_TO_ARPABET, ipa_to_arpabet
from emote.phonetics.labels import ARPABET, ipa_label, normalize_label

GOLDEN = Path(__file__).parent / "data" / "phonetic_english_golden.npz"


def phone(start: float, end: float, label: str) -> SimpleNamespace:
    return SimpleNamespace(start=start, end=end, label=label)


def test_english_curves_are_those_of_the_arpabet_tables(speech_dir):
    """The ARPAbet path gives, to 1e-6, the curves recorded before visemes came from features."""
    sys.path.insert(0, str(GOLDEN.parent))
    try:
        from make_english_golden import golden_curves
    finally:
        sys.path.pop(0)
    recorded = np.load(GOLDEN)
    now = golden_curves(speech_dir)
    assert set(now) == set(recorded.files) - {"commit"}
    for key, curves in now.items():
        assert curves.shape == recorded[key].shape, key
        np.testing.assert_allclose(curves, recorded[key], atol=1e-6, err_msg=key)


def _english_ipa(arpabet: str) -> str:
    """An IPA spelling of an ARPAbet phone, from the IPA -> ARPAbet table read backwards."""
    return next(ipa for ipa, arpa in IPA_TO_ARPABET.items() if arpa == (arpabet,) and parse_ipa(ipa))


@pytest.mark.parametrize("arpabet", [p for p in ARPABET if len(PHONE_VISEMES[p]) == 1])
def test_the_rule_puts_english_phones_on_their_english_viseme(arpabet):
    """Each English consonant and monophthong, written in IPA, gets the viseme the English table gives it."""
    ipa = {"AH": "ʌ", "AO": "ɔ", "ER": "ɝ", "IH": "ɪ", "UH": "ʊ", "R": "ɹ", "HH": "h", "G": "ɡ"}.get(
        arpabet, _english_ipa(arpabet)
    )
    ((viseme, share),) = ipa_visemes(ipa)
    assert share == 1.0
    assert viseme is VISEMES[PHONE_VISEMES[arpabet][0][0]], f"{arpabet} /{ipa}/"


def test_every_symbol_of_the_chart_gets_a_mouth_shape():
    unknown = VISEMES["?"]
    for symbol in [*CONSONANTS, *VOWELS]:
        ((viseme, _),) = ipa_visemes(symbol)
        assert viseme is not unknown, symbol
        assert ipa_to_arpabet(symbol), symbol


def test_vowel_features_move_the_mouth_the_right_way():
    def target(ipa: str, name: str) -> float:
        return float(ipa_viseme(phone_features(ipa)).targets.get(name, 0.0))

    # openness opens the jaw, down the front of the chart
    jaws = [target(v, "jaw") for v in ("i", "e", "ɛ", "æ", "a")]
    assert jaws == sorted(jaws) and jaws[-1] > 2 * jaws[0]
    # French /y/ and German /ø/: the jaw of /i e/, the lips of /u o/
    assert target("y", "jaw") == pytest.approx(target("i", "jaw"), abs=0.03)
    assert target("y", "pucker") > target("i", "pucker") + 0.3
    assert target("y", "stretch") < target("i", "stretch") / 2
    assert target("ø", "pucker") > target("e", "pucker") + 0.2
    # Japanese /ɯ/ is unrounded: no pucker, unlike /u/
    assert target("ɯ", "pucker") < 0.1 < target("u", "pucker")
    # diacritics: a lowered /e̞/ is more open than /e/, a labialised /kʷ/ rounder than /k/
    assert target("e̞", "jaw") > target("e", "jaw")
    assert target("kʷ", "pucker") > target("k", "pucker") + 0.4


def test_ipa_affricates_diphthongs_and_marks_parse():
    assert [p.symbol for p in parse_ipa("t͡ʃˈaɪ ʈʂʰʅ˥˩ tsʷ")] == ["tʃ", "a", "ɪ", "ʈʂ", "ʅ", "tsʷ"]
    assert parse_ipa("ts")[0].manner == "affricate" and parse_ipa("ts")[0].sibilant
    assert parse_ipa("n̪")[0].place == "dental"
    assert parse_ipa("ˈːˌ") == [] and parse_ipa("QX") is None
    # espeak's lone palatalisation event and stress marks are silence, not unknown phones
    assert normalize_label(ipa_label("ʲ")) == ["SIL"]
    assert normalize_label(ipa_label("ɲ")) == ["N"] and normalize_label(ipa_label("y")) == ["UW"]


def test_ipa_phones_of_another_language_close_and_open_the_lips():
    """Spanish "mamá bebe poco" in IPA labels: every /m b p/ closes, every /a/ opens."""
    ipa = ["m", "a", "m", "ˈa", "β", "ˈe", "β", "e", "p", "ˈo", "k", "o"]
    phones = [phone(0.1 + 0.09 * i, 0.19 + 0.09 * i, ipa_label(s)) for i, s in enumerate(ipa)]
    n = int(np.ceil(phones[-1].end * 30)) + 3
    curves = animate_phones(phones, n_frames=n, fps=30.0)
    metrics = evaluate(curves, 30.0, phones)
    assert metrics["bilabial_closure"] == 1.0
    assert metrics["open_closed_contrast"] >= 10.0
    # the /o/ is rounder than the /a/
    pucker = curves[:, index("MouthPucker")]
    a_frame, o_frame = round(0.145 * 30), round((0.1 + 0.09 * 9 + 0.045) * 30)
    assert pucker[o_frame] > pucker[a_frame] + 0.1
