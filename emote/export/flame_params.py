"""FLAME parameter files: per-frame expression, jaw, neck and eye poses (EMOTE's layout).

Written for users who own a FLAME model (``--rig flame --flame-model generic_model.pkl``):
an ``.npz`` with float32 arrays ``expression (frames, 50|100)``, ``jaw_pose (frames, 3)``,
``neck_pose (frames, 3)``, ``global_pose (frames, 3)``, ``eye_pose (frames, 6)``, ``eyelids
(frames, 2)`` when the model has them (axis-angle in radians, smplx's order), plus ``fps``.
These are the inputs of FLAME's forward pass, as EMOTE (Danecek et al. 2023) saves them.
"""

from __future__ import annotations

from os import PathLike
from typing import Any

import numpy as np

from emote.animation.face_animation import FaceAnimation
from emote.errors import RigError
from emote.io.atomic import atomic_write

EXTENSION = ".flame.npz"


def write(anim: FaceAnimation, path: str | PathLike[str], *, rig: Any) -> None:
    """Write ``rig.flame_params(anim.curves)`` and the frame rate to ``path`` atomically."""
    if not hasattr(rig, "flame_params"):
        raise RigError(f"{path}: FLAME parameters need the FLAME rig (--rig flame --flame-model FILE)")
    params = rig.flame_params(anim.curves)
    with atomic_write(path, "wb") as f:
        np.savez(f, fps=np.float64(anim.fps), **params)


def read(path: str | PathLike[str]) -> dict[str, np.ndarray]:
    """The arrays of a FLAME parameter file (not a FaceAnimation: FLAME → ARKit is not unique)."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
