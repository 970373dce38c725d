"""Quality metrics on hand-made curves whose answers are known."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from emote.animation import FaceAnimation
from emote.animation.channels import index
from emote.eval import (
    bilabial_closure,
    blink_stats,
    disentanglement,
    evaluate,
    jerk,
    lip_gap_proxy,
    mouth_width_proxy,
    open_closed_contrast,
    rest_stats,
    rounding_ratio,
)
from emote.phonetics.phoneset import frames_in


def phone(start, end, label):
    return SimpleNamespace(start=start, end=end, label=label)


def curves_with(n: int, **channels: float | np.ndarray) -> np.ndarray:
    c = np.zeros((n, 61), np.float32)
    for name, value in channels.items():
        c[:, index(name)] = value
    return c


def test_lips_meet_when_mouth_close_matches_jaw_open():
    closed = curves_with(5, JawOpen=0.3, MouthClose=0.3)
    opened = curves_with(5, JawOpen=0.3)
    assert np.allclose(lip_gap_proxy(closed), 0.0)
    assert np.allclose(lip_gap_proxy(opened), 9.0)  # 30 mm per unit of jaw
    assert lip_gap_proxy(curves_with(5, JawOpen=0.3, MouthClose=0.3, MouthLowerDownLeft=0.5,
                                     MouthLowerDownRight=0.5)).min() > 3.0  # fmt: skip
    assert lip_gap_proxy(curves_with(5, MouthPressLeft=1, MouthPressRight=1)).max() == 0.0  # never negative


def test_mouth_width_narrows_with_pucker_and_widens_with_smile():
    rest = mouth_width_proxy(curves_with(1))[0]
    assert rest == pytest.approx(50.0)
    assert mouth_width_proxy(curves_with(1, MouthPucker=0.8))[0] < rest - 5
    assert mouth_width_proxy(curves_with(1, MouthSmileLeft=0.8, MouthSmileRight=0.8))[0] > rest + 5


def test_an_interval_shorter_than_a_frame_owns_its_nearest_frame():
    assert frames_in(0.10, 0.20, fps=30, n_frames=100).tolist() == [3, 4, 5, 6]
    assert frames_in(0.101, 0.110, fps=30, n_frames=100).tolist() == [3]
    assert frames_in(0.12, 0.13, fps=30, n_frames=100).tolist() == [4]


def test_bilabial_closure_counts_intervals_whose_minimum_gap_is_small():
    fps = 10.0
    gap = np.full(40, 8.0)
    phones = [phone(0.0, 1.0, "AA"), phone(1.0, 1.2, "B"), phone(1.2, 2.0, "AA"),
              phone(2.0, 2.2, "M"), phone(2.2, 3.0, "AA"), phone(3.0, 3.2, "P1"), phone(3.2, 4.0, "SIL")]  # fmt: skip
    gap[11] = 0.5  # the /b/ closes
    gap[21] = 1.6  # the /m/ nearly does: not enough
    gap[31] = 0.0  # the /p/ (stress digit tolerated) closes
    assert bilabial_closure(gap, fps=fps, phones=phones) == pytest.approx(2 / 3)
    assert bilabial_closure(gap, fps=fps, phones=phones, threshold=2.0) == 1.0
    assert math.isnan(bilabial_closure(gap, fps=fps, phones=[phone(0, 4, "AA")]))


def test_open_closed_contrast_and_rounding_ratio():
    fps = 10.0
    # Boundaries between frames, so each frame belongs to one phone.
    phones = [phone(0, 1.05, "AA"), phone(1.05, 2.05, "M"), phone(2.05, 3.05, "UW"), phone(3.05, 4, "IY")]
    gap = np.r_[np.full(11, 12.0), np.full(10, 2.0), np.full(19, 5.0)]
    assert open_closed_contrast(gap, fps=fps, phones=phones) == pytest.approx(6.0)
    width = np.r_[np.full(21, 50.0), np.full(10, 40.0), np.full(9, 56.0)]
    assert rounding_ratio(width, fps=fps, phones=phones) == pytest.approx(40 / 56)


def test_rest_stats_measure_only_long_silences_minus_their_edges():
    fps = 10.0
    phones = [
        phone(0, 1, "AA"),
        phone(1, 2, "SIL"),
        phone(2, 2.2, "AA"),
        phone(2.2, 2.4, "SIL"),
        phone(2.4, 3, "AA"),
    ]
    gap = np.full(30, 9.0)
    gap[11:20] = 0.5  # inside the long pause (edges at 1.0 and 2.0 s excluded)
    stats = rest_stats(gap, fps=fps, phones=phones)
    assert stats["rest_gap_mm"] == pytest.approx(0.5)
    assert stats["rest_seconds"] == pytest.approx(0.9)
    assert math.isnan(rest_stats(gap, fps=fps, phones=phones[:1])["rest_gap_mm"])


def test_blink_stats_find_each_blink_and_its_duration():
    fps = 60.0
    n = int(60 * fps)
    b = np.zeros(n)
    t = np.arange(n) / fps
    onsets = np.arange(2.0, 58.0, 3.0)  # 19 blinks, one every 3 s
    for t0 in onsets:
        x = (t - t0) / 0.3  # 300 ms triangle, closure 1
        b = np.maximum(b, np.clip(1 - np.abs(2 * x - 1), 0, 1))
    curves = curves_with(n, EyeBlinkLeft=b, EyeBlinkRight=b)
    stats = blink_stats(curves, fps)
    assert stats["blinks"] == len(onsets)
    assert stats["blink_rate_per_min"] == pytest.approx(len(onsets))
    # a triangle of 300 ms is above 0.1 for 270 ms
    assert stats["blink_duration_mean_s"] == pytest.approx(0.27, abs=0.01)
    half = curves_with(n, EyeBlinkLeft=0.4 * b, EyeBlinkRight=0.4 * b)
    assert blink_stats(half, fps)["blinks"] == 0  # never reaches half closure


def test_jerk_is_zero_for_a_parabola_and_grows_with_shakiness():
    fps = 30.0
    t = np.arange(90) / fps
    smooth = curves_with(90, JawOpen=0.1 * t**2)
    shaky = curves_with(90, JawOpen=0.1 * t**2 + 0.02 * np.sin(2 * np.pi * 8 * t))
    assert jerk(smooth, fps, channels=["JawOpen"]) < 1e-2  # float32 rounding only
    assert jerk(shaky, fps, channels=["JawOpen"]) > 10.0


def test_evaluate_takes_a_face_animation_and_a_custom_gap_function():
    n, fps = 60, 30.0
    anim = FaceAnimation(fps, curves_with(n, JawOpen=0.3))
    phones = [phone(0, 1, "AA"), phone(1, 1.5, "B"), phone(1.5, 2, "AA")]
    m = evaluate(anim, phones=phones)
    assert m["bilabial_closure"] == 0.0
    keys = {"bilabial_closure", "open_closed_contrast", "rounding_ratio", "labiodental_gap_mm", "rest_gap_mm",
            "rest_motion", "blinks", "blink_rate_per_min", "blink_duration_mean_s", "jerk_mouth"}  # fmt: skip
    assert keys <= set(m)

    def rig_gap(curves):  # a "metric rig" that sees closed lips on frames 30-44
        g = np.full(len(curves), 10.0)
        g[30:45] = 0.2
        return g

    assert evaluate(anim.curves, fps, phones, gap_fn=rig_gap)["bilabial_closure"] == 1.0
    with pytest.raises(ValueError, match="fps"):
        evaluate(anim.curves)


def test_disentanglement_reports_points_and_ratios():
    rel = disentanglement({
        "neutral": {"bilabial_closure": 1.0, "open_closed_contrast": 10.0},
        "surprised": {"bilabial_closure": 0.95, "open_closed_contrast": 15.0},
    })  # fmt: skip
    assert rel["surprised"]["bilabial_closure_points"] == pytest.approx(-5.0)
    assert rel["surprised"]["open_closed_contrast"] == pytest.approx(1.5)
