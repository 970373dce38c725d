"""Helpers shared by the format modules: number text, frame-rate snapping, CSV reading."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from fractions import Fraction
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from emote.animation.channels import CHANNELS
from emote.errors import FormatError, file_error

# Rates people shoot and animate at; an inferred rate this close to one of them is that rate.
# The NTSC rates are kept as the decimals users type (29.97, not 30000/1001).
STANDARD_FPS: tuple[float, ...] = (
    23.976, 24.0, 25.0, 29.97, 30.0, 47.952, 48.0, 50.0, 59.94, 60.0,
    72.0, 90.0, 100.0, 119.88, 120.0, 144.0, 240.0,
)  # fmt: skip

# Channel names looked up case-insensitively ("jawOpen", "JAWOPEN" → "JawOpen").
CHANNEL_BY_LOWER: dict[str, str] = {name.lower(): name for name in CHANNELS}


def float32_text(values: np.ndarray) -> np.ndarray:
    """Shortest decimal text that reads back as the same float32, elementwise.

    ``values`` of any shape is cast to float32; the result is a same-shaped array
    of ``str`` ("0.1", "1e-08", "-0.0"), each a valid JSON and CSV number.
    """
    return np.asarray(values, dtype=np.float32).astype(str)


def snap_fps(estimate: float, *, tolerance: float = 5e-4, fraction_tolerance: float = 2e-5) -> float:
    """The frame rate an estimate measured from a file most likely stands for.

    A standard rate (:data:`STANDARD_FPS`) within ``tolerance`` (relative) wins;
    29.97 and 30 are 1e-3 apart, so the default keeps them distinct. Otherwise
    the simplest fraction p/q (q ≤ 1000) within ``fraction_tolerance`` is taken
    (37.5, 100/3), and failing that the estimate rounded to 6 decimals.
    """
    if not (math.isfinite(estimate) and estimate > 0):
        raise ValueError(f"cannot snap frame rate {estimate!r}")
    nearest = min(STANDARD_FPS, key=lambda r: abs(r - estimate))
    if abs(nearest - estimate) <= tolerance * nearest:
        return nearest
    for q in range(1, 1001):
        p = round(estimate * q)
        if p > 0 and abs(p / q - estimate) <= fraction_tolerance * estimate:
            return float(Fraction(p, q))
    return round(estimate, 6)


def check_readable(path: str | PathLike[str]) -> Path:
    """``path`` as a Path, or a FormatError when it is missing or a folder."""
    p = Path(path)
    if p.is_dir():
        raise file_error(FormatError, p, "is a directory, expected an animation file")
    if not p.exists():
        raise file_error(FormatError, p, "no such file")
    return p


def csv_rows(path: Path, expected: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows of a CSV file with their 1-based line numbers.

    Tolerates a UTF-8 byte-order mark and CRLF line ends. ``expected`` names the
    format for error messages ("Live Link Face CSV").
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            try:
                for row in reader:
                    if any(cell.strip() for cell in row):
                        yield reader.line_num, row
            except csv.Error as e:
                raise file_error(FormatError, path, f"line {reader.line_num}: {e}") from None
    except UnicodeDecodeError:
        raise file_error(FormatError, path, f"not a UTF-8 text file (expected {expected})") from None
    except OSError as e:
        raise file_error(FormatError, path, f"cannot be read: {e.strerror or e}") from None


def column_index(header: list[str]) -> dict[str, int]:
    """Lower-cased, stripped column name → position; empty names (trailing commas) skipped."""
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        key = name.strip().lower()
        if key and key not in index:
            index[key] = i
    return index


def duplicate_columns(header: list[str]) -> list[str]:
    """Column names that occur more than once (case-insensitively)."""
    seen: set[str] = set()
    dups: list[str] = []
    for name in header:
        key = name.strip().lower()
        if key and key in seen and name.strip() not in dups:
            dups.append(name.strip())
        seen.add(key)
    return dups


def parse_numbers(
    path: Path,
    rows: list[tuple[int, list[str]]],
    columns: list[int],
    names: list[str],
) -> np.ndarray:
    """Cells ``columns`` of ``rows`` as a (rows, len(columns)) float64 array of finite numbers.

    Raises a FormatError naming the line and column of the first bad cell.
    """
    if not rows:
        return np.zeros((0, len(columns)), np.float64)
    table = [[row[c] for c in columns] for _, row in rows]
    try:
        values = np.array(table, dtype=np.float64)
    except ValueError:
        values = None
    if values is not None and np.isfinite(values).all():
        return values
    for (line, _), cells in zip(rows, table, strict=True):
        for name, cell in zip(names, cells, strict=True):
            try:
                v = float(cell)
            except ValueError:
                raise file_error(
                    FormatError, path, f"line {line}: column {name!r}: {cell.strip()!r} is not a number"
                ) from None
            if not math.isfinite(v):
                raise file_error(
                    FormatError, path, f"line {line}: column {name!r}: {cell.strip()} is not finite"
                )
    raise file_error(FormatError, path, "unreadable numbers")  # pragma: no cover - loop above finds it


def check_row_lengths(path: Path, rows: list[tuple[int, list[str]]], n_header: int) -> None:
    """Every row has the header's field count (empty trailing extras allowed)."""
    for line, row in rows:
        if len(row) < n_header or (len(row) > n_header and any(c.strip() for c in row[n_header:])):
            raise file_error(FormatError, path, f"line {line}: expected {n_header} fields, got {len(row)}")


def channel_columns(path: Path, names: Any, what: str) -> tuple[list[int], list[str]]:
    """Canonical column of each stored channel name, and the canonical channels not stored."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise file_error(FormatError, path, f"{what} must be a list of channel names")
    columns: list[int] = []
    for n in names:
        canonical = CHANNEL_BY_LOWER.get(n.strip().lower())
        if canonical is None:
            raise file_error(FormatError, path, f"unknown channel {n!r} in {what}")
        col = CHANNELS.index(canonical)
        if col in columns:
            raise file_error(FormatError, path, f"channel {canonical!r} appears more than once in {what}")
        columns.append(col)
    stored = set(columns)
    missing = [c for i, c in enumerate(CHANNELS) if i not in stored]
    return columns, missing


def check_fps(path: Path, fps: Any) -> float:
    """A stored frame rate as float, or a FormatError."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not (math.isfinite(fps) and fps > 0):
        raise file_error(FormatError, path, f"fps {fps!r} is not a positive number")
    return float(fps)


def mesh_rig(rig: Any, path: str | PathLike[str], what: str) -> Any:
    """The mesh rig a mesh format (GLB, USD) writes: ``rig``, or the default head when None.

    Raises
    ------
    FormatError
        ``rig`` has no mesh (MetaHuman, ARKit curves).
    """
    if rig is None:
        from emote.rigs.registry import load_rig

        rig = load_rig("default")
    if not hasattr(rig, "neutral"):
        raise file_error(
            FormatError, path, f"rig {getattr(rig, 'name', rig)!r} has no mesh; {what} needs a mesh rig"
        )
    return rig


WEIGHT_SLACK = 1.0
"""How far outside [0, 1] a stored blendshape weight may stray and still be read as noise
(a solver's overshoot, -0.02 from a capture): clipped with a warning. Beyond it the file is
not holding weights (1e30, a percentage, another layout) and is refused."""


def checked_weights(anim: Any, path: str | PathLike[str], *, action: str) -> Any:
    """``anim`` with its blendshape weights in [0, 1] (the documented range), or a FormatError.

    Weights within :data:`WEIGHT_SLACK` of the range are clipped and the decision logged
    (``action`` says where: "read", "written"); farther ones are refused, naming the
    channel and frame, so 1e30 or -5 never pass silently into another file.
    """
    import logging

    from emote.animation.channels import N_ARKIT

    weights = anim.curves[:, :N_ARKIT]
    if weights.size == 0:
        return anim
    low, high = float(weights.min()), float(weights.max())
    if low >= 0.0 and high <= 1.0:
        return anim
    far = np.argwhere((weights < -WEIGHT_SLACK) | (weights > 1.0 + WEIGHT_SLACK))
    if far.size:
        frame, channel = (int(v) for v in far[0])
        raise file_error(
            FormatError,
            path,
            f"blendshape weight {float(weights[frame, channel]):.6g} ({CHANNELS[channel]}, frame {frame}) "
            "is far outside the range [0, 1]",
        )
    outside = int(np.count_nonzero((weights < 0.0) | (weights > 1.0)))
    logging.getLogger("emote").warning(
        "%s: %d blendshape weight(s) outside [0, 1] (from %.4g to %.4g) clipped when %s",
        path, outside, low, high, action,
    )  # fmt: skip
    return anim.clamped()
