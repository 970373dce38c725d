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

:data:`REGISTRY` lists every format emote writes (the table above, plus ``flame``
parameters and ``obj``/``ply`` frame folders, which have no reader); ``emote animate``,
``emote batch`` and this module all read it. Every module above has the same two
functions, ``write(anim, path) -> None`` and ``read(path) -> FaceAnimation`` (both may
take keyword options: ``fps=`` for the CSV readers, ``rig=`` for the mesh formats, whose
default is the default head).
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

from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from types import ModuleType
from typing import Any

from emote.animation.face_animation import FaceAnimation
from emote.errors import FormatError, file_error
from emote.export import flame_params, glb, json_format, livelink, meshseq, metahuman, npz, usd


@dataclass(frozen=True)
class Format:
    """One output format: its names, where its output goes, and its writer.

    Attributes
    ----------
    name : str
        The library's name (``write(..., format=name)``).
    option : str
        Its name in ``emote animate --format`` and in batch manifests (``csv`` for Live Link).
    output_suffix : str
        What ``emote animate``/``emote batch`` append to the output name: a file extension,
        or ``_obj``-style for a folder of files.
    needs_mesh : bool
        It poses a mesh rig (the default head unless one is given); else it holds curves only.
    description : str
        One line for ``--help``.
    module : module, optional
        A module with ``EXTENSION``, ``write(anim, path, **options)`` and
        ``read(path, **options) -> FaceAnimation``: the formats :func:`read` reads back.
    writer : callable, optional
        ``writer(anim, path, **options)`` for the formats with no reader (mesh sequences,
        FLAME parameters).
    extensions : tuple[str, ...]
        File name endings :func:`format_for_path` takes for this format.
    aliases : tuple[str, ...]
        Other names users type for it.
    """

    name: str
    option: str
    output_suffix: str
    needs_mesh: bool
    description: str
    module: ModuleType | None = None
    writer: Callable[..., Any] | None = None
    extensions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def write(self, anim: FaceAnimation, path: str | PathLike[str], **options: Any) -> None:
        """Write ``anim`` to ``path`` (atomically) with this format's writer."""
        write_fn = self.module.write if self.module is not None else self.writer
        assert write_fn is not None, self.name
        write_fn(anim, path, **options)


def _mesh_sequence(fmt: str) -> Callable[..., None]:
    def write_frames(anim: FaceAnimation, folder: str | PathLike[str], *, rig: Any = None) -> None:
        from emote.export._common import mesh_rig

        meshseq.write_sequence(anim, folder, rig=mesh_rig(rig, folder, f"{fmt.upper()} frames"), format=fmt)

    return write_frames


REGISTRY: tuple[Format, ...] = (
    Format("livelink", "csv", ".csv", False, "Live Link Face CSV (Unreal Live Link, Unity, Blender add-on)",
           module=livelink, extensions=(".csv",), aliases=("llf", "live_link")),
    Format("json", "json", ".json", False, "emote JSON (docs/json_schema.md)",
           module=json_format, extensions=(".json",)),
    Format("npz", "npz", ".npz", False, "NumPy arrays: curves (frames, 61), fps, channels, metadata",
           module=npz, extensions=(".npz",)),
    Format("metahuman", "metahuman", ".metahuman.csv", False, "MetaHuman CTRL_expressions_* curves",
           module=metahuman, extensions=(".metahuman.csv", "_metahuman.csv"), aliases=("mh",)),
    Format("glb", "glb", ".glb", True,
           "the rig's mesh with a morph-target animation (Blender, Unity, three.js)",
           module=glb, extensions=(".glb",)),
    Format("usd", "usd", ".usda", True, "UsdSkel blend-shape animation (Omniverse, Houdini, Maya)",
           module=usd, extensions=(".usda", ".usdc", ".usd")),
    Format("flame", "flame", flame_params.EXTENSION, True,
           "FLAME expression/jaw/neck/eye parameters (--rig flame --flame-model FILE)",
           writer=flame_params.write),
    Format("obj", "obj", "_obj", True, "one mesh per frame (OBJ), for research",
           writer=_mesh_sequence("obj")),
    Format("ply", "ply", "_ply", True, "one mesh per frame (PLY), for research",
           writer=_mesh_sequence("ply")),
)  # fmt: skip
"""Every format emote writes, in ``--help`` order: the one table the CLI, batch manifests and
the library read."""

_BY_NAME: dict[str, Format] = {key: f for f in REGISTRY for key in (f.name, f.option, *f.aliases)}

FORMATS: dict[str, ModuleType] = {f.name: f.module for f in REGISTRY if f.module is not None}
"""The formats :func:`read` reads back: name → module (``EXTENSION``, ``write``, ``read``)."""

ALIASES: dict[str, str] = {key: f.name for key, f in _BY_NAME.items() if key != f.name}
"""Other names (``--format`` options and aliases) → the library's name."""

# Longest ending first: "x.metahuman.csv" must not be taken for Live Link.
_SUFFIXES: tuple[tuple[str, str], ...] = tuple(
    sorted(((ext, f.name) for f in REGISTRY for ext in f.extensions), key=lambda e: -len(e[0]))
)


def get_format(format: str) -> Format:
    """The registry entry for a name, ``--format`` option or alias, in any case.

    Raises
    ------
    FormatError
        An unknown name, listing the known ones.
    """
    key = format.strip().lower()
    if key not in _BY_NAME:
        known = ", ".join(f.option for f in REGISTRY)
        raise FormatError(f"unknown format {format!r}; formats are {known}")
    return _BY_NAME[key]


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

    ``format`` is any name in :data:`REGISTRY`: ``obj``/``ply`` write a folder of frames,
    ``flame`` FLAME parameters. ``options`` go to the format's writer (``rig=`` for the
    mesh formats, whose default is the default head; FLAME needs the FLAME rig).

    Raises
    ------
    FormatError
        Unknown format or extension, or metadata the format cannot hold.
    """
    if not isinstance(anim, FaceAnimation):
        raise TypeError(f"expected a FaceAnimation, got {type(anim).__name__}")
    fmt = get_format(format) if format is not None else _BY_NAME[format_for_path(path)]
    fmt.write(anim, path, **options)


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


__all__ = [
    "ALIASES",
    "FORMATS",
    "REGISTRY",
    "Format",
    "format_for_path",
    "format_name",
    "get_format",
    "read",
    "write",
]
