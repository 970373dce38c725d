"""Build the default head once, cache it as NPZ, load it fast afterwards.

The cache file is named after a hash of this package's source, so any change
to how the head is made invalidates it. The folder is the rigs' cache
(:func:`emote.rigs.mesh_tools.cache_dir`: ``$EMOTE_CACHE_DIR``, else ``~/.cache/emote``).
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np

from emote.animation.channels import ARKIT_NAMES
from emote.rigs.base import MeshRig, Rigid
from emote.rigs.default_head import anatomy as A
from emote.rigs.default_head.layout import LAYOUT, Layout
from emote.rigs.default_head.paint import paint
from emote.rigs.default_head.shapes import build_shapes
from emote.rigs.default_head.skin import MOUTH_SAMPLES
from emote.rigs.mesh_tools import cache_dir

NAME = "default"
# Head/neck pivot: near the top of the spine, behind the jaw (mm, final proportions).
NECK_PIVOT = (0.0, -72.0, -22.0)


def build_version() -> str:
    """Hash of the package's source files (and the ARKit order): the key of the cache."""
    h = hashlib.sha256(",".join(ARKIT_NAMES).encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _ramp(t: np.ndarray, b: float) -> np.ndarray:
    """0 below 0, t − b/2 above b, a parabola between (C1)."""
    return np.where(t <= 0.0, 0.0, np.where(t < b, t * t / (2.0 * b), t - 0.5 * b))


def proportions(y: np.ndarray) -> np.ndarray:
    """Final vertical proportions: shorten the lower face and the cranium, keep the eye band.

    The head is designed a little tall; this smooth (C1) squeeze brings it to
    ~230 mm chin to crown while leaving y in [-25, 35] mm (eyeballs, lids,
    brows) untouched, so the eyeballs stay spheres.
    """
    return y + 0.08 * _ramp(-25.0 - y, 20.0) - 0.09 * _ramp(y - 35.0, 20.0)


def _squeeze(rest: np.ndarray, deltas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply :func:`proportions` to the rest mesh and to every shape's posed positions."""
    out = rest.copy()
    out[:, 1] = proportions(rest[:, 1])
    d = deltas.astype(np.float64).copy()
    d[..., 1] = proportions(rest[None, :, 1] + d[..., 1]) - out[None, :, 1]
    return out, d


def build_arrays(layout: Layout = LAYOUT) -> dict[str, np.ndarray]:
    """Build the head from scratch: the arrays a :class:`MeshRig` needs (a few seconds)."""
    an, _ = A.assemble(layout)
    rest, deltas = _squeeze(an.rest, build_shapes(an))
    colors = paint(an)
    k = MOUTH_SAMPLES
    # The lip-edge ring is the skin's first ring: corners at 0 (left, +X) and k, midpoints at k/2 and 3k/2.
    probes = np.array([k // 2, k + k // 2, 0, k], np.int64)
    return {
        "neutral": rest.astype(np.float32),
        "faces": an.faces.astype(np.int32),
        "deltas": deltas.astype(np.float32),
        "colors": colors.astype(np.float32),
        "eye_left": an.indices(A.EYE_L),
        "eye_right": an.indices(A.EYE_R),
        "eye_left_pivot": layout.eye_left.astype(np.float32),
        "eye_right_pivot": layout.eye_right.astype(np.float32),
        "probes": probes,
        "part": an.part.astype(np.int8),
    }


def rig_from_arrays(arrays: dict[str, np.ndarray]) -> MeshRig:
    """Wrap built (or cached) arrays as the ``default`` :class:`MeshRig`."""
    n = arrays["neutral"].shape[0]
    up, lo, left, right = (int(i) for i in arrays["probes"])
    return MeshRig(
        name=NAME,
        neutral=arrays["neutral"],
        faces=arrays["faces"],
        shape_names=list(ARKIT_NAMES),
        deltas=arrays["deltas"],
        colors=arrays["colors"],
        eyes=[
            Rigid(arrays["eye_left"], arrays["eye_left_pivot"], "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll"),
            Rigid(
                arrays["eye_right"], arrays["eye_right_pivot"], "RightEyeYaw", "RightEyePitch", "RightEyeRoll"
            ),
        ],
        head=Rigid(
            np.arange(n, dtype=np.int64), np.array(NECK_PIVOT, np.float32), "HeadYaw", "HeadPitch", "HeadRoll"
        ),
        probes={"upper_lip": up, "lower_lip": lo, "mouth_left": left, "mouth_right": right},
    )


def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Atomic NPZ write; a cache that cannot be written is not an error (the head is still built)."""
    from emote.io.atomic import atomic_path

    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    except OSError:
        return
    for old in path.parent.glob("default_head-*.npz"):
        if old != path:
            old.unlink(missing_ok=True)


_KEYS = frozenset(
    {
        "neutral",
        "faces",
        "deltas",
        "colors",
        "eye_left",
        "eye_right",
        "eye_left_pivot",
        "eye_right_pivot",
        "probes",
        "part",
    }
)


def _load_arrays(*, rebuild: bool = False) -> dict[str, np.ndarray]:
    path = cache_dir() / f"default_head-{build_version()}.npz"
    if not rebuild and path.is_file():
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in z.files}
            if set(arrays) == _KEYS:
                return arrays
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            pass  # unreadable or stale cache: rebuild it
    arrays = build_arrays()
    _write(path, arrays)
    return arrays


def load_default_head(*, rebuild: bool = False) -> MeshRig:
    """The default head as a :class:`MeshRig`, built on first use (~3 s) and cached.

    About 24k vertices in millimetres (+Y up, the face looking down +Z): skin
    with lips that part, eyelids, eyebrows and short hair painted on,
    eyeballs turned by the eye angles, teeth, gums, tongue, mouth interior,
    ears, and all 52 ARKit shapes (see :mod:`~emote.rigs.default_head.shapes`
    for their conventions). The head part turns about a neck pivot.

    Parameters
    ----------
    rebuild : bool
        Ignore (and replace) the cached copy.
    """
    return rig_from_arrays(_load_arrays(rebuild=rebuild))


PART_NAMES: dict[str, tuple[int, ...]] = {
    "skin": (A.SKIN,),
    "mouth": (A.MOUTH,),
    "lids": (A.LID,),
    "neck_cap": (A.CAP,),
    "eye_left": (A.EYE_L,),
    "eye_right": (A.EYE_R,),
    "teeth_upper": (A.TEETH_UP,),
    "teeth_lower": (A.TEETH_LO,),
    "gums_upper": (A.GUM_UP,),
    "gums_lower": (A.GUM_LO,),
    "tongue": (A.TONGUE,),
    "ears": (A.EAR,),
}


def default_head_parts() -> dict[str, np.ndarray]:
    """Vertex indices of each part of the default head (same vertex order as :func:`load_default_head`).

    Keys: skin, mouth (lip insides and the mouth bag), lids (lid margins tucked
    behind the lids), neck_cap, eye_left, eye_right, teeth_upper, teeth_lower,
    gums_upper, gums_lower, tongue, ears. Useful for materials and tests.
    """
    part = _load_arrays()["part"]
    return {name: np.flatnonzero(np.isin(part, codes)) for name, codes in PART_NAMES.items()}
