"""Rigs: canonical curves in, a rig's own controls (and, with a mesh, posed vertices) out.

``load_rig("default" | "ict-facekit" | "metahuman" | "arkit" | "flame" | "head.glb" | DIR)``
is the one entry point; see :mod:`emote.rigs.registry`.

Names load lazily: ``emote.rigs.names`` (pure Python) must import where torch does not exist
(inside Blender, for the add-on), so this package imports nothing until asked.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MeshRig": "emote.rigs.base",
    "Rigid": "emote.rigs.base",
    "CurveRig": "emote.rigs.registry",
    "fetch_rig": "emote.rigs.registry",
    "load_rig": "emote.rigs.registry",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'emote.rigs' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
