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
    """One loop of vertices: parameters and positions."""

    s: np.ndarray  # (n,) position along the opening, -1..1 (corner to corner)
    upper: np.ndarray  # (n,) bool, upper half (the corners count as lower=False/upper=False: see side)
    side: np.ndarray  # (n,) float in [-1, 1]: +1 upper, -1 lower, 0 at the corners
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
    return Ring(s=s, upper=side > 0, side=side, xy=np.stack([x, y], -1))


def eye_ring(k: int, *, right: bool = False, layout: Layout = LAYOUT) -> Ring:
    """Lid ring ``k`` of an eye: 0 the lid margin (the opening), k > 0 outwards over lids and brow.

    ``s = -1`` is the medial (inner) corner, ``s = +1`` the lateral one.
    """
    s, side = _ring_params(EYE_SAMPLES)
    ex, ey, _ = layout.eye_center
    hw = layout.fissure_half_width + 1.15 * k
    x = ex + hw * _spread(s)
    # Corner line from the medial to the lateral canthus, extended for the outer rings.
    y_c = ey + 0.5 * (layout.canthus_medial_y + layout.canthus_lateral_y) + 0.5 * _spread(s) * (
        layout.canthus_lateral_y - layout.canthus_medial_y
    )
    pu = 0.75 - 0.025 * k
    pl = 0.9 - 0.04 * k
    up = (layout.upper_margin + 1.35 * k) * np.clip(1.0 - s**2, 0.0, None) ** pu * (1.0 - 0.12 * s)
    lo = (layout.lower_margin + 1.25 * k) * np.clip(1.0 - s**2, 0.0, None) ** max(pl, 0.5)
    y = y_c + np.where(side > 0, up, np.where(side < 0, -lo, 0.0))
    if right:
        x = -x
    return Ring(s=s, upper=side > 0, side=side, xy=np.stack([x, y], -1))


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
    h = 6.0 - 1.6 * side
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
    """Rings tucking the lid margin in behind the lid, just clear of the eyeball."""
    r = layout.eye_radius + 0.12
    v = margin - center
    out = []
    # 1: straight in towards the eyeball; 2: rolled further away from the opening.
    u = v / np.linalg.norm(v, axis=1, keepdims=True)
    out.append(center + r * u)
    # Rotate away from the fissure: push the direction outwards from the eye's front axis.
    fwd = np.array([0.0, 0.0, 1.0])
    lateral = u - (u @ fwd)[:, None] * fwd
    lateral /= np.maximum(np.linalg.norm(lateral, axis=1, keepdims=True), 1e-9)
    ang = np.deg2rad(14.0)
    u2 = u * np.cos(ang) + lateral * np.sin(ang)
    u2 /= np.linalg.norm(u2, axis=1, keepdims=True)
    out.append(center + r * u2)
    return out


# --- assembly ---------------------------------------------------------------------------------


def build_skin(layout: Layout = LAYOUT) -> SkinMesh:
    """Build the skin mesh with its openings, tubes and bookkeeping."""
    ex, ey, ez = layout.eye_center
    # Rings: positions on the skin (lid margins on their shell) and their directions.
    groups: list[dict] = []
    n_mouth = LIP_RINGS + MOUTH_SKIN_RINGS
    for k in range(n_mouth + 1):
        r = mouth_ring(k, layout)
        pts, dirs = srf.face_point(r.xy[:, 0], r.xy[:, 1], layout)
        groups.append(dict(kind="mouth", k=k, ring=r, pts=pts, dirs=dirs, eye=-1))
    for e, right in enumerate((False, True)):
        for k in range(LID_RINGS + 1):
            r = eye_ring(k, right=right, layout=layout)
            pts, dirs = srf.face_point(r.xy[:, 0], r.xy[:, 1], layout)
            if k == 0:
                pts[:, 2] = srf.lid_shell_z(r.xy[:, 0], r.xy[:, 1], layout)
            groups.append(dict(kind="eye", k=k, ring=r, pts=pts, dirs=dirs, eye=e))
    neck_base = _neck_ring(layout)
    neck_dirs = srf.direction_of(neck_base)
    neck_pts = srf.surface_points(neck_dirs, layout)

    ring_pts = np.concatenate([g["pts"] for g in groups] + [neck_pts])
    ring_dirs = np.concatenate([g["dirs"] for g in groups] + [neck_dirs])
    outer = [groups[n_mouth]["ring"].xy] + [g["ring"].xy for g in groups if g["kind"] == "eye" and g["k"] == LID_RINGS]
    fill_dirs = _fill_points(layout, ring_pts, outer)

    n_ring = len(ring_dirs)
    dirs = np.concatenate([ring_dirs, fill_dirs])
    fixed = np.arange(len(dirs)) < n_ring
    dirs = _relax(dirs, fixed)
    verts = np.concatenate([ring_pts, srf.surface_points(dirs[n_ring:], layout)])

    # Spherical Delaunay; orient outwards; drop triangles filling an opening.
    faces = ConvexHull(dirs).simplices.astype(np.int64)
    c = dirs[faces].mean(1)
    nrm = np.cross(dirs[faces[:, 1]] - dirs[faces[:, 0]], dirs[faces[:, 2]] - dirs[faces[:, 0]])
    flip = (nrm * c).sum(1) < 0
    faces[flip] = faces[flip][:, ::-1]
    opening = np.full(len(dirs), -1)
    start = 0
    hole_id = 0
    ring_index: list[np.ndarray] = []
    for g in groups:
        n = len(g["pts"])
        idx = np.arange(start, start + n)
        ring_index.append(idx)
        if g["k"] == 0:
            opening[idx] = hole_id
            hole_id += 1
        start += n
    neck_idx = np.arange(start, start + NECK_SAMPLES)
    opening[neck_idx] = hole_id
    o = opening[faces]
    in_hole = (o[:, 0] >= 0) & (o[:, 0] == o[:, 1]) & (o[:, 1] == o[:, 2])
    faces = faces[~in_hole]
    # Everything below the neck cut goes (the cap closes it).
    below = verts[:, 1] < layout.neck_cut_y - 0.5
    faces = faces[~below[faces].any(1)]

    V = len(verts)
    kind = np.zeros(V, np.int8)
    mouth_k = np.full(V, -99, np.int16)
    mouth_s = np.zeros(V)
    mouth_side = np.zeros(V)
    eye = np.full(V, -1, np.int8)
    eye_k = np.full(V, -99, np.int16)
    eye_s = np.zeros(V)
    eye_side = np.zeros(V)
    for g, idx in zip(groups, ring_index, strict=True):
        r = g["ring"]
        if g["kind"] == "mouth":
            mouth_k[idx], mouth_s[idx], mouth_side[idx] = g["k"], r.s, r.side
        else:
            eye[idx], eye_k[idx], eye_s[idx], eye_side[idx] = g["eye"], g["k"], r.s, r.side

    new_v: list[np.ndarray] = []
    new_f: list[np.ndarray] = []
    extra = {"kind": [], "mouth_k": [], "mouth_s": [], "mouth_side": [], "eye": [], "eye_k": [], "eye_s": [],
             "eye_side": [], "anchor": []}  # fmt: skip
    anchor = verts.copy()

    def add(points: np.ndarray, **attrs) -> np.ndarray:
        nonlocal V
        idx = np.arange(V, V + len(points))
        new_v.append(points)
        for key in extra:
            extra[key].append(attrs[key])
        V += len(points)
        return idx

    def orient_like(tris: np.ndarray, edge_a: int, edge_b: int) -> np.ndarray:
        """Flip ``tris`` if they run the shared edge (a, b) the same way as the skin does."""
        for f in faces:
            for t in range(3):
                if f[t] == edge_a and f[(t + 1) % 3] == edge_b:
                    skin_dir = 1
                    break
                if f[t] == edge_b and f[(t + 1) % 3] == edge_a:
                    skin_dir = -1
                    break
            else:
                continue
            break
        else:
            raise RuntimeError("opening edge not found in the skin triangulation")
        for f in tris:
            for t in range(3):
                if f[t] == edge_a and f[(t + 1) % 3] == edge_b:
                    return tris[:, ::-1] if skin_dir == 1 else tris
                if f[t] == edge_b and f[(t + 1) % 3] == edge_a:
                    return tris if skin_dir == 1 else tris[:, ::-1]
        raise RuntimeError("tube does not contain its opening edge")

    # Mouth: lip inner surface and bag, closed at the throat.
    m_ring = groups[0]["ring"]
    edge_idx = ring_index[0]
    loops = [edge_idx]
    for j, q in enumerate(_mouth_tube(verts[edge_idx], m_ring, layout), start=1):
        n = len(q)
        loops.append(add(q, kind=np.full(n, MOUTH, np.int8), mouth_k=np.full(n, -j, np.int16), mouth_s=m_ring.s,
                         mouth_side=m_ring.side, eye=np.full(n, -1, np.int8), eye_k=np.full(n, -99, np.int16),
                         eye_s=np.zeros(n), eye_side=np.zeros(n), anchor=verts[edge_idx]))  # fmt: skip
    last = new_v[-1]
    throat = add(np.array([[0.0, layout.stomion_y - 1.0, last[:, 2].min() - 4.0]]), kind=np.array([MOUTH], np.int8),
                 mouth_k=np.array([-len(loops)], np.int16), mouth_s=np.zeros(1), mouth_side=np.zeros(1),
                 eye=np.array([-1], np.int8), eye_k=np.array([-99], np.int16), eye_s=np.zeros(1),
                 eye_side=np.zeros(1), anchor=verts[edge_idx[:1]])  # fmt: skip
    tris = np.concatenate([_strip(loops[i], loops[i + 1]) for i in range(len(loops) - 1)] + [_fan(loops[-1], throat[0])])
    new_f.append(orient_like(tris, int(edge_idx[0]), int(edge_idx[1])))

    # Eyes: lid margins tuck in behind the lids (open behind the eyeball, never seen).
    for g, idx in zip(groups, ring_index, strict=True):
        if g["kind"] != "eye" or g["k"] != 0:
            continue
        r = g["ring"]
        center = layout.eye_right if g["eye"] == 1 else layout.eye_left
        loops = [idx]
        for j, q in enumerate(_lid_tucks(verts[idx], center, layout), start=1):
            n = len(q)
            loops.append(add(q, kind=np.full(n, LID, np.int8), mouth_k=np.full(n, -99, np.int16), mouth_s=np.zeros(n),
                             mouth_side=np.zeros(n), eye=np.full(n, g["eye"], np.int8), eye_k=np.full(n, -j, np.int16),
                             eye_s=r.s, eye_side=r.side, anchor=verts[idx]))  # fmt: skip
        tris = np.concatenate([_strip(loops[i], loops[i + 1]) for i in range(len(loops) - 1)])
        new_f.append(orient_like(tris, int(idx[0]), int(idx[1])))

    # Neck cap.
    cap_center = add(np.array([[0.0, layout.neck_cut_y, verts[neck_idx, 2].mean()]]), kind=np.array([CAP], np.int8),
                     mouth_k=np.array([-99], np.int16), mouth_s=np.zeros(1), mouth_side=np.zeros(1),
                     eye=np.array([-1], np.int8), eye_k=np.array([-99], np.int16), eye_s=np.zeros(1),
                     eye_side=np.zeros(1), anchor=np.array([[0.0, layout.neck_cut_y, 0.0]]))  # fmt: skip
    new_f.append(orient_like(_fan(neck_idx, cap_center[0]), int(neck_idx[0]), int(neck_idx[1])))

    verts = np.concatenate([verts, *new_v])
    faces = np.concatenate([faces, *new_f])
    kind[:] = SKIN
    kind_all = np.concatenate([kind, *extra["kind"]])
    cat = {key: np.concatenate([locals_arr, *extra[key]]) for key, locals_arr in (
        ("mouth_k", mouth_k), ("mouth_s", mouth_s), ("mouth_side", mouth_side), ("eye", eye), ("eye_k", eye_k),
        ("eye_s", eye_s), ("eye_side", eye_side), ("anchor", anchor))}  # fmt: skip
    return SkinMesh(vertices=verts, faces=faces, kind=kind_all, **cat)
