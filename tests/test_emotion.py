"""Emotions as FACS expressions, composed with speech so that articulation wins."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from emote.animation.channels import UPPER_FACE_NAMES, index, indices
from emote.engines.phonetic import animate_phones
from emote.errors import EmotionError
from emote.eval import evaluate, lip_gap_proxy, mouth_width_proxy
from emote.performance import EMOTIONS, EmotionTrack, PerformanceSettings, apply_emotion, perform
from emote.performance.compose import articulation_lock
from emote.performance.emotions import AU_TO_ARKIT, PROTOTYPES, au_expression, expression, resolve_emotion


def read_phones(path: Path) -> list:
    try:
        from emote.audio.timings import read_textgrid

        return list(read_textgrid(path).phones)
    except ImportError:
        from praatio import textgrid

        tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=True)
        tier = tg.getTier(next(n for n in tg.tierNames if "phone" in n.lower()))
        return [SimpleNamespace(start=e.start, end=e.end, label=e.label) for e in tier.entries]


def phone(start, end, label):
    return SimpleNamespace(start=start, end=end, label=label)


@pytest.fixture(scope="module")
def bobby(speech_dir):
    phones = read_phones(speech_dir / "bobby_phones.TextGrid")
    n = int(np.ceil(phones[-1].end * 30))
    return phones, animate_phones(phones, n_frames=n, fps=30)


@pytest.fixture(scope="module")
def corpus(speech_dir):
    phones = read_phones(speech_dir / "cold_corpus.TextGrid")
    n = int(np.ceil(phones[-1].end * 30))
    return phones, animate_phones(phones, n_frames=n, fps=30)


def weights_of(emotion: str, intensity: float, n: int) -> np.ndarray:
    return EmotionTrack.constant(emotion, intensity).weights(np.arange(n) / 30)


def test_prototypes_follow_emfacs():
    assert set(PROTOTYPES["happy"]) == {"AU6", "AU12"}
    assert {"AU1", "AU4", "AU15"} <= set(PROTOTYPES["sad"])
    assert set(PROTOTYPES["surprised"]) == {"AU1", "AU2", "AU5", "AU26"}
    assert set(PROTOTYPES["fear"]) == {"AU1", "AU2", "AU4", "AU5", "AU7", "AU20", "AU26"}
    assert set(PROTOTYPES["disgusted"]) == {"AU9", "AU15", "AU16"}
    assert set(PROTOTYPES["angry"]) == {"AU4", "AU5", "AU7", "AU23"}
    assert set(PROTOTYPES["contempt"]) == {"R12", "R14", "R6"}
    assert not expression("neutral").any()


def test_every_emotion_shows_in_the_upper_face_and_each_differently():
    upper = indices(list(UPPER_FACE_NAMES))
    faces = {e: expression(e)[upper] for e in EMOTIONS if e != "neutral"}
    for e, face in faces.items():
        assert face.max() >= 0.25, e
    names = list(faces)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.abs(faces[a] - faces[b]).max() >= 0.2, (a, b)
    contempt = expression("contempt")
    assert contempt[index("CheekSquintRight")] > 0 and contempt[index("CheekSquintLeft")] == 0  # one-sided


@pytest.mark.parametrize(
    "emotion,raised",
    [
        ("happy", ["MouthSmileLeft", "CheekSquintRight"]),
        ("sad", ["BrowInnerUp", "MouthFrownLeft"]),
        ("surprised", ["BrowOuterUpLeft", "EyeWideRight", "JawOpen"]),
        ("fear", ["EyeWideLeft", "MouthStretchRight", "BrowDownLeft"]),
        ("disgusted", ["NoseSneerLeft", "MouthLowerDownRight"]),
        ("angry", ["BrowDownRight", "EyeSquintLeft", "MouthPressLeft"]),
    ],
)
def test_each_emotion_raises_its_action_units_shapes(emotion, raised):
    e = expression(emotion, 1.0)
    for name in raised:
        assert e[index(name)] > 0.15, name
    assert np.allclose(expression(emotion, 0.5), 0.5 * e)
    assert e.min() >= 0 and e.max() <= 1


def test_contempt_is_one_sided():
    e = expression("contempt")
    assert e[index("MouthSmileRight")] > 0 and e[index("MouthSmileLeft")] == 0
    assert e[index("MouthDimpleRight")] > 0 and e[index("MouthDimpleLeft")] == 0


def test_action_units_sum():
    both = au_expression({"AU1": 0.5, "AU2": 0.5})
    assert both[index("BrowInnerUp")] == pytest.approx(0.5)
    assert both[index("BrowOuterUpLeft")] == pytest.approx(0.5)
    assert set(AU_TO_ARKIT) >= {"AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU12", "AU14", "AU15", "AU16",
                                "AU20", "AU23", "AU26"}  # fmt: skip
    with pytest.raises(EmotionError, match="AU99"):
        au_expression({"AU99": 1.0})


def test_aliases_and_unknown_names():
    assert resolve_emotion("Surprise") == "surprised"
    assert resolve_emotion("fearful") == "fear"
    assert resolve_emotion("disgust") == "disgusted"
    assert resolve_emotion("ANGER") == "angry"
    assert resolve_emotion("joy") == "happy"
    with pytest.raises(EmotionError, match=r"unknown emotion 'grumpy'.*neutral, happy, sad"):
        resolve_emotion("grumpy")


@pytest.mark.parametrize("emotion", EMOTIONS[1:])
def test_bilabials_close_under_every_emotion_at_full_intensity(bobby, corpus, emotion):
    for phones, speech in (bobby, corpus):
        n = len(speech)
        neutral = evaluate(apply_emotion(speech, weights_of("neutral", 1, n)), 30.0, phones)
        emotional = evaluate(apply_emotion(speech, weights_of(emotion, 1, n)), 30.0, phones)
        assert emotional["bilabial_closure"] >= 0.9
        assert abs(emotional["bilabial_closure"] - neutral["bilabial_closure"]) <= 0.05
        assert emotional["open_closed_contrast"] >= 3.0


def test_bilabials_close_when_surprised(bobby):
    phones, speech = bobby
    out = perform(speech, fps=30, track=EmotionTrack.constant("surprised", 1.0))
    assert evaluate(out, 30.0, phones)["bilabial_closure"] >= 0.9
    # the jaw drop is there, outside the closures
    assert out[:, index("JawOpen")].mean() > speech[:, index("JawOpen")].mean() + 0.1


def test_jaw_drop_of_surprise_does_not_open_a_closure():
    phones = [phone(0, 0.5, "AA"), phone(0.5, 0.6, "M"), phone(0.6, 1.0, "AA")]
    speech = animate_phones(phones, n_frames=30, fps=30)
    for emotion in ("surprised", "fear", "disgusted"):
        out = apply_emotion(speech, weights_of(emotion, 1.0, 30))
        f = int(0.55 * 30)
        assert lip_gap_proxy(out)[f] < 1.5, emotion
        assert out[f, index("MouthClose")] == pytest.approx(out[f, index("JawOpen")], abs=1e-3)


def test_smiling_still_widens_the_corners_during_a_closure():
    phones = [phone(0, 0.5, "AA"), phone(0.5, 0.6, "M"), phone(0.6, 1.0, "AA")]
    speech = animate_phones(phones, n_frames=30, fps=30)
    out = apply_emotion(speech, weights_of("happy", 1.0, 30))
    f = int(0.55 * 30)
    assert mouth_width_proxy(out)[f] > mouth_width_proxy(speech)[f] + 5
    assert lip_gap_proxy(out)[f] < 1.5


def test_upper_face_is_the_emotions_and_is_not_locked(bobby):
    _, speech = bobby
    n = len(speech)
    out = apply_emotion(speech, weights_of("surprised", 1.0, n))
    upper = indices(list(UPPER_FACE_NAMES))
    assert np.allclose(out[:, upper], expression("surprised")[upper][None, :], atol=1e-6)


def test_articulation_lock_marks_closures_only(bobby):
    phones, speech = bobby
    lock = articulation_lock(speech)
    b = [p for p in phones if p.label == "B"][1]
    assert lock[round(0.5 * (b.start + b.end) * 30)] == 1.0
    vowel = next(p for p in phones if p.label == "AA")
    assert lock[round(0.5 * (vowel.start + vowel.end) * 30)] < 0.2
    rest = articulation_lock(animate_phones([], n_frames=10, fps=30))
    assert not rest.any()  # silence is not locked: a surprised face may drop its jaw at rest


def test_emotion_shows_at_rest():
    speech = animate_phones([], n_frames=30, fps=30)
    out = apply_emotion(speech, weights_of("surprised", 1.0, 30))
    assert lip_gap_proxy(out).min() > 5.0


def test_performance_keeps_closure_with_everything_on(bobby):
    phones, speech = bobby
    settings = PerformanceSettings(seed=4)
    for emotion in EMOTIONS:
        out = perform(speech, fps=30, track=EmotionTrack.constant(emotion, 1.0), settings=settings)
        assert evaluate(out, 30.0, phones)["bilabial_closure"] >= 0.9, emotion
