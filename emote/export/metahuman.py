"""MetaHuman curves CSV: ARKit blendshapes realised as ``CTRL_expressions_*`` curves.

The realisation is declarative data, ``rigs/metahuman/arkit_to_metahuman.json``
(loaded by :func:`emote.rigs.metahuman.load_mapping`):
for each of the 52 ARKit shapes, the MetaHuman control curves it drives and
with what weight, and a note saying how the shape is realised. The weights are
those of Epic's ARKit mapping pose asset (the asset MetaHumans use to play Live
Link Face data), except where the file's ``differences`` says why not, so the
curves are the ones Unreal computes from the same ARKit curves. Curve values are
linear in the ARKit weights, clipped to the controls' range::

    curves = clip(W @ arkit, 0, 1)        W: (n_curves, 52)

``W`` has full column rank, so reading a file back recovers the ARKit curves
by least squares, exactly (to float32 precision) while no curve clipped; curves
that clipped at 1 (funnel, upper-lip roll and inner brow can, as in Unreal) are
left out of the solve for the frames where they did.

File layout: an Unreal **CurveTable** CSV, so the file imports into Unreal as a
CurveTable asset (Import, "Import As: CurveTable", Linear) with no code::

    ---,0.000000000,0.033333333,0.066666667,...
    CTRL_expressions_eyeBlinkL,0.0,0.1,0.25,...
    ...
    CTRL_expressions_tongueWide,0.0,0.0,0.0,...
    HeadYaw,0.0,0.01,0.02,...
    ...
    RightEyeRoll,...

Following Unreal's documented CurveTable layout (*Data Driven Gameplay
Elements*): the first row holds the keys' times (its first cell is a free label;
Unreal writes ``---``), then one row per curve: its name, then its value at each
time. Times are seconds from the first frame (9 decimals); values are the
shortest decimals that read back as the same float32, never ``-0.0``. After
the curves the rows carry the nine head/eye angles in radians under their Live
Link names (MetaHuman's Live Link face Blueprint reads ``HeadYaw``,
``HeadPitch``, ``HeadRoll`` as curves; the eye angles are kept so the file
round-trips).

Reading accepts that layout and the column layout of emote 0.1
(``Time,CTRL_expressions_...,HeadYaw,...``, one row per frame). Names are
matched case-insensitively, unknown curves are ignored, missing curves and
angles read as unknown (zeros), and the frame rate is inferred from the times.

A MetaHuman CSV holds no metadata; a round trip keeps curves and fps.
"""

from __future__ import annotations

import math
from os import PathLike
from pathlib import Path
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
TABLE_LABEL = "---"  # the first cell of a CurveTable CSV, as Unreal writes it
DEFAULT_FPS = 30.0
EXPECTED = "expected MetaHuman curves CSV"


def write(anim: FaceAnimation, path: str | PathLike[str]) -> None:
    """Write ``anim`` as MetaHuman curves in Unreal's CurveTable CSV layout (atomically).

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
    # float32 values, 4 bytes a cell; their text is made a block of frames at a time, so memory
    # stays bounded whatever the length (all of it as text at once is ~18 KB a frame).
    values = np.empty((anim.n_frames, len(mapping.curves) + len(pose_cols)), np.float32)
    for i in range(0, anim.n_frames, _WRITE_BLOCK):
        block = anim.curves[i : i + _WRITE_BLOCK]
        values[i : i + len(block)] = np.hstack([mapping.to_curves(block[:, :N_ARKIT]), block[:, pose_cols]])
    values += 0.0  # a clipped or copied -0.0 is written as 0.0
    with atomic_write(path, "w", newline="") as f:
        f.write(TABLE_LABEL)
        for i in range(0, anim.n_frames, _WRITE_BLOCK):
            times = np.arange(i, min(i + _WRITE_BLOCK, anim.n_frames), dtype=np.float64) / anim.fps
            f.write("".join(f",{t:.{TIME_DECIMALS}f}" for t in times.tolist()))
        f.write("\n")
        for k, name in enumerate((*mapping.curves, *mapping.pose)):
            f.write(name)
            for i in range(0, anim.n_frames, _WRITE_BLOCK):
                f.write("," + ",".join(float32_text(values[i : i + _WRITE_BLOCK, k]).tolist()))
            f.write("\n")


_WRITE_BLOCK = 4096
"""Frames formatted at a time by :func:`write`."""


def _curve_table(path: Path, rows: list[tuple[int, list[str]]]) -> tuple[list[str], np.ndarray]:
    """Names and ``(frames, 1 + names)`` table (time first) of a CurveTable-layout file."""
    (line, header), curve_rows = rows[0], rows[1:]
    cells = [c for c in header[1:]]
    while cells and not cells[-1].strip():
        cells.pop()  # trailing commas
    times = parse_numbers(path, [(line, cells)], list(range(len(cells))), ["key time"] * len(cells))[0]
    names: list[str] = []
    columns = [times]
    for line, row in curve_rows:
        name = row[0].strip()
        if not name:
            raise file_error(FormatError, path, f"line {line}: a curve row without a name ({EXPECTED})")
        if name.lower() in (n.lower() for n in names):
            raise file_error(FormatError, path, f"line {line}: curve {name!r} appears more than once")
        check_row_lengths(path, [(line, row)], 1 + len(times))
        names.append(name)
        columns.append(
            parse_numbers(
                path, [(line, row[1 : 1 + len(times)])], list(range(len(times))), [name] * len(times)
            )[0]
        )
    return [TIME_COLUMN, *names], np.stack(columns, axis=1) if columns else np.zeros((0, 1))


def _column_table(path: Path, rows: list[tuple[int, list[str]]]) -> tuple[list[str], np.ndarray, list]:
    """Names, ``(frames, names)`` table and data rows of a column-layout (``Time,...``) file."""
    (_, header), data = rows[0], rows[1:]
    dups = duplicate_columns(header)
    if dups:
        raise file_error(FormatError, path, f"column {dups[0]!r} appears more than once ({EXPECTED})")
    check_row_lengths(path, data, len(header))
    names = [h.strip() for h in header if h.strip()]
    where = column_index(header)
    table = parse_numbers(path, data, [where[n.lower()] for n in names], names)
    return names, table, data


def read(path: str | PathLike[str], *, fps: float | None = None) -> FaceAnimation:
    """Read a MetaHuman curves CSV back into ARKit curves by solving the mapping.

    Parameters
    ----------
    path : str or PathLike
        A CurveTable-layout file (a row per curve) or a column-layout file
        (``Time`` and ``CTRL_expressions_*`` columns).
    fps : float, optional
        Frame rate of the keys; inferred from their times when omitted.

    Returns
    -------
    FaceAnimation
        ARKit weights by least squares (clipped to [0, 1]), angles as stored.
        ``metadata["missing_channels"]`` lists ARKit shapes no curve informs and
        absent angles; ``metadata["ignored_columns"]`` curves the mapping lacks.
    """
    path = check_readable(path)
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    mapping = load_mapping()
    rows = list(csv_rows(path, "MetaHuman curves CSV"))
    if not rows:
        raise file_error(FormatError, path, f"empty file ({EXPECTED})")
    first = rows[0][1][0].strip().lower() if rows[0][1] else ""
    if first == TIME_COLUMN.lower():
        names, table, data = _column_table(path, rows)
        line_of = [line for line, _ in data]
    else:
        if len(rows) < 2 or not any(
            r[0].strip().lower().startswith(CURVE_PREFIX.lower()) for _, r in rows[1:]
        ):
            raise file_error(FormatError, path, f"column {TIME_COLUMN!r} missing ({EXPECTED})")
        names, table = _curve_table(path, rows)
        line_of = [rows[0][0]] * len(table)
    where = {n.lower(): i for i, n in enumerate(names)}
    curves = [c for c in mapping.curves if c.lower() in where]
    if not curves:
        raise file_error(FormatError, path, f"no {CURVE_PREFIX}* column the mapping knows ({EXPECTED})")
    pose = [p for p in POSE_NAMES if p.lower() in where]
    used = {TIME_COLUMN.lower(), *(c.lower() for c in curves), *(p.lower() for p in pose)}
    ignored = [n for n in names if n.lower() not in used]

    times = table[:, 0]
    back = np.flatnonzero(np.diff(times) <= 0)
    if back.size:
        raise file_error(FormatError, path, f"line {line_of[back[0] + 1]}: {TIME_COLUMN} does not increase")
    metadata: dict[str, Any] = {"source_format": NAME}
    n = len(times)
    if fps is None:
        if n >= 2:
            fps = snap_fps((n - 1) / float(times[-1] - times[0]))
        else:
            fps = DEFAULT_FPS
            metadata["fps_assumed"] = True
    if n and times[0] != 0:
        metadata["timecode_start"] = float(times[0])

    arkit, unobservable = mapping.to_arkit(table[:, [where[c.lower()] for c in curves]], curves)
    out = np.zeros((n, N_CHANNELS), np.float32)
    out[:, :N_ARKIT] = arkit
    out[:, [N_ARKIT + POSE_NAMES.index(p) for p in pose]] = table[:, [where[p.lower()] for p in pose]]
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
