"""The jaw heard in the audio (emote.audio.formants), and the choice of its settings off the test data."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from emote.audio.formants import HeardJawSettings, jaw_opening, jaw_tracks, opening_of
from emote.engines.phonetic import PhoneticSettings

REPO = Path(__file__).resolve().parents[1]
SR = 16000
FPS = 30.0
OPEN_A, CLOSE_I = (750.0, 1200.0), (300.0, 2300.0)  # (F1, F2) of /a/ and /i/


def _vowels(*formants: tuple[float, float], seconds: float = 0.4) -> np.ndarray:
    """Vowels back to back: a 120 Hz pulse train through resonators at F1, F2 and 2500 Hz."""
    from scipy.signal import lfilter

    parts = []
    for f1, f2 in formants:
        y = np.zeros(int(seconds * SR))
        y[:: SR // 120] = 1.0
        for f in (f1, f2, 2500.0):
            r = np.exp(-np.pi * 80.0 / SR)
            y = lfilter([1.0 - r], [1.0, -2 * r * np.cos(2 * np.pi * f / SR), r * r], y)
        parts.append(0.3 * y / np.abs(y).max())
    return np.concatenate(parts).astype(np.float32)


def _centre(jaw: np.ndarray, k: int, seconds: float = 0.4) -> float:
    """Mean over the middle of the k-th vowel."""
    mid = (k + 0.5) * seconds * FPS
    return float(jaw[int(mid) - 2 : int(mid) + 3].mean())


def test_the_heard_jaw_of_a_i_a_opens_on_each_a_and_closes_on_i():
    jaw = jaw_opening(y=_vowels(OPEN_A, CLOSE_I, OPEN_A), sr=SR, fps=FPS)
    a1, i, a2 = (_centre(jaw, k) for k in range(3))
    assert a1 > 2 * i and a2 > 2 * i
    assert a1 == pytest.approx(a2, rel=0.15)


def test_the_f1_floor_closes_close_vowels_further():
    tracks = jaw_tracks(y=_vowels(OPEN_A, CLOSE_I), sr=SR, fps=FPS)
    ratios = []
    for floor in (0.0, 200.0):
        jaw = opening_of(tracks, fps=FPS, settings=HeardJawSettings(f1_floor=floor))
        ratios.append(_centre(jaw, 1) / _centre(jaw, 0))
    # F1 300 vs 750 Hz: 0.4 of /a/'s F1 as it is, (300 - 200) / (750 - 200) = 0.18 with the floor
    assert ratios[1] < 0.75 * ratios[0]


def test_the_f1_band_loudness_ignores_a_loud_hiss_the_broad_band_hears():
    y = _vowels(OPEN_A, OPEN_A)
    t = np.arange(y.size) / SR
    hiss = np.where(t >= 0.4, 0.15 * np.sin(2 * np.pi * 5000.0 * t), 0.0).astype(np.float32)
    tracks = jaw_tracks(y=y + hiss, sr=SR, fps=FPS)
    change = {}
    for band in ("broad", "f1"):
        jaw = opening_of(tracks, fps=FPS, settings=HeardJawSettings(band=band, loudness=1.0))
        change[band] = _centre(jaw, 1) / _centre(jaw, 0)
    assert change["broad"] > 1.3
    assert change["f1"] == pytest.approx(1.0, abs=0.1)


def test_an_unknown_band_is_refused():
    tracks = jaw_tracks(y=_vowels(OPEN_A), sr=SR, fps=FPS)
    with pytest.raises(ValueError, match="band"):
        opening_of(tracks, fps=FPS, settings=HeardJawSettings(band="f2"))


def test_silence_and_a_clip_shorter_than_the_filter_hear_no_jaw():
    assert not jaw_opening(y=np.zeros(SR, np.float32), sr=SR, fps=FPS).any()
    short = jaw_opening(y=np.full(10, 0.1, np.float32), sr=SR, fps=FPS)
    assert short.size >= 1 and np.isfinite(short).all() and short.min() >= 0.0 and short.max() <= 1.0


def test_the_shipped_settings_are_those_the_choice_wrote():
    """benchmarks/heard_jaw_choice.py chose them off the test data; the code ships what it wrote."""
    blob = json.loads((REPO / "benchmarks" / "results" / "heard_jaw_choice.json").read_text())
    chosen = blob["results"]
    assert HeardJawSettings(**chosen["settings"]) == HeardJawSettings()
    assert PhoneticSettings().heard_jaw == chosen["share"]
    assert set(chosen["material_minutes"]) == {"english_ljspeech", "mandarin_espeak"}  # not the capture
    assert not blob["dirty"]


def _choice():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import heard_jaw_choice
    finally:
        sys.path.pop(0)
    return heard_jaw_choice


def test_the_choice_gives_the_heard_jaw_a_share_only_where_the_phones_are_wrong(monkeypatch):
    """/a i a u a/ heard; the target jaw from those phones. Recognised as one schwa throughout, the
    phones' jaw cannot follow the vowels and the heard jaw is needed; recognised right, it is not."""
    h = _choice()
    monkeypatch.setattr(h, "GRID", {"loudness": (0.5,), "voiced": (0.1,), "smoothing": (0.04,),
                                    "f1_floor": (0.0, 200.0), "band": ("f1",)})  # fmt: skip
    seconds, vowels = 0.4, [("/a/", OPEN_A), ("/i/", CLOSE_I), ("/a/", OPEN_A), ("/u/", (320.0, 800.0)), ("/a/", OPEN_A)]
    y = _vowels(*(f for _, f in vowels), seconds=seconds)
    n = int(np.ceil(y.size / SR * FPS))
    right = [SimpleNamespace(start=k * seconds, end=(k + 1) * seconds, label=lab) for k, (lab, _) in enumerate(vowels)]
    wrong = [SimpleNamespace(start=0.0, end=len(vowels) * seconds, label="/ə/")]
    tracks = jaw_tracks(y=y, sr=SR, fps=FPS, n_frames=n)
    found = {}
    for name, recognised in (("wrong", wrong), ("right", right)):
        clips = [h.Clip(right, recognised, tracks, n, y)]
        found[name] = h.choose({"english_ljspeech": clips, h.SHARE_SET: clips})
        assert len(found[name]["grid"]) == 2 and set(found[name]["settings"]) == set(h.GRID)
    assert found["right"]["share"] == 0.0
    assert found["wrong"]["share"] > 0.0
    r = {row["share"]: row[h.SHARE_SET] for row in found["wrong"]["by_share"]}
    assert r[found["wrong"]["share"]] > 0.9 and r[0.0] < 0.5
