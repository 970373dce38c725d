"""MetaHuman curves CSV: ARKit blendshapes realised as ``CTRL_expressions_*`` curves.

The realisation is declarative data, ``rigs/metahuman/arkit_to_metahuman.json``
(loaded by :func:`emote.rigs.metahuman.load_mapping`):
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

import math
from os import PathLike
from typing import Any

import numpy as np

from emote.animation.channels import N_ARKIT, N_CHANNELS, POSE_NAMES
from emote.animation.face_animation import FaceAnimation
from emote.errors import FormatError, file_error
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
from emote.io.atomic import atomic_write
from emote.rigs.metahuman import CURVE_PREFIX, load_mapping

EXTENSION = ".metahuman.csv"
NAME = "metahuman"
TIME_COLUMN = "Time"
TIME_DECIMALS = 9
DEFAULT_FPS = 30.0
EXPECTED = "expected MetaHuman curves CSV"


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


__all__ = ["EXTENSION", "read", "write"]
