"""Lip gap and mouth width measured on a posed mesh, in millimetres (DESIGN.md, "How quality is measured").

The curve proxies of :mod:`emote.eval.metrics` (``lip_gap_proxy``) are a linear
formula that is also a training loss of the neural engine (``LossWeights.gap``),
so a network can score well on them without moving a real mouth. A mesh judge
poses a rig the network never saw and measures the lips' own vertices:

- the **lip midpoints** are the rig's ``upper_lip`` / ``lower_lip`` probes
  (:attr:`emote.rigs.base.MeshRig.probes`): on the default head they are the
  mid-sagittal vertices of its lip rings (``emote.rigs.default_head.build``);
  on any other mesh (ICT-FaceKit, glTF heads, FLAME) they are found from the
  geometry by :func:`emote.rigs.mesh_tools.find_probes` — the pair of vertices
  near the mid-sagittal plane that ``JawOpen`` separates most, the most forward
  such pair (lips, not teeth), closest at rest;
- the **gap** is the height of the upper midpoint over the lower one along the
  head's up axis, clipped at 0 (:func:`emote.rigs.posing.lip_gap_mm`): lips that
  meet or press into each other read 0;
- posing follows :func:`emote.rigs.posing.pose_mesh` exactly (weights clamped to
  [0, 1], ``neutral + w @ deltas``) but only for the probe vertices, so a
  minute of animation is measured in milliseconds; the head and eye rotations
  do not change a distance measured in the head's own frame and are left out.

Use as ``gap_fn`` / ``width_fn`` of :func:`emote.eval.evaluate`::

    judge = MeshJudge(load_rig("ict-facekit"))
    evaluate(curves, fps, phones, gap_fn=judge.lip_gap, width_fn=judge.mouth_width)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from emote.animation.channels import INDEX, N_CHANNELS

__all__ = ["MeshJudge"]


class BlendshapeMesh(Protocol):
    """What the judge reads of a rig (:class:`emote.rigs.base.MeshRig` has it; ``eval`` sits below ``rigs``)."""

    name: str
    neutral: np.ndarray
    deltas: np.ndarray
    shape_names: Sequence[str]
    probes: Mapping[str, int]


PROBES = ("upper_lip", "lower_lip", "mouth_left", "mouth_right")


class MeshJudge:
    """Lip gap and mouth width (mm) of canonical curves on one rig's mesh."""

    def __init__(self, rig: BlendshapeMesh) -> None:
        missing = [p for p in PROBES if p not in rig.probes]
        if missing:
            raise ValueError(
                f"rig {rig.name!r} has no {', '.join(missing)} probe(s); probes: {sorted(rig.probes)}"
            )
        self.rig_name = rig.name
        idx = np.array([rig.probes[p] for p in PROBES], np.int64)
        self._columns = np.array([INDEX[n] for n in rig.shape_names], np.int64)
        self._neutral = rig.neutral[idx].astype(np.float64)  # (4, 3)
        self._deltas = rig.deltas[:, idx].astype(np.float64).reshape(len(rig.shape_names), -1)  # (S, 12)

    def probes(self, curves: np.ndarray) -> np.ndarray:
        """Posed probe vertices (frames, 4, 3) in :data:`PROBES` order, mm."""
        c = np.asarray(curves, np.float64)
        if c.ndim != 2 or c.shape[1] != N_CHANNELS:
            raise ValueError(f"curves must be (frames, {N_CHANNELS}), got {c.shape}")
        w = np.clip(c[:, self._columns], 0.0, 1.0)
        return self._neutral[None] + (w @ self._deltas).reshape(-1, len(PROBES), 3)

    def lip_gap(self, curves: np.ndarray) -> np.ndarray:
        """Upper-lip midpoint height over the lower one (frames,), mm, clipped at 0."""
        p = self.probes(curves)
        return np.maximum(p[:, 0, 1] - p[:, 1, 1], 0.0)

    def mouth_width(self, curves: np.ndarray) -> np.ndarray:
        """Distance between the mouth corners (frames,), mm."""
        p = self.probes(curves)
        return np.linalg.norm(p[:, 2] - p[:, 3], axis=-1)
