"""Animation files: one module per format, each with ``EXTENSION``, ``write`` and ``read``.

==============  ====================  ==============================================
format          extension             module
==============  ====================  ==============================================
``livelink``    ``.csv``              :mod:`emote.export.livelink` (Live Link Face take)
``json``        ``.json``             :mod:`emote.export.json_format` (emote JSON)
``npz``         ``.npz``              :mod:`emote.export.npz` (NumPy archive)
``metahuman``   ``.metahuman.csv``    :mod:`emote.export.metahuman` (CTRL_expressions curves)
``glb``         ``.glb``              :mod:`emote.export.glb` (mesh + morph-target animation)
``usd``         ``.usd`` ``.usda``    :mod:`emote.export.usd` (UsdSkel blend-shape animation)
==============  ====================  ==============================================

Every module has the same two functions, ``write(anim, path) -> None`` and
``read(path) -> FaceAnimation`` (both may take keyword options: ``fps=`` for the
CSV readers, ``rig=`` for the mesh formats, whose default is the default head).
Writes are atomic (:mod:`emote.io.atomic`). ``_metahuman.csv`` also means
MetaHuman, and a ``.csv`` whose header names ``CTRL_expressions_*`` curves is
read as MetaHuman.

Examples
--------
>>> from emote.export import write, read, format_for_path
>>> format_for_path("take.csv"), format_for_path("take.metahuman.csv")
('livelink', 'metahuman')
>>> write(anim, "out/line.json")          # doctest: +SKIP
>>> read("out/line.json") == anim         # doctest: +SKIP
True
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from types import ModuleType
from typing import Any

from emote.animation.face_animation import FaceAnimation
from emote.errors import FormatError, file_error
from emote.export import glb, json_format, livelink, metahuman, npz, usd

FORMATS: dict[str, ModuleType] = {
    "livelink": livelink,
    "json": json_format,
    "npz": npz,
    "metahuman": metahuman,
    "glb": glb,
    "usd": usd,
}

# Other names users (and the CLI's --format) use for the same formats.
ALIASES: dict[str, str] = {"csv": "livelink", "llf": "livelink", "live_link": "livelink", "mh": "metahuman"}

# Longest suffix first: "x.metahuman.csv" must not be taken for Live Link.
_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".metahuman.csv", "metahuman"),
    ("_metahuman.csv", "metahuman"),
    (".csv", "livelink"),
    (".json", "json"),
    (".npz", "npz"),
    (".glb", "glb"),
    (".usda", "usd"),
    (".usdc", "usd"),
    (".usd", "usd"),
)


def _known() -> str:
    return ", ".join(f"{name} ({FORMATS[name].EXTENSION})" for name in FORMATS)


def format_name(format: str) -> str:
    """The canonical format name for ``format`` or an alias ("csv" → "livelink")."""
    key = format.strip().lower()
    key = ALIASES.get(key, key)
    if key not in FORMATS:
        raise FormatError(f"unknown format {format!r}; formats are {_known()}")
    return key


def format_for_path(path: str | PathLike[str]) -> str:
    """The format a file name implies by its extension.

    Raises
    ------
    FormatError
        For an extension no format uses, naming the file and the formats.
    """
    name = Path(path).name.lower()
    for suffix, fmt in _SUFFIXES:
        if name.endswith(suffix):
            return fmt
    ext = Path(path).suffix or "(none)"
    raise file_error(FormatError, path, f"unknown animation file extension {ext}; formats are {_known()}")


def _sniff_csv(path: Path) -> str:
    """A .csv whose header (or, CurveTable layout, second row) names a CTRL_expressions_ curve is MetaHuman."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            head = f.readline(1 << 16) + f.readline(1 << 16)
    except OSError:
        return "livelink"  # the reader reports the problem
    return "metahuman" if metahuman.CURVE_PREFIX.lower() in head.lower() else "livelink"


def write(
    anim: FaceAnimation, path: str | PathLike[str], *, format: str | None = None, **options: Any
) -> None:
    """Write ``anim`` to ``path`` atomically, the format chosen by extension unless given.

    ``options`` go to the format's writer (``rig=`` for GLB and USD).

    Raises
    ------
    FormatError
        Unknown format or extension, or metadata the format cannot hold.
    """
    if not isinstance(anim, FaceAnimation):
        raise TypeError(f"expected a FaceAnimation, got {type(anim).__name__}")
    fmt = format_name(format) if format is not None else format_for_path(path)
    FORMATS[fmt].write(anim, path, **options)


def read(path: str | PathLike[str], *, format: str | None = None, **options: Any) -> FaceAnimation:
    """Read an animation file, the format chosen by extension unless given.

    ``options`` go to the format's reader (``fps=`` for the CSV formats).

    Raises
    ------
    FormatError
        Unknown format or extension, or a file the reader cannot make sense of.
    """
    if format is not None:
        fmt = format_name(format)
    else:
        fmt = format_for_path(path)
        if fmt == "livelink":
            fmt = _sniff_csv(Path(path))
    return FORMATS[fmt].read(path, **options)


__all__ = ["ALIASES", "FORMATS", "format_for_path", "format_name", "read", "write"]
