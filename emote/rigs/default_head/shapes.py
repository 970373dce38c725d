"""The 52 ARKit blendshapes of the default head, authored as smooth deformation fields.

Each shape is a displacement of every vertex at weight 1, built from a few
per-vertex fields computed once (:class:`Fields`): the jaw weight, the mouth
frame (position along and across the lips), eyelid ring parameters, and
compact falloffs round landmarks. Shape meanings follow Apple's ARKit
``ARFaceAnchor.BlendShapeLocation`` documentation; "Left" is the character's
left, +X here.

Conventions worth knowing:

- ``JawOpen`` rotates the lower face, lower teeth and tongue about the jaw
  hinge (an axis along X near the ears).
- ``MouthClose`` is the ARKit corrective: with ``JawOpen = w`` and
  ``MouthClose = w`` the lips stay closed while the jaw is open. Alone it
  pushes the lips into each other (as on ARKit-authored characters).
- Eyelids close by rotating about the eyeball centre over a shell just
  outside the eyeball, so a blink really covers the eye.
- Gaze turns the eyeballs through the eye pose channels (rigid rotation in
  :func:`emote.rigs.posing.pose_mesh`); the ``EyeLook*`` shapes only let the
  lids follow the gaze (up/down) and move nothing sideways, so gaze is never
  applied twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emote.animation.channels import ARKIT_NAMES
from emote.rigs.default_head import anatomy as A
from emote.rigs.default_head import surface as srf
from emote.rigs.default_head.skin import eye_ring
from emote.rigs.default_head.surface import bump, smoothstep


def _rot_x(angle: np.ndarray) -> np.ndarray:
    """Rotation matrices about +X for angles (n,) -> (n, 3, 3)."""
    c, s = np.cos(angle), np.sin(angle)
    z, o = np.zeros_like(angle), np.ones_like(angle)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def rotate_about_x(p: np.ndarray, pivot: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Displacement of points ``p`` (n, 3) rotated by ``angle`` (n,) about an X-parallel axis through ``pivot``."""
    q = p - pivot
    return np.einsum("nij,nj->ni", _rot_x(angle), q) - q


@dataclass
class Fields:
    """Per-vertex quantities the shapes are built from (V = all vertices)."""

    an: A.Anatomy
    ap: np.ndarray  # (V, 3) anchor position: own rest position, or the skin vertex a tube hangs from
    mx: np.ndarray  # x of the anchor
    my: np.ndarray  # height of the anchor above the lip contact line
    vu: np.ndarray  # upper red-lip height at mx
    vl: np.ndarray  # lower red-lip height at mx
    upper: np.ndarray  # (V,) float 0/1, upper-lip side of the mouth (skin and mouth interior)
    lower: np.ndarray
    att: np.ndarray  # how much a vertex follows its lips (1 skin, fading into the mouth bag)
    soft: np.ndarray  # 1 on skin, lids and mouth interior; 0 on teeth, eyes, ears, tongue
    jaw: np.ndarray  # jaw weight in [0, 1]
    jaw_soft: np.ndarray  # the same with wider transitions over the cheeks (sideways/forward jaw)
    lid_guard: np.ndarray  # 0 on the eyelids proper (brows must not drag the lid margins)

    def lips(self, reach: float) -> np.ndarray:
        """1 on the red lips and the lip interior, falling to 0 ``reach`` mm outside them."""
        a = self.an.layout.mouth_half_width
        dx = np.clip(np.abs(self.mx) - a, 0.0, None)
        dy = np.where(
            self.my > 0, np.clip(self.my - self.vu, 0.0, None), np.clip(-self.my - self.vl, 0.0, None)
        )
        return smoothstep(reach, 0.0, np.hypot(dx, dy)) * self.att * self.soft

    def corner(self, side: float, reach: float) -> np.ndarray:
        """Falloff round the mouth corner on ``side`` (+1 the character's left).

        Along the mouth it grows as the cube of the distance from the other corner,
        so a lifted corner bends the lip line into a smooth curve (not a V); beyond
        the corner and above/below the lips it fades within ``reach`` mm.
        """
        a = self.an.layout.mouth_half_width
        sx = side * self.mx
        u = np.clip((sx + a) / (2.0 * a), 0.0, 1.0)
        along = np.where(sx <= a, u**3, bump(((sx - a) / reach) ** 2))
        across = bump((self.my / (0.8 * reach)) ** 2)
        return along * across * self.att * self.soft

    def near(self, centre: tuple[float, float], radii: tuple[float, float]) -> np.ndarray:
        """Compact falloff round a point of the face (x, y), on soft tissue only."""
        d2 = ((self.ap[:, 0] - centre[0]) / radii[0]) ** 2 + ((self.ap[:, 1] - centre[1]) / radii[1]) ** 2
        return bump(d2) * self.att * self.soft * (self.ap[:, 2] > 0.0)


def _jaw_weight(an: A.Anatomy, spread: float = 1.0) -> np.ndarray:
    """How much each vertex follows the jaw: a smooth field below the lip line and its extension.

    Across the lips the step is sharp in the middle and widens towards the
    corners, which stretch when the mouth opens; beyond the corners the boundary
    climbs towards the hinge and blurs over the cheeks. Mouth-interior vertices
    take the value of the lip-edge vertex they hang from.
    """
    lay = an.layout
    a = lay.mouth_half_width
    w = np.zeros(an.n)
    w[np.isin(an.part, (A.TEETH_LO, A.GUM_LO, A.TONGUE))] = 1.0
    x, y, z = an.anchor[:, 0], an.anchor[:, 1], an.anchor[:, 2]
    ax_ = np.abs(x)
    out = np.clip(ax_ - a, 0.0, None)
    y_sep = lay.stomion(x) + 1.25 * out
    band = 0.25 + spread * (6.0 * smoothstep(10.0, a, ax_) ** 2 + 0.45 * out)
    # Below the jaw's lower border (from the chin back to the angle) the neck stays put.
    border = np.interp(z, [-10.0, 0.0, 30.0, 60.0, 90.0], [-92.0, -100.0, -113.0, -121.0, -127.0])
    field = (
        smoothstep(band, -band, y - y_sep)
        * smoothstep(-45.0, 0.0, z)
        * smoothstep(border - 38.0, border + 4.0, y)
    )
    soft = np.isin(an.part, (A.SKIN, A.LID, A.MOUTH))
    w[soft] = field[soft]
    return w


def fields(an: A.Anatomy) -> Fields:
    """Compute the per-vertex fields once."""
    lay = an.layout
    ap = an.anchor
    mx = ap[:, 0]
    my = ap[:, 1] - lay.stomion(mx)
    vu, vl = srf.vermilion_heights(mx, lay)
    on_ring = (an.mouth_k >= 0) | (an.part == A.MOUTH)
    upper = np.where(on_ring, an.mouth_side > 0, my > 0).astype(np.float64)
    lower = np.where(on_ring, an.mouth_side < 0, my < 0).astype(np.float64)
    depth = np.where(an.part == A.MOUTH, -an.mouth_k, 0).astype(np.float64)
    att = np.interp(depth, [0, 1, 2, 3, 4, 5, 6], [1.0, 1.0, 0.9, 0.55, 0.25, 0.1, 0.0])
    soft = np.isin(an.part, (A.SKIN, A.MOUTH, A.LID)).astype(np.float64)
    guard = np.ones(an.n)
    on_eye = an.eye >= 0
    k = an.eye_k.astype(np.float64)
    guard[on_eye] = np.where(an.eye_side[on_eye] > 0, smoothstep(3.0, 8.0, k[on_eye]), 0.0)
    return Fields(
        an=an, ap=ap, mx=mx, my=my, vu=vu, vl=vl, upper=upper, lower=lower, att=att, soft=soft,
        jaw=_jaw_weight(an), jaw_soft=_jaw_weight(an, spread=2.5), lid_guard=guard,
    )  # fmt: skip


# --- jaw ----------------------------------------------------------------------------------------


def _hinge(an: A.Anatomy) -> np.ndarray:
    y, z = an.layout.jaw_hinge
    return np.array([0.0, y, z])


def jaw_open(f: Fields) -> np.ndarray:
    """Lower face, lower teeth and tongue rotated about the hinge, each by its jaw weight."""
    ang = np.deg2rad(f.an.layout.jaw_open_deg) * f.jaw
    return rotate_about_x(f.an.rest, _hinge(f.an), ang)


def mouth_close(f: Fields) -> np.ndarray:
    """Lips brought together over an open jaw: upper lip down a third, lower lip back up two thirds."""
    full = rotate_about_x(f.an.rest, _hinge(f.an), np.full(f.an.n, np.deg2rad(f.an.layout.jaw_open_deg)))
    m = f.lips(10.0)
    return (m * (0.35 - f.jaw))[:, None] * full


def jaw_shift(f: Fields, d: tuple[float, float, float]) -> np.ndarray:
    """The jaw slid sideways or forwards; the cheeks take up the shift over a wide band."""
    return f.jaw_soft[:, None] * np.asarray(d)[None, :]


# --- lips ---------------------------------------------------------------------------------------


def _along_face(f: Fields, dx: np.ndarray) -> np.ndarray:
    """Depth change that keeps points on the face when they slide sideways by ``dx``."""
    x, y = f.ap[:, 0], f.ap[:, 1]
    moving = np.abs(dx) > 1e-6
    dz = np.zeros(f.an.n)
    if moving.any():
        dz[moving] = srf.base_front_z(x[moving] + dx[moving], y[moving]) - srf.base_front_z(
            x[moving], y[moving]
        )
    return dz


def _vec(w: np.ndarray, d: tuple[float, float, float]) -> np.ndarray:
    return w[:, None] * np.asarray(d, np.float64)[None, :]


def smile(f: Fields, side: float) -> np.ndarray:
    """Corner up, out and back; cheek lifted."""
    c = f.corner(side, 26.0)
    out = _vec(c, (5.5 * side, 7.0, -3.5))
    cheek = f.near((38.0 * side, -38.0), (20.0, 16.0))
    return out + _vec(cheek, (1.0 * side, 3.0, 2.0))


def frown(f: Fields, side: float) -> np.ndarray:
    return _vec(f.corner(side, 22.0), (1.5 * side, -6.0, -1.0))


def dimple(f: Fields, side: float) -> np.ndarray:
    return _vec(f.corner(side, 15.0), (2.5 * side, 0.0, -4.0))


def stretch(f: Fields, side: float) -> np.ndarray:
    return _vec(f.corner(side, 26.0), (6.0 * side, -2.5, -2.5))


def press(f: Fields, side: float) -> np.ndarray:
    """Red lips squeezed towards the contact line on one side."""
    w = f.lips(5.0) * smoothstep(-6.0 * side, 6.0 * side, f.mx)
    dy = -0.35 * np.clip(f.my, -f.vl, f.vu)
    d = np.zeros((f.an.n, 3))
    d[:, 1] = w * dy
    d[:, 2] = -0.8 * w
    return d


def lower_down(f: Fields, side: float) -> np.ndarray:
    w = f.lips(12.0) * f.lower * smoothstep(-6.0 * side, 6.0 * side, f.mx)
    return _vec(w, (0.0, -5.5, 0.6))


def upper_up(f: Fields, side: float) -> np.ndarray:
    w = f.lips(14.0) * f.upper * smoothstep(-6.0 * side, 6.0 * side, f.mx)
    return _vec(w, (0.0, 5.5, 1.0))


def mouth_side(f: Fields, side: float) -> np.ndarray:
    """The whole mouth slides sideways along the face."""
    w = f.lips(16.0)
    dx = 7.0 * side * w
    d = np.zeros((f.an.n, 3))
    d[:, 0] = dx
    d[:, 2] = _along_face(f, dx)
    return d


def roll(f: Fields, upper: bool) -> np.ndarray:
    """Red lip rolled in over the teeth: the border comes to the contact line and everything goes back."""
    a = f.an.layout.mouth_half_width
    half = f.upper if upper else f.lower
    w = f.lips(6.0) * half * np.sqrt(np.clip(1.0 - (f.mx / (a + 2.0)) ** 2, 0.0, None))
    v = f.vu if upper else f.vl
    dist = np.clip(np.abs(f.my), 0.0, v)
    t = dist / np.maximum(v, 1e-3)
    d = np.zeros((f.an.n, 3))
    d[:, 1] = w * (-0.7 if upper else 0.7) * dist
    d[:, 2] = -w * (2.0 + 3.0 * t)
    return d


def shrug(f: Fields, upper: bool) -> np.ndarray:
    if upper:
        return _vec(f.lips(10.0) * f.upper, (0.0, 2.2, 1.5))
    w = f.lips(22.0) * f.lower
    return _vec(w, (0.0, 3.0, 2.2))


def funnel(f: Fields) -> np.ndarray:
    """Lips pushed forward and flared into an open ring; corners drawn in."""
    a = f.an.layout.mouth_half_width
    w = f.lips(12.0)
    mid = np.clip(1.0 - (f.mx / a) ** 2, 0.0, None)
    d = np.zeros((f.an.n, 3))
    d[:, 0] = -0.2 * f.mx * w
    d[:, 1] = w * mid * (3.2 * f.upper - 3.8 * f.lower)
    d[:, 2] = w * 5.0 * (1.0 - 0.5 * (f.mx / a) ** 2)
    # The red lip everts: its border turns outwards.
    t = np.clip(np.abs(f.my) / np.maximum(np.where(f.my > 0, f.vu, f.vl), 1e-3), 0.0, 1.0)
    d[:, 1] += w * t * (1.0 * f.upper - 1.0 * f.lower)
    d[:, 2] += w * 1.5 * t
    return d


def pucker(f: Fields) -> np.ndarray:
    """Lips pushed forward and gathered towards the middle, kept closed."""
    a = f.an.layout.mouth_half_width
    w = f.lips(14.0)
    d = np.zeros((f.an.n, 3))
    d[:, 0] = -0.36 * f.mx * w
    t = np.clip(np.abs(f.my) / np.maximum(np.where(f.my > 0, f.vu, f.vl), 1e-3), 0.0, 1.0)
    d[:, 1] = w * t * (0.8 * f.upper - 0.8 * f.lower)
    d[:, 2] = w * 7.5 * (1.0 - 0.4 * np.clip(f.mx / a, -1.0, 1.0) ** 2)
    return d


def cheek_puff(f: Fields) -> np.ndarray:
    d = np.zeros((f.an.n, 3))
    for side in (1.0, -1.0):
        w = f.near((40.0 * side, -62.0), (24.0, 24.0)) * (f.ap[:, 0] * side > 0)
        d += _vec(w, (6.0 * side, 0.0, 3.5))
    return d + _vec(f.lips(4.0), (0.0, 0.0, 1.5))


def cheek_squint(f: Fields, side: float) -> np.ndarray:
    w = f.near((36.0 * side, -26.0), (20.0, 16.0)) * f.lid_guard
    return _vec(w, (0.0, 4.0, 1.2)) + lids(f, side, upper_deg=0.0, lower_deg=-4.0)


def sneer(f: Fields, side: float) -> np.ndarray:
    w = f.near((12.0 * side, -38.0), (12.0, 14.0))
    lip = f.lips(12.0) * f.upper * smoothstep(-4.0 * side, 12.0 * side, f.mx)
    return _vec(w, (0.5 * side, 3.5, 0.5)) + _vec(lip, (0.0, 1.5, 0.3))


# --- brows --------------------------------------------------------------------------------------


def _brow_zone(f: Fields) -> np.ndarray:
    y = f.ap[:, 1]
    return smoothstep(-6.0, 8.0, y) * smoothstep(64.0, 24.0, y) * f.lid_guard * f.soft * (f.ap[:, 2] > 20.0)


def brow_down(f: Fields, side: float) -> np.ndarray:
    x = f.ap[:, 0] * side
    zone = _brow_zone(f) * smoothstep(1.0, 10.0, x) * smoothstep(60.0, 44.0, x)
    inner = smoothstep(40.0, 14.0, x)
    d = np.zeros((f.an.n, 3))
    d[:, 0] = -2.2 * side * inner * zone
    d[:, 1] = -4.5 * (0.6 + 0.4 * inner) * zone
    d[:, 2] = 1.0 * zone
    return d


def brow_inner_up(f: Fields) -> np.ndarray:
    x = np.abs(f.ap[:, 0])
    zone = _brow_zone(f) * smoothstep(34.0, 8.0, x)
    return _vec(zone, (0.0, 6.0, 0.3))


def brow_outer_up(f: Fields, side: float) -> np.ndarray:
    x = f.ap[:, 0] * side
    zone = _brow_zone(f) * smoothstep(16.0, 36.0, x) * smoothstep(68.0, 50.0, x)
    return _vec(zone, (0.0, 5.5, 0.0))


# --- eyelids ------------------------------------------------------------------------------------


def _margin_angles(f: Fields) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-vertex lid-margin angles above the eye's horizontal plane: upper, lower (radians), and profile.

    Evaluated at each vertex's ring parameter ``s`` from the margin ring, so every
    ring of a lid turns by the angle its margin needs (the eyes are mirror images,
    so one table serves both).
    """
    lay = f.an.layout
    ring = eye_ring(0, layout=lay)
    zc = srf.lid_shell_z(ring.xy[:, 0], ring.xy[:, 1], lay)
    ang = np.arctan2(ring.xy[:, 1] - lay.eye_center[1], zc - lay.eye_center[2])
    up = ring.side >= 0  # the corners belong to both margins
    lo = ring.side <= 0
    s_up, a_up = ring.s[up], ang[up]
    s_lo, a_lo = ring.s[lo], ang[lo]
    o_u, o_l = np.argsort(s_up), np.argsort(s_lo)
    s = f.an.eye_s
    au = np.interp(s, s_up[o_u], a_up[o_u])
    al = np.interp(s, s_lo[o_l], a_lo[o_l])
    prof = np.clip(1.0 - s**2, 0.0, None) ** 0.6
    return au, al, prof


def _lid_weights(f: Fields, side: float) -> tuple[np.ndarray, np.ndarray]:
    an = f.an
    this = an.eye == (0 if side > 0 else 1)
    k = an.eye_k.astype(np.float64)
    wu = np.where(k < 0, 1.0, smoothstep(9.0, 3.0, k)) * (an.eye_side > 0) * this
    wl = np.where(k < 0, 1.0, smoothstep(4.5, 0.5, k)) * (an.eye_side < 0) * this
    return wu, wl


def _lid_rotation(f: Fields, side: float, ang: np.ndarray) -> np.ndarray:
    centre = f.an.layout.eye_left if side > 0 else f.an.layout.eye_right
    return rotate_about_x(f.an.rest, centre, ang)


def blink(f: Fields, side: float) -> np.ndarray:
    """Upper lid down over the eyeball to meet the lower lid, which rises a little.

    The lids meet 30 % of the way up from the lower margin, below the pupil centre.
    """
    au, al, _ = _margin_angles(f)
    meet = al + 0.3 * (au - al)
    wu, wl = _lid_weights(f, side)
    ang = wu * (au - meet) + wl * (al - meet)
    return _lid_rotation(f, side, ang)


def lids(f: Fields, side: float, *, upper_deg: float, lower_deg: float, lift: float = 0.0) -> np.ndarray:
    """Lids turned by fixed angles (positive: down), fading to nothing at the corners.

    ``lift`` (mm) also moves the upper lid off the eyeball: shapes that raise the
    lid use it so that, added to a blink (shapes add along chords, not arcs),
    the lid still clears the eyeball.
    """
    _, _, prof = _margin_angles(f)
    wu, wl = _lid_weights(f, side)
    ang = prof * (wu * np.deg2rad(upper_deg) + wl * np.deg2rad(lower_deg))
    d = _lid_rotation(f, side, ang)
    if lift:
        centre = f.an.layout.eye_left if side > 0 else f.an.layout.eye_right
        out = f.an.rest - centre
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        d += (lift * wu * prof)[:, None] * out
    return d


def squint(f: Fields, side: float) -> np.ndarray:
    cheek = f.near((34.0 * side, -22.0), (18.0, 12.0)) * f.lid_guard
    return lids(f, side, upper_deg=5.0, lower_deg=-8.0) + _vec(cheek, (0.0, 1.5, 0.5))


def wide(f: Fields, side: float) -> np.ndarray:
    return lids(f, side, upper_deg=-9.0, lower_deg=3.0, lift=0.6)


# --- tongue -------------------------------------------------------------------------------------


def tongue_out(f: Fields) -> np.ndarray:
    an = f.an
    d = np.zeros((an.n, 3))
    t = an.part == A.TONGUE
    # The tip slides forward and up over the lower teeth and lip.
    tip = smoothstep(30.0, 82.0, an.rest[t, 2])
    d[t, 1] = 5.0 * tip
    d[t, 2] = 26.0 * tip
    d += _vec(f.lips(6.0) * f.lower, (0.0, -2.0, 2.0))
    return d


# --- the table ----------------------------------------------------------------------------------

L, R = 1.0, -1.0
_NONE: Callable[[Fields], np.ndarray] = lambda f: np.zeros((f.an.n, 3))  # noqa: E731

BUILDERS: dict[str, Callable[[Fields], np.ndarray]] = {
    "EyeBlinkLeft": lambda f: blink(f, L),
    "EyeLookDownLeft": lambda f: lids(f, L, upper_deg=13.0, lower_deg=4.0),
    "EyeLookInLeft": _NONE,
    "EyeLookOutLeft": _NONE,
    "EyeLookUpLeft": lambda f: lids(f, L, upper_deg=-6.0, lower_deg=-3.0, lift=0.4),
    "EyeSquintLeft": lambda f: squint(f, L),
    "EyeWideLeft": lambda f: wide(f, L),
    "EyeBlinkRight": lambda f: blink(f, R),
    "EyeLookDownRight": lambda f: lids(f, R, upper_deg=13.0, lower_deg=4.0),
    "EyeLookInRight": _NONE,
    "EyeLookOutRight": _NONE,
    "EyeLookUpRight": lambda f: lids(f, R, upper_deg=-6.0, lower_deg=-3.0, lift=0.4),
    "EyeSquintRight": lambda f: squint(f, R),
    "EyeWideRight": lambda f: wide(f, R),
    "JawForward": lambda f: jaw_shift(f, (0.0, 0.0, 6.0)),
    "JawLeft": lambda f: jaw_shift(f, (5.0, 0.0, 0.0)),
    "JawRight": lambda f: jaw_shift(f, (-5.0, 0.0, 0.0)),
    "JawOpen": jaw_open,
    "MouthClose": mouth_close,
    "MouthFunnel": funnel,
    "MouthPucker": pucker,
    "MouthLeft": lambda f: mouth_side(f, L),
    "MouthRight": lambda f: mouth_side(f, R),
    "MouthSmileLeft": lambda f: smile(f, L),
    "MouthSmileRight": lambda f: smile(f, R),
    "MouthFrownLeft": lambda f: frown(f, L),
    "MouthFrownRight": lambda f: frown(f, R),
    "MouthDimpleLeft": lambda f: dimple(f, L),
    "MouthDimpleRight": lambda f: dimple(f, R),
    "MouthStretchLeft": lambda f: stretch(f, L),
    "MouthStretchRight": lambda f: stretch(f, R),
    "MouthRollLower": lambda f: roll(f, upper=False),
    "MouthRollUpper": lambda f: roll(f, upper=True),
    "MouthShrugLower": lambda f: shrug(f, upper=False),
    "MouthShrugUpper": lambda f: shrug(f, upper=True),
    "MouthPressLeft": lambda f: press(f, L),
    "MouthPressRight": lambda f: press(f, R),
    "MouthLowerDownLeft": lambda f: lower_down(f, L),
    "MouthLowerDownRight": lambda f: lower_down(f, R),
    "MouthUpperUpLeft": lambda f: upper_up(f, L),
    "MouthUpperUpRight": lambda f: upper_up(f, R),
    "BrowDownLeft": lambda f: brow_down(f, L),
    "BrowDownRight": lambda f: brow_down(f, R),
    "BrowInnerUp": brow_inner_up,
    "BrowOuterUpLeft": lambda f: brow_outer_up(f, L),
    "BrowOuterUpRight": lambda f: brow_outer_up(f, R),
    "CheekPuff": cheek_puff,
    "CheekSquintLeft": lambda f: cheek_squint(f, L),
    "CheekSquintRight": lambda f: cheek_squint(f, R),
    "NoseSneerLeft": lambda f: sneer(f, L),
    "NoseSneerRight": lambda f: sneer(f, R),
    "TongueOut": tongue_out,
}


def build_shapes(an: A.Anatomy) -> np.ndarray:
    """All 52 shapes in ARKit order: (52, V, 3) float32 displacements at weight 1."""
    f = fields(an)
    return np.stack([BUILDERS[name](f) for name in ARKIT_NAMES]).astype(np.float32)
