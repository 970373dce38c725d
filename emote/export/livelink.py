"""Live Link Face CSV: the take format of Epic's Live Link Face iOS app.

Layout (one header line, one line per captured frame)::

    Timecode,BlendShapeCount,EyeBlinkLeft,EyeLookDownLeft,...,TongueOut,HeadYaw,...,RightEyeRoll
    00:00:00:00.000,61,0.0000000000,0.0312500000,...

The header is the app's, byte for byte (:data:`HEADER`): the 52 ARKit names in
Unreal's ``ELiveLinkFaceBlendShape`` order *except* that the app lists
``JawRight`` before ``JawLeft`` and ``MouthRight`` before ``MouthLeft``, then the
nine head/eye angles in radians. ``BlendShapeCount`` is always 61. The writer
maps channels into these columns by name; the reader maps columns back by name
(case-insensitively), so the swapped pairs, reordered or extra columns and
files from other tools all land in the right channels.

Timecode ``HH:MM:SS:FF.mmm``
    ``HH:MM:SS`` is the clock time of the frame, ``FF`` the frame number
    within that second at the timecode rate, and ``.mmm`` the sub-frame: how far
    past frame ``FF`` the sample lies, in thousandths of a frame. This is the
    app's convention: its files (e.g. ``12:27:47:47.169``, ``...:49.169``,
    ``...:51.168``, then ``12:27:48:01.167``) carry a 60 fps timecode clock with
    samples every second frame (a 30 fps take) and sub-frames that drift slowly
    because the capture clock is not locked to the timecode clock; the fraction
    is Unreal's ``FQualifiedFrameTime`` sub-frame, printed to three decimals.

    emote writes its timecodes on the app's clock so that Epic's Live Link Face
    importer places every frame where it belongs at any frame rate. That
    importer (``ULiveLinkFaceImporterFactory::InferFrameRate``, documented as
    "when recording at 30 FPS the LLF app will not output timecodes with
    fractional frame values greater than 30") reads the clock as 60 fps when any
    ``FF.mmm`` exceeds 30 and as 30 fps otherwise, and places a row at
    ``HH:MM:SS + FF.mmm / clock``. So frame ``i`` at ``t = start + i / fps`` is
    written as ``HH:MM:SS`` = ``floor(t)`` and ``FF.mmm`` = the rest of ``t`` in
    60 fps frames (``00:00:00:02.500`` is 1/24 s); a take whose frames all sit
    at ``FF.mmm ≤ 30`` on that clock (possible only under half a second) is
    written on the 30 fps clock instead, which the importer then infers. Either
    way the importer keys every frame within 0.05 ms of its time (a thousandth
    of a clock frame, then its 1/24000 s ticks), at 24, 25, 23.976, 29.97, 30,
    50 or 60 fps alike. The first frame's time is
    ``metadata["timecode_start"]`` (seconds, or a ``"HH:MM:SS:FF[.mmm]"`` string
    at the animation's rate) plus ``metadata["start_time"]`` (where a
    :meth:`~emote.animation.FaceAnimation.slice` began), each 0 when absent.
    Hours wrap at 24.

Values
    Written like the app, fixed-point with 10 decimals (``%.10f``). That reads
    back as the identical float32 for ``|v| ≥ 2**-9`` (all head/eye angles and
    all but the faintest weights) and within 5e-11 below that. A value that
    rounds to zero is written ``0.0000000000``, never ``-0.0000000000``.

Reading
    Columns are found by name; ``Timecode`` and the 52 blendshapes are
    required, missing head/eye columns read as zeros and are listed in
    ``metadata["missing_channels"]``; unknown columns are ignored (listed in
    ``metadata["ignored_columns"]``). UTF-8 with or without BOM, LF or CRLF.

    The frame rate is inferred from the timecodes: the step between rows within
    one second and the frame numbers either side of each second rollover give
    the timecode rate ``R`` (60 in the app's files) and the sample rate. The
    app's capture clock is not locked to its timecode clock, so a 60 fps take
    measures 59.905 fps: a rate within 0.3 % of ``R / k`` (60, 30, 20, 15 on a
    60 fps clock) is snapped to it, unless it is an exact NTSC rate (29.97,
    59.94, ...). Any other rate (24 or 25 fps written on the 60 fps clock, or a
    genuinely odd one) is kept as measured, snapped only to a standard rate or
    simple fraction it matches to within 2e-5. Rows are placed by
    their timecode: a row missing from the take (the app drops frames under
    load) becomes an interpolated frame, counted in ``metadata["filled_frames"]``;
    a repeated timecode keeps the later row. A take shorter than one second has
    no rollover, so ``R`` is inferred as Epic's importer does (60 if any
    ``FF.mmm`` exceeds 30, else 30): pass ``fps=`` for such takes. With
    ``fps=`` the rows are taken as consecutive frames at that rate and the
    timecodes only give the start time.

    What the CSV cannot hold is lost in a round trip: metadata other than the
    start time, and the fps of a take shorter than a second (unless given).
"""

from __future__ import annotations

import math
import re
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from emote.animation.channels import ARKIT_NAMES, CHANNELS, N_CHANNELS, POSE_NAMES
from emote.animation.face_animation import FaceAnimation
from emote.errors import FormatError, file_error
from emote.export._common import (
    STANDARD_FPS,
    check_readable,
    check_row_lengths,
    column_index,
    csv_rows,
    duplicate_columns,
    parse_numbers,
    snap_fps,
)
from emote.io.atomic import atomic_write

EXTENSION = ".csv"
NAME = "livelink"
EXPECTED = "expected Live Link Face header"

DECIMALS = 10  # the app's fixed-point precision
DEFAULT_FPS = 30.0  # the app's default capture rate, used when a take has fewer than two rows


def _app_order(names: tuple[str, ...]) -> tuple[str, ...]:
    """The app's column order: the enum order with the two Right/Left pairs swapped."""
    order = list(names)
    for right, left in (("JawRight", "JawLeft"), ("MouthRight", "MouthLeft")):
        i, j = order.index(right), order.index(left)
        order[i], order[j] = order[j], order[i]
    return tuple(order)


CHANNEL_COLUMNS: tuple[str, ...] = _app_order(ARKIT_NAMES) + POSE_NAMES
HEADER: tuple[str, ...] = ("Timecode", "BlendShapeCount", *CHANNEL_COLUMNS)
BLENDSHAPE_COUNT = len(CHANNEL_COLUMNS)  # 61, as the app writes it

_CANON_TO_COLUMN = np.array([CHANNELS.index(n) for n in CHANNEL_COLUMNS])

_TIMECODE = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2})[:;](\d{1,4})(?:\.(\d{1,6}))?\s*$")


# -- timecode ------------------------------------------------------------------
def parse_timecode(text: str) -> tuple[int, float]:
    """``"HH:MM:SS:FF.mmm"`` → (whole seconds since midnight, frame position ``FF + mmm/1000``).

    ``;`` is accepted before ``FF`` and the sub-frame is optional. The frame
    position is in units of the (unknown) timecode rate.

    Raises
    ------
    ValueError
        When ``text`` is not such a timecode.
    """
    m = _TIMECODE.match(text)
    if not m:
        raise ValueError(f"timecode {text.strip()!r} is not HH:MM:SS:FF.mmm")
    hh, mm, ss, ff = (int(g) for g in m.groups()[:4])
    if mm >= 60 or ss >= 60:
        raise ValueError(f"timecode {text.strip()!r} has minutes or seconds ≥ 60")
    sub = float("0." + m.group(5)) if m.group(5) else 0.0
    return hh * 3600 + mm * 60 + ss, ff + sub


def timecode_seconds(text: str, fps: float) -> float:
    """Seconds since midnight of a timecode whose frame numbers count at ``fps``."""
    seconds, position = parse_timecode(text)
    if position >= math.ceil(fps):
        raise ValueError(f"timecode {text.strip()!r} has frame {int(position)} ≥ {fps:g} fps")
    return seconds + position / fps


APP_CLOCK = 60  # the app's timecode rate
IMPORTER_60_ABOVE = 30.0  # Epic's importer reads the clock as 60 fps once some FF.mmm exceeds this


def clock_rate(n_frames: int, fps: float, *, start: float = 0.0) -> int:
    """Timecode rate emote writes a take on: the app's 60, or 30 when Epic's importer would infer 30.

    Epic's importer infers 60 fps only from a frame position above 30; a take
    whose frames all sit at or below that on the 60 fps clock is written on the
    30 fps clock, so the importer's inference and the written clock agree.
    """
    t = start + np.arange(n_frames, dtype=np.float64) / fps
    positions = np.rint((t - np.floor(t)) * APP_CLOCK * 1000.0) / 1000.0
    return APP_CLOCK if n_frames and float(positions.max()) > IMPORTER_60_ABOVE else APP_CLOCK // 2


def format_timecodes(n_frames: int, fps: float, *, start: float = 0.0, rate: int | None = None) -> list[str]:
    """Timecodes ``HH:MM:SS:FF.mmm`` of frames ``0 .. n_frames-1`` at ``fps``.

    Frame ``i`` is at ``start + i / fps`` seconds: ``HH:MM:SS`` its whole
    seconds, ``FF.mmm`` the rest in frames of the timecode clock ``rate``
    (default :func:`clock_rate`: the app's 60 fps clock, or 30 for a take
    Epic's importer would read at 30); see the module docstring.

    Examples
    --------
    >>> format_timecodes(3, 24, start=0.5)
    ['00:00:00:30.000', '00:00:00:32.500', '00:00:00:35.000']
    >>> format_timecodes(2, 30, start=59.0 + 29 / 30)
    ['00:00:59:58.000', '00:01:00:00.000']
    >>> format_timecodes(2, 29.97, start=1.0 - 0.5 / 29.97)
    ['00:00:00:58.999', '00:00:01:01.001']
    >>> format_timecodes(2, 24)  # a short take: on the 30 fps clock
    ['00:00:00:00.000', '00:00:00:01.250']
    """
    if rate is None:
        rate = clock_rate(n_frames, fps, start=start)
    t = start + np.arange(n_frames, dtype=np.float64) / fps
    sec = np.floor(t)
    thousandths = np.rint((t - sec) * rate * 1000.0).astype(np.int64)
    # Float error can put a frame a hair before its second boundary: carry it over.
    carry = thousandths >= rate * 1000
    sec = sec.astype(np.int64) + carry
    thousandths[carry] = 0
    frame, sub = np.divmod(thousandths, 1000)
    hh, rem = np.divmod(sec % 86400, 3600)
    mm, ss = np.divmod(rem, 60)
    return [
        f"{h:02d}:{m:02d}:{s:02d}:{f:02d}.{u:03d}"
        for h, m, s, f, u in zip(
            hh.tolist(), mm.tolist(), ss.tolist(), frame.tolist(), sub.tolist(), strict=True
        )
    ]


def _assumed_rate(positions: np.ndarray) -> float:
    """Timecode rate of a take with no second rollover: 30 or 60 as Epic's importer infers it, else what fits."""
    top = float(positions.max()) if positions.size else 0.0
    if top <= IMPORTER_60_ABOVE:
        return 30.0
    for rate in (60.0, 120.0, 240.0):
        if top < rate:
            return rate
    return float(math.floor(top) + 1)


CLOCK_SNAP = 3e-3  # relative: a capture clock drifting against the timecode clock (59.905 for 60)


def snap_to_clock(measured: float, rate: float) -> float:
    """The sample rate a measured one stands for, given the take's timecode rate.

    An exact NTSC or standard rate (within 2e-5) is kept; a rate within
    :data:`CLOCK_SNAP` of ``rate / k`` (a capture clock that drifts against the
    timecode clock, 59.905 → 60) is snapped to it; anything else is kept as
    measured (:func:`~emote.export._common.snap_fps`).

    >>> snap_to_clock(59.905, 60.0), snap_to_clock(29.970, 60.0), snap_to_clock(24.0, 60.0)
    (60.0, 29.97, 24.0)
    """
    nearest = min(STANDARD_FPS, key=lambda r: abs(r - measured))
    if abs(nearest - measured) <= 2e-5 * nearest:
        return nearest  # a standard rate (29.97 included), measured exactly
    for k in range(1, 9):
        if abs(measured - rate / k) <= CLOCK_SNAP * rate / k:
            return float(rate / k)
    return snap_fps(measured)


def _inliers(values: np.ndarray, centre: float, spread: float) -> np.ndarray:
    return values[np.abs(values - centre) <= spread]


def infer_rates(seconds: np.ndarray, positions: np.ndarray) -> tuple[float, float, bool]:
    """Timecode rate and sample rate of a take from its parsed timecodes.

    Parameters
    ----------
    seconds : np.ndarray [shape=(rows,), int]
        Whole seconds of each row (already unwrapped past midnight).
    positions : np.ndarray [shape=(rows,)]
        Frame position within the second, ``FF + sub-frame``.

    Returns
    -------
    timecode_rate : float
        Frames per second of the timecode clock (``FF`` counts ``0 .. R-1``).
    fps : float
        Samples per second, snapped to a standard rate.
    measured : bool
        False when the rates were assumed (fewer than two rows, or no rollover).
    """
    n = len(seconds)
    if n < 2:
        return _assumed_rate(positions), DEFAULT_FPS, False
    same = seconds[1:] == seconds[:-1]
    dx = np.diff(positions)
    within = dx[same & (dx > 0)]
    rollover = seconds[1:] == seconds[:-1] + 1
    measured = False
    if within.size:
        step0 = float(np.median(within))
        step = float(np.mean(_inliers(within, step0, 0.25 * step0)))
        if rollover.any():
            # Across a rollover the position drops by R - step: R = step + x_before - x_after.
            rates = step + positions[:-1][rollover] - positions[1:][rollover]
            rate0 = float(np.median(rates))
            rate = float(np.mean(_inliers(rates, rate0, 0.25 * step)))
            rate = snap_fps(rate, tolerance=2e-4) if rate > 0 else _assumed_rate(positions)
            measured = rate > positions.max()
            if not measured:  # frame numbers beyond the estimate: not a consistent clock
                rate = _assumed_rate(positions)
        else:
            rate = _assumed_rate(positions)
    else:
        rate = _assumed_rate(positions)
    t = seconds + positions / rate
    dt = np.diff(t)
    dt = dt[dt > 0]
    if not dt.size:
        return rate, DEFAULT_FPS, False
    d0 = float(np.median(dt))
    k = np.rint(dt / d0)
    ok = k >= 1
    fps = float(k[ok].sum() / dt[ok].sum())
    return rate, (snap_to_clock(fps, rate) if measured else snap_fps(fps)), measured


# -- write -----------------------------------------------------------------------
def _origin(anim: FaceAnimation, path: Path) -> float:
    """Seconds of frame 0 on the timecode clock, from the metadata."""
    start = anim.metadata.get("timecode_start", 0.0)
    if isinstance(start, str):
        try:
            origin = timecode_seconds(start, anim.fps)
        except ValueError as e:
            raise file_error(FormatError, path, f"metadata timecode_start: {e}") from None
    elif isinstance(start, (int, float)) and not isinstance(start, bool):
        origin = float(start)
    else:
        raise file_error(FormatError, path, f"metadata timecode_start {start!r} is not seconds or a timecode")
    offset = anim.metadata.get("start_time", 0.0)
    if not isinstance(offset, (int, float)) or isinstance(offset, bool):
        raise file_error(FormatError, path, f"metadata start_time {offset!r} is not a number of seconds")
    origin += float(offset)
    if not (math.isfinite(origin) and origin >= 0):
        raise file_error(FormatError, path, f"start of timecode {origin!r} s is not a time ≥ 0")
    return origin


def write(anim: FaceAnimation, path: str | PathLike[str]) -> None:
    """Write ``anim`` as a Live Link Face CSV take (atomically).

    Parameters
    ----------
    anim : FaceAnimation
        ``curves: (frames, 61) float32``; values are written as they are.
    path : str or PathLike
        Destination, conventionally ``*.csv``.
    """
    path = Path(path)
    timecodes = format_timecodes(anim.n_frames, anim.fps, start=_origin(anim, path))
    # Rounded first, then + 0.0: a value that prints as zero is written without a minus sign.
    values = np.round(anim.curves[:, _CANON_TO_COLUMN].astype(np.float64), DECIMALS) + 0.0
    row = f"%s,{BLENDSHAPE_COUNT}," + ",".join([f"%.{DECIMALS}f"] * BLENDSHAPE_COUNT) + "\n"
    with atomic_write(path, "w", newline="") as f:
        f.write(",".join(HEADER) + "\n")
        chunk = 2048
        for i in range(0, anim.n_frames, chunk):
            rows = values[i : i + chunk].tolist()
            f.write("".join(row % (tc, *r) for tc, r in zip(timecodes[i : i + chunk], rows, strict=True)))


# -- read ------------------------------------------------------------------------
def _header_columns(path: Path, header: list[str]) -> tuple[int, list[int], list[str], list[str]]:
    """Timecode column, column of each canonical channel (-1: missing), missing and ignored names."""
    dups = duplicate_columns(header)
    if dups:
        raise file_error(FormatError, path, f"column {dups[0]!r} appears more than once ({EXPECTED})")
    where = column_index(header)
    if "timecode" not in where:
        raise file_error(FormatError, path, f"column 'Timecode' missing ({EXPECTED})")
    columns: list[int] = []
    missing: list[str] = []
    for name in CHANNELS:
        i = where.get(name.lower(), -1)
        if i < 0:
            if name in ARKIT_NAMES:
                raise file_error(FormatError, path, f"column {name!r} missing ({EXPECTED})")
            missing.append(name)
        columns.append(i)
    known = {"timecode", "blendshapecount"} | {n.lower() for n in CHANNELS}
    ignored = [h.strip() for h in header if h.strip() and h.strip().lower() not in known]
    return where["timecode"], columns, missing, ignored


def _parse_times(path: Path, rows: list[tuple[int, list[str]]], col: int) -> tuple[np.ndarray, np.ndarray]:
    seconds = np.empty(len(rows), np.int64)
    positions = np.empty(len(rows), np.float64)
    for k, (line, row) in enumerate(rows):
        try:
            seconds[k], positions[k] = parse_timecode(row[col])
        except ValueError as e:
            raise file_error(FormatError, path, f"line {line}: {e}") from None
    # A take that runs past midnight restarts at 00:00:00.
    back = np.diff(seconds) < -43200
    if back.any():
        seconds[1:] += 86400 * np.cumsum(back)
    return seconds, positions


def _place_rows(
    path: Path,
    rows: list[tuple[int, list[str]]],
    seconds: np.ndarray,
    positions: np.ndarray,
    rate: float,
    fps: float,
) -> np.ndarray:
    """Frame index of each row from its timecode: gaps where rows are missing, ties for repeats."""
    t = seconds + positions / rate
    dt = np.diff(t)
    bad = np.flatnonzero(dt < -0.5 / fps)
    if bad.size:
        line = rows[bad[0] + 1][0]
        raise file_error(FormatError, path, f"line {line}: timecode goes back in time")
    # Local steps, not t * fps: the capture clock drifts against the timecode clock,
    # and rounding absolute times would then skip or repeat a frame every few minutes.
    steps = np.maximum(np.rint(dt * fps), 0).astype(np.int64)
    return np.concatenate([[0], np.cumsum(steps)])


def _fill(frames: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values at frames ``0 .. frames[-1]``: rows at their frames, gaps interpolated linearly."""
    n = int(frames[-1]) + 1
    # Repeated frame numbers: the later row wins (np.unique keeps the first, so reverse).
    rev_frames = frames[::-1]
    uniq, first_in_rev = np.unique(rev_frames, return_index=True)
    keep = len(frames) - 1 - first_in_rev
    if len(uniq) == n:
        return values[keep]
    grid = np.arange(n)
    out = np.empty((n, values.shape[1]), np.float64)
    for c in range(values.shape[1]):
        out[:, c] = np.interp(grid, uniq, values[keep, c])
    return out


def read(path: str | PathLike[str], *, fps: float | None = None) -> FaceAnimation:
    """Read a Live Link Face CSV take into a FaceAnimation.

    Parameters
    ----------
    path : str or PathLike
        The take.
    fps : float, optional
        Frame rate of the rows. Given, rows are consecutive frames at this rate;
        omitted, it is inferred from the timecodes (module docstring).

    Returns
    -------
    FaceAnimation
        ``curves: (frames, 61) float32``; metadata ``source_format``,
        ``timecode_start`` (s) and, where they apply, ``timecode_rate``,
        ``fps_assumed``, ``filled_frames``, ``repeated_rows``,
        ``missing_channels``, ``ignored_columns``.

    Raises
    ------
    FormatError
        "take.csv: column 'JawOpen' missing (expected Live Link Face header)",
        "take.csv: line 17: expected 63 fields, got 40", and the like.
    """
    path = check_readable(path)
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    rows = list(csv_rows(path, "Live Link Face CSV"))
    if not rows:
        raise file_error(FormatError, path, f"empty file ({EXPECTED})")
    (_, header), rows = rows[0], rows[1:]
    tc_col, columns, missing, ignored = _header_columns(path, header)
    check_row_lengths(path, rows, len(header))

    present = [c for c in columns if c >= 0]
    names = [CHANNELS[k] for k, c in enumerate(columns) if c >= 0]
    values = parse_numbers(path, rows, present, names)
    seconds, positions = _parse_times(path, rows, tc_col)

    metadata: dict[str, Any] = {"source_format": NAME}
    rate, inferred_fps, measured = infer_rates(seconds, positions)
    if rows:
        metadata["timecode_start"] = float(seconds[0] + positions[0] / rate)
        metadata["timecode_rate"] = rate
    if fps is None:
        fps = inferred_fps
        if not measured:
            metadata["fps_assumed"] = True
        if len(rows) > 1:
            frames = _place_rows(path, rows, seconds, positions, rate, fps)
            filled = int(frames[-1]) + 1 - len(np.unique(frames))
            repeated = len(frames) - len(np.unique(frames))
            if repeated * 2 > len(frames):  # collapsing them would silently lose most of the take
                raise file_error(
                    FormatError, path, f"{repeated} of {len(frames)} rows repeat an earlier timecode "
                    "(the timecodes do not advance); read the rows as frames at a given rate "
                    "(fps=, emote convert --rows-fps)",
                )  # fmt: skip
            values = _fill(frames, values)
            if filled:
                metadata["filled_frames"] = filled
            if repeated:
                metadata["repeated_rows"] = repeated
    if missing:
        metadata["missing_channels"] = missing
    if ignored:
        metadata["ignored_columns"] = ignored

    curves = np.zeros((values.shape[0], N_CHANNELS), np.float32)
    curves[:, [k for k, c in enumerate(columns) if c >= 0]] = values
    try:
        return FaceAnimation(fps, curves, metadata)
    except ValueError as e:  # values beyond float32
        raise file_error(FormatError, path, str(e)) from None


__all__ = [
    "APP_CLOCK",
    "BLENDSHAPE_COUNT",
    "CHANNEL_COLUMNS",
    "DECIMALS",
    "EXTENSION",
    "HEADER",
    "clock_rate",
    "format_timecodes",
    "infer_rates",
    "parse_timecode",
    "read",
    "snap_to_clock",
    "timecode_seconds",
    "write",
]
