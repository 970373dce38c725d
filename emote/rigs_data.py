"""Where the declarative rig data (the repository's top-level ``rigs/`` folder) lives.

From a source checkout (or an editable install) that is ``<repo>/rigs``. A
built wheel carries the same files inside the package as ``emote/_rigs/``
(``setup.py``'s ``build_py`` copies them; ``MANIFEST.in`` puts ``rigs/`` in the
sdist). Code never hard-codes either location: it asks :func:`rig_file`.
"""

from __future__ import annotations

from pathlib import Path

from emote.errors import RigError

_PACKAGE = Path(__file__).resolve().parent
_CANDIDATES = (_PACKAGE / "_rigs", _PACKAGE.parent / "rigs")


def rigs_dir() -> Path:
    """The folder holding the rig definitions (installed copy first, then the source tree)."""
    for folder in _CANDIDATES:
        if folder.is_dir():
            return folder
    raise RigError(
        f"rig data not found (looked in {', '.join(str(c) for c in _CANDIDATES)}); reinstall emote"
    )


def rig_file(*parts: str) -> Path:
    """Path of one rig data file, e.g. ``rig_file("metahuman", "arkit_to_metahuman.json")``."""
    path = rigs_dir().joinpath(*parts)
    if not path.is_file():
        raise RigError(f"{path}: rig data file missing; reinstall emote")
    return path


__all__ = ["rig_file", "rigs_dir"]
