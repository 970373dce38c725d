"""What is drawn, independent of how: settings, camera, lights, scene, and the frames type.

Conventions shared by every backend (world = the rig's space):

- millimetres, +Y up, the face looks down +Z, so the default camera sits on +Z;
- the camera is a right-handed OpenGL look-at camera (view space looks down -Z), with a
  perspective field of view measured across the *shorter* image side (PyTorch3D's rule);
- shading is Phong with directional lights given in world space (pointing from the surface
  towards the light), lit from both sides (a normal facing away from the eye is flipped), so
  a rig with inconsistent winding or an open mouth cavity never renders black;
- frames are ``uint8`` RGB, top row first.

:func:`phong` is the reference formula: the PyTorch3D backend calls it, the GLSL of the
OpenGL backend mirrors it line for line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np
import torch

from emote.errors import EmoteError

Frames: TypeAlias = np.ndarray
"""Rendered images: ``np.ndarray [shape=(N, H, W, 3), dtype=uint8]``, RGB, row 0 at the top.

Every backend returns this type, so frames go to the encoder, a contact sheet or a test
without knowing which backend drew them.
"""

RGB: TypeAlias = tuple[float, float, float]


@dataclass(frozen=True)
class DirectionalLight:
    """A light at infinity.

    Attributes
    ----------
    direction : (3,) float
        World-space direction *towards* the light (need not be unit length).
    color : (3,) float
        RGB intensity; (1, 1, 1) is a white light that fully lights a surface facing it.
    """

    direction: tuple[float, float, float]
    color: RGB = (1.0, 1.0, 1.0)


# Three-point portrait lighting without the rim: a warm key from the upper left of the
# viewer, a dim cool fill from the right, plus ambient.
KEY_LIGHT = DirectionalLight(direction=(-0.45, 0.55, 1.0), color=(0.78, 0.75, 0.70))
FILL_LIGHT = DirectionalLight(direction=(0.7, 0.05, 0.6), color=(0.22, 0.24, 0.28))


@dataclass(frozen=True)
class Lighting:
    """Phong lighting: directional lights, ambient term and a single shared specular material.

    Attributes
    ----------
    lights : tuple[DirectionalLight, ...]
        Default: a key light (upper left, warm) and a fill light (right, cool).
    ambient : float
        Ambient intensity, multiplied by the albedo. Default 0.28.
    specular : float
        Specular reflectance (white highlights). Default 0.12.
    shininess : float
        Phong exponent. Default 24.
    """

    lights: tuple[DirectionalLight, ...] = (KEY_LIGHT, FILL_LIGHT)
    ambient: float = 0.28
    specular: float = 0.12
    shininess: float = 24.0

    def directions(self) -> np.ndarray:
        """Unit light directions, ``(L, 3) float32``."""
        d = np.array([lt.direction for lt in self.lights], np.float32).reshape(-1, 3)
        norm = np.linalg.norm(d, axis=1, keepdims=True)
        if (norm == 0).any():
            raise EmoteError("lighting: a light direction is (0, 0, 0)")
        return d / norm

    def colors(self) -> np.ndarray:
        """Light intensities, ``(L, 3) float32``."""
        return np.array([lt.color for lt in self.lights], np.float32).reshape(-1, 3)


@dataclass(frozen=True)
class RenderSettings:
    """How frames look. Every field has a default that frames a head nicely.

    Attributes
    ----------
    width, height : int
        Image size in pixels; even (H.264 in yuv420p needs even sizes). Default 512×512.
    background : (3,) float
        Background RGB in [0, 1]. Default a dark blue-grey.
    fov : float
        Field of view in degrees across the shorter image side. Default 20 (a portrait lens:
        little perspective distortion of the nose).
    margin : float
        Space around the head when auto-framing, as a factor on its extent (1 = touching the
        image border). Default 1.12.
    view_direction : (3,) float
        Direction from the head towards the camera for auto-framing. Default +Z (frontal);
        e.g. (0.5, 0.15, 1) is a three-quarter view from slightly above.
    lighting : Lighting
        Lights and material.
    msaa : int or None
        Multisample anti-aliasing samples for the OpenGL backend (0 or 1 turns it off).
        Default None: 4 on a GPU driver, off on a software rasteriser (Mesa llvmpipe), where
        4× MSAA quadruples the draw time (ICT head at 512²: 61 ms instead of 15 ms on 2 cores).
        The PyTorch3D backend does not anti-alias.
    """

    width: int = 512
    height: int = 512
    background: RGB = (0.16, 0.17, 0.19)
    fov: float = 20.0
    margin: float = 1.12
    view_direction: tuple[float, float, float] = (0.0, 0.0, 1.0)
    lighting: Lighting = field(default_factory=Lighting)
    msaa: int | None = None

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 2 or value % 2:
                raise EmoteError(
                    f"render {name} {value!r}: must be an even number of pixels >= 2 (H.264 needs even sizes)"
                )
        if len(self.background) != 3 or not all(0.0 <= c <= 1.0 for c in self.background):
            raise EmoteError(f"render background {self.background!r}: must be three numbers in [0, 1]")
        if not 1.0 <= self.fov <= 120.0:
            raise EmoteError(f"render fov {self.fov!r}: must be between 1 and 120 degrees")
        if self.margin < 1.0:
            raise EmoteError(f"render margin {self.margin!r}: must be >= 1")
        if self.msaa is not None and self.msaa < 0:
            raise EmoteError(f"render msaa {self.msaa!r}: must be >= 0")

    @property
    def aspect(self) -> float:
        """Width / height."""
        return self.width / self.height


@dataclass(frozen=True)
class Camera:
    """A perspective look-at camera.

    Attributes
    ----------
    eye, target, up : (3,) float
        Camera position, the point it looks at, and the world direction that appears up.
    fov : float
        Field of view in degrees across the shorter image side.
    near, far : float
        Clipping distances (world units, > 0).
    """

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    up: tuple[float, float, float] = (0.0, 1.0, 0.0)
    fov: float = 20.0
    near: float = 10.0
    far: float = 10000.0

    def view_matrix(self) -> np.ndarray:
        """World → view transform, ``(4, 4) float64``, column-vector convention.

        View space is OpenGL's: +X right, +Y up, the camera looks down -Z.
        """
        eye, target, up = (np.asarray(a, np.float64) for a in (self.eye, self.target, self.up))
        forward = target - eye
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, up)
        if np.linalg.norm(right) < 1e-9:
            raise EmoteError(f"camera up {self.up} is parallel to the viewing direction")
        right /= np.linalg.norm(right)
        true_up = np.cross(right, forward)
        m = np.eye(4)
        m[0, :3], m[1, :3], m[2, :3] = right, true_up, -forward
        m[:3, 3] = -m[:3, :3] @ eye
        return m

    def projection_matrix(self, aspect: float) -> np.ndarray:
        """View → clip transform (OpenGL, depth to [-1, 1]), ``(4, 4) float64``.

        ``aspect`` is width / height; the field of view spans the shorter side.
        """
        t = math.tan(math.radians(self.fov) / 2)
        sx, sy = (1 / t, aspect / t) if aspect < 1 else (1 / (t * aspect), 1 / t)
        n, f = self.near, self.far
        m = np.zeros((4, 4))
        m[0, 0], m[1, 1] = sx, sy
        m[2, 2], m[2, 3] = -(f + n) / (f - n), -2 * f * n / (f - n)
        m[3, 2] = -1.0
        return m

    def project(self, points: np.ndarray, width: int, height: int) -> np.ndarray:
        """Pixel coordinates (x right, y down, pixel centres at +0.5) of world ``points (P, 3)``.

        Returns ``(P, 2) float64``.
        """
        p = np.c_[np.asarray(points, np.float64), np.ones(len(points))]
        clip = p @ (self.projection_matrix(width / height) @ self.view_matrix()).T
        ndc = clip[:, :2] / clip[:, 3:4]
        return np.c_[(ndc[:, 0] + 1) * width / 2, (1 - ndc[:, 1]) * height / 2]


def frame_camera(
    vertices: np.ndarray | torch.Tensor,
    *,
    fov: float = 20.0,
    aspect: float = 1.0,
    margin: float = 1.12,
    view_direction: tuple[float, float, float] = (0.0, 0.0, 1.0),
    up: tuple[float, float, float] = (0.0, 1.0, 0.0),
) -> Camera:
    """A camera that fits the mesh in the image, looking at the centre of its bounding box.

    Parameters
    ----------
    vertices : [shape=(V, 3) or (T, V, 3)]
        The neutral mesh, or several posed frames (their union is framed).
    fov : float
        Field of view in degrees across the shorter image side.
    aspect : float
        Image width / height.
    margin : float
        Extra room around the mesh (1 = touching the border).
    view_direction : (3,) float
        Direction from the mesh towards the camera.
    up : (3,) float
        World up.

    Returns
    -------
    Camera
        On ``view_direction`` from the centre of the bounding box, at the distance where the
        outermost vertex touches the image border shrunk by ``margin``.
    """
    v = torch.as_tensor(vertices).detach().reshape(-1, 3).to(torch.float64).cpu().numpy()
    if len(v) == 0 or not np.isfinite(v).all():
        raise EmoteError("cannot frame an empty mesh or one with NaN/Inf vertices")
    lo, hi = v.min(axis=0), v.max(axis=0)
    centre = (lo + hi) / 2
    back = np.asarray(view_direction, np.float64)
    back /= np.linalg.norm(back)
    # Camera axes; then the smallest distance at which every vertex lies inside the frustum
    # shrunk by the margin: |x_i| * margin <= tan * (distance - z_i) for both image axes.
    right = np.cross(np.asarray(up, np.float64), back)
    right /= np.linalg.norm(right)
    true_up = np.cross(back, right)
    rel = v - centre
    x, y, z = np.abs(rel @ right), np.abs(rel @ true_up), rel @ back
    t = math.tan(math.radians(fov) / 2)
    tan_x, tan_y = (t, t / aspect) if aspect < 1 else (t * aspect, t)
    distance = float(max((margin * x / tan_x + z).max(), (margin * y / tan_y + z).max()))
    radius = float(np.linalg.norm(hi - lo)) / 2 + 1e-6
    eye = centre + back * distance
    return Camera(
        eye=tuple(eye.tolist()),
        target=tuple(centre.tolist()),
        up=tuple(float(u) for u in up),
        fov=fov,
        near=float(max(distance - 4 * radius, distance * 0.02)),
        far=float(distance + 4 * radius),
    )


@dataclass(frozen=True)
class Scene:
    """Everything drawn except the per-frame vertex positions.

    Attributes
    ----------
    faces : np.ndarray [shape=(F, 3), int32]
        Triangles indexing the vertices.
    colors : np.ndarray [shape=(V, 3), float32]
        Per-vertex albedo in [0, 1].
    camera : Camera
    lighting : Lighting
    """

    faces: np.ndarray
    colors: np.ndarray
    camera: Camera
    lighting: Lighting = field(default_factory=Lighting)

    def __post_init__(self) -> None:
        faces = np.ascontiguousarray(self.faces, dtype=np.int32)
        colors = np.ascontiguousarray(self.colors, dtype=np.float32)
        if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
            raise EmoteError(f"scene faces must be (F, 3) triangles, got shape {faces.shape}")
        if colors.ndim != 2 or colors.shape[1] != 3:
            raise EmoteError(f"scene colors must be (V, 3), got shape {colors.shape}")
        if faces.min() < 0 or faces.max() >= len(colors):
            raise EmoteError(
                f"scene faces index vertices 0..{faces.max()}, but there are {len(colors)} vertex colours"
            )
        object.__setattr__(self, "faces", faces)
        object.__setattr__(self, "colors", np.clip(colors, 0.0, 1.0))

    @property
    def n_vertices(self) -> int:
        return int(self.colors.shape[0])

    @classmethod
    def for_mesh(
        cls,
        neutral: np.ndarray | torch.Tensor,
        faces: np.ndarray,
        colors: np.ndarray | None,
        settings: RenderSettings,
    ) -> Scene:
        """A scene whose camera is auto-framed on ``neutral (V, 3)``; grey when ``colors`` is None."""
        n = int(np.asarray(neutral).shape[0]) if not torch.is_tensor(neutral) else int(neutral.shape[0])
        if colors is None:
            colors = np.full((n, 3), 0.7, np.float32)
        camera = frame_camera(
            neutral,
            fov=settings.fov,
            aspect=settings.aspect,
            margin=settings.margin,
            view_direction=settings.view_direction,
        )
        return cls(faces=faces, colors=colors, camera=camera, lighting=settings.lighting)


def phong(
    *,
    normals: torch.Tensor,
    positions: torch.Tensor,
    albedo: torch.Tensor,
    eye: torch.Tensor,
    lighting: Lighting,
) -> torch.Tensor:
    """Phong shading of surface points, lit from both sides.

    ``c = a·albedo + Σ_l I_l · (max(n·l, 0)·albedo + k_s·max(r·v, 0)^α · [n·l > 0])``
    with ``v`` the unit vector to the eye, ``n`` flipped to face ``v``, and ``r = 2(n·l)n − l``
    (Phong, "Illumination for computer generated pictures", CACM 1975).

    Parameters
    ----------
    normals, positions, albedo : [shape=(..., 3)]
        Interpolated (not necessarily unit) normals, world positions, RGB albedo.
    eye : [shape=(3,)]
        Camera position.
    lighting : Lighting

    Returns
    -------
    torch.Tensor [shape=(..., 3)]
        RGB clamped to [0, 1].
    """
    n = torch.nn.functional.normalize(normals, dim=-1)
    v = torch.nn.functional.normalize(eye - positions, dim=-1)
    n = torch.where((n * v).sum(-1, keepdim=True) < 0, -n, n)
    color = lighting.ambient * albedo
    dirs = torch.as_tensor(lighting.directions(), device=n.device, dtype=n.dtype)
    intensities = torch.as_tensor(lighting.colors(), device=n.device, dtype=n.dtype)
    for l_dir, intensity in zip(dirs, intensities, strict=True):
        ndotl = (n * l_dir).sum(-1, keepdim=True)
        r = 2 * ndotl * n - l_dir
        spec = (r * v).sum(-1, keepdim=True).clamp(min=0) ** lighting.shininess
        spec = torch.where(ndotl > 0, spec, torch.zeros_like(spec))
        color = color + intensity * (ndotl.clamp(min=0) * albedo + lighting.specular * spec)
    return color.clamp(0.0, 1.0)
