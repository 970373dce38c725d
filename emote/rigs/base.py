"""What a rig is: canonical curves in, the rig's own controls (and, with a mesh, vertices) out."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from emote.animation.channels import ARKIT_NAMES, INDEX, N_CHANNELS


@dataclass
class Rigid:
    """A rigid part moved by pose channels (an eyeball, the head).

    Attributes
    ----------
    vertices : np.ndarray [shape=(k,), int64]
        Indices of the mesh vertices the part owns.
    pivot : np.ndarray [shape=(3,), float32]
        Rotation centre in mesh units (mm).
    yaw, pitch, roll : str | None
        Names of the pose channels (radians) that rotate it, e.g. ``"LeftEyeYaw"``.
    """

    vertices: np.ndarray
    pivot: np.ndarray
    yaw: str | None = None
    pitch: str | None = None
    roll: str | None = None


@dataclass
class MeshRig:
    """A blendshape mesh driven by the canonical curves.

    Posed vertices are ``neutral + Σ_s w_s · deltas[s]`` followed by the rigid
    parts (eyes, then the whole head) rotated about their pivots.

    Attributes
    ----------
    name : str
        Rig name shown to users ("default", "rocketbox_male_adult_03", "ict-facekit").
    neutral : np.ndarray [shape=(V, 3), float32]
        Rest vertices in millimetres, +Y up, +Z towards the camera (the face looks down +Z).
    faces : np.ndarray [shape=(F, 3), int32]
        Triangles, counter-clockwise seen from outside.
    shape_names : list[str]
        The ARKit names (canonical spelling, see ``emote.animation.channels``) of the rows of ``deltas``.
    deltas : np.ndarray [shape=(S, V, 3), float32]
        Blendshape offsets at weight 1.
    colors : np.ndarray [shape=(V, 3), float32]
        Per-vertex albedo in [0, 1] (skin, eyes, teeth, mouth interior).
    eyes : list[Rigid]
        Eyeballs rotated by the eye pose channels.
    head : Rigid | None
        The whole head rotated by HeadYaw/Pitch/Roll (``vertices`` = all or the head part).
    probes : dict[str, int]
        Vertex indices for metric probes: ``upper_lip``, ``lower_lip`` (mid-sagittal
        lip midpoints) and ``mouth_left``, ``mouth_right`` (corners).
    missing : list[str]
        ARKit names this rig cannot express (reported to the user, then ignored).
    """

    name: str
    neutral: np.ndarray
    faces: np.ndarray
    shape_names: list[str]
    deltas: np.ndarray
    colors: np.ndarray
    eyes: list[Rigid] = field(default_factory=list)
    head: Rigid | None = None
    probes: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        v = self.neutral.shape[0]
        if self.neutral.shape != (v, 3):
            raise ValueError(f"neutral must be (V, 3), got {self.neutral.shape}")
        if self.deltas.shape != (len(self.shape_names), v, 3):
            raise ValueError(f"deltas must be ({len(self.shape_names)}, {v}, 3), got {self.deltas.shape}")
        unknown = set(self.shape_names) - set(ARKIT_NAMES)
        if unknown:
            raise ValueError(f"shape names not in ARKit: {sorted(unknown)}")
        self._columns = np.array([INDEX[n] for n in self.shape_names], dtype=np.int64)

    @property
    def n_vertices(self) -> int:
        return int(self.neutral.shape[0])

    def pose(self, curves: np.ndarray | torch.Tensor, *, device: str | torch.device = "cpu") -> torch.Tensor:
        """Posed vertices for every frame, in one batched call.

        Parameters
        ----------
        curves : [shape=(frames, 61)]
            Canonical curves (``FaceAnimation.curves``).

        Returns
        -------
        torch.Tensor [shape=(frames, V, 3), float32]
        """
        from emote.rigs.posing import pose_mesh

        c = torch.as_tensor(np.asarray(curves, np.float32) if not torch.is_tensor(curves) else curves)
        if c.ndim != 2 or c.shape[1] != N_CHANNELS:
            raise ValueError(f"curves must be (frames, {N_CHANNELS}), got {tuple(c.shape)}")
        return pose_mesh(self, c.to(device))
