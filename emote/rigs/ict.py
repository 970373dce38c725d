"""The ICT-FaceKit face model (USC ICT, MIT licence) as a :class:`MeshRig`.

Reads the model folder as published (``FaceXModel/generic_neutral_mesh.obj``,
one OBJ per expression, ``vertex_indices.json``); users fetch it with
``emote rigs fetch ict-facekit`` or pass their copy with ``--rig-path``.

How the expressions become ARKit shapes:

- a shape's offsets are ``expression − neutral`` (the OBJs share one topology);
- ICT spells ARKit names with ``_L``/``_R``; its ``_L`` moves the
  character's left side (+X, the face looking down +Z), which is ARKit's
  "Left": ``mouthSmile_L`` → ``MouthSmileLeft``;
- unsplit shapes (``jawOpen``, ``mouthFunnel``) map directly;
- ICT splits two shapes ARKit keeps whole: ``browInnerUp_L + browInnerUp_R``
  → ``BrowInnerUp`` and ``cheekPuff_L + cheekPuff_R`` → ``CheekPuff``;
- ``cheekRaiser_*`` and ``PupilDilate_*`` have no ARKit counterpart and are
  left out; ARKit's ``TongueOut`` has no ICT shape (listed in ``missing``).

Geometry kept: face, head and neck, mouth socket, eye sockets, gums and
tongue, teeth, eyeballs and eyelashes (vertex ranges from the ICT-FaceKit
README's topology table). The lacrimal-fluid, eye-blend and eye-occlusion
shells are dropped: they are transparent overlays in Unreal's shaders and
would hide the eyes in an opaque render. Units: the model is in cm; the rig
in mm.

Each ICT eyeball is two meshes: an outer shell with the cornea's bulge (its
front 1.4 mm ahead of the rest; transparent in ICT's material) around an
inner ball that carries the iris. The shell's triangles are dropped (its
vertices stay, so the vertex numbering is the model's, less the overlays)
and the inner ball is painted sclera / iris / pupil by the angle from the
eye's forward axis (:func:`emote.rigs.mesh_tools.paint_eyes`). The eyeballs
are rigid parts turned by the eye pose channels about the shell's centre
(their own EyeLook* motion is dropped so that they do not turn twice).

The parsed rig is cached as an ``.npz`` in the cache folder (``EMOTE_CACHE_DIR``,
else ``~/.cache/emote``), keyed by the model files' names, sizes and
modification times, so later loads skip the OBJ parsing. The same arrays travel
without the 143 MB model folder: :func:`save_ict_npz` writes them (compressed)
to a file of your choice and :func:`load_ict_rig` loads such a file as it loads
a folder (``--rig ict-facekit --rig-path ict.npz``). Files written before the
eye fix (no ``format`` entry) are repaired as they load; files of a newer
format are refused.
"""

from __future__ import annotations

import hashlib
import json
from os import PathLike
from pathlib import Path

import numpy as np

from emote.animation.channels import ARKIT_NAMES
from emote.errors import RigError, file_error
from emote.rigs.base import MeshRig, Rigid
from emote.rigs.mesh_tools import (
    GUMS,
    LASHES,
    MOUTH,
    SCLERA,
    SKIN,
    TEETH,
    cache_dir,
    detach_eye_look,
    find_probes,
    head_pivot,
    paint_eyes,
    sphere_centre,
)
from emote.rigs.names import canonical_arkit_name, missing_arkit_names

_CACHE_VERSION = "ict-2"
# Layout of the parsed arrays (the ``format`` entry of an npz; files without it are format 1,
# whose eyes are hidden by the cornea shells and are repaired on load).
FORMAT = 2
_CM_TO_MM = 10.0
NEUTRAL = "generic_neutral_mesh.obj"

# ICT shapes that are halves of one ARKit shape.
SUMMED: dict[str, tuple[str, str]] = {
    "BrowInnerUp": ("browInnerUp_L", "browInnerUp_R"),
    "CheekPuff": ("cheekPuff_L", "cheekPuff_R"),
}

# Topology of the published model (README "Face Model Topology", vertex index ranges, end exclusive).
N_VERTICES = 26719
FACE = (0, 9409)
PARTS: tuple[tuple[str, int, int, tuple[float, float, float] | None], ...] = (
    # name,               start,  end,    colour (None: dropped)
    ("face",                  0,  9409, SKIN),
    ("head_and_neck",      9409, 11248, SKIN),
    ("mouth_socket",      11248, 13294, MOUTH),
    ("eye_socket_left",   13294, 13678, MOUTH),
    ("eye_socket_right",  13678, 14062, MOUTH),
    ("gums_and_tongue",   14062, 17039, GUMS),
    ("teeth",             17039, 21451, TEETH),
    ("cornea_left",       21451, 22221, SCLERA),  # faces dropped (see _open_eyes)
    ("eyeball_left",      22221, 23021, SCLERA),  # painted by paint_eyes
    ("cornea_right",      23021, 23791, SCLERA),
    ("eyeball_right",     23791, 24591, SCLERA),
    ("lacrimal_fluid",    24591, 24999, None),
    ("eye_blend",         24999, 25047, None),
    ("eye_occlusion",     25047, 25351, None),
    ("eyelashes",         25351, 26719, LASHES),
)  # fmt: skip
# Per eye: (outer cornea shell, inner ball); both are the rigid eye, only the ball is drawn.
EYEBALLS = {"left": ((21451, 22221), (22221, 23021)), "right": ((23021, 23791), (23791, 24591))}


def model_folder(path: str | PathLike[str]) -> Path:
    """The ``FaceXModel`` folder for ``path`` (the repository root or the folder itself)."""
    p = Path(path).expanduser()
    for cand in (p, p / "FaceXModel"):
        if (cand / NEUTRAL).is_file():
            return cand
    if not p.exists():
        raise file_error(
            RigError, p, "ICT-FaceKit folder not found (get it with 'emote rigs fetch ict-facekit')"
        )
    raise file_error(RigError, p, f"not an ICT-FaceKit model folder (no FaceXModel/{NEUTRAL})")


def _vertex_block(data: bytes, path: Path) -> np.ndarray:
    """The ``v x y z`` lines of an OBJ as (n, 3) float32, parsed in one numpy call."""
    if data.startswith(b"v "):
        start = 0
    elif (start := data.find(b"\nv ") + 1) == 0:
        raise file_error(RigError, path, "no vertices in this OBJ")
    end = len(data)
    for tag in (b"\nvt ", b"\nvn ", b"\nf ", b"\nusemtl ", b"\ng ", b"\no "):
        k = data.find(tag, start)
        if k != -1:
            end = min(end, k)
    block = data[start:end].replace(b"v", b" ")
    try:
        values = np.array(block.split(), dtype=np.float32)
    except ValueError:
        raise file_error(RigError, path, "malformed vertex line") from None
    if values.size % 3:
        raise file_error(RigError, path, "vertex lines must have 3 coordinates")
    return values.reshape(-1, 3)


def _faces(data: bytes) -> np.ndarray:
    """Triangles of the OBJ's ``f`` lines (polygons fanned), 0-based."""
    tris: list[list[int]] = []
    for line in data.split(b"\n"):
        if not line.startswith(b"f "):
            continue
        idx = [int(tok.split(b"/", 1)[0]) - 1 for tok in line.split()[1:]]
        tris.extend([idx[0], idx[k], idx[k + 1]] for k in range(1, len(idx) - 1))
    return np.asarray(tris, np.int64).reshape(-1, 3)


def _cache_key(folder: Path) -> str:
    h = hashlib.sha1(_CACHE_VERSION.encode())
    for f in sorted(folder.iterdir()):
        if f.suffix in (".obj", ".json"):
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


def _parse(folder: Path) -> dict[str, np.ndarray]:
    """Parse the model folder into the arrays of the rig (and of its cache file)."""
    neutral_path = folder / NEUTRAL
    neutral_bytes = neutral_path.read_bytes()
    neutral = _vertex_block(neutral_bytes, neutral_path).astype(np.float64)
    faces = _faces(neutral_bytes)
    n = len(neutral)

    expressions: dict[str, np.ndarray] = {}
    index_file = folder / "vertex_indices.json"
    listed = None
    if index_file.is_file():
        try:
            listed = json.loads(index_file.read_text()).get("expressions")
        except (ValueError, AttributeError):
            listed = None
    stems = listed or sorted(p.stem for p in folder.glob("*.obj") if p.name != NEUTRAL)
    for stem in stems:
        f = folder / f"{stem}.obj"
        if not f.is_file():
            continue
        wanted = canonical_arkit_name(stem) or any(stem in pair for pair in SUMMED.values())
        if not wanted:
            continue
        v = _vertex_block(f.read_bytes(), f)
        if v.shape != neutral.shape:
            raise file_error(RigError, f, f"has {len(v)} vertices, the neutral mesh {n}")
        expressions[stem] = v - neutral

    shapes: dict[str, np.ndarray] = {}
    for stem, d in expressions.items():
        canonical = canonical_arkit_name(stem)
        if canonical is not None:
            shapes[canonical] = d
    for canonical, pair in SUMMED.items():
        if canonical not in shapes and all(p in expressions for p in pair):
            shapes[canonical] = expressions[pair[0]] + expressions[pair[1]]
    if not shapes:
        raise file_error(RigError, folder, "no ARKit-named expression OBJ found")
    names = [s for s in ARKIT_NAMES if s in shapes]
    deltas = np.stack([shapes[s] for s in names]) * _CM_TO_MM
    neutral = neutral * _CM_TO_MM

    keep = np.ones(n, bool)
    colors = np.tile(np.asarray(SKIN, np.float32), (n, 1))
    eye_pivots: dict[str, np.ndarray] = {}
    if n == N_VERTICES:
        for _, a, b, color in PARTS:
            if color is None:
                keep[a:b] = False
            else:
                colors[a:b] = color
        for side, ((s0, s1), _) in EYEBALLS.items():
            # The shell is the rounder of the two (the ball's front is dented by the iris).
            eye_pivots[side] = sphere_centre(neutral[s0:s1])
    # Drop the overlay shells and renumber.
    new_index = np.cumsum(keep) - 1
    face_keep = keep[faces].all(axis=1)
    neutral = neutral[keep].astype(np.float32)
    eye_vertices = {
        side: new_index[np.arange(EYEBALLS[side][0][0], EYEBALLS[side][1][1])] for side in eye_pivots
    }
    deltas = detach_eye_look(deltas[:, keep].astype(np.float32), names, list(eye_vertices.values()))
    face = new_index[np.arange(*FACE)] if n == N_VERTICES else np.arange(len(neutral))
    probes = find_probes(neutral, deltas, names, candidates=face)
    out = {
        "neutral": neutral,
        "faces": new_index[faces[face_keep]].astype(np.int32),
        "deltas": deltas,
        "colors": colors[keep],
        "shape_names": np.asarray(names),
        "probe_names": np.asarray(list(probes)),
        "probe_vertices": np.asarray(list(probes.values()), np.int64),
        "head_pivot": head_pivot(neutral, probes),
    }
    for side, centre in eye_pivots.items():
        out[f"eye_{side}_pivot"] = np.asarray(centre, np.float32)
        out[f"eye_{side}_vertices"] = eye_vertices[side]
    return _open_eyes(out)


def _kept_vertices() -> np.ndarray:
    """(N_VERTICES,) bool: the model vertices the rig keeps (ICT's own topology)."""
    keep = np.ones(N_VERTICES, bool)
    for _, a, b, color in PARTS:
        keep[a:b] = color is not None
    return keep


def _open_eyes(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Drop the cornea shells' triangles and paint pupil, iris and sclera on the eyeballs (a copy).

    Works on format-1 arrays too (the shells drawn, the eyes white), which it
    brings to :data:`FORMAT`; arrays of another topology only get the format.
    """
    out = dict(arrays)
    out["format"] = np.asarray(FORMAT, np.int64)
    keep = _kept_vertices()
    if "eye_left_vertices" not in arrays or len(arrays["neutral"]) != keep.sum():
        return out
    rig_index = np.cumsum(keep) - 1
    cornea = np.zeros(len(arrays["neutral"]), bool)
    for (c0, c1), _ in EYEBALLS.values():
        cornea[rig_index[c0:c1]] = True
    faces = np.asarray(arrays["faces"])
    out["faces"] = faces[~cornea[faces].all(axis=1)]
    eyes = [
        Rigid(np.asarray(arrays[f"eye_{side}_vertices"], np.int64), np.asarray(arrays[f"eye_{side}_pivot"]))
        for side in EYEBALLS
        if f"eye_{side}_vertices" in arrays
    ]
    out["colors"] = paint_eyes(arrays["colors"], arrays["neutral"], eyes)
    return out


def _build(arrays: dict[str, np.ndarray], name: str) -> MeshRig:
    names = [str(s) for s in arrays["shape_names"]]
    neutral = arrays["neutral"]
    eyes = []
    for side, prefix in (("left", "Left"), ("right", "Right")):
        if f"eye_{side}_vertices" in arrays:
            eyes.append(
                Rigid(
                    arrays[f"eye_{side}_vertices"].astype(np.int64),
                    arrays[f"eye_{side}_pivot"].astype(np.float32),
                    f"{prefix}EyeYaw",
                    f"{prefix}EyePitch",
                    f"{prefix}EyeRoll",
                )
            )
    pivot = arrays["head_pivot"].astype(np.float32)
    return MeshRig(
        name=name,
        neutral=neutral,
        faces=arrays["faces"],
        shape_names=names,
        deltas=arrays["deltas"],
        colors=arrays["colors"],
        eyes=eyes,
        head=Rigid(np.arange(len(neutral), dtype=np.int64), pivot, "HeadYaw", "HeadPitch", "HeadRoll"),
        probes={str(k): int(v) for k, v in zip(arrays["probe_names"], arrays["probe_vertices"], strict=True)},
        missing=missing_arkit_names(names),
    )


# Arrays every parsed model holds (the eye arrays are there when the topology is ICT's own).
_ARRAY_KEYS = (
    "neutral", "faces", "deltas", "colors", "shape_names", "probe_names", "probe_vertices", "head_pivot",
)  # fmt: skip


def _parsed_arrays(folder: Path, *, use_cache: bool) -> dict[str, np.ndarray]:
    """The parsed model of ``folder``: from the cache when it holds it, else parsed (and cached)."""
    cache_file = cache_dir() / f"ict-facekit-{_cache_key(folder)}.npz" if use_cache else None
    if cache_file is not None and cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as z:
                cached = {k: z[k] for k in z.files}
            if int(cached.get("format", 1)) == FORMAT:
                return cached
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged (or stale) cache file is rebuilt below
    arrays = _parse(folder)
    if cache_file is not None:
        from emote.io.atomic import atomic_path

        try:
            with atomic_path(cache_file, fsync=False) as tmp:
                np.savez(tmp, **arrays)
        except OSError:
            pass  # an unwritable cache only costs time
    return arrays


def _read_parsed(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a parsed-model ``.npz`` (:func:`save_ict_npz` or the cache), checked, at :data:`FORMAT`."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as e:
        raise file_error(RigError, path, f"cannot read this npz ({e})") from None
    lacking = [k for k in _ARRAY_KEYS if k not in arrays]
    if lacking:
        raise file_error(
            RigError, path, f"not a parsed ICT-FaceKit model (no {', '.join(lacking)}; see save_ict_npz)"
        )
    try:
        fmt = int(arrays.get("format", 1))
    except (TypeError, ValueError):
        raise file_error(
            RigError, path, "damaged parsed ICT-FaceKit model (unreadable format entry)"
        ) from None
    if fmt > FORMAT:
        raise file_error(
            RigError,
            path,
            f"parsed ICT-FaceKit model of format {fmt}, newer than this emote reads ({FORMAT}): "
            "update emote or save it again with this version",
        )
    # Format 1 (before the eye fix) differs only in the eyes' faces and colours: repaired here.
    return arrays if fmt == FORMAT else _open_eyes(arrays)


def load_ict_rig(path: str | PathLike[str], *, use_cache: bool = True, name: str = "ict-facekit") -> MeshRig:
    """Load the ICT-FaceKit model folder, or its parsed ``.npz``, as a mesh rig.

    Parameters
    ----------
    path : str or PathLike
        The ICT-FaceKit folder (containing ``FaceXModel/``), ``FaceXModel``
        itself, or a parsed model file written by :func:`save_ict_npz` (the
        cache files in ``~/.cache/emote/ict-facekit-*.npz`` are such files too).
    use_cache : bool
        For a folder: read and write the parsed model in the cache folder
        (default). The first load parses 50-odd OBJ files (seconds); later ones
        read one npz.
    name : str
        Rig name.

    Returns
    -------
    MeshRig
        About 25k vertices in mm; 51 ARKit shapes (``missing == ["TongueOut"]``),
        rigid eyes, probes on the face skin.

    Raises
    ------
    RigError
        The folder is missing or is not an ICT-FaceKit model folder, or the
        ``.npz`` is not a parsed ICT-FaceKit model.

    Examples
    --------
    >>> save_ict_npz("ICT-FaceKit", "ict.npz")  # doctest: +SKIP
    >>> rig = load_ict_rig("ict.npz")           # same rig, no model folder needed  # doctest: +SKIP
    """
    p = Path(path).expanduser()
    if p.suffix.lower() == ".npz" and not p.is_dir():
        if not p.is_file():
            raise file_error(RigError, p, "parsed ICT-FaceKit model not found")
        try:
            return _build(_read_parsed(p), name)
        except (ValueError, KeyError, IndexError) as e:  # arrays present but inconsistent
            raise file_error(RigError, p, f"damaged parsed ICT-FaceKit model ({e})") from None
    return _build(_parsed_arrays(model_folder(p), use_cache=use_cache), name)


def save_ict_npz(path: str | PathLike[str], dest: str | PathLike[str], *, use_cache: bool = True) -> Path:
    """Write the parsed ICT-FaceKit model to one compressed ``.npz`` that :func:`load_ict_rig` reads.

    The parsed model (about 7 MB compressed) stands in for the 143 MB model
    folder where only the rig is needed, e.g. on a render machine.

    Parameters
    ----------
    path : str or PathLike
        The ICT-FaceKit folder (or its ``FaceXModel``).
    dest : str or PathLike
        The file to write (atomically); ``.npz`` is the expected suffix.
    use_cache : bool
        Take the parsed arrays from the cache when it holds them.

    Returns
    -------
    Path
        ``dest``.
    """
    from emote.io.atomic import atomic_path

    arrays = _parsed_arrays(model_folder(path), use_cache=use_cache)
    dest = Path(dest).expanduser()
    # Through a file object: given a path, savez would append its own suffix to the temporary name.
    with atomic_path(dest) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    return dest


__all__ = ["SUMMED", "load_ict_rig", "model_folder", "save_ict_npz"]
