"""Per-vertex colours of the skin: lips, brows, lashes, short hair, nostrils, mouth interior."""

from __future__ import annotations

import numpy as np

from emote.rigs.default_head import anatomy as A
from emote.rigs.default_head import palette
from emote.rigs.default_head.skin import LIP_RINGS
from emote.rigs.default_head.surface import bump, smoothstep


def _mix(col: np.ndarray, target: tuple[float, float, float], alpha: np.ndarray) -> np.ndarray:
    a = np.clip(alpha, 0.0, 1.0)[:, None]
    return col * (1.0 - a) + np.asarray(target) * a


def _brow_mask(x: np.ndarray, y: np.ndarray, ex: float) -> np.ndarray:
    """Soft eyebrow band over one eye (x mirrored to the left side)."""
    ax_ = np.abs(x)
    t = np.clip((ax_ - 13.0) / 38.0, 0.0, 1.0)  # 0 at the inner end, 1 at the tail
    centre = 14.5 + 5.5 * np.sin(np.pi * np.clip(t * 1.15, 0.0, 1.0)) - 2.5 * t
    half = 3.2 * (1.0 - 0.55 * t)
    inside = smoothstep(half + 1.6, half - 0.8, np.abs(y - centre))
    ends = smoothstep(12.0, 15.0, ax_) * smoothstep(52.0, 48.0, ax_)
    return inside * ends


def _hair_mask(p: np.ndarray) -> np.ndarray:
    """Scalp above a hairline that runs high on the forehead and low at the nape."""
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    az = np.abs(np.arctan2(x, z + 5.0))  # 0 facing forward, π at the back
    line = np.interp(az, [0.0, 0.5, 0.9, 1.25, 1.6, 2.2, np.pi], [66.0, 62.0, 48.0, 28.0, 22.0, -20.0, -45.0])
    # Clear the skin in front of and around the ears.
    return smoothstep(line - 2.5, line + 5.0, y)


def paint(an: A.Anatomy) -> np.ndarray:
    """Colours (V, 3) of the whole head: skin painted, separate parts as built."""
    col = an.colors.copy()
    skin = an.part == A.SKIN
    p = an.rest
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    c = np.tile(np.asarray(palette.SKIN), (an.n, 1))
    # A little colour in the cheeks and nose tip, paler forehead.
    c = _mix(c, palette.LIPS, 0.12 * bump(((np.abs(x) - 40.0) / 22.0) ** 2 + ((y + 32.0) / 18.0) ** 2))
    c = _mix(c, palette.LIPS, 0.10 * bump((x / 10.0) ** 2 + ((y + 40.0) / 8.0) ** 2))
    # Lips: the red rings, softened at the border ring.
    lip = (an.mouth_k >= 0) & (an.mouth_k <= LIP_RINGS)
    alpha = np.where(an.mouth_k == LIP_RINGS, 0.55, 1.0) * lip
    # The rings crowd together at the corners: keep the red inside the mouth's outline there.
    alpha *= np.where(an.mouth_k > 0, smoothstep(1.0, 0.9, np.abs(an.mouth_s)), 1.0)
    c = _mix(c, palette.LIPS, alpha)
    c = _mix(c, palette.LIP_INNER, 0.5 * (an.mouth_k == 0))
    # Nostrils: dark ovals under the tip.
    nost = bump(((np.abs(x) - 6.0) / 4.2) ** 2 + ((y + 48.5) / 2.8) ** 2) * (z > 96.0)
    c = _mix(c, palette.NOSTRIL, 0.9 * nost)
    # Eyebrows, lashes on the lid margins (upper darker), hair.
    ex = an.layout.eye_center[0]
    c = _mix(c, palette.BROWS, 0.92 * _brow_mask(x, y, ex) * (z > 40.0))
    margin = an.eye_k == 0
    c = _mix(c, palette.LASHES, np.where(an.eye_side > 0, 0.95, 0.45) * margin)
    c = _mix(c, palette.HAIR, 0.97 * _hair_mask(p))
    col[skin] = c[skin]
    # Mouth interior: wet lip inside, darkening into the bag.
    mouth = an.part == A.MOUTH
    depth = np.clip(-an.mouth_k.astype(np.float64), 0.0, None)
    inner = _mix(
        np.tile(np.asarray(palette.LIP_INNER), (an.n, 1)), palette.MOUTH, smoothstep(1.0, 3.0, depth)
    )
    inner = _mix(inner, palette.MOUTH_DEEP, smoothstep(3.0, 6.0, depth))
    col[mouth] = inner[mouth]
    # Lid tucks: the wet rim, then dark where it meets the eyeball.
    lid = an.part == A.LID
    col[lid] = np.where(
        (an.eye_k[lid] == -1)[:, None], np.asarray(palette.LID_RIM), np.asarray(palette.LASHES)
    )
    col[an.part == A.CAP] = palette.NECK_CAP
    return np.clip(col, 0.0, 1.0)
