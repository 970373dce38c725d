"""The phonetic engine: closures, contrast, rounding, rest, energy, any fps, speed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from emote.animation.channels import CHANNELS, MOUTH_NAMES, index
from emote.engines.phonetic import PhoneticSettings, animate_phones, normalize_label, to_segments
from emote.engines.phonetic.dominance import blend
from emote.engines.phonetic.engine import viseme_segments
from emote.engines.phonetic.visemes import ANTICIPATION, CARRYOVER, DOMINANCE, TARGETS
from emote.eval import evaluate, lip_gap_proxy, mouth_width_proxy

CORPORA = ("bobby_phones", "cold_corpus", "acoustic_corpus")


def read_phones(path: Path) -> list:
    """Phones of a TextGrid: through emote's reader when it exists, else praatio directly."""
    try:
        from emote.audio.timings import read_textgrid

        return list(read_textgrid(path).phones)
    except ImportError:
        from praatio import textgrid

        tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=True)
        tier = tg.getTier(next(n for n in tg.tierNames if "phone" in n.lower()))
        return [SimpleNamespace(start=e.start, end=e.end, label=e.label) for e in tier.entries]


def phone(start: float, end: float, label: str) -> SimpleNamespace:
    return SimpleNamespace(start=start, end=end, label=label)


def animate(phones, fps: float = 30.0, **kw):
    n = int(np.ceil(max(p.end for p in phones) * fps)) + 3
    return animate_phones(phones, n_frames=n, fps=fps, **kw)


@pytest.fixture(scope="module", params=CORPORA)
def corpus(request, speech_dir):
    return read_phones(speech_dir / f"{request.param}.TextGrid")


@pytest.fixture(scope="module")
def bobby(speech_dir):
    return read_phones(speech_dir / "bobby_phones.TextGrid")


def test_bilabials_close_on_bobby(bobby):
    curves = animate(bobby)
    m = evaluate(curves, 30.0, bobby)
    assert m["bilabial_closure"] >= 0.9
    assert m["open_closed_contrast"] >= 3.0


@pytest.mark.parametrize("fps", [24.0, 29.97, 30.0, 60.0])
def test_bilabials_close_on_real_timings_at_any_fps(corpus, fps):
    m = evaluate(animate(corpus, fps), fps, corpus)
    assert m["bilabial_closure"] >= 0.9
    assert m["open_closed_contrast"] >= 3.0


def test_short_bilabial_between_open_vowels_closes_at_30_fps():
    # 40 ms /b/ placed so that no frame is near its middle by luck.
    for offset in np.linspace(0.0, 1 / 30, 7):
        phones = [phone(0, 0.3 + offset, "AA"), phone(0.3 + offset, 0.34 + offset, "B"),
                  phone(0.34 + offset, 0.6, "AA")]  # fmt: skip
        curves = animate(phones)
        gap = lip_gap_proxy(curves)
        assert evaluate(curves, 30.0, phones)["bilabial_closure"] == 1.0
        assert gap[int(0.15 * 30)] > 8.0  # and the vowels are open


def test_open_vowels_open_wider_than_close_vowels():
    phones = [phone(0, 0.3, "SIL"), phone(0.3, 0.6, "AA"), phone(0.6, 0.9, "SIL"), phone(0.9, 1.2, "IY"),
              phone(1.2, 1.5, "SIL")]  # fmt: skip
    gap = lip_gap_proxy(animate(phones))
    assert gap[int(0.45 * 30)] > 1.8 * gap[int(1.05 * 30)] > 0


def test_rounded_vowels_narrow_the_mouth_against_spread_ones():
    phones = [phone(0, 0.2, "SIL"), phone(0.2, 0.5, "UW"), phone(0.5, 0.7, "SIL"), phone(0.7, 1.0, "IY"),
              phone(1.0, 1.2, "SIL"), phone(1.2, 1.3, "W"), phone(1.3, 1.6, "OW"), phone(1.6, 1.9, "EY")]  # fmt: skip
    curves = animate(phones)
    width = mouth_width_proxy(curves)
    assert width[int(0.35 * 30)] < width[int(0.85 * 30)] - 5.0
    assert evaluate(curves, 30.0, phones)["rounding_ratio"] < 0.9
    assert curves[int(0.35 * 30), index("MouthPucker")] > 0.4


def test_rounding_ratio_on_real_speech(speech_dir):
    phones = read_phones(speech_dir / "acoustic_corpus.TextGrid")
    assert evaluate(animate(phones), 30.0, phones)["rounding_ratio"] < 0.9


def test_labiodentals_tuck_the_lower_lip():
    phones = [phone(0, 0.3, "AA"), phone(0.3, 0.4, "F"), phone(0.4, 0.7, "AA")]
    curves = animate(phones)
    f = int(0.35 * 30)
    assert curves[f, index("MouthRollLower")] > 0.5
    assert lip_gap_proxy(curves)[f] < 1.5 < lip_gap_proxy(curves)[int(0.15 * 30)]


def test_silence_is_a_relaxed_closed_mouth():
    phones = [phone(0, 1.0, "SIL"), phone(1.0, 1.3, "AA"), phone(1.3, 3.0, "SIL")]
    curves = animate(phones)
    rest = np.r_[0 : int(0.8 * 30), int(1.8 * 30) : int(2.9 * 30)]
    gap = lip_gap_proxy(curves)
    assert gap[rest].max() < 0.5
    # relaxed, not clenched: jaw slightly open, lips not pressed or rolled
    jaw = curves[rest, index("JawOpen")]
    assert np.all((jaw > 0) & (jaw < 0.1))
    assert curves[rest, index("MouthPressLeft")].max() < 0.02
    assert np.abs(np.diff(curves[int(1.8 * 30) : int(2.9 * 30)], axis=0)).max() < 2e-3  # still


def test_rest_stats_on_real_pauses(speech_dir):
    phones = read_phones(speech_dir / "cold_corpus.TextGrid")
    m = evaluate(animate(phones), 30.0, phones)
    assert m["rest_gap_mm"] < 1.0
    assert m["rest_seconds"] > 2.0


def test_only_mouth_and_jaw_channels_are_set(bobby):
    curves = animate(bobby)
    assert curves.dtype == np.float32 and curves.shape[1] == len(CHANNELS)
    others = [i for i, name in enumerate(CHANNELS) if name not in MOUTH_NAMES]
    assert not curves[:, others].any()
    assert curves[:, index("TongueOut")].max() == 0
    assert curves.min() >= 0 and curves.max() <= 1


def test_louder_speech_opens_the_jaw_wider_but_never_weakens_closures(bobby):
    n = int(np.ceil(bobby[-1].end * 30)) + 3
    energy = np.full(n, 0.3, np.float32)
    energy[n // 2 :] = 1.0  # first half quiet, second half loud
    flat = animate_phones(bobby, n_frames=n, fps=30)
    shaped = animate_phones(bobby, n_frames=n, fps=30, energy=energy)
    jaw = index("JawOpen")
    quiet, loud = slice(0, n // 2 - 3), slice(n // 2 + 3, n)
    assert shaped[quiet, jaw].max() < 0.9 * flat[quiet, jaw].max()
    assert shaped[loud, jaw].max() > 1.1 * flat[loud, jaw].max()
    assert evaluate(shaped, 30.0, bobby)["bilabial_closure"] == 1.0
    closed = shaped[:, index("MouthPressLeft")] > 0.399  # frames the closure pass holds
    assert closed.any()
    assert np.allclose(shaped[closed, jaw], shaped[closed, index("MouthClose")])


def test_thirty_and_sixty_fps_sample_the_same_motion(speech_dir):
    phones = read_phones(speech_dir / "acoustic_corpus.TextGrid")
    c30 = animate_phones(phones, n_frames=600, fps=30)
    c60 = animate_phones(phones, n_frames=1200, fps=60)
    diff = np.abs(c60[::2] - c30)
    assert diff.mean() < 1e-3
    assert np.percentile(diff, 99.9) < 0.05


def test_labels_are_cleaned_and_unknown_ones_do_not_fail():
    assert normalize_label("AA1") == ("AA",)
    assert normalize_label("sp") == ("SIL",)
    assert normalize_label("PT") == ("P", "T")
    assert normalize_label("AX") == ("AH",)
    seg = to_segments([phone(0.1, 0.2, "PT"), phone(0.3, 0.4, "XYZ")], duration=0.5)
    assert seg.labels == ("SIL", "P", "T", "SIL", "XYZ", "SIL")
    assert np.allclose(seg.start[1:], seg.end[:-1])
    curves = animate([phone(0.1, 0.2, "PT"), phone(0.3, 0.4, "XYZ")])
    assert np.isfinite(curves).all()


def test_no_phones_gives_a_resting_face():
    curves = animate_phones([], n_frames=30, fps=30)
    assert curves.shape == (30, 61)
    assert lip_gap_proxy(curves).max() < 0.5


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="fps"):
        animate_phones([], n_frames=3, fps=0)
    with pytest.raises(ValueError, match="n_frames"):
        animate_phones([], n_frames=-1, fps=30)


def reference_blend(start, end, vis, times, *, plateau, power):
    """Cohen–Massaro over *all* segments, one frame and parameter at a time (test oracle)."""
    out = np.zeros((len(times), TARGETS.shape[1]))
    for f, t in enumerate(times):
        for p in range(TARGETS.shape[1]):
            num = den = 0.0
            for s in range(len(start)):
                centre = 0.5 * (start[s] + end[s])
                dist = max(abs(t - centre) - 0.5 * plateau * (end[s] - start[s]), 0.0)
                lam = ANTICIPATION[vis[s]] if t < centre else CARRYOVER[vis[s]]
                d = DOMINANCE[vis[s], p] * np.exp(-((dist / lam) ** power))
                num += d * TARGETS[vis[s], p]
                den += d
            out[f, p] = num / den
    return out


@pytest.mark.parametrize("plateau,power", [(0.6, 1.0), (0.0, 1.0), (0.5, 2.0)])
def test_windowed_dominance_matches_the_full_sum(bobby, plateau, power):
    start, end, vis = viseme_segments(to_segments(bobby, duration=1.3))
    times = np.arange(39) / 30
    fast = blend(start, end, vis, times, plateau=plateau, power=power, window=PhoneticSettings().window)
    slow = reference_blend(start, end, vis, times, plateau=plateau, power=power)
    assert np.allclose(fast, slow, atol=2e-3)


def test_settings_change_the_motion(bobby):
    base = animate(bobby)
    mumbled = animate(bobby, settings=PhoneticSettings(articulation=0.6))
    assert mumbled[:, index("JawOpen")].max() < base[:, index("JawOpen")].max()
    assert evaluate(mumbled, 30.0, bobby)["bilabial_closure"] == 1.0


def synthetic_speech(seconds: float, seed: int = 0) -> list[SimpleNamespace]:
    """CV-syllable phrases separated by pauses, realistic phone durations."""
    rng = np.random.default_rng(seed)
    consonants = ["B", "D", "M", "S", "K", "L", "F", "P", "N", "W", "T", "R"]
    vowels = ["AA", "IY", "UW", "EH", "AH", "OW", "AE", "IH"]
    out, t = [phone(0, 0.4, "SIL")], 0.4
    while t < seconds - 1.0:
        phrase_end = min(t + rng.uniform(1.5, 3.5), seconds - 0.6)
        while t < phrase_end:
            for label, dur in ((rng.choice(consonants), rng.uniform(0.05, 0.1)),
                               (rng.choice(vowels), rng.uniform(0.08, 0.18))):  # fmt: skip
                out.append(phone(t, t + dur, str(label)))
                t += dur
        pause = rng.uniform(0.3, 0.8)
        out.append(phone(t, t + pause, "SIL"))
        t += pause
    out.append(phone(t, seconds, "SIL"))
    return out
