"""Gaze: fixations on and around the listener, joined by small saccades.

Conversational gaze stays within a few degrees of the listener's face,
fixating for 0.3–2 s and jumping by small saccades of 1–10°. Saccade
duration follows the *main sequence*, ``D ≈ 2.2 ms/° · A + 21 ms`` (Carpenter
1988, *Movements of the Eyes*, 2nd ed.), and its position profile is the
minimum-jerk curve ``10s³ − 15s⁴ + 6s⁵``, a close fit to a saccade's
bell-shaped velocity. Both eyes move together (no vergence: the listener is
far enough).

Angle conventions: here gaze pitch is computed positive *up* (degrees), and
written to the canonical ``LeftEyePitch``/``RightEyePitch`` channels negated, in
the project's convention (``emote.animation.channels``: positive pitch looks
down); positive yaw turns the gaze to the subject's left. ARKit's look shapes are derived from the same angles, so bones and
blendshapes agree: looking to the subject's left is ``EyeLookOutLeft`` and
``EyeLookInRight``; a weight of 1 means ``look_yaw_deg`` (sideways),
``look_up_deg`` or ``look_down_deg``.
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
    """

    fixation_min: float = 0.3
    fixation_max: float = 2.0
    fixation_mean: float = 0.8
    amplitude_min: float = 1.0
    amplitude_max: float = 10.0
    amplitude_mean: float = 3.5
    radius: float = 8.0
    vertical: float = 0.5
    look_yaw_deg: float = 30.0
    look_up_deg: float = 25.0
    look_down_deg: float = 30.0


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
        Yaw and pitch in degrees (:func:`gaze_angles`).
    curves : np.ndarray [shape=(frames, 61)]
        Modified in place: ``Left/RightEyeYaw/Pitch`` (radians) and
        ``EyeLook{In,Out,Up,Down}{Left,Right}`` (weights).
    """
    s = settings or GazeSettings()
    yaw, pitch = angles_deg[:, 0], angles_deg[:, 1]
    for side in ("Left", "Right"):
        curves[:, index(f"{side}EyeYaw")] = np.radians(yaw)
        curves[:, index(f"{side}EyePitch")] = np.radians(-pitch)  # channel: positive = down
    to_left = np.clip(yaw / s.look_yaw_deg, 0.0, 1.0)
    to_right = np.clip(-yaw / s.look_yaw_deg, 0.0, 1.0)
    curves[:, index("EyeLookOutLeft")] = to_left
    curves[:, index("EyeLookInRight")] = to_left
    curves[:, index("EyeLookInLeft")] = to_right
    curves[:, index("EyeLookOutRight")] = to_right
    up = np.clip(pitch / s.look_up_deg, 0.0, 1.0)
    down = np.clip(-pitch / s.look_down_deg, 0.0, 1.0)
    for side in ("Left", "Right"):
        curves[:, index(f"EyeLookUp{side}")] = up
        curves[:, index(f"EyeLookDown{side}")] = down
