"""Rigs: canonical curves in, a rig's own controls (and, with a mesh, posed vertices) out.

``load_rig("default" | "ict-facekit" | "metahuman" | "arkit" | "flame" | "head.glb" | DIR)``
is the one entry point; see :mod:`emote.rigs.registry`.
"""

from emote.rigs.base import MeshRig, Rigid
from emote.rigs.registry import CurveRig, fetch_rig, load_rig

__all__ = ["CurveRig", "MeshRig", "Rigid", "fetch_rig", "load_rig"]
