"""The bilabial-closure detector: its file, its features, what it hears, and how it is trained."""

from __future__ import annotations

import random

import numpy as np
import pytest

from emote.audio.bilabial import (
    WIDTH,
    ClosureDetector,
    closure_features,
    closure_spans,
    detector,
    group_pool,
    is_bilabial,
    mark_closures,
)
from emote.audio.phones import Phone
from emote.audio.recognize import (
    RecognizeSettings,
    hama_encoding,
    ipa_classes,
    ipa_posteriors,
    ipa_posteriors_of,
    recognize,
)
from emote.training.bilabial import _labels, choose_threshold, event_scores, fit
from emote.training.data.tts import Voice, available_voices, synthesize
from tests.conftest import missing

ESPEAK = any(v.engine == "espeak" for v in available_voices())
needs_espeak = pytest.mark.skipif(not ESPEAK, reason=missing("espeak-ng", "no espeak-ng voice"))
SR = 16000


def test_the_shipped_detector_loads_and_reads_the_features_it_is_given():
    model = detector()
    assert model.width == WIDTH and all(
        np.isfinite(w).all() and np.isfinite(b).all() for w, b in model.layers
    )
    assert 0.0 < model.threshold < 1.0
    rng = np.random.default_rng(0)
    y = (0.05 * rng.standard_normal(SR)).astype(np.float32)
    encoding = hama_encoding(y)
    log_probs = ipa_posteriors_of(encoding)
    assert np.allclose(log_probs, ipa_posteriors(y), atol=1e-4)  # one network pass serves both
    features = closure_features(y, log_probs, encoding, group_pool(ipa_classes()))
    assert features.shape == (log_probs.shape[0], WIDTH) and np.isfinite(features).all()
    p = model.probability(features)
    assert p.shape == (log_probs.shape[0],) and ((p >= 0) & (p <= 1)).all()
    with pytest.raises(ValueError, match="feature columns"):
        model.probability(features[:, :-1])


def test_silence_gets_no_closure():
    y = np.zeros(2 * SR, np.float32)
    phones = recognize(y=y, sr=SR, settings=RecognizeSettings(ipa=True)).phones
    assert {p.label for p in phones} == {"SIL"}


def test_closure_spans_are_the_runs_over_the_threshold():
    p = np.array([0.1, 0.9, 0.95, 0.2, 0.2, 0.8, 0.1])
    assert np.allclose(closure_spans(p, 0.5), [(0.01, 0.05), (0.09, 0.11)])
    assert closure_spans(p, 0.99) == []


def test_a_closure_stretches_the_bilabial_there_or_inserts_one():
    phones = [
        Phone(0.0, 0.2, "SIL"),
        Phone(0.2, 0.3, "/a/"),
        Phone(0.3, 0.34, "/m/"),
        Phone(0.34, 0.5, "/a/"),
    ]
    stretched = mark_closures(phones, [(0.26, 0.36)], insert=True)
    assert [p.label for p in stretched] == ["SIL", "/a/", "/m/", "/a/"]
    assert stretched[2].start == pytest.approx(0.26) and stretched[2].end == pytest.approx(0.36)
    assert stretched[1].end == pytest.approx(0.26) and stretched[3].start == pytest.approx(0.36)

    vowel = [Phone(0.0, 0.1, "SIL"), Phone(0.1, 0.5, "/a/"), Phone(0.5, 0.6, "SIL")]
    inserted = mark_closures(vowel, [(0.25, 0.31)], insert=True, label="/p/")
    assert [p.label for p in inserted] == ["SIL", "/a/", "/p/", "/a/", "SIL"]
    assert inserted[2].start == pytest.approx(0.25) and inserted[2].end == pytest.approx(0.31)
    # Stretching takes at most half of a neighbour: a transcript's phones all stay.
    short = [Phone(0.2, 0.22, "/a/"), Phone(0.22, 0.26, "/m/"), Phone(0.26, 0.28, "/o/")]
    kept = mark_closures(short, [(0.15, 0.35)], insert=False)
    assert [p.label for p in kept] == ["/a/", "/m/", "/o/"] and kept[1].start == pytest.approx(0.21)
    assert kept[1].end == pytest.approx(0.27) and kept[2].end == pytest.approx(0.28)
    # A transcript decides which phones exist: nothing inserted; closed lips at rest need no phone.
    assert mark_closures(vowel, [(0.25, 0.31)], insert=False) == vowel
    assert mark_closures(vowel, [(0.02, 0.05)], insert=True) == vowel
    onset = mark_closures(vowel, [(0.04, 0.08)], insert=True)  # the hold of a first /b/
    assert [p.label for p in onset] == ["SIL", "/b/", "/a/", "SIL"] and onset[1].start == pytest.approx(0.04)
    assert is_bilabial("/m/") and is_bilabial("/pʲ/") and is_bilabial("B") and not is_bilabial("/f/")


def test_training_labels_fit_and_threshold_behave():
    phones = [
        Phone(0.0, 0.1, "SIL"),
        Phone(0.1, 0.2, "/a/"),
        Phone(0.2, 0.26, "/b/"),
        Phone(0.26, 0.4, "/a/"),
    ]
    labels = _labels(phones, 20)
    assert labels[10:14].tolist() == [1, 1, 1, 1] and labels[9] == -1 and labels[14] == -1
    assert labels[:9].tolist() == [0] * 9
    # A separable toy problem: the fitted network ranks the positives first, and the
    # detector reads back the layers it was given, through its file format.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20000, 5)).astype(np.float32)
    y = (x[:, 0] + 0.2 * rng.standard_normal(20000) > 1.0).astype(np.int64)
    model = ClosureDetector(fit(x, y, hidden=4, epochs=10), 0.5)
    p = model.probability(x)
    ranks = np.argsort(np.argsort(p))  # area under the ROC curve, from the ranks
    auc = (ranks[y == 1].mean() - (y.sum() - 1) / 2) / (y == 0).sum()
    assert auc > 0.97 and p[y == 1].mean() > p[y == 0].mean() + 0.25
    again = ClosureDetector.from_json(model.to_json(trained_on="a toy problem"))
    assert np.allclose(again.probability(x), p, atol=0.01) and again.threshold == 0.5
    prob = np.array([0.0, 0.0, 0.9, 0.9, 0.0, 0.0, 0.8, 0.0])
    lab = np.array([0, -1, 1, 1, -1, 0, 0, 0], np.int8)
    assert event_scores(prob, lab, 0.5) == (1, 1, 2, 1)  # one bilabial found, one false alarm
    threshold, scores = choose_threshold([prob], [lab])
    assert 0.8 < threshold <= 0.9 and scores["recall"] == 1.0 and scores["precision"] == 1.0


@needs_espeak
def test_catalog_text_is_real_sentences_of_the_language():
    from emote.training.bilabial import LOCALE, catalog_lines

    if not (LOCALE / "es" / "LC_MESSAGES").is_dir():
        pytest.skip("platform: no Spanish gettext catalogs under /usr/share/locale")
    lines = catalog_lines("es", n=20, rng=random.Random(0))
    assert len(lines) == 20 and all(25 <= len(t) <= 140 and "%" not in t for t in lines)
    assert lines == catalog_lines("es", n=20, rng=random.Random(0))


def _found(phones: list[Phone], exact: list[Phone]) -> list[bool]:
    """For each exact /p b m/: whether a recognised bilabial overlaps it (within 20 ms)."""
    from emote.phonetics.phoneset import BILABIALS, to_segments

    seg = to_segments(exact)
    return [
        any(
            is_bilabial(p.label) and p.end > seg.start[i] - 0.02 and p.start < seg.end[i] + 0.02
            for p in phones
        )
        for i in seg.where(BILABIALS)
    ]


@needs_espeak
def test_a_bilabial_the_recogniser_missed_is_heard():
    # The /m/ of "mañana" (and the first /m/ of "mouton") lose their CTC spike; the detector hears them.
    for language, line in (("es", "Mamá me mima mucho cada mañana."), ("fr", "Le mouton mange une pomme.")):
        (utt,) = synthesize(Voice("espeak", language, ipa=True), [line])
        alone = recognize(
            y=utt.samples, sr=utt.sr, settings=RecognizeSettings(ipa=True, closures=False)
        ).phones
        heard = recognize(y=utt.samples, sr=utt.sr, settings=RecognizeSettings(ipa=True)).phones
        assert not all(_found(alone, utt.phones)), language
        assert all(_found(heard, utt.phones)), language


@needs_espeak
def test_a_line_without_bilabials_gets_none():
    (utt,) = synthesize(Voice("espeak", "es", ipa=True), ["Ahora oía a Aurora."])
    heard = recognize(y=utt.samples, sr=utt.sr, settings=RecognizeSettings(ipa=True)).phones
    assert not any(is_bilabial(p.label) for p in heard)
    assert any(p.label != "SIL" for p in heard)


def test_the_benchmarks_lines_are_not_training_text():
    import sys
    from pathlib import Path

    from emote.training.bilabial import LANGUAGES, LOCALE, catalog_lines

    if not LOCALE.is_dir():
        pytest.skip("platform: no gettext catalogs under /usr/share/locale")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import languages
    finally:
        sys.path.pop(0)
    locale = {("zh" if voice.startswith("cmn") else voice): loc for voice, loc in LANGUAGES.items()}
    for code, lines in languages.SENTENCES.items():
        assert set(catalog_lines(locale[code], n=10_000, rng=random.Random(0))).isdisjoint(lines), code
