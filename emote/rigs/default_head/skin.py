"""The skin mesh: one connected surface with openings for the mouth and the eyes.

Construction (all in the parameter domain of unit directions, see
:mod:`emote.rigs.default_head.surface`):

1. *Rings*: closed loops of points around the mouth (the lip contact edge, the
   red lip, a band of skin) and each eye (the lid margin, the lids, the brow),
   sampled at matching parameters so consecutive rings form clean strips, as in
   hand-made face topology; one more loop cuts the neck.
2. *Fill*: a low-discrepancy point set (the R2 sequence mapped area-preservingly
   to the sphere) thinned to the wanted density, so triangles come out near the
   target size in millimetres (finer on the face).
3. *Triangulation*: the convex hull of points on the unit sphere is their
   spherical Delaunay triangulation; triangles whose corners all lie on one
   opening's edge fill that opening and are dropped.
4. *Tubes*: the lips roll inwards into the mouth bag (closed at the throat),
   the lid margins tuck in behind the lids, and a cap closes the neck.

Every vertex keeps the parameters of the ring it came from, which the shapes
use to move lips and lids consistently with their inner surfaces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, cKDTree

from emote.rigs.default_head import surface as srf
from emote.rigs.default_head.layout import LAYOUT, Layout

# Vertex kinds.
SKIN, MOUTH, LID, CAP = 0, 1, 2, 3

# Ring counts and samples.
MOUTH_SAMPLES = 44  # per lip edge (upper and lower), corners shared: 2 × 44 points a ring
LIP_RINGS = 6  # rings across the red lip
MOUTH_SKIN_RINGS = 5
EYE_SAMPLES = 24
LID_RINGS = 10
NECK_SAMPLES = 72


@dataclass
class Ring:
    """One loop of points round an opening, in front-of-face coordinates."""

    s: np.ndarray  # (n,) position along the opening, +1 .. -1 corner to corner, upper edge first
    side: np.ndarray  # (n,) +1 on the upper half, -1 on the lower, 0 at the two corners
    xy: np.ndarray  # (n, 2)


@dataclass
class SkinMesh:
    """The skin with its per-vertex bookkeeping.

    Attributes
    ----------
    vertices : (V, 3) float64
    faces : (F, 3) int64, counter-clockwise from outside (from inside the mouth for the bag)
    kind : (V,) int8, SKIN / MOUTH / LID / CAP
    mouth_k : (V,) int16, mouth ring index: 0 the lip edge, 1..LIP_RINGS the red lip,
        more for skin rings, -j for the j-th ring inside the mouth; -99 elsewhere
    mouth_s, mouth_side : (V,) float, ring parameters (0 where not on a mouth ring)
    eye : (V,) int8, 0 left eye, 1 right eye, -1 elsewhere
    eye_k : (V,) int16, lid ring index: 0 the margin, k > 0 outwards, -j tucked in; -99 elsewhere
    eye_s, eye_side : (V,) float, lid ring parameters
    anchor : (V, 3), the rest position of the skin vertex a tube vertex hangs from
    """

    vertices: np.ndarray
    faces: np.ndarray
    kind: np.ndarray
    mouth_k: np.ndarray
    mouth_s: np.ndarray
    mouth_side: np.ndarray
    eye: np.ndarray
    eye_k: np.ndarray
    eye_s: np.ndarray
    eye_side: np.ndarray
    anchor: np.ndarray


# --- ring layouts -----------------------------------------------------------------------------


def _ring_params(n_half: int) -> tuple[np.ndarray, np.ndarray]:
    """Parameters round an opening: s from +1 along the upper edge to -1, then back below.

    Returns ``s`` (2·n_half,) and ``side`` (+1 upper, -1 lower, 0 at the two corners).
    """
    i = np.arange(2 * n_half)
    s = np.where(i <= n_half, 1.0 - 2.0 * i / n_half, -1.0 + 2.0 * (i - n_half) / n_half)
    side = np.where(i == 0, 0.0, np.where(i < n_half, 1.0, np.where(i == n_half, 0.0, -1.0)))
    return s, side


def _spread(s: np.ndarray) -> np.ndarray:
    """Mild clustering of samples towards the corners (slope 0.7 of uniform there)."""
    return 0.7 * s + 0.3 * np.sin(0.5 * np.pi * s)


def mouth_ring(k: int, layout: Layout = LAYOUT) -> Ring:
    """Mouth ring ``k``: 0 the lip contact edge, 1..LIP_RINGS across the red lip, then skin."""
    s, side = _ring_params(MOUTH_SAMPLES)
    half_gap = 0.5 * layout.rest_gap * np.clip(1.0 - s**2, 0.0, None) ** 0.25
    if k <= LIP_RINGS:
        a = layout.mouth_half_width + 0.8 * k
        x = a * _spread(s)
        vu, vl = srf.vermilion_heights(x, layout)
        f = k / LIP_RINGS
        h = half_gap + f * np.where(side > 0, vu, vl)
    else:
        j = k - LIP_RINGS
        a = layout.mouth_half_width + 0.8 * LIP_RINGS + 2.0 * j
        x = a * _spread(s)
        x0 = (layout.mouth_half_width + 0.8 * LIP_RINGS) * _spread(s)
        vu, vl = srf.vermilion_heights(x0, layout)
        h = half_gap + np.where(side > 0, vu, vl) + 2.0 * j * np.clip(1.0 - s**2, 0.0, None) ** 0.4
    y = layout.stomion(x) + np.sign(side) * h
    return Ring(s=s, side=side, xy=np.stack([x, y], -1))


def eye_ring(k: int, *, right: bool = False, layout: Layout = LAYOUT) -> Ring:
    """Lid ring ``k`` of an eye: 0 the lid margin (the opening), k > 0 outwards over lids and brow.

    ``s = -1`` is the medial (inner) corner, ``s = +1`` the lateral one.
    """
    s, side = _ring_params(EYE_SAMPLES)
    ex, ey, _ = layout.eye_center
    hw = layout.fissure_half_width + 1.15 * k
    x = ex + hw * _spread(s)
    # Corner line from the medial to the lateral canthus, extended for the outer rings.
    y_c = (
        ey
        + 0.5 * (layout.canthus_medial_y + layout.canthus_lateral_y)
        + 0.5 * _spread(s) * (layout.canthus_lateral_y - layout.canthus_medial_y)
    )
    pu = 0.75 - 0.025 * k
    pl = 0.9 - 0.04 * k
    up = (layout.upper_margin + 1.35 * k) * np.clip(1.0 - s**2, 0.0, None) ** pu * (1.0 - 0.12 * s)
    lo = (layout.lower_margin + 1.25 * k) * np.clip(1.0 - s**2, 0.0, None) ** max(pl, 0.5)
    y = y_c + np.where(side > 0, up, np.where(side < 0, -lo, 0.0))
    if right:
        x = -x
    return Ring(s=s, side=side, xy=np.stack([x, y], -1))


def _neck_ring(layout: Layout) -> np.ndarray:
    """Base points of the neck cut: (NECK_SAMPLES, 3)."""
    t = np.linspace(0.0, 2.0 * np.pi, NECK_SAMPLES, endpoint=False)
    y = layout.neck_cut_y
    nzc = -14.0 + 0.08 * (y + 120.0)
    e = 2.0 / 2.2
    x = 52.0 * np.sign(np.cos(t)) * np.abs(np.cos(t)) ** e
    z = nzc + 56.0 * np.sign(np.sin(t)) * np.abs(np.sin(t)) ** e
    return np.stack([x, np.full_like(x, y), z], -1)


# --- point sets -------------------------------------------------------------------------------


def _r2_sphere(n: int) -> np.ndarray:
    """The first ``n`` points of the R2 low-discrepancy sequence on the unit sphere (area-preserving)."""
    g = 1.32471795724474602596
    i = np.arange(n, dtype=np.float64)
    u = np.mod(0.5 + i / g, 1.0)
    v = np.mod(0.5 + i / g**2, 1.0)
    y = 1.0 - 2.0 * u
    r = np.sqrt(np.clip(1.0 - y * y, 0.0, None))
    phi = 2.0 * np.pi * v
    return np.stack([r * np.cos(phi), y, r * np.sin(phi)], -1)


def target_spacing(p: np.ndarray) -> np.ndarray:
    """Wanted edge length (mm) of the fill triangles at skin points ``p`` (n, 3)."""
    x, y, z = np.abs(p[:, 0]), p[:, 1], p[:, 2]
    face = srf.smoothstep(64.0, 50.0, x) * srf.smoothstep(-140.0, -118.0, y) * srf.smoothstep(75.0, 55.0, y)
    face = face * srf.smoothstep(10.0, 35.0, z)
    nose = srf.smoothstep(24.0, 14.0, x) * srf.smoothstep(-58.0, -50.0, y) * srf.smoothstep(16.0, 6.0, y)
    nose = nose * srf.smoothstep(95.0, 105.0, z)
    side = srf.smoothstep(-40.0, 0.0, z) * srf.smoothstep(-150.0, -120.0, y) * srf.smoothstep(100.0, 60.0, y)
    h = 5.2 - 1.4 * side
    h = h + face * (2.3 - h)
    return h + nose * (2.0 - h)


def _area_stretch(d: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Skin area per steradian at each of ``d`` (n, 3), from their spherical triangulation."""
    f = ConvexHull(d).simplices
    a3 = 0.5 * np.linalg.norm(np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]]), axis=1)
    a2 = 0.5 * np.linalg.norm(np.cross(d[f[:, 1]] - d[f[:, 0]], d[f[:, 2]] - d[f[:, 0]]), axis=1)
    num = np.zeros(len(d))
    den = np.zeros(len(d))
    for k in range(3):
        np.add.at(num, f[:, k], a3)
        np.add.at(den, f[:, k], a2)
    return num / np.maximum(den, 1e-12)


def _inside_polygon(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd test of 2-D points (n, 2) against a closed polygon (m, 2)."""
    x, y = pts[:, 0:1], pts[:, 1:2]
    x0, y0 = poly[:, 0][None, :], poly[:, 1][None, :]
    x1, y1 = np.roll(poly[:, 0], -1)[None, :], np.roll(poly[:, 1], -1)[None, :]
    crosses = (y0 > y) != (y1 > y)
    xi = x0 + (y - y0) * (x1 - x0) / np.where(y1 == y0, 1e-12, y1 - y0)
    return (crosses & (x < xi)).sum(axis=1) % 2 == 1


def _fill_points(layout: Layout, rings_pts: np.ndarray, outer_polys: list[np.ndarray]) -> np.ndarray:
    """Fill directions (n, 3) at the target density, clear of the rings and the openings."""
    # Density from a coarse pass: skin area per steradian over the wanted triangle area.
    coarse = _r2_sphere(12000)
    pc = srf.surface_points(coarse, layout)
    h = target_spacing(pc)
    dens = _area_stretch(coarse, pc) / (h * h * 0.8660254)  # points per steradian
    dens[pc[:, 1] < layout.neck_cut_y] = 0.0
    n_cand = 300000
    cand = _r2_sphere(n_cand)
    _, idx = cKDTree(coarse).query(cand)
    # Keep candidate i while i < the count the whole sphere would need at its local density:
    # every region keeps a prefix of the sequence, itself evenly spread.
    quota = dens[idx] * 4.0 * np.pi
    if quota.max() > n_cand:  # the finest region would come out coarser than asked
        raise RuntimeError("fill candidates too few for the target density")
    d = cand[np.arange(n_cand) < quota]
    pts = srf.surface_points(d, layout)
    h = target_spacing(pts)
    # Clear of ring points (in mm) and of the openings' outer rings (face xy).
    dist, _ = cKDTree(rings_pts).query(pts)
    ok = dist > 0.75 * h
    front = pts[:, 2] > 20.0
    for poly in outer_polys:
        ok &= ~(front & _inside_polygon(pts[:, :2], poly))
    ok &= pts[:, 1] > layout.neck_cut_y + 0.6 * h
    return d[ok]


def _relax(d: np.ndarray, fixed: np.ndarray, iters: int = 3) -> np.ndarray:
    """Laplacian smoothing of free directions on the sphere (evens out the fill)."""
    for _ in range(iters):
        f = ConvexHull(d).simplices
        acc = np.zeros_like(d)
        cnt = np.zeros(len(d))
        for a, b in ((0, 1), (1, 2), (2, 0), (1, 0), (2, 1), (0, 2)):
            np.add.at(acc, f[:, a], d[f[:, b]])
            np.add.at(cnt, f[:, a], 1.0)
        mean = acc / np.maximum(cnt, 1.0)[:, None]
        moved = d + 0.5 * (mean - d)
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        d = np.where(fixed[:, None], d, moved)
    return d


# --- tubes ------------------------------------------------------------------------------------


def _strip(a: np.ndarray, b: np.ndarray, closed: bool = True) -> np.ndarray:
    """Triangles joining two loops of vertex indices of equal length."""
    n = len(a)
    i = np.arange(n if closed else n - 1)
    j = (i + 1) % n
    return np.concatenate([np.stack([a[i], b[i], b[j]], 1), np.stack([a[i], b[j], a[j]], 1)])


def _fan(loop: np.ndarray, center: int) -> np.ndarray:
    """Triangles closing a loop to a centre vertex, wound like :func:`_strip` towards that loop."""
    n = len(loop)
    i = np.arange(n)
    return np.stack([loop[(i + 1) % n], loop[i], np.full(n, center)], 1)


def _mouth_tube(edge: np.ndarray, ring: Ring, layout: Layout) -> list[np.ndarray]:
    """Rings of the lip inner surface and the mouth bag behind the lip edge ``edge`` (n, 3)."""
    s, side = ring.s, ring.side
    sgn = np.sign(side) * np.clip(1.0 - s**2, 0.0, None) ** 0.35
    out = []
    # The lip's inner (wet) surface rolls back from the contact edge.
    for dy, dz, sx in ((1.0, -2.4, 0.99), (2.6, -5.0, 0.97)):
        q = edge.copy()
        q[:, 0] *= sx
        q[:, 1] += dy * sgn
        q[:, 2] += dz - 1.5 * s**2
        out.append(q)
    # The bag: vestibule in front of the gums, then round the teeth to the throat.
    ys = layout.stomion_y
    #            z    width  top   bottom  squareness  corner setback
    for z, w, top, bot, p, back in (
        (90.5, 26.0, 15.0, 17.0, 0.55, 8.0),
        (82.0, 30.0, 17.0, 21.0, 0.5, 10.0),
        (66.0, 31.0, 17.0, 23.0, 0.5, 8.0),
        (49.0, 27.0, 15.0, 21.0, 0.55, 5.0),
        (37.0, 18.0, 10.0, 14.0, 0.6, 2.0),
    ):
        x = w * _spread(s)
        y = ys + np.sign(sgn) * np.abs(sgn) ** p * np.where(side > 0, top, bot)
        out.append(np.stack([x, y, z - back * s**2], -1))
    return out


def _lid_tucks(margin: np.ndarray, center: np.ndarray, layout: Layout) -> list[np.ndarray]:
    """Rings tucking the lid margin in behind the lid, just clear of the eyeball.

    The first ring sits 0.4 mm off the eyeball so the lid's wet rim stays outside
    it even half-way through a blink (blendshapes move along chords, not arcs);
    the second rolls further back, hidden behind the lid.
    """
    r = layout.eye_radius
    u = margin - center
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    fwd = np.array([0.0, 0.0, 1.0])
    away = u - (u @ fwd)[:, None] * fwd  # away from the eye's front axis
    away /= np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-9)
    ang = np.deg2rad(18.0)
    u2 = u * np.cos(ang) + away * np.sin(ang)
    u2 /= np.linalg.norm(u2, axis=1, keepdims=True)
    return [center + (r + 0.4) * u, center + (r + 0.12) * u2]


# --- assembly ---------------------------------------------------------------------------------


@dataclass
class _RingGroup:
    kind: str  # "mouth" or "eye"
    k: int  # ring index (0: the opening's edge)
    eye: int  # 0 left, 1 right, -1 for the mouth
    ring: Ring
    pts: np.ndarray  # (n, 3) skin points
    dirs: np.ndarray  # (n, 3) their parameter directions
    index: np.ndarray | None = None  # (n,) vertex indices, once placed


def _ring_groups(layout: Layout) -> list[_RingGroup]:
    """Every mouth and lid ring with its skin points (lid margins on their shell)."""
    groups = []
    for k in range(LIP_RINGS + MOUTH_SKIN_RINGS + 1):
        r = mouth_ring(k, layout)
        pts, dirs = srf.face_point(r.xy[:, 0], r.xy[:, 1], layout)
        groups.append(_RingGroup("mouth", k, -1, r, pts, dirs))
    for e, right in enumerate((False, True)):
        for k in range(LID_RINGS + 1):
            r = eye_ring(k, right=right, layout=layout)
            pts, dirs = srf.face_point(r.xy[:, 0], r.xy[:, 1], layout)
            if k == 0:
                pts[:, 2] = srf.lid_shell_z(r.xy[:, 0], r.xy[:, 1], layout)
            groups.append(_RingGroup("eye", k, e, r, pts, dirs))
    return groups


def _edge_direction(faces: np.ndarray, a: int, b: int) -> int:
    """+1 if some triangle runs a→b, -1 if one runs b→a, 0 if the edge is absent."""
    nxt = np.roll(faces, -1, axis=1)
    if ((faces == a) & (nxt == b)).any():
        return 1
    if ((faces == b) & (nxt == a)).any():
        return -1
    return 0


def _orient_like(tris: np.ndarray, skin: np.ndarray, a: int, b: int) -> np.ndarray:
    """Wind a tube ``tris`` consistently with the skin across their shared edge (a, b)."""
    skin_dir, tube_dir = _edge_direction(skin, a, b), _edge_direction(tris, a, b)
    if skin_dir == 0 or tube_dir == 0:
        raise RuntimeError(f"opening edge ({a}, {b}) missing from the skin or its tube")
    return tris[:, ::-1] if skin_dir == tube_dir else tris


# Bookkeeping of a vertex that lies on no ring, and the integer fields' dtypes.
_DEFAULTS = {"kind": SKIN, "mouth_k": -99, "mouth_s": 0.0, "mouth_side": 0.0, "eye": -1, "eye_k": -99,
             "eye_s": 0.0, "eye_side": 0.0}  # fmt: skip
_DTYPES = {"kind": np.int8, "mouth_k": np.int16, "eye": np.int8, "eye_k": np.int16}


class _Vertices:
    """Growing vertex list with the per-vertex bookkeeping of :class:`SkinMesh`."""

    def __init__(self) -> None:
        self.points: list[np.ndarray] = []
        self.attrs: dict[str, list[np.ndarray]] = {k: [] for k in [*_DEFAULTS, "anchor"]}
        self.n = 0

    def add(self, points: np.ndarray, anchor: np.ndarray | None = None, **attrs) -> np.ndarray:
        n = len(points)
        self.points.append(points)
        for key, default in _DEFAULTS.items():
            val = np.broadcast_to(np.asarray(attrs.get(key, default)), (n,))
            self.attrs[key].append(val.astype(_DTYPES.get(key, np.float64)))
        self.attrs["anchor"].append(points if anchor is None else np.broadcast_to(anchor, (n, 3)))
        idx = np.arange(self.n, self.n + n)
        self.n += n
        return idx

    def mesh(self, faces: np.ndarray) -> SkinMesh:
        cat = {k: np.concatenate(v) for k, v in self.attrs.items()}
        return SkinMesh(vertices=np.concatenate(self.points), faces=faces, **cat)


def build_skin(layout: Layout = LAYOUT) -> SkinMesh:
    """Build the skin mesh with its openings, tubes and bookkeeping."""
    groups = _ring_groups(layout)
    neck_dirs = srf.direction_of(_neck_ring(layout))
    neck_pts = srf.surface_points(neck_dirs, layout)
    outer = [
        g.ring.xy for g in groups if g.k == (LID_RINGS if g.kind == "eye" else LIP_RINGS + MOUTH_SKIN_RINGS)
    ]
    ring_pts = np.concatenate([g.pts for g in groups] + [neck_pts])
    ring_dirs = np.concatenate([g.dirs for g in groups] + [neck_dirs])
    fill_dirs = _fill_points(layout, ring_pts, outer)
    dirs = _relax(
        np.concatenate([ring_dirs, fill_dirs]), np.arange(len(ring_dirs) + len(fill_dirs)) < len(ring_dirs)
    )

    vs = _Vertices()
    opening: list[np.ndarray] = []  # vertex indices of each opening's edge
    for g in groups:
        if g.kind == "mouth":
            g.index = vs.add(g.pts, mouth_k=g.k, mouth_s=g.ring.s, mouth_side=g.ring.side)
        else:
            g.index = vs.add(g.pts, eye=g.eye, eye_k=g.k, eye_s=g.ring.s, eye_side=g.ring.side)
        if g.k == 0:
            opening.append(g.index)
    neck_idx = vs.add(neck_pts)
    opening.append(neck_idx)
    vs.add(srf.surface_points(dirs[len(ring_dirs) :], layout))

    # Spherical Delaunay of the directions, wound outwards; triangles whose corners all lie on
    # one opening's edge fill that opening and go.
    faces = ConvexHull(dirs).simplices.astype(np.int64)
    nrm = np.cross(dirs[faces[:, 1]] - dirs[faces[:, 0]], dirs[faces[:, 2]] - dirs[faces[:, 0]])
    flip = (nrm * dirs[faces].mean(1)).sum(1) < 0
    faces[flip] = faces[flip][:, ::-1]
    hole = np.full(vs.n, -1)
    for i, idx in enumerate(opening):
        hole[idx] = i
    h = hole[faces]
    faces = faces[~((h[:, 0] >= 0) & (h[:, 0] == h[:, 1]) & (h[:, 1] == h[:, 2]))]
    skin = faces

    tubes = []
    # Mouth: the lips' inner surface and the bag, closed at the throat.
    mouth = groups[0]
    edge_pts = mouth.pts
    loops = [mouth.index]
    for j, q in enumerate(_mouth_tube(edge_pts, mouth.ring, layout), start=1):
        loops.append(
            vs.add(q, edge_pts, kind=MOUTH, mouth_k=-j, mouth_s=mouth.ring.s, mouth_side=mouth.ring.side)
        )
    back = vs.points[-1][:, 2].min() - 4.0
    throat = vs.add(
        np.array([[0.0, layout.stomion_y - 1.0, back]]), edge_pts[:1], kind=MOUTH, mouth_k=-len(loops)
    )
    tris = [_strip(loops[i], loops[i + 1]) for i in range(len(loops) - 1)] + [_fan(loops[-1], int(throat[0]))]
    tubes.append(_orient_like(np.concatenate(tris), skin, int(mouth.index[0]), int(mouth.index[1])))
    # Eyes: the lid margins tuck in behind the lids (left open behind the eyeball, never seen).
    for g in groups:
        if g.kind != "eye" or g.k != 0:
            continue
        centre = layout.eye_right if g.eye == 1 else layout.eye_left
        loops = [g.index]
        for j, q in enumerate(_lid_tucks(g.pts, centre, layout), start=1):
            loops.append(
                vs.add(q, g.pts, kind=LID, eye=g.eye, eye_k=-j, eye_s=g.ring.s, eye_side=g.ring.side)
            )
        tris = np.concatenate([_strip(loops[i], loops[i + 1]) for i in range(len(loops) - 1)])
        tubes.append(_orient_like(tris, skin, int(g.index[0]), int(g.index[1])))
    # Neck: a flat cap.
    cap = vs.add(np.array([[0.0, layout.neck_cut_y, neck_pts[:, 2].mean()]]), kind=CAP)
    tubes.append(_orient_like(_fan(neck_idx, int(cap[0])), skin, int(neck_idx[0]), int(neck_idx[1])))
    return vs.mesh(np.concatenate([skin, *tubes]))
