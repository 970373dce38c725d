"""Proportions of the default head: one place for every landmark, in millimetres.

Axes: +X is the character's left, +Y up, +Z out of the face (towards the camera).
The origin is mid-sagittal at eye height, roughly above the ear canals in depth.
Values follow average adult anthropometry (head ~150 mm wide, ~230 mm chin to
crown, interpupillary distance ~64 mm, mouth ~50 mm wide; Farkas, "Anthropometry
of the Head and Face", 1994), rounded and stylised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layout:
    """Landmarks and sizes of the default head (mm)."""

    # Eyes: eyeball centre (left eye; the right one mirrors x), radius, iris and pupil.
    eye_center: tuple[float, float, float] = (32.0, 0.0, 75.0)
    eye_radius: float = 12.0
    iris_radius: float = 5.9
    pupil_radius: float = 2.1
    # Eyelids slide on an ellipsoidal shell round the eyeball: semi-axes (x, y=z).
    # Equal y and z axes keep the shell invariant under the blink rotation about X.
    lid_shell: tuple[float, float] = (16.0, 13.6)
    # Palpebral fissure (left eye): corner offsets from the eye centre in x, corner
    # heights, and upper/lower margin heights above/below the corner line.
    fissure_half_width: float = 14.0
    canthus_medial_y: float = -0.6
    canthus_lateral_y: float = 1.6
    upper_margin: float = 5.2
    lower_margin: float = 4.6
    # Mouth: corners at (±mouth_half_width, stomion_y), closed-lip gap at rest.
    mouth_half_width: float = 25.0
    stomion_y: float = -71.0
    corner_lift: float = 0.8
    rest_gap: float = 0.6
    upper_vermilion: float = 8.0
    lower_vermilion: float = 9.5
    # Jaw hinge (temporomandibular joints): the axis is parallel to X through this point.
    jaw_hinge: tuple[float, float] = (-27.0, -4.0)  # (y, z)
    jaw_open_deg: float = 16.0
    # Neck stump: cut height.
    neck_cut_y: float = -175.0
    # Ears: canal position (left ear) and size.
    ear_center: tuple[float, float, float] = (71.0, -20.0, -14.0)
    ear_height: float = 60.0
    ear_width: float = 32.0

    @property
    def eye_left(self) -> np.ndarray:
        return np.array(self.eye_center, np.float64)

    @property
    def eye_right(self) -> np.ndarray:
        return np.array(self.eye_center, np.float64) * np.array([-1.0, 1.0, 1.0])

    def stomion(self, x: np.ndarray) -> np.ndarray:
        """Height of the lip contact line at ``x``: (n,) -> (n,)."""
        u = np.clip(np.abs(x) / self.mouth_half_width, 0.0, 1.0)
        return self.stomion_y + self.corner_lift * u**2


LAYOUT = Layout()
