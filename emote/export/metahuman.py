"""MetaHuman curves CSV: ARKit blendshapes realised as ``CTRL_expressions_*`` curves.

The realisation is declarative data, ``rigs/metahuman/arkit_to_metahuman.json``:
for each of the 52 ARKit shapes, the MetaHuman control curves it drives and
with what weight, and a note saying how the shape is realised. Curve values are
linear in the ARKit weights::

    curves = clip(W @ arkit, 0, 1)        W: (n_curves, 52)

The mapping is built so that every ARKit shape owns a curve no other shape
drives (``W`` has full column rank) and every curve's weights sum to at most 1
(ARKit weights in [0, 1] never push a curve out of range). Reading a file back
therefore recovers the ARKit curves exactly (to float32 precision) by least
squares, ``arkit = clip(pinv(W) @ curves, 0, 1)``; for curves from elsewhere it
gives the closest ARKit pose.

File layout::

    Time,CTRL_expressions_eyeBlinkL,...,CTRL_expressions_tongueWide,HeadYaw,...,RightEyeRoll
    0.000000000,0.0,...

``Time`` is seconds from the first frame (9 decimals), one column per curve the
mapping uses (in mapping order), values as the shortest decimals that read
back as the same float32, then the nine head/eye angles in radians under their
Live Link names (MetaHuman's Live Link face Blueprint reads ``HeadYaw``,
``HeadPitch``, ``HeadRoll`` as curves; the eye angles are kept so the file
round-trips). The reader maps columns by name (case-insensitively), ignores
unknown columns, reads missing curves and angles as unknown (zeros), and infers
the frame rate from ``Time``.

A MetaHuman CSV holds no metadata; a round trip keeps curves and fps.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from emote.animation.channels import ARKIT_NAMES, N_ARKIT, N_CHANNELS, POSE_NAMES
from emote.animation.face_animation import FaceAnimation
from emote.errors import FormatError, RigError, file_error
from emote.export._common import (
    check_readable,
    check_row_lengths,
    column_index,
    csv_rows,
    duplicate_columns,
    float32_text,
    parse_numbers,
    snap_fps,
)
from emote.export.atomic import atomic_write

EXTENSION = ".metahuman.csv"
NAME = "metahuman"
MAPPING_FILE = ("metahuman", "arkit_to_metahuman.json")
CURVE_PREFIX = "CTRL_expressions_"
TIME_COLUMN = "Time"
TIME_DECIMALS = 9
DEFAULT_FPS = 30.0
EXPECTED = "expected MetaHuman curves CSV"


@dataclass(frozen=True)
class MetaHumanMapping:
    """The ARKit → MetaHuman curve map (see ``rigs/metahuman/arkit_to_metahuman.json``).

    Attributes
    ----------
    curves : tuple of str
        The ``CTRL_expressions_*`` curves the map drives, in file order.
    weights : np.ndarray [shape=(n_curves, 52), dtype=float64]
        ``curves = weights @ arkit`` before clipping; columns in ARKit order.
    low, high : np.ndarray [shape=(n_curves,)]
        Range of each curve.
    notes : dict
        ARKit name → how the shape is realised.
    pose : tuple of str
        Head/eye channels carried through as columns of the same name.
    source : str
        The file it was loaded from.
    """

    curves: tuple[str, ...]
    weights: np.ndarray
    low: np.ndarray
    high: np.ndarray
    notes: dict[str, str] = field(default_factory=dict)
    pose: tuple[str, ...] = POSE_NAMES
    source: str = ""

    def to_curves(self, blendshapes: np.ndarray) -> np.ndarray:
        """ARKit weights ``(frames, 52)`` → curve values ``(frames, n_curves)``, clipped to range."""
        values = np.asarray(blendshapes, np.float64) @ self.weights.T
        return np.clip(values, self.low, self.high)

    def to_arkit(self, values: np.ndarray, curves: list[str]) -> tuple[np.ndarray, list[str]]:
        """Least-squares ARKit weights from the values of some of the curves.

        Parameters
        ----------
        values : np.ndarray [shape=(frames, len(curves))]
            Curve values.
        curves : list of str
            Which of :attr:`curves` the columns of ``values`` are.

        Returns
        -------
        arkit : np.ndarray [shape=(frames, 52), dtype=float32]
            ``clip(pinv(W_present) @ values, 0, 1)``: exact when the values came
            from :meth:`to_curves` of in-range weights and all curves are given.
        unobservable : list of str
            ARKit shapes none of the given curves depend on (read as 0).
        """
        rows = [self.curves.index(c) for c in curves]
        w = self.weights[rows]
        arkit = np.asarray(values, np.float64) @ np.linalg.pinv(w).T
        unobservable = [ARKIT_NAMES[k] for k in range(N_ARKIT) if not w[:, k].any()]
        return np.clip(arkit, 0.0, 1.0).astype(np.float32), unobservable

    def own_curves(self) -> dict[str, list[str]]:
        """ARKit name → the curves only that shape drives."""
        driven = self.weights != 0
        only = driven & (driven.sum(axis=1, keepdims=True) == 1)
        return {
            name: [self.curves[i] for i in np.flatnonzero(only[:, k])] for k, name in enumerate(ARKIT_NAMES)
        }


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _parse_mapping(doc: Any, where: str) -> MetaHumanMapping:
    def fail(problem: str) -> RigError:
        return RigError(f"{where}: {problem}")

    if not isinstance(doc, dict) or not isinstance(doc.get("arkit"), dict):
        raise fail("expected an object with an 'arkit' table")
    rng = doc.get("range", [0.0, 1.0])
    if not (isinstance(rng, list) and len(rng) == 2 and all(map(_number, rng)) and rng[0] < rng[1]):
        raise fail(f"'range' {rng!r} is not [low, high]")
    table = doc["arkit"]
    unknown = sorted(set(table) - set(ARKIT_NAMES))
    if unknown:
        raise fail(f"unknown ARKit shape {unknown[0]!r}")
    missing = [n for n in ARKIT_NAMES if n not in table]
    if missing:
        raise fail(f"ARKit shape {missing[0]!r} has no entry")
    curves: list[str] = []
    entries: list[tuple[int, str, float]] = []
    notes: dict[str, str] = {}
    for k, name in enumerate(ARKIT_NAMES):
        entry = table[name]
        if not isinstance(entry, dict) or not isinstance(entry.get("curves"), dict) or not entry["curves"]:
            raise fail(f"{name}: expected {{'curves': {{curve: weight}}, 'note': ...}}")
        if not isinstance(entry.get("note"), str) or not entry["note"].strip():
            raise fail(f"{name}: a 'note' saying how the shape is realised is required")
        notes[name] = entry["note"]
        for curve, weight in entry["curves"].items():
            if not curve.startswith(CURVE_PREFIX):
                raise fail(f"{name}: curve {curve!r} is not a {CURVE_PREFIX}* curve")
            if not _number(weight) or weight == 0:
                raise fail(f"{name}: weight {weight!r} of {curve} is not a non-zero number")
            if curve not in curves:
                curves.append(curve)
            entries.append((k, curve, float(weight)))
    weights = np.zeros((len(curves), N_ARKIT), np.float64)
    for k, curve, weight in entries:
        weights[curves.index(curve), k] = weight
    if np.linalg.matrix_rank(weights) < N_ARKIT:
        raise fail("the map is not invertible (some ARKit shapes drive only combinations of others' curves)")
    ranges = doc.get("ranges", {})
    low = np.full(len(curves), float(rng[0]))
    high = np.full(len(curves), float(rng[1]))
    for curve, r in ranges.items() if isinstance(ranges, dict) else ():
        if curve in curves and isinstance(r, list) and len(r) == 2 and all(map(_number, r)):
            low[curves.index(curve)], high[curves.index(curve)] = r
    pose = tuple(doc.get("pose", {}))
    bad_pose = [p for p in pose if p not in POSE_NAMES]
    if bad_pose:
        raise fail(f"unknown pose channel {bad_pose[0]!r}")
    return MetaHumanMapping(tuple(curves), weights, low, high, notes, pose, where)


def load_mapping(path: str | PathLike[str] | None = None) -> MetaHumanMapping:
    """Load and check an ARKit → MetaHuman mapping file (default: the one emote ships).

    Raises
    ------
    RigError
        When the file is missing, not JSON, or the map is incomplete or not invertible.
    """
    if path is None:
        return _default_mapping()
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RigError(f"{p}: no such file") from None
    except (OSError, ValueError) as e:
        raise RigError(f"{p}: not a readable JSON mapping ({e})") from None
    return _parse_mapping(doc, str(p))


@functools.cache
def _default_mapping() -> MetaHumanMapping:
    from emote.rigs_data import rig_file

    return load_mapping(rig_file(*MAPPING_FILE))


def write(anim: FaceAnimation, path: str | PathLike[str]) -> None:
    """Write ``anim`` as MetaHuman curves (atomically).

    Parameters
    ----------
    anim : FaceAnimation
        ``curves: (frames, 61)``; the blendshapes go through the mapping (values
        clipped to each curve's range), the head/eye angles are copied.
    path : str or PathLike
        Destination, conventionally ``*.metahuman.csv``.
    """
    mapping = load_mapping()
    pose_cols = [N_ARKIT + POSE_NAMES.index(p) for p in mapping.pose]
    values = np.hstack([mapping.to_curves(anim.blendshapes), anim.curves[:, pose_cols]])
    text = float32_text(values)
    times = np.arange(anim.n_frames, dtype=np.float64) / anim.fps
    header = ",".join((TIME_COLUMN, *mapping.curves, *mapping.pose))
    with atomic_write(path, "w", newline="") as f:
        f.write(header + "\n")
        for t, row in zip(times.tolist(), text.tolist(), strict=True):
            f.write(f"{t:.{TIME_DECIMALS}f}," + ",".join(row) + "\n")


def read(path: str | PathLike[str], *, fps: float | None = None) -> FaceAnimation:
    """Read a MetaHuman curves CSV back into ARKit curves by solving the mapping.

    Parameters
    ----------
    path : str or PathLike
        A file with a ``Time`` column and ``CTRL_expressions_*`` columns.
    fps : float, optional
        Frame rate of the rows; inferred from ``Time`` when omitted.

    Returns
    -------
    FaceAnimation
        ARKit weights by least squares (clipped to [0, 1]), angles as stored.
        ``metadata["missing_channels"]`` lists ARKit shapes no column informs and
        absent angles; ``metadata["ignored_columns"]`` columns the mapping lacks.
    """
    path = check_readable(path)
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    mapping = load_mapping()
    rows = list(csv_rows(path, "MetaHuman curves CSV"))
    if not rows:
        raise file_error(FormatError, path, f"empty file ({EXPECTED})")
    (_, header), rows = rows[0], rows[1:]
    dups = duplicate_columns(header)
    if dups:
        raise file_error(FormatError, path, f"column {dups[0]!r} appears more than once ({EXPECTED})")
    where = column_index(header)
    if TIME_COLUMN.lower() not in where:
        raise file_error(FormatError, path, f"column {TIME_COLUMN!r} missing ({EXPECTED})")
    curves = [c for c in mapping.curves if c.lower() in where]
    if not curves:
        raise file_error(FormatError, path, f"no {CURVE_PREFIX}* column the mapping knows ({EXPECTED})")
    pose = [p for p in POSE_NAMES if p.lower() in where]
    used = {TIME_COLUMN.lower(), *(c.lower() for c in curves), *(p.lower() for p in pose)}
    ignored = [h.strip() for h in header if h.strip() and h.strip().lower() not in used]
    check_row_lengths(path, rows, len(header))

    names = [TIME_COLUMN, *curves, *pose]
    table = parse_numbers(path, rows, [where[n.lower()] for n in names], names)
    times = table[:, 0]
    back = np.flatnonzero(np.diff(times) <= 0)
    if back.size:
        raise file_error(FormatError, path, f"line {rows[back[0] + 1][0]}: {TIME_COLUMN} does not increase")
    metadata: dict[str, Any] = {"source_format": NAME}
    if fps is None:
        if len(rows) >= 2:
            fps = snap_fps((len(rows) - 1) / float(times[-1] - times[0]))
        else:
            fps = DEFAULT_FPS
            metadata["fps_assumed"] = True
    if len(rows) and times[0] != 0:
        metadata["timecode_start"] = float(times[0])

    arkit, unobservable = mapping.to_arkit(table[:, 1 : 1 + len(curves)], curves)
    out = np.zeros((len(rows), N_CHANNELS), np.float32)
    out[:, :N_ARKIT] = arkit
    out[:, [N_ARKIT + POSE_NAMES.index(p) for p in pose]] = table[:, 1 + len(curves) :]
    missing = unobservable + [p for p in POSE_NAMES if p not in pose]
    if missing:
        metadata["missing_channels"] = missing
    if ignored:
        metadata["ignored_columns"] = ignored
    try:
        return FaceAnimation(fps, out, metadata)
    except ValueError as e:
        raise file_error(FormatError, path, str(e)) from None


__all__ = ["EXTENSION", "MetaHumanMapping", "load_mapping", "read", "write"]
