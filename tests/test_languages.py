"""Phones beyond ARPAbet: articulatory features of IPA phones, visemes by rule, English unchanged."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import missing

from emote.animation.channels import index
from emote.engines.phonetic import animate_phones
from emote.engines.phonetic.visemes import PHONE_VISEMES, VISEMES, ipa_viseme, ipa_visemes
from emote.eval import evaluate
from emote.performance import PerformanceSettings
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


# -- any espeak-ng language: phonemiser, aligner, recogniser, CLI ------------------------------

LINES = {  # one line per language, each with /p b m/ (benchmarks/languages.py speaks two)
    "es": "Mi padre compró un mapa de las montañas en mayo.",
    "fr": "Mon père a acheté une belle carte des montagnes en mai.",
    "de": "Mein Bruder hat am Montag ein Buch über Berge gekauft.",
    "it": "Mio padre ha comprato una mappa delle montagne a maggio.",
    "pt": "Meu pai comprou um mapa bonito das montanhas em maio.",
    "ru": "Мой папа купил большую карту гор в мае.",
    "ja": "ぼくは まいばん パンを たべます。",
    "ko": "바다에 바람이 불면 마음이 편해요.",
    "zh": "爸爸买了一本地图，妈妈不怕麻烦。",
    "nl": "Mijn broer bakt op maandag een groot brood.",
    "pl": "Moja mama kupiła piękną mapę gór w maju.",
    "tr": "Babam mayısta bana büyük bir harita aldı.",
    "sv": "Min bror bakade ett stort bröd på måndag.",
}

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason=missing("espeak-ng", "not installed")
)


@needs_espeak
def test_an_unknown_language_is_one_line_naming_the_known_ones():
    from emote.audio.espeak import check_language
    from emote.errors import EmoteError

    with pytest.raises(EmoteError) as err:
        check_language("klingon")
    message = str(err.value)
    assert "\n" not in message and "'klingon'" in message
    for code in ("auto", "es", "fr", "zh", "ja", "ru"):
        assert f" {code}," in message or message.endswith(f" {code}")
    assert check_language("zh") == "cmn-latn-pinyin" and check_language("fr") == "fr-fr"


@needs_espeak
@pytest.mark.parametrize("language", LINES)
def test_espeak_phonemises_every_language_into_known_phones(language):
    from emote.audio.espeak import phonemize

    words = phonemize(LINES[language], language)
    phones = [p for w in words for p in w]
    assert len(words) >= 4 and len(phones) >= 15
    for p in phones:
        assert parse_ipa(p) is not None and len(parse_ipa(p)) == 1, p
    assert {"m", "b", "p"} & set(phones), phones  # each line has a bilabial...
    assert any(
        phone_features(p).vowel and phone_features(p).openness >= 2 / 3 for p in phones
    )  # ...and an open vowel


def test_ctc_viterbi_finds_the_planted_path_and_the_band_changes_nothing():
    from emote.audio.ctc_align import viterbi_ctc

    rng = np.random.default_rng(0)
    targets = np.cumsum(rng.integers(1, 7, 40)) % 7  # classes 0-6, never the same twice in a row
    # A path: each target held 2-4 frames, blanks 0-3 frames between.
    states: list[int] = []
    for k in range(len(targets)):
        states += [2 * k] * int(rng.integers(0, 4)) + [2 * k + 1] * int(rng.integers(2, 5))
    states += [2 * len(targets)] * 3
    n = len(states)
    path = np.array(states)
    label = np.where(path % 2 == 1, targets[np.minimum(path // 2, len(targets) - 1)], 7)
    log_probs = np.log(np.full((n, 8), 0.05))
    log_probs[np.arange(n), label] = np.log(0.65)
    full = viterbi_ctc(log_probs, targets, blank=7, band=10_000)
    banded = viterbi_ctc(log_probs, targets, blank=7, band=60)  # 60 of 81 states: a band the path stays in
    np.testing.assert_array_equal(full, states)
    np.testing.assert_array_equal(banded, states)
    assert viterbi_ctc(log_probs[:20], targets, blank=7) is None  # 40 phones cannot fit 20 frames


@needs_espeak
@pytest.mark.parametrize("language", ["es", "zh"])
def test_the_ctc_aligner_finds_synthetic_phone_onsets(language):
    """espeak-ng speaks the line with exact timings; the aligner, given only text and audio, finds them."""
    from emote.audio.ctc_align import ctc_align
    from emote.phonetics.labels import SIL
    from emote.training.data.tts import LANGUAGE_VOICES, synthesize

    voice = next(v for v in LANGUAGE_VOICES if v.name == {"zh": "cmn-latn-pinyin"}.get(language, language))
    (utt,) = synthesize(voice, [LINES[language]])
    aligned = ctc_align(y=utt.samples, sr=utt.sr, text=LINES[language], language=language)
    assert aligned.source == "ctc-align" and len(aligned.words) >= 4
    exact = [p for p in utt.phones if p.label != SIL]
    found = [p for p in aligned.phones if p.label != SIL]
    assert [p.label for p in found] == [p.label for p in exact]
    errors = np.abs([a.start - b.start for a, b in zip(found, exact, strict=True)])
    assert np.median(errors) < 0.04 and np.mean(errors < 0.1) > 0.9


def test_recognised_phones_are_ipa_and_any_language_drives_the_face(speech_dir):
    """The Spanish clip without its transcript: recognised IPA phones, lips closing on the /m p b/ heard."""
    from emote.audio import load_audio
    from emote.audio.recognize import RecognizeSettings, recognize
    from emote.phonetics.labels import SIL, ipa_of

    sound = load_audio(speech_dir / "13697_11991_000000.opus")
    phones = recognize(y=sound.samples, sr=sound.sr, settings=RecognizeSettings(ipa=True)).phones
    spoken = [p for p in phones if p.label != SIL]
    assert len(spoken) > 60 and all(ipa_of(p.label) for p in spoken)
    n = int(np.ceil(sound.duration * 30))
    curves = animate_phones(phones, n_frames=n, fps=30.0)
    metrics = evaluate(curves, 30.0, phones)
    assert metrics["bilabial_closure"] == 1.0 and metrics["open_closed_contrast"] > 10


@needs_espeak
def test_animate_in_spanish_with_its_transcript(speech_dir, tmp_path):
    """The api aligns a Spanish transcript by espeak-ng + CTC and records the language; English keeps PocketSphinx."""
    import emote

    clip = speech_dir / "13697_11991_000000.opus"
    text = (speech_dir / "13697_11991_000000.lab").read_text()
    anim = emote.animate(
        clip, text=text, language="es", performance=PerformanceSettings(blinks=False, gaze=False, head=False)
    )
    assert anim.metadata["phones_source"] == "alignment" and anim.metadata["language"] == "es"
    assert anim.metadata["n_phones"] > 150
    jaw = anim.curves[:, index("JawOpen")]
    assert jaw.max() > 0.2 and np.percentile(jaw, 10) < 0.1


@needs_espeak
def test_cli_rejects_an_unknown_language_before_any_work(speech_dir, tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "emote", "animate", str(speech_dir / "bobby.wav"), "--language", "xx", "-o",
         str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "unknown language 'xx'" in lines[0] and " es," in lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_neural_engines_closure_pass_reads_ipa_bilabials():
    """Aligned phones of another language close the neural engine's lips too."""
    from emote.audio.phones import Phone
    from emote.engines.neural import ClosureSettings, phone_lock

    phones = [
        Phone(0.0, 0.5, "/a/"),
        Phone(0.5, 0.56, "/β/"),
        Phone(0.56, 1.0, "/e/"),
        Phone(1.0, 1.2, "/mʲ/"),
    ]
    times = np.arange(0, 1.5, 0.01)
    lock = phone_lock(phones, times, ClosureSettings(half=0.035, ramp=0.04))
    assert lock[53] == 1.0 and np.all(lock[(times > 1.0) & (times < 1.2)] == 1.0)
    assert lock[25] == 0.0 and lock[80] == 0.0


def test_the_jaw_is_heard_for_languages_other_than_english(speech_dir):
    """A language named other than English gets the heard jaw; English and auto keep the phones' jaw."""
    from emote.api import analyse

    clip = speech_dir / "13697_11991_000000.opus"
    spanish = analyse(clip, language="es", recognise=False, use_transcript_file=False)
    assert spanish.jaw is not None and spanish.jaw.shape == spanish.energy.shape
    assert spanish.jaw.max() == pytest.approx(1.0) and np.corrcoef(spanish.jaw, spanish.energy)[0, 1] > 0.5
    for language in ("auto", "en"):
        assert analyse(clip, language=language, recognise=False, use_transcript_file=False).jaw is None


def _vowel(f1: float, f2: float, *, seconds: float = 0.5, sr: int = 16000) -> np.ndarray:
    """A synthetic vowel: a 120 Hz pulse train through resonators at F1, F2 and 2500 Hz (80 Hz bandwidths)."""
    from scipy.signal import lfilter

    y = np.zeros(int(seconds * sr))
    y[:: sr // 120] = 1.0
    for f in (f1, f2, 2500.0):
        r = np.exp(-np.pi * 80.0 / sr)
        y = lfilter([1.0 - r], [1.0, -2 * r * np.cos(2 * np.pi * f / sr), r * r], y)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def test_the_first_formant_and_the_heard_jaw_follow_the_vowel():
    from emote.audio.formants import first_formant, jaw_opening

    sr = 16000
    found = []
    for f1 in (300.0, 450.0, 600.0, 750.0, 900.0):
        found.append(float(np.median(first_formant(y=_vowel(f1, 1800.0), sr=sr, fps=30.0)[3:-3])))
        # LPC reads a low F1 under a 120 Hz voice a little high (its harmonics are sparse there)
        assert found[-1] == pytest.approx(f1, abs=70.0)
    assert found == sorted(found)
    # /a/ then /i/ at the same loudness: the jaw opens more for /a/; silence is 0
    silence = np.zeros(sr // 2, np.float32)
    y = np.concatenate([silence, _vowel(750.0, 1200.0), silence, _vowel(300.0, 2300.0), silence])
    jaw = jaw_opening(y=y, sr=sr, fps=30.0)
    a, i = jaw[20:28].mean(), jaw[50:58].mean()
    assert a > 1.5 * i and jaw[:10].max() == 0.0 and jaw[35:40].max() < 0.05


def test_every_entry_point_reads_a_language_name_the_same_way():
    """``voice_of`` is what animate, phone_timings and a stream route by: English in any case is
    English (PocketSphinx), not an espeak-ng voice for the CTC aligner."""
    from emote.audio.espeak import ENGLISH, voice_of
    from emote.errors import EmoteError

    assert voice_of(" EN ") == "en" and voice_of("En-GB") == "en-gb" and voice_of("AUTO") == "auto"
    assert all(voice_of(code.upper()) in ENGLISH for code in ENGLISH)
    with pytest.raises(EmoteError, match="language must be a string"):
        voice_of(3)  # type: ignore[arg-type]


@needs_espeak
def test_one_rule_routes_a_language_to_its_recogniser_aligner_and_jaw():
    """English keeps ARPAbet recognition, PocketSphinx and the phones' jaw; ``auto`` recognises
    IPA but aligns with PocketSphinx; a named other language does all three its own way."""
    from emote.audio.espeak import other_than_english, recognises_ipa, voice_of
    from emote.audio.formants import hears_jaw

    routes = {code: (recognises_ipa(voice_of(code)), other_than_english(voice_of(code)), hears_jaw(code))
              for code in ("en", "EN-GB", "auto", "es", "ZH")}  # fmt: skip
    assert routes == {"en": (False, False, False), "EN-GB": (False, False, False),
                      "auto": (True, False, False), "es": (True, True, True), "ZH": (True, True, True)}  # fmt: skip


@needs_espeak
def test_another_language_in_any_case_is_its_espeak_voice():
    from emote.audio.espeak import ENGLISH, voice_of
    from emote.errors import EmoteError

    assert voice_of("ES") == voice_of("es") not in ENGLISH
    with pytest.raises(EmoteError, match="unknown language 'klingon'; supported: auto, "):
        voice_of("klingon")
