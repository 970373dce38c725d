"""FaceAnimation: shapes, channel order, resampling, slicing, concatenation."""

from __future__ import annotations

import numpy as np
import pytest

from emote.animation import ARKIT_NAMES, CHANNELS, N_CHANNELS, FaceAnimation, index


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


def test_resample_keeps_duration_and_interpolates_linearly():
    anim = ramp(91, fps=30)  # 3.033 s
    up = anim.resample(60)
    assert up.fps == 60
    assert up.n_frames == round(anim.duration * 60)
    # a linear ramp stays the same ramp at the new rate (except the held last frame)
    t = np.arange(up.n_frames - 2) / 60
    np.testing.assert_allclose(up.curves[:-2, index("JawOpen")], 0.1 * t, atol=1e-6)
    down = up.resample(30)
    np.testing.assert_allclose(down.curves[:-1], anim.curves[: down.n_frames - 1], atol=1e-6)


def test_resample_to_ntsc_rate():
    anim = ramp(300, fps=30)
    ntsc = anim.resample(30000 / 1001)
    assert abs(ntsc.duration - anim.duration) < 1 / ntsc.fps


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
