"""FaceAnimation: shapes, channel order, resampling, slicing, concatenation."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from emote.animation import ARKIT_NAMES, CHANNELS, N_CHANNELS, FaceAnimation, index
from emote.audio.convert import n_frames_for


def ramp(n: int, fps: float = 30.0) -> FaceAnimation:
    """Every channel a linear ramp in time, so interpolation is exact."""
    t = np.arange(n, dtype=np.float32)[:, None] / fps
    return FaceAnimation(fps, np.repeat(t, N_CHANNELS, axis=1) * 0.1, {"engine": "test"})


def test_channel_order_matches_the_unreal_live_link_enum(reference_dir):
    expected = (reference_dir / "arkit52_unreal_enum_order.txt").read_text().split()
    assert list(ARKIT_NAMES) == expected
    assert CHANNELS[52:] == (
        "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
        "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
    )  # fmt: skip


def test_unknown_channel_names_the_known_ones():
    with pytest.raises(KeyError, match="JawOpen"):
        index("jawopen")


def test_rejects_wrong_shapes_and_non_finite_values():
    with pytest.raises(ValueError, match="61"):
        FaceAnimation(30, np.zeros((10, 52)))
    bad = np.zeros((3, N_CHANNELS))
    bad[1, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FaceAnimation(30, bad)
    with pytest.raises(ValueError, match="fps"):
        FaceAnimation(0, np.zeros((3, N_CHANNELS)))


def test_metadata_records_the_package_version():
    import emote

    assert FaceAnimation.zeros(2).metadata["version"] == emote.__version__


def test_resample_keeps_the_span_and_interpolates_linearly():
    anim = ramp(91, fps=30)  # 3 s from first to last frame
    up = anim.resample(60)
    assert up.fps == 60
    assert up.n_frames == n_frames_for(duration=3.0, fps=60) == 181
    # a linear ramp stays the same ramp at the new rate, to the last frame
    np.testing.assert_allclose(up.curves[:, index("JawOpen")], 0.1 * up.times, atol=1e-6)


def test_a_2s_clip_resampled_has_the_frames_of_a_2s_clip_at_the_new_rate():
    clip = ramp(n_frames_for(duration=2.0, fps=30), fps=30)
    assert clip.n_frames == 61
    for fps in (24, 25, 50, 60, 120, 30000 / 1001):
        assert clip.resample(fps).n_frames == n_frames_for(duration=2.0, fps=fps)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_resample_up_by_a_whole_factor_and_back_is_exact(factor):
    anim = FaceAnimation(30, np.random.default_rng(factor).random((47, N_CHANNELS), np.float32))
    up = anim.resample(30 * factor)
    np.testing.assert_array_equal(up.curves[::factor], anim.curves)
    assert up.resample(30) == anim


@pytest.mark.parametrize(("fps", "via"), [(30, 24), (30, 25), (24, 30), (25, 60), (30, 30000 / 1001)])
def test_resample_round_trip_keeps_the_span_within_one_frame_and_the_motion(fps, via):
    anim = ramp(73, fps=fps)
    back = anim.resample(via).resample(fps)
    span = (anim.n_frames - 1) / fps
    assert span <= (back.n_frames - 1) / fps < span + 1 / via + 1 / fps
    # the ramp is linear, so interpolation reproduces it up to the last intermediate frame inside
    # the span (past it, the intermediate's held last frame bends the ramp); past the span, held
    inside = back.times <= np.floor(span * via + 1e-9) / via + 1e-9
    np.testing.assert_allclose(back.curves[inside], anim.curves[: inside.sum()], atol=1e-5)
    assert inside.sum() >= anim.n_frames - fps / via - 1
    n = anim.n_frames
    np.testing.assert_allclose(back.curves[n:], np.repeat(anim.curves[-1:], back.n_frames - n, 0))


def test_resample_to_ntsc_rate():
    anim = ramp(300, fps=30)
    ntsc = anim.resample(30000 / 1001)
    assert abs(ntsc.duration - anim.duration) < 1 / ntsc.fps


def test_chunks_joined_end_to_end_are_the_clips_frames():
    """Chunks are half-open frame ranges: joining them repeats and drops no frame."""
    clip = ramp(n_frames_for(duration=7.3, fps=30), fps=30)
    bounds = [0, 60, 120, 180, clip.n_frames]
    parts = [clip.slice(a / 30, b / 30 if b < clip.n_frames else None) for a, b in pairwise(bounds)]
    assert [p.n_frames for p in parts] == [60, 60, 60, clip.n_frames - 180]
    assert [p.metadata["start_time"] for p in parts] == pytest.approx([0, 2, 4, 6])
    joined = FaceAnimation.concatenate(parts)
    np.testing.assert_array_equal(joined.curves, clip.curves)


def test_slice_takes_frames_in_the_half_open_interval():
    anim = ramp(90, fps=30)
    part = anim.slice(1.0, 2.0)
    assert part.n_frames == 30
    np.testing.assert_array_equal(part.curves, anim.curves[30:60])
    assert part.metadata["start_time"] == pytest.approx(1.0)


def test_concatenate_joins_in_order_and_requires_one_fps():
    a, b = ramp(10), ramp(5)
    joined = FaceAnimation.concatenate([a, b])
    assert joined.n_frames == 15
    np.testing.assert_array_equal(joined.curves[10:], b.curves)
    assert joined.metadata["parts"] == 2
    with pytest.raises(ValueError, match="resample"):
        FaceAnimation.concatenate([a, ramp(5, fps=60)])


def test_slices_concatenate_back_to_the_whole():
    anim = ramp(100)
    parts = [anim.slice(0, 1), anim.slice(1, 2.5), anim.slice(2.5)]
    np.testing.assert_array_equal(FaceAnimation.concatenate(parts).curves, anim.curves)


def test_clamped_limits_blendshapes_but_not_angles():
    curves = np.full((2, N_CHANNELS), 1.5, np.float32)
    out = FaceAnimation(30, curves).clamped()
    assert out.blendshapes.max() == 1.0
    assert out.pose.max() == pytest.approx(1.5)
