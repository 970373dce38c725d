"""Geometry helpers shared by the user-rig loaders (glTF, ICT-FaceKit, FLAME).

Pure functions over numpy arrays in the rig's units (mm): finding the metric
probes on an unknown mesh, eyeball centres, and the colour conventions.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from emote.animation.channels import ARKIT_NAMES

# Albedo used where a rig carries no colour of its own (sRGB-ish display values in [0, 1]).
SKIN = (0.80, 0.62, 0.52)
SCLERA = (0.92, 0.90, 0.86)
IRIS = (0.30, 0.38, 0.46)
PUPIL = (0.04, 0.04, 0.05)
TEETH = (0.90, 0.87, 0.80)
GUMS = (0.62, 0.26, 0.28)
MOUTH = (0.22, 0.06, 0.07)
LASHES = (0.10, 0.08, 0.07)

EYE_LOOK_NAMES: tuple[str, ...] = tuple(n for n in ARKIT_NAMES if n.startswith("EyeLook"))


def cache_dir() -> Path:
    """Where parsed rigs and fitted mappings are cached: ``$EMOTE_CACHE_DIR``, else ``~/.cache/emote``."""
    env = os.environ.get("EMOTE_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "emote"


def find_probes(
    neutral: np.ndarray,
    deltas: np.ndarray,
    shape_names: list[str],
    *,
    candidates: np.ndarray | None = None,
) -> dict[str, int]:
    """Lip midpoints and mouth corners of an unknown mesh, found from its shapes.

    The probes are those of :class:`emote.rigs.base.MeshRig`: ``upper_lip`` and
    ``lower_lip`` (mid-sagittal points where the lips meet) and ``mouth_left``
    / ``mouth_right`` (the character's left and right corners).

    Heuristic (documented because evaluation metrics depend on it):

    1. The mid-sagittal plane is ``x = median(x)`` of the vertices JawOpen moves.
    2. Among vertex pairs near that plane (within 1 mm), JawOpen separates the
       upper from the lower lip most: keep pairs whose opening under JawOpen=1
       is at least 70 % of the largest, then only those within 6 mm of the most
       forward such pair (lips, not teeth, which sit further back), and take the
       pair that is closest at rest: the lips' contact points. The higher one
       is the upper lip.
    3. The mouth corners are the lateral ends of the lip contact line: the
       outermost vertices on each side, within 15 mm of the lip line in
       height, that have a partner within 3 mm at rest which JawOpen=1 moves
       at least a fifth of the midline opening away, and that are seen from
       the front (the line continues inside the mouth). (The vertex a smile
       shape moves most is not used: real smile shapes move a plateau.)

    Parameters
    ----------
    neutral : np.ndarray [shape=(V, 3)]
        Rest vertices, mm, +Y up, face towards +Z, character's left at +X.
    deltas : np.ndarray [shape=(S, V, 3)]
        Shape offsets at weight 1, rows named by ``shape_names``.
    shape_names : list[str]
        Canonical ARKit names of the rows of ``deltas``.
    candidates : np.ndarray [shape=(k,), int], optional
        Vertices allowed as probes (e.g. the skin of the face); all by default.

    Returns
    -------
    dict[str, int]
        The probes found; empty without a JawOpen shape.
    """
    if "JawOpen" not in shape_names:
        return {}
    v = np.asarray(neutral, np.float64)
    allowed = np.arange(len(v)) if candidates is None else np.asarray(candidates, np.int64)
    jaw = np.asarray(deltas[shape_names.index("JawOpen")], np.float64)
    jaw_len = np.linalg.norm(jaw, axis=1)
    if jaw_len[allowed].max() <= 0:
        return {}
    moved = allowed[jaw_len[allowed] > 0.1 * jaw_len[allowed].max()]
    x_mid = float(np.median(v[moved, 0]))

    near = allowed[np.abs(v[allowed, 0] - x_mid) <= 1.0]
    if len(near) < 4:
        near = allowed[np.argsort(np.abs(v[allowed, 0] - x_mid))[:200]]
    # Keep the search quadratic in a few hundred vertices at most: the mouth region.
    reach = near[jaw_len[near] > 0.05 * jaw_len[near].max()] if jaw_len[near].max() > 0 else near
    lo, hi = v[reach, 1].min() - 15.0, v[reach, 1].max() + 15.0
    near = near[(v[near, 1] > lo) & (v[near, 1] < hi)]
    if len(near) > 1500:
        near = near[np.argsort(-jaw_len[near])[:1500]]
    p, q = v[near], v[near] + jaw[near]
    d0 = np.linalg.norm(p[:, None] - p[None], axis=2)
    d1 = np.linalg.norm(q[:, None] - q[None], axis=2)
    gain = np.where((d0 < 12.0) & ~np.eye(len(near), dtype=bool), d1 - d0, -np.inf)
    if not np.isfinite(gain).any() or gain.max() <= 0:
        return {}
    ii, jj = np.nonzero(gain >= 0.7 * gain.max())
    z = 0.5 * (p[ii, 2] + p[jj, 2])
    front = z >= z.max() - 6.0
    ii, jj = ii[front], jj[front]
    k = int(np.argmin(d0[ii, jj]))
    a, b = int(near[ii[k]]), int(near[jj[k]])
    upper, lower = (a, b) if v[a, 1] >= v[b, 1] else (b, a)
    probes = {"upper_lip": upper, "lower_lip": lower}

    # Corners: the lateral ends of the lip contact line, i.e. the outermost
    # vertices that still have a partner within 3 mm at rest which JawOpen
    # moves away by a fifth of the midline opening.
    lip_y = 0.5 * (v[upper, 1] + v[lower, 1])
    band = allowed[(np.abs(v[allowed, 1] - lip_y) <= 15.0) & (v[allowed, 2] >= v[upper, 2] - 40.0)]
    if len(band) > 3000:
        band = band[np.argsort(-jaw_len[band])[:3000]]
    bp, bq = v[band], v[band] + jaw[band]
    mid_gain = float(gain[ii[k], jj[k]])
    contact = np.zeros(len(band), bool)
    for s in range(0, len(band), 512):  # blocks keep memory small on dense meshes
        e0 = np.linalg.norm(bp[s : s + 512, None] - bp[None], axis=2)
        e1 = np.linalg.norm(bq[s : s + 512, None] - bq[None], axis=2)
        contact[s : s + 512] = ((e0 < max(3.0, d0[ii[k], jj[k]] + 1.0)) & (e1 - e0 > 0.2 * mid_gain)).any(
            axis=1
        )
    lips = band[contact]
    # The contact line runs on into the mouth; only the part seen from the
    # front is the lips. "Seen" = no vertex within a few edge lengths in x, y
    # lies further forward by more than that distance.
    from scipy.spatial import cKDTree

    points = np.unique(bp, axis=0)  # exporters duplicate vertices along UV seams
    spacing = float(np.median(cKDTree(points).query(points, k=2)[0][:, 1])) if len(points) > 1 else 1.0
    reach_xy = max(1.5 * spacing, 1.0)
    tree = cKDTree(v[allowed, :2])
    seen = np.array(
        [
            v[allowed[n], 2].max() <= v[i, 2] + max(reach_xy, 2.0)
            for i, n in zip(lips, tree.query_ball_point(v[lips, :2], reach_xy), strict=True)
        ],
        dtype=bool,
    )
    lips = lips[seen] if seen.any() else lips
    for side, sign in (("mouth_left", 1.0), ("mouth_right", -1.0)):
        pool = lips[sign * (v[lips, 0] - x_mid) > 2.0]
        if len(pool):
            probes[side] = int(pool[int(np.argmax(sign * (v[pool, 0] - x_mid)))])
    return probes


def sphere_centre(points: np.ndarray) -> np.ndarray:
    """Least-squares centre of the sphere through ``points`` (k, 3); the bounding-box centre if degenerate.

    Solves ``|p|² = 2 p·c + (r² − |c|²)`` for ``c`` (linear in ``c`` and the constant).
    """
    p = np.asarray(points, np.float64)
    box = 0.5 * (p.min(0) + p.max(0))
    if len(p) < 8:
        return box.astype(np.float32)
    a = np.concatenate([2.0 * p, np.ones((len(p), 1))], axis=1)
    sol, *_ = np.linalg.lstsq(a, (p**2).sum(1), rcond=None)
    centre = sol[:3]
    # A patch of a sphere (or a non-sphere) can put the centre far away: distrust it then.
    if not np.all(np.isfinite(centre)) or np.linalg.norm(centre - box) > np.ptp(p, axis=0).max():
        return box.astype(np.float32)
    return centre.astype(np.float32)


def detach_eye_look(deltas: np.ndarray, shape_names: list[str], eye_vertices: list[np.ndarray]) -> np.ndarray:
    """Zero the EyeLook* offsets on eyeball vertices (a copy).

    Eyeballs that are rigid parts turn with the eye pose channels; keeping the
    shapes' own eyeball motion too would turn them twice. The lids and the
    skin around the eyes keep their EyeLook motion.
    """
    rows = [i for i, n in enumerate(shape_names) if n in EYE_LOOK_NAMES]
    if not rows or not eye_vertices:
        return deltas
    out = deltas.copy()
    verts = np.concatenate([np.asarray(e, np.int64) for e in eye_vertices])
    out[np.ix_(rows, verts)] = 0.0
    return out


def head_pivot(neutral: np.ndarray, probes: dict[str, int]) -> np.ndarray:
    """An approximate neck pivot for head rotation when the rig names no head joint.

    Midline, level with the lower lip minus a quarter of the head's height,
    a third of the head's depth behind its front (where the atlas joint sits).
    """
    v = np.asarray(neutral, np.float64)
    lo, hi = v.min(0), v.max(0)
    x = float(v[probes["upper_lip"], 0]) if "upper_lip" in probes else 0.5 * (lo[0] + hi[0])
    y = float(v[probes["lower_lip"], 1]) if "lower_lip" in probes else lo[1] + 0.35 * (hi[1] - lo[1])
    y -= 0.1 * (hi[1] - lo[1])
    z = hi[2] - 0.6 * (hi[2] - lo[2])
    return np.array([x, y, z], np.float32)


def pose_rotations(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray):
    """Rotations for head/eye angles in the rig frame (+Y up, +Z forward, +X the character's left).

    ``R = R_y(yaw) · R_x(pitch) · R_z(−roll)``: positive yaw turns the face
    towards the character's left, positive pitch tips it down, positive roll
    tilts the top of the head towards the character's left; roll is applied
    first and yaw last (Unreal's rotator order). The same convention as
    :func:`emote.blender.plan.pose_matrices` in Blender's axes.

    Returns
    -------
    scipy.spatial.transform.Rotation
        ``n`` rotations (``.as_matrix()`` ``(n, 3, 3)``, ``.as_quat()`` x, y, z, w).
    """
    from scipy.spatial.transform import Rotation

    angles = np.stack([np.asarray(yaw), np.asarray(pitch), -np.asarray(roll)], -1).reshape(-1, 3)
    return Rotation.from_euler("YXZ", angles.astype(np.float64))


def paint_eyes(colors: np.ndarray, neutral: np.ndarray, eyes: list) -> np.ndarray:
    """Sclera, iris and pupil colours on rigid eyeballs that carry no colour of their own (a copy).

    Around each eye's pivot, vertices within 28° of the forward axis (+Z) are
    iris and within 10° pupil (an iris of about 12 mm on a 12 mm eyeball).
    """
    out = np.array(colors, np.float32, copy=True)
    for eye in eyes:
        idx = np.asarray(eye.vertices, np.int64)
        rel = np.asarray(neutral, np.float64)[idx] - np.asarray(eye.pivot, np.float64)
        cos = rel[:, 2] / np.maximum(np.linalg.norm(rel, axis=1), 1e-9)
        out[idx] = SCLERA
        out[idx[cos > np.cos(np.radians(28))]] = IRIS
        out[idx[cos > np.cos(np.radians(10))]] = PUPIL
    return out


def occluded_from_front(
    vertices: np.ndarray, faces: np.ndarray, which: np.ndarray, *, margin: float = 0.5
) -> np.ndarray:
    """Which of the vertices ``which`` a camera looking down −Z would not see (another triangle is in front).

    A vertical ray through each vertex is tested against every triangle (in
    blocks); a triangle not touching the vertex that covers it more than
    ``margin`` (mm) nearer the viewer hides it.

    Returns
    -------
    np.ndarray [shape=(len(which),), bool]
    """
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    which = np.asarray(which, np.int64)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    det = (b[:, 1] - c[:, 1]) * (a[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (a[:, 1] - c[:, 1])
    usable = np.abs(det) > 1e-12
    f, a, b, c, det = f[usable], a[usable], b[usable], c[usable], det[usable]
    hidden = np.zeros(len(which), bool)
    for s in range(0, len(which), 256):
        idx = which[s : s + 256]
        p = v[idx]
        px, py = p[:, 0:1], p[:, 1:2]
        l1 = ((b[:, 1] - c[:, 1]) * (px - c[:, 0]) + (c[:, 0] - b[:, 0]) * (py - c[:, 1])) / det
        l2 = ((c[:, 1] - a[:, 1]) * (px - c[:, 0]) + (a[:, 0] - c[:, 0]) * (py - c[:, 1])) / det
        l3 = 1.0 - l1 - l2
        inside = (l1 >= 0) & (l2 >= 0) & (l3 >= 0)
        z = l1 * a[:, 2] + l2 * b[:, 2] + l3 * c[:, 2]
        own = (f[None, :, :] == idx[:, None, None]).any(-1)
        hidden[s : s + 256] = (inside & ~own & (z > p[:, 2:3] + margin)).any(1)
    return hidden


def paint_mouth(
    colors: np.ndarray, neutral: np.ndarray, faces: np.ndarray, probes: dict[str, int], vertices: np.ndarray
) -> np.ndarray:
    """Mouth-interior colour on ``vertices`` inside the mouth, hidden behind the lips at rest (a copy).

    Candidates lie between the mouth corners in x, from 0.6 mouth widths
    below the lip line to 0.3 above it and behind the lips (up to 1.5 mouth
    widths, to the throat); of
    those, the ones the closed lips hide from the front are painted: teeth,
    tongue and the mouth's lining, which show when the jaw opens.
    """
    out = np.array(colors, np.float32, copy=True)
    if not {"upper_lip", "lower_lip", "mouth_left", "mouth_right"} <= set(probes):
        return out
    v = np.asarray(neutral, np.float64)
    idx = np.asarray(vertices, np.int64)
    left, right = v[probes["mouth_left"]], v[probes["mouth_right"]]
    width = left[0] - right[0]
    lip_y = 0.5 * (v[probes["upper_lip"], 1] + v[probes["lower_lip"], 1])
    lip_z = max(v[probes["upper_lip"], 2], v[probes["lower_lip"], 2])
    p = v[idx]
    box = idx[
        (p[:, 0] > right[0])
        & (p[:, 0] < left[0])
        & (p[:, 1] > lip_y - 0.6 * width)
        & (p[:, 1] < lip_y + 0.3 * width)  # below the nostrils
        & (p[:, 2] < lip_z)
        & (p[:, 2] > lip_z - 1.5 * width)
    ]
    if len(box):
        out[box[occluded_from_front(v, faces, box)]] = MOUTH
    return out


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """Linear colour in [0, 1] → sRGB-encoded values (IEC 61966-2-1)."""
    c = np.clip(np.asarray(c, np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055).astype(np.float32)


__all__ = [
    "EYE_LOOK_NAMES",
    "cache_dir",
    "detach_eye_look",
    "find_probes",
    "head_pivot",
    "linear_to_srgb",
    "occluded_from_front",
    "paint_eyes",
    "paint_mouth",
    "pose_rotations",
    "sphere_centre",
]
