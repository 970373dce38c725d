"""The skin surface of the default head as analytic functions.

Two layers:

- the *base*: a loft of horizontal superellipse sections (cranium, cheeks, jaw;
  separate front and back halves; the table was fitted to average head
  profiles) and an elliptic neck cylinder, each an implicit solid, united
  along rays with a fillet under the jaw. Rays start on a short vertical
  segment inside the head (:func:`ray_origin`) and every unit direction names
  one base point, so a triangulation of directions is a triangulation of the
  skin;
- the *features*: a compactly supported depth offset over the front of the face
  (brow ridge, eye sockets, cheekbones, nose, philtrum, lips, chin), in which the
  eyelids follow an ellipsoidal shell round each eyeball.

A skin point is the base point along a direction, moved along +Z by the
features. Everything is vectorised numpy.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator

from emote.rigs.default_head.layout import LAYOUT, Layout

# Rays start on a vertical segment inside the head: the origin slides down as the
# direction tilts down, so rays meet the jaw and neck head-on. Rays of one azimuth
# share a half-plane and never cross, so every direction names one base point.
CENTER = np.array([0.0, -30.0, -5.0])
_ORIGIN_SLIDE = 50.0


def ray_origin(d: np.ndarray) -> np.ndarray:
    """Origin of the ray along unit direction ``d``: (n, 3) -> (n, 3)."""
    o = np.tile(CENTER, (d.shape[0], 1))
    o[:, 1] += _ORIGIN_SLIDE * d[:, 1]
    return o


def smax(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Smooth maximum (polynomial, C1): equals ``max(a, b)`` where ``|a - b| >= k``."""
    h = np.clip(k - np.abs(a - b), 0.0, None) / k
    return np.maximum(a, b) + h * h * k * 0.25


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """0 below ``e0``, 1 above ``e1``, cubic Hermite between (``e0 > e1`` reverses it)."""
    t = np.clip((np.asarray(x, np.float64) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def bump(r2: np.ndarray) -> np.ndarray:
    """Compact smooth bump of a squared normalised radius: ``(1 - r²)²`` inside, 0 outside."""
    return np.clip(1.0 - r2, 0.0, None) ** 2


def _table(ys: list[float], vals: list[float]) -> PchipInterpolator:
    """Monotone cubic through control points (given in either order of ``ys``)."""
    order = np.argsort(ys)
    return PchipInterpolator(np.array(ys, np.float64)[order], np.array(vals, np.float64)[order])


# --- base solid -------------------------------------------------------------------------------

# Horizontal sections of the head loft by height y: half-width W, depth zc of the widest
# point, front and back half-depths, and superellipse powers (fitted to average profiles).
_Y = [-128.0, -124.0, -118.0, -108.0, -90.0, -71.0, -50.0, -25.0, 0.0, 25.0, 50.0, 75.0, 100.0, 110.0, 117.0]
_W = _table(_Y, [4, 20, 33, 45, 56, 64, 69, 71, 74, 76, 74, 66, 46, 30, 4])
_ZC = _table(_Y, [72, 64, 45, 22, 0, -10, -12, -14, -17, -18, -15, -10, -2, -2, -2])
_DF = _table(_Y, [4, 16, 40, 70, 97, 106.3, 109.4, 110.6, 111.0, 114.5, 107.5, 90.0, 47.9, 30, 4])
_DB = _table(_Y, [4, 10, 20, 22, 26, 40, 60, 78, 82, 82, 81, 74, 43, 28, 4])
_NF = _table(_Y, [2.0, 2.0, 2.0, 1.95, 1.9, 2.15, 2.21, 2.27, 2.09, 2.18, 2.18, 2.44, 1.91, 2.0, 2.0])
_NB = _table(_Y, [2.0, 2.0, 2.1, 2.2, 2.3, 2.3, 2.3, 2.4, 2.4, 2.4, 2.4, 2.3, 2.2, 2.1, 2.0])


def _section_sdf(
    x: np.ndarray,
    z: np.ndarray,
    w: np.ndarray,
    zc: np.ndarray,
    df: np.ndarray,
    db: np.ndarray,
    nf: np.ndarray,
    nb: np.ndarray,
) -> np.ndarray:
    """Approximate signed distance to a two-half superellipse section (negative inside)."""
    front = z >= zc
    d = np.where(front, df, db)
    n = np.where(front, nf, nb)
    s = np.abs(z - zc) / np.maximum(d, 1e-3)
    q = (np.abs(x) / np.maximum(w, 1e-3)) ** n + s**n
    return (q ** (1.0 / n) - 1.0) * np.minimum(w, d)


def _head_sdf(p: np.ndarray) -> np.ndarray:
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    yc = np.clip(y, _Y[0], _Y[-1])
    head = _section_sdf(x, z, _W(yc), _ZC(yc), _DF(yc), _DB(yc), _NF(yc), _NB(yc))
    # Beyond the loft's ends the section is a point: push outwards by the overshoot.
    return head + np.abs(y - yc) * 4.0


def _neck_sdf(p: np.ndarray) -> np.ndarray:
    # An elliptic cylinder leaning slightly forward that ends inside the head.
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    nzc = -14.0 + 0.08 * (y + 120.0)
    r = np.full_like(x, 52.0)
    dn = np.full_like(x, 56.0)
    neck = _section_sdf(x, z, r, nzc, dn, dn, np.full_like(x, 2.2), np.full_like(x, 2.2))
    return np.maximum(neck, y + 30.0)


def base_sdf(p: np.ndarray) -> np.ndarray:
    """Inside (< 0) / outside (> 0) test of the base head (head loft ∪ neck): (..., 3) -> (...)."""
    return np.minimum(_head_sdf(p), _neck_sdf(p))


def base_front_z(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Depth of the front of the base surface at (x, y): (n,) -> (n,)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    lo = _ZC(np.clip(y, _Y[0], _Y[-1]))
    hi = np.full_like(x, 200.0)
    for _ in range(44):
        mid = 0.5 * (lo + hi)
        inside = base_sdf(np.stack([x, y, mid], -1)) < 0.0
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    return 0.5 * (lo + hi)


# --- facial features --------------------------------------------------------------------------

# Nose: height above the face by y, and half-width by y.
_NOSE_H = _table(
    [16, 6, -5, -20, -33, -39, -44, -48, -51, -53], [0, 2.2, 6.5, 13.5, 20.5, 23.0, 20.0, 10.0, 2.5, 0]
)
_NOSE_W = _table([16, 4, -12, -28, -38, -44, -50], [10, 7.5, 8.0, 9.5, 11.0, 10.5, 9.0])

# Lip profiles (mm above the face) against t = distance from the contact line in vermilion heights.
_LIP_T = [0.0, 0.06, 0.22, 0.5, 0.8, 1.0, 1.25, 1.8, 2.8]
_UPPER_LIP = _table(_LIP_T, [-3.4, -1.8, 0.2, 1.3, 1.4, 1.2, 0.5, 0.1, 0.0])
_LOWER_LIP = _table(_LIP_T, [-3.2, -1.5, 0.8, 2.0, 2.0, 1.3, 0.3, -0.2, 0.0])


def vermilion_heights(x: np.ndarray, layout: Layout = LAYOUT) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower red-lip heights above/below the contact line at ``x`` (mm)."""
    u = np.clip(np.abs(x) / (layout.mouth_half_width + 1.0), 0.0, 1.0)
    taper = np.sqrt(1.0 - u**2)
    # Cupid's bow: the upper border peaks beside the philtrum and dips at the midline.
    bow = 0.9 * np.exp(-(((np.abs(x) - 5.0) / 3.5) ** 2)) - 0.5 * np.exp(-((x / 2.0) ** 2))
    upper = layout.upper_vermilion * taper**0.8 + bow * taper
    lower = layout.lower_vermilion * taper**0.9
    return upper, lower


def _lips(x: np.ndarray, y: np.ndarray, layout: Layout) -> np.ndarray:
    ys = layout.stomion(x)
    vu, vl = vermilion_heights(x, layout)
    up = y >= ys
    t = np.where(up, (y - ys) / np.maximum(vu, 0.8), (ys - y) / np.maximum(vl, 0.8))
    t = np.clip(t, 0.0, _LIP_T[-1])
    prof = np.where(up, _UPPER_LIP(t), _LOWER_LIP(t))
    u = np.abs(x) / (layout.mouth_half_width + 2.0)
    lateral = np.clip(1.0 - u**2, 0.0, None) ** 0.7
    # Beyond the corners the lips end in a small dimple (the modiolus).
    modiolus = -1.2 * bump(((np.abs(x) - layout.mouth_half_width - 1.5) / 5.0) ** 2 + ((y - ys) / 6.0) ** 2)
    return prof * lateral + modiolus


def lid_shell_z(x: np.ndarray, y: np.ndarray, layout: Layout = LAYOUT) -> np.ndarray:
    """Depth of the eyelid shell at (x, y) (front half); ``-inf`` outside its outline."""
    ex, ey, ez = layout.eye_center
    ax, a = layout.lid_shell
    q = 1.0 - ((np.abs(x) - ex) / ax) ** 2 - ((y - ey) / a) ** 2
    return np.where(q > 0.0, ez + a * np.sqrt(np.clip(q, 0.0, None)), -np.inf)


def features(x: np.ndarray, y: np.ndarray, layout: Layout = LAYOUT) -> np.ndarray:
    """Depth offset of the facial features over the base at (x, y), compactly supported: (...,) -> (...)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    ax_ = np.abs(x)
    ex, ey, _ = layout.eye_center
    z = np.zeros(np.broadcast(x, y).shape)
    # Brow ridge over each eye, and the orbit carved below it.
    z += 3.2 * bump(((ax_ - 30.0) / 24.0) ** 2 + ((y - 15.0) / 8.0) ** 2)
    z -= 9.0 * bump(((ax_ - ex) / 21.0) ** 2 + ((y - ey - 1.5) / 14.0) ** 2)
    # Fullness under the lower lid, so the orbit does not read as a hollow.
    z += 2.2 * bump(((ax_ - ex + 1.0) / 17.0) ** 2 + ((y - ey + 13.0) / 7.0) ** 2)
    # Cheekbones, and the fuller cheek below them.
    z += 3.0 * bump(((ax_ - 44.0) / 19.0) ** 2 + ((y + 23.0) / 15.0) ** 2)
    z += 3.0 * bump(((ax_ - 42.0) / 17.0) ** 2 + ((y + 55.0) / 20.0) ** 2)
    # Nose: a rounded ridge, then the alar wings merged smoothly.
    yn = np.clip(y, -53.0, 16.0)
    nose = _NOSE_H(yn) * bump((x / _NOSE_W(yn)) ** 2) * (y < 16.0) * (y > -53.0)
    alae = 6.0 * bump(((ax_ - 13.5) / 8.0) ** 2 + ((y + 45.5) / 6.0) ** 2)
    z += smax(nose, alae, 5.0)
    # Philtrum: a shallow groove between two ridges from the nose to the lip.
    phil = smoothstep(-49.0, -53.0, y) * smoothstep(-64.0, -61.0, y)
    z += phil * (0.5 * np.exp(-(((ax_ - 4.5) / 2.0) ** 2)) - 0.4 * np.exp(-((x / 2.0) ** 2)))
    # Lips, the labiomental fold under them, then the chin pad.
    z += _lips(x, y, layout)
    z -= 2.0 * bump((x / 20.0) ** 2 + ((y + 91.0) / 6.0) ** 2)
    z += 2.5 * bump((x / 17.0) ** 2 + ((y + 104.0) / 10.0) ** 2)
    return z


def skin_z(x: np.ndarray, y: np.ndarray, zb: np.ndarray, layout: Layout = LAYOUT) -> np.ndarray:
    """Skin depth over base depth ``zb`` at (x, y): features added, eyelids on their shell."""
    return smax(zb + features(x, y, layout), lid_shell_z(x, y, layout), 3.0)


# --- radial map -------------------------------------------------------------------------------


def _bisect(f, lo: np.ndarray, hi: np.ndarray, iters: int = 44) -> np.ndarray:
    """Root of ``f`` per element in [lo, hi], assuming f(lo) < 0 <= f(hi)."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        inside = f(mid) < 0.0
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    return 0.5 * (lo + hi)


def base_radius(d: np.ndarray) -> np.ndarray:
    """Distance from the ray origin to the base surface along unit directions ``d``: (n, 3) -> (n,)."""
    zero = np.zeros(d.shape[0])
    o = ray_origin(d)
    head = _bisect(lambda t: _head_sdf(o + t[:, None] * d), zero, zero + 320.0)
    neck = _bisect(lambda t: _neck_sdf(o + t[:, None] * d), zero, zero + 320.0)
    # Union in radius: star-shaped by construction, with a fillet under the jaw.
    return smax(head, neck, 16.0)


def _base_normal_z(p: np.ndarray) -> np.ndarray:
    """Z component of the base surface normal at points ``p`` (n, 3), by central differences."""
    e = 0.5
    g = np.stack([base_sdf(p + e * np.eye(3)[k]) - base_sdf(p - e * np.eye(3)[k]) for k in range(3)], axis=-1)
    return g[:, 2] / np.maximum(np.linalg.norm(g, axis=-1), 1e-9)


def surface_points(d: np.ndarray, layout: Layout = LAYOUT) -> np.ndarray:
    """Skin points along unit directions ``d``: (n, 3) -> (n, 3).

    The base point along each direction, moved along +Z onto the features
    (only where the base faces forwards, so the sides are never sheared).
    """
    pb = ray_origin(d) + base_radius(d)[:, None] * d
    z = skin_z(pb[:, 0], pb[:, 1], pb[:, 2], layout)
    w = smoothstep(0.1, 0.4, _base_normal_z(pb))
    out = pb.copy()
    out[:, 2] += w * (z - pb[:, 2])
    return out


def face_point(x: np.ndarray, y: np.ndarray, layout: Layout = LAYOUT) -> tuple[np.ndarray, np.ndarray]:
    """Skin point and its direction for front-of-face coordinates (x, y).

    Returns
    -------
    points : np.ndarray [shape=(n, 3)]
        The skin point at (x, y) (on the front of the face).
    dirs : np.ndarray [shape=(n, 3)]
        The unit direction whose base point lies at (x, y), i.e. the skin point's
        parameter for :func:`surface_points`.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    zb = base_front_z(x, y)
    pb = np.stack([x, y, zb], -1)
    pts = np.stack([x, y, skin_z(x, y, zb, layout)], -1)
    return pts, direction_of(pb)


def direction_of(p: np.ndarray) -> np.ndarray:
    """Unit direction whose ray passes through base points ``p``: (n, 3) -> (n, 3)."""
    d = p - CENTER
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    for _ in range(30):  # fixed point: the origin depends (weakly) on the direction
        d = p - ray_origin(d)
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
    return d
