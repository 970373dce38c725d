"""Gaze: fixations on and around the listener, joined by small saccades.

Conversational gaze stays within a few degrees of the listener's face,
fixating for 0.3–2 s and jumping by small saccades of 1–10°. Saccade
duration follows the *main sequence*, ``D ≈ 2.2 ms/° · A + 21 ms`` (Carpenter
1988, *Movements of the Eyes*, 2nd ed.), and its position profile is the
minimum-jerk curve ``10s³ − 15s⁴ + 6s⁵``, a close fit to a saccade's
bell-shaped velocity. Both eyes move together and converge on the listener at
``distance_m``: each eye turns in by ``atan(half_ipd_m / distance_m)`` (1.8°
at 1 m), so the two eyes' yaws and look shapes differ as in the app's takes.

Angle conventions: here gaze is computed as yaw positive to the subject's
*left* and pitch positive *up* (degrees); the eye channels get the Live Link
Face app's signs (:mod:`emote.animation.channels`): eye yaw positive to the
subject's right, pitch positive down, and the app's small eye roll
``tan(yaw) · tan(pitch)``. ARKit's look shapes come from each eye's own angles,
so bones and blendshapes agree the way they do in the app's takes: looking to
the subject's left is ``EyeLookOutLeft`` and ``EyeLookInRight``, and
``LeftEyeYaw ≈ look_yaw · (EyeLookInLeft − EyeLookOutLeft)``. A weight of 1
means ``look_yaw_deg`` (sideways), ``look_up_deg`` or ``look_down_deg``; the
sideways and downward scales are the app's (0.6 rad per unit, measured).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emote.animation.channels import index


@dataclass
class GazeSettings:
    """Fixation and saccade statistics, and the angle of a full ARKit look shape.

    Attributes
    ----------
    fixation_min, fixation_max, fixation_mean : float
        Fixation durations in seconds (Gamma with this mean, clipped).
    amplitude_min, amplitude_max, amplitude_mean : float
        Saccade amplitude in degrees (exponential above the minimum, clipped).
    radius : float
        Degrees the gaze may stray from the listener.
    vertical : float
        Vertical share of saccades (gaze roams more sideways than up/down).
    look_yaw_deg, look_up_deg, look_down_deg : float
        Eye rotation that a look blendshape of weight 1 stands for.
    distance_m, half_ipd_m : float
        Distance to what the eyes fixate and half the distance between the
        pupils (adult mean interpupillary distance 63 mm, Dodgson 2004, "Variation
        and extrema of human interpupillary distance"): they set the vergence.
    """

    fixation_min: float = 0.3
    fixation_max: float = 2.0
    fixation_mean: float = 0.8
    amplitude_min: float = 1.0
    amplitude_max: float = 10.0
    amplitude_mean: float = 3.5
    radius: float = 8.0
    vertical: float = 0.5
    look_yaw_deg: float = 34.4  # 0.6 rad: the app's LeftEyeYaw per unit of EyeLookIn/Out
    look_up_deg: float = 25.0
    look_down_deg: float = 35.0  # 0.61 rad: the app's eye pitch per unit of EyeLookDown
    distance_m: float = 1.0
    half_ipd_m: float = 0.032


def saccade_duration(amplitude_deg: np.ndarray | float) -> np.ndarray:
    """Main-sequence saccade duration in seconds: ``0.0022 * A + 0.021``."""
    return 0.0022 * np.asarray(amplitude_deg, np.float64) + 0.021


def minimum_jerk(s: np.ndarray) -> np.ndarray:
    """Minimum-jerk position profile on s in [0, 1] (clipped outside)."""
    s = np.clip(s, 0.0, 1.0)
    return s**3 * (10.0 - 15.0 * s + 6.0 * s * s)


def gaze_angles(
    n_frames: int, *, fps: float, rng: np.random.Generator, settings: GazeSettings | None = None
) -> np.ndarray:
    """Gaze yaw and pitch per frame, in degrees.

    Parameters
    ----------
    n_frames : int
    fps : float
    rng : np.random.Generator
    settings : GazeSettings, optional

    Returns
    -------
    np.ndarray [shape=(frames, 2), dtype=float64]
        Yaw (+ subject's left) and pitch (+ up) in degrees.
    """
    s = settings or GazeSettings()
    duration = n_frames / fps
    pos = np.zeros(2)
    onsets, durations, starts, ends = [], [], [], []
    shape = 2.0
    t = rng.uniform(0.0, 1.0) * s.fixation_mean
    while t < duration:
        amp = np.clip(s.amplitude_min + rng.exponential(s.amplitude_mean - s.amplitude_min),
                      s.amplitude_min, s.amplitude_max)  # fmt: skip
        angle = rng.uniform(0.0, 2.0 * np.pi)
        step = amp * np.array([np.cos(angle), s.vertical * np.sin(angle)])
        if np.linalg.norm(pos + step) > s.radius:
            # Head back towards the listener instead of wandering off.
            toward = -pos / max(np.linalg.norm(pos), 1e-9)
            step = min(amp, np.linalg.norm(pos)) * toward
        new = pos + step
        d = float(saccade_duration(np.linalg.norm(step)))
        onsets.append(t)
        durations.append(d)
        starts.append(pos)
        ends.append(new)
        pos = new
        fix = np.clip(rng.gamma(shape, s.fixation_mean / shape), s.fixation_min, s.fixation_max)
        t += d + fix
    times = np.arange(n_frames) / fps
    out = np.zeros((n_frames, 2))
    if not onsets:
        return out
    on, dur = np.asarray(onsets), np.asarray(durations)
    a, b = np.asarray(starts), np.asarray(ends)
    k = np.searchsorted(on, times, side="right") - 1
    before = k < 0
    k = np.maximum(k, 0)
    frac = minimum_jerk((times - on[k]) / dur[k])[:, None]
    out = a[k] + (b[k] - a[k]) * frac
    out[before] = a[0]
    return out


def eye_channels(angles_deg: np.ndarray, curves: np.ndarray, *, settings: GazeSettings | None = None) -> None:
    """Write gaze angles into the eye pose channels and ARKit look shapes, in place.

    Parameters
    ----------
    angles_deg : np.ndarray [shape=(frames, 2)]
        Gaze yaw (+ subject's left) and pitch (+ up) in degrees (:func:`gaze_angles`).
    curves : np.ndarray [shape=(frames, 61)]
        Modified in place: ``Left/RightEyeYaw/Pitch/Roll`` (radians, the app's
        signs) and ``EyeLook{In,Out,Up,Down}{Left,Right}`` (weights).
    """
    s = settings or GazeSettings()
    vergence = np.degrees(np.arctan2(s.half_ipd_m, s.distance_m))
    pitch = angles_deg[:, 1]
    up = np.clip(pitch / s.look_up_deg, 0.0, 1.0)
    down = np.clip(-pitch / s.look_down_deg, 0.0, 1.0)
    app_pitch = np.radians(-pitch)  # the app's eye pitch: positive looks down
    # Each eye's gaze to the subject's *right* (the app's yaw sign): the left eye turns
    # right to converge, the right eye left.
    for side, inward in (("Left", vergence), ("Right", -vergence)):
        to_right = -angles_deg[:, 0] + inward
        app_yaw = np.radians(to_right)
        curves[:, index(f"{side}EyeYaw")] = app_yaw
        curves[:, index(f"{side}EyePitch")] = app_pitch
        curves[:, index(f"{side}EyeRoll")] = np.tan(app_yaw) * np.tan(app_pitch)
        right = np.clip(to_right / s.look_yaw_deg, 0.0, 1.0)
        left = np.clip(-to_right / s.look_yaw_deg, 0.0, 1.0)
        # Left eye: looking right is looking in; right eye: looking right is looking out.
        curves[:, index(f"EyeLookIn{side}")] = right if side == "Left" else left
        curves[:, index(f"EyeLookOut{side}")] = left if side == "Left" else right
        curves[:, index(f"EyeLookUp{side}")] = up
        curves[:, index(f"EyeLookDown{side}")] = down
