"""Separate meshes of the default head: eyeballs, teeth, gums, tongue and ears.

Each builder returns a :class:`Part` in head coordinates (mm, +X the character's
left, +Y up, +Z forward) with its own per-vertex colours. Nothing here moves:
the shapes and the rigid eye rotation are applied later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from emote.rigs.default_head import palette
from emote.rigs.default_head.layout import LAYOUT, Layout


@dataclass
class Part:
    """A closed (or hidden-edged) mesh with per-vertex colours."""

    vertices: np.ndarray  # (n, 3) float64
    faces: np.ndarray  # (m, 3) int64, counter-clockwise from outside
    colors: np.ndarray  # (n, 3) float in [0, 1]


def merge(parts: list[Part]) -> Part:
    """Concatenate parts into one (faces re-indexed)."""
    offsets = np.cumsum([0] + [len(p.vertices) for p in parts])
    return Part(
        vertices=np.concatenate([p.vertices for p in parts]),
        faces=np.concatenate([p.faces + o for p, o in zip(parts, offsets, strict=False)]),
        colors=np.concatenate([p.colors for p in parts]),
    )


def _grid_faces(rows: int, cols: int, *, wrap: bool) -> np.ndarray:
    """Quads of a (rows × cols) vertex grid split into triangles; columns wrap if asked."""
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols if wrap else cols - 1), indexing="ij")
    a = r * cols + c
    b = r * cols + (c + 1) % cols
    d = (r + 1) * cols + c
    e = (r + 1) * cols + (c + 1) % cols
    return np.concatenate([np.stack([a, d, e], -1).reshape(-1, 3), np.stack([a, e, b], -1).reshape(-1, 3)])


def _lathe(polar: np.ndarray, n_around: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit-sphere grid with poles on +Z (front) and -Z: vertices, faces, (polar, azimuth) per vertex.

    ``polar`` (rows,) are angles from +Z in radians, strictly between 0 and π.
    """
    az = np.linspace(0.0, 2.0 * np.pi, n_around, endpoint=False)
    th, ph = np.meshgrid(polar, az, indexing="ij")
    v = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], -1).reshape(-1, 3)
    rows = len(polar)
    f = _grid_faces(rows, n_around, wrap=True)
    front = rows * n_around
    back = front + 1
    i = np.arange(n_around)
    cap_f = np.stack([np.full(n_around, front), i, (i + 1) % n_around], -1)
    last = (rows - 1) * n_around
    cap_b = np.stack([np.full(n_around, back), last + (i + 1) % n_around, last + i], -1)
    v = np.concatenate([v, [[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]])
    angles = np.concatenate([np.stack([th.ravel(), ph.ravel()], -1), [[0.0, 0.0], [np.pi, 0.0]]])
    faces = np.concatenate([cap_f, f, cap_b])
    # Orient outwards.
    c = v[faces].mean(1)
    n = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    flip = (n * c).sum(1) < 0
    faces[flip] = faces[flip][:, ::-1]
    return v, faces, angles


# --- eyes -------------------------------------------------------------------------------------


def eyeball(center: np.ndarray, layout: Layout = LAYOUT) -> Part:
    """An eyeball looking down +Z: sclera, iris with a dark limbal ring, black pupil.

    Latitude rings sit just either side of the pupil and iris edges so the
    per-vertex colours change sharply there.
    """
    r = layout.eye_radius
    pupil = np.arcsin(layout.pupil_radius / r)
    iris = np.arcsin(layout.iris_radius / r)
    polar = np.concatenate(
        [
            np.linspace(0.03, pupil - 0.012, 3),
            [pupil + 0.012],
            np.linspace(pupil + 0.06, iris - 0.09, 4),
            [iris - 0.035, iris + 0.01],
            np.linspace(iris + 0.12, np.pi - 0.15, 14),
        ]
    )
    v, f, ang = _lathe(polar, 40)
    th, ph = ang[:, 0], ang[:, 1]
    col = np.tile(np.array(palette.SCLERA), (len(v), 1))
    t = np.clip((th - pupil) / (iris - pupil), 0.0, 1.0)
    streak = 0.9 + 0.1 * np.cos(9.0 * ph) * np.cos(4.0 * ph + 1.0)
    iris_col = (
        np.array(palette.IRIS_INNER) * (1 - t[:, None]) + np.array(palette.IRIS_OUTER) * t[:, None]
    ) * streak[:, None]
    col = np.where((th < iris)[:, None], iris_col, col)
    col = np.where(((th >= iris - 0.04) & (th < iris))[:, None], np.array(palette.LIMBUS), col)
    col = np.where((th < pupil)[:, None], np.array(palette.PUPIL), col)
    # Sclera a little warmer towards the back and the corners.
    warm = np.clip((th - 0.9) / 1.2, 0.0, 1.0)[:, None]
    col = np.where(
        (th > iris)[:, None], col * (1 - 0.25 * warm) + np.array(palette.SCLERA_SHADE) * 0.25 * warm, col
    )
    return Part(vertices=center + r * v, faces=f, colors=col)


# --- teeth and gums ---------------------------------------------------------------------------

# Dental arch (half): x and depth behind the front incisors by arc position, mm.
_ARCH_X = [0.0, 8.5, 14.0, 18.0, 21.0, 23.5, 25.5, 27.0, 28.0]
_ARCH_DZ = [0.0, 1.6, 4.6, 9.0, 15.0, 22.0, 30.0, 40.0, 50.0]


def _arch(x_half: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arch curve scaled to half-width ``x_half`` at the molars: points (n, 2) as (x, dz), arclength, tangents."""
    xs = np.array(_ARCH_X) * x_half / _ARCH_X[-1]
    zs = np.array(_ARCH_DZ)
    t = np.linspace(0.0, 1.0, len(xs))
    fx = PchipInterpolator(t, xs)
    fz = PchipInterpolator(t, zs)
    tt = np.linspace(0.0, 1.0, 400)
    pts = np.stack([fx(tt), fz(tt)], -1)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    tan = np.gradient(pts, axis=0)
    tan /= np.linalg.norm(tan, axis=1, keepdims=True)
    return pts, s, tan


def _superquadric(n_u: int, n_v: int, e: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit superellipsoid (exponent ``e``, boxier for small e) with poles on ±Y: vertices in [-1, 1]³, faces."""
    polar = np.linspace(0.15, np.pi - 0.15, n_v)
    _, f, ang = _lathe(polar, n_u)
    th, ph = ang[:, 0], ang[:, 1]

    def sp(a: np.ndarray) -> np.ndarray:
        return np.sign(a) * np.abs(a) ** e

    q = np.stack([sp(np.sin(th)) * sp(np.cos(ph)), sp(np.sin(th)) * sp(np.sin(ph)), sp(np.cos(th))], -1)
    # Lathe poles are on ±Z; turn them to ±Y (x, y, z) -> (x, z, -y) keeps orientation.
    q = np.stack([q[:, 0], q[:, 2], -q[:, 1]], -1)
    return q, f


# Crown sizes per tooth from the midline back: (mesio-distal width, labio-lingual depth, height).
_UPPER_TEETH = [(8.5, 6.5, 10.5), (6.5, 6.0, 9.0), (7.5, 7.5, 10.0), (7.0, 8.5, 8.0), (6.5, 8.5, 7.5),
                (10.0, 10.0, 7.0), (9.0, 9.5, 6.5)]  # fmt: skip
_LOWER_TEETH = [(5.4, 5.8, 9.0), (5.9, 6.0, 9.0), (6.9, 7.0, 10.0), (7.0, 7.5, 8.0), (7.0, 8.0, 7.5),
                (11.0, 10.0, 7.0), (10.5, 9.5, 6.5)]  # fmt: skip


@dataclass(frozen=True)
class ArchSpec:
    """Where a tooth row sits: labial surface of the front teeth, edge height, direction of the crowns."""

    front_z: float
    edge_y: float
    molar_half_width: float
    upper: bool


UPPER_ARCH = ArchSpec(front_z=90.0, edge_y=-72.6, molar_half_width=27.5, upper=True)
LOWER_ARCH = ArchSpec(front_z=87.2, edge_y=-70.9, molar_half_width=25.5, upper=False)


def tooth_row(spec: ArchSpec) -> Part:
    """A row of rounded-box crowns along the dental arch, sunk into the gum at the root end."""
    pts, s, tan = _arch(spec.molar_half_width)
    unit, faces = _superquadric(14, 10, 0.35)
    sizes = _UPPER_TEETH if spec.upper else _LOWER_TEETH
    sign = 1.0 if spec.upper else -1.0  # crowns grow down from the upper gum, up from the lower
    parts = []
    for side in (1.0, -1.0):
        along = 0.0
        for i, (w, d, h) in enumerate(sizes):
            mid = along + 0.5 * w
            along += w + 0.15
            k = int(np.searchsorted(s, mid))
            k = min(k, len(s) - 1)
            cx, dz = pts[k]
            t = tan[k]
            # Local frame: u along the arch, n towards the lips, vertical.
            u = np.array([side * t[0], 0.0, -t[1]])
            n = np.array([side * t[1], 0.0, t[0]])
            taper_edge = 0.45 if i < 3 else 0.8  # front teeth taper to a thin incisal edge
            q = unit.copy()
            edge_frac = (1.0 - sign * q[:, 1]) * 0.5  # 1 at the crown edge, 0 at the root end
            thick = 1.0 - (1.0 - taper_edge) * edge_frac**1.5
            # The crown extends 3 mm past its visible height into the gum.
            yy = spec.edge_y + sign * (1.0 - edge_frac) * (h + 3.0)
            centre_z = spec.front_z - dz - 0.5 * d
            v = (
                np.array([side * cx, 0.0, centre_z])[None, :]
                + (q[:, 0:1] * 0.5 * w * 0.96) * u[None, :]
                + (q[:, 2:3] * 0.5 * d * thick[:, None]) * n[None, :]
            )
            v[:, 1] = yy
            col = np.tile(np.array(palette.TEETH), (len(v), 1)) * (1.0 - 0.04 * i)  # darker further back
            parts.append(Part(vertices=v, faces=_orient_blob(v, faces.copy()), colors=col))
    return merge(parts)


def _orient_blob(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Faces of a convex-ish closed blob turned to face away from its centroid."""
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    flip = (n * (v[f].mean(1) - v.mean(0))).sum(1) < 0
    f[flip] = f[flip][:, ::-1]
    return f


def gums(spec: ArchSpec) -> Part:
    """A rounded band along the arch covering the roots of a tooth row."""
    pts, s, tan = _arch(spec.molar_half_width + 1.0)
    n_along = 48
    idx = np.linspace(0, len(s) - 1, n_along).astype(int)
    idx = np.concatenate([idx[::-1], idx[1:]])
    sides = np.concatenate([np.ones(n_along), -np.ones(n_along - 1)])
    sign = 1.0 if spec.upper else -1.0
    # Cross-section in (outward towards the lips, vertical away from the crowns), mm.
    prof = np.array([[5.2, -0.5], [5.6, 3.0], [4.5, 6.5], [0.0, 8.5], [-4.5, 6.5], [-5.6, 3.0], [-5.2, -0.5]])
    gum_y = spec.edge_y + sign * (_UPPER_TEETH[0][2] if spec.upper else _LOWER_TEETH[0][2])
    rows = []
    for k, sd in zip(idx, sides, strict=True):
        cx, dz = pts[k]
        t = tan[k]
        n = np.array([sd * t[1], 0.0, t[0]])
        c = np.array([sd * cx, gum_y, spec.front_z - dz - 3.5])
        rows.append(c + prof[:, 0:1] * n[None, :] + (sign * prof[:, 1:2]) * np.array([0.0, 1.0, 0.0]))
    v = np.concatenate(rows)
    f = _grid_faces(len(rows), len(prof), wrap=False)
    # Orient: the band's outside faces away from its spine.
    spine = np.repeat(np.stack([r.mean(0) for r in rows]), len(prof), axis=0)
    nrm = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    flip = (nrm * (v[f].mean(1) - spine[f[:, 0]])).sum(1) < 0
    f[flip] = f[flip][:, ::-1]
    return Part(vertices=v, faces=f, colors=np.tile(np.array(palette.GUMS), (len(v), 1)))


# --- tongue -----------------------------------------------------------------------------------


def tongue(layout: Layout = LAYOUT) -> Part:
    """A flattened, tip-tapered blob on the floor of the mouth, with a shallow median groove."""
    polar = np.linspace(0.12, np.pi - 0.12, 16)
    unit, f, _ = _lathe(polar, 28)
    x, y, z = unit[:, 0], unit[:, 1], unit[:, 2]
    front = np.clip(z, 0.0, 1.0)
    sx = 21.0 * (1.0 - 0.45 * front**2)
    sy = np.where(y > 0, 8.5, 5.0) * (1.0 - 0.35 * front**2)
    v = np.stack([x * sx, y * sy, z * 25.0], -1)
    v[:, 1] -= 1.2 * np.exp(-((v[:, 0] / 4.0) ** 2)) * (y > 0)
    v += np.array([0.0, layout.stomion_y - 11.5, 57.0])
    col = np.tile(np.array(palette.TONGUE), (len(v), 1))
    col *= (0.85 + 0.15 * (y > 0))[:, None]  # underside darker
    return Part(vertices=v, faces=f, colors=col)


# --- ears -------------------------------------------------------------------------------------


def ear(*, right: bool = False, layout: Layout = LAYOUT) -> Part:
    """A simple ear: a flattened shell with a rolled rim (helix), an inner ridge and a bowl.

    Built on a polar grid over the ear's outline (front surface, then back), placed
    against the side of the head with the back edge flared out.
    """
    n_r, n_t = 12, 40
    rho = np.linspace(0.0, 1.0, n_r)
    th = np.linspace(0.0, 2.0 * np.pi, n_t, endpoint=False)
    R, T = np.meshgrid(rho, th, indexing="ij")
    # Outline in the ear plane: a (up), b (backwards); wider at the top, a narrower lobe.
    half_h = 0.5 * layout.ear_height
    half_w = 0.5 * layout.ear_width * (1.0 + 0.18 * np.sin(T))
    a = half_h * R * np.sin(T)
    b = half_w * R * np.cos(T)
    # Out-of-plane height: helix rim, antihelix ridge, concha bowl (front, upper-middle).
    rim = 3.6 * np.exp(-(((R - 0.88) / 0.09) ** 2))
    ridge = 1.6 * np.exp(-(((R - 0.6) / 0.1) ** 2)) * (np.cos(T) > -0.3)
    bowl = -3.2 * np.exp(-(((a + 4.0) / 11.0) ** 2 + ((b + 2.0) / 8.0) ** 2))
    edge = np.sqrt(np.clip(1.0 - R**8, 0.0, None))  # thins to the outline
    front_h = (2.5 + rim + ridge + bowl) * edge
    back_h = -2.0 * edge
    grid_front = np.stack([front_h, a, b], -1).reshape(-1, 3)
    grid_back = np.stack([back_h, a, b], -1).reshape(-1, 3)
    # Front and back grids share their outline; the back is wound the other way.
    f_front = _grid_faces(n_r, n_t, wrap=True)
    nf = n_r * n_t
    f_back = f_front + nf
    v = np.concatenate([grid_front, grid_back])
    # Weld the outline: back outline vertices reuse the front ones.
    outline_back = nf + (n_r - 1) * n_t + np.arange(n_t)
    outline_front = (n_r - 1) * n_t + np.arange(n_t)
    remap = np.arange(len(v))
    remap[outline_back] = outline_front
    # Each side's centre row is one point: weld it, then drop the collapsed triangles.
    remap[1:n_t] = 0
    remap[nf + 1 : nf + n_t] = nf
    faces = np.concatenate([f_front[:, [0, 2, 1]], f_back])
    faces = remap[faces]
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    # Place: local (out, up, back) -> head axes, with the back edge flared 22° away from the head.
    flare = np.deg2rad(22.0)
    lean = np.deg2rad(12.0)  # top of the ear leans back
    out_ax = np.array([np.cos(flare), 0.0, -np.sin(flare)])
    back_ax = np.array([np.sin(flare), 0.0, -np.cos(flare)])
    up_ax = np.array([0.0, np.cos(lean), -np.sin(lean)])
    cx, cy, cz = layout.ear_center
    # The front edge (b < 0 side at the face) sits on the head; flaring swings the back out.
    p = v[:, 0:1] * out_ax + v[:, 1:2] * up_ax + (v[:, 2:3] + 0.5 * layout.ear_width) * back_ax
    p = p + np.array([cx - 6.0, cy, cz + 0.5 * layout.ear_width])
    col = np.tile(np.array(palette.EAR), (len(p), 1))
    inner = np.concatenate([(front_h < 1.5).ravel() & (R.ravel() < 0.75), np.zeros(nf, bool)])
    col[inner] = palette.EAR_INNER
    if right:
        p[:, 0] = -p[:, 0]
        faces = faces[:, ::-1]
    # Orient: the front surface's normals point away from the head (+X on the left ear).
    nrm = np.cross(p[faces[:, 1]] - p[faces[:, 0]], p[faces[:, 2]] - p[faces[:, 0]])
    front = (faces < nf).all(1)
    if (nrm[front, 0] * (-1.0 if right else 1.0)).mean() < 0:
        faces = faces[:, ::-1]
    # Drop the vertices the welds made unused.
    keep = np.zeros(len(p), bool)
    keep[np.unique(faces)] = True
    new_index = np.cumsum(keep) - 1
    return Part(vertices=p[keep], faces=new_index[faces], colors=col[keep])
