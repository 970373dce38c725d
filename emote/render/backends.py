"""One renderer interface, two backends: PyTorch3D (CUDA, batched) and OpenGL (moderngl + EGL).

>>> settings = RenderSettings(width=256, height=256)                      # doctest: +SKIP
>>> scene = Scene.for_mesh(rig.neutral, rig.faces, rig.colors, settings)  # doctest: +SKIP
>>> with get_renderer("auto", scene=scene, settings=settings) as r:       # doctest: +SKIP
...     frames = r.render(rig.pose(anim.curves[:64]))                     # (64, 256, 256, 3) uint8
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Literal

import numpy as np
import torch

from emote.errors import EmoteError
from emote.render.scene import Frames, RenderSettings, Scene
from emote.rigs.posing import vertex_normals

log = logging.getLogger("emote.render")

BackendName = Literal["auto", "opengl", "pytorch3d"]
BACKENDS: tuple[str, ...] = ("auto", "opengl", "pytorch3d")


class Renderer(ABC):
    """Draws posed frames of one :class:`Scene`; every backend returns :data:`Frames`.

    Attributes
    ----------
    name : str
        ``"opengl"`` or ``"pytorch3d"``.
    device : torch.device
        Where posing and normals should run for this backend (its inputs go there).
    scene : Scene
    settings : RenderSettings
    faces : torch.Tensor [shape=(F, 3), int64]
        The scene's triangles (CPU), for normals.
    description : str
        What actually draws (e.g. the OpenGL renderer string), for logs and benchmarks.
    """

    name: str = ""
    device: torch.device = torch.device("cpu")
    description: str = ""

    def __init__(self, scene: Scene, settings: RenderSettings) -> None:
        self.scene = scene
        self.settings = settings
        self.faces = torch.from_numpy(scene.faces.astype(np.int64))

    def render(
        self,
        vertices: torch.Tensor,
        normals: torch.Tensor | None = None,
        *,
        out: np.ndarray | None = None,
    ) -> Frames:
        """Draw every frame of a batch.

        Parameters
        ----------
        vertices : torch.Tensor [shape=(N, V, 3), float]
            Posed vertices (world units, the scene's camera frames them).
        normals : torch.Tensor [shape=(N, V, 3)], optional
            Vertex normals; computed (batched, on :attr:`device`) when omitted.
        out : np.ndarray [shape=(≥N, H, W, 3), uint8], optional
            Buffer to draw into (reused across chunks to avoid allocations).

        Returns
        -------
        Frames [shape=(N, H, W, 3), uint8]
            ``out[:N]`` when ``out`` is given.
        """
        if not torch.is_tensor(vertices):
            vertices = torch.as_tensor(np.asarray(vertices, np.float32))
        if vertices.ndim == 2:
            vertices = vertices[None]
        n, v = vertices.shape[0], self.scene.n_vertices
        if vertices.shape[1:] != (v, 3):
            raise EmoteError(
                f"render: vertices must be (N, {v}, 3) for this scene, got {tuple(vertices.shape)}"
            )
        vertices = vertices.detach().to(self.device, torch.float32)
        if normals is None:
            normals = vertex_normals(vertices, self.faces.to(self.device))
        elif normals.shape != vertices.shape:
            raise EmoteError(
                f"render: normals {tuple(normals.shape)} do not match vertices {tuple(vertices.shape)}"
            )
        h, w = self.settings.height, self.settings.width
        if out is None:
            out = np.empty((n, h, w, 3), np.uint8)
        elif (
            out.dtype != np.uint8
            or out.shape[1:] != (h, w, 3)
            or out.shape[0] < n
            or not out.flags.c_contiguous
        ):
            raise ValueError(f"out must be a C-contiguous uint8 array (>= {n}, {h}, {w}, 3), got {out.shape}")
        if n:
            self._draw(vertices, normals.detach().to(self.device, torch.float32), out[:n])
        return out[:n]

    @abstractmethod
    def _draw(self, vertices: torch.Tensor, normals: torch.Tensor, out: np.ndarray) -> None:
        """Fill ``out (N, H, W, 3)`` with the frames of ``vertices (N, V, 3)`` on :attr:`device`."""

    def close(self) -> None:  # noqa: B027 (optional hook: not every backend holds resources)
        """Release the backend's resources (GL context, GPU buffers)."""

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def get_renderer(
    name: str = "auto",
    *,
    scene: Scene,
    settings: RenderSettings,
    device: str | torch.device | None = None,
) -> Renderer:
    """Create a renderer for ``scene``.

    Parameters
    ----------
    name : {"auto", "opengl", "pytorch3d"}
        ``auto`` picks OpenGL, measured faster for video on a GPU as on a CPU, and falls back
        to PyTorch3D on CUDA when OpenGL cannot start; it logs its choice on the
        ``emote.render`` logger.
    scene : Scene
    settings : RenderSettings
    device : str or torch.device, optional
        PyTorch3D's device (default: CUDA when available, else CPU — correct but about a
        minute per 512² frame of a real head).

    Returns
    -------
    Renderer

    Raises
    ------
    EmoteError
        Unknown name, or the chosen backend cannot start (message says what to install).
    """
    if name not in BACKENDS:
        raise EmoteError(f"unknown renderer {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "auto":
        return _auto(scene, settings, device)
    if name == "opengl":
        from emote.render.opengl import OpenGLRenderer

        renderer: Renderer = OpenGLRenderer(scene, settings)
    else:
        from emote.render.pytorch3d_backend import PyTorch3DRenderer

        renderer = PyTorch3DRenderer(scene, settings, device=device)
    log.info("renderer: %s (%s), %dx%d", renderer.name, renderer.description, settings.width, settings.height)
    return renderer


def _auto(scene: Scene, settings: RenderSettings, device: str | torch.device | None) -> Renderer:
    """OpenGL, the measured-faster backend for video; PyTorch3D on CUDA only when OpenGL cannot start.

    Measured (benchmarks/render.py, 512², 300 frames, end to end, on an NVIDIA H100): OpenGL through
    the NVIDIA EGL driver 296-315 fps, PyTorch3D at batch 32 133-145 fps (bound by its rasteriser);
    on a CPU, PyTorch3D takes about a minute a frame against OpenGL's 58-66 fps on Mesa llvmpipe.
    PyTorch3D stays for differentiable rendering and by request (``--renderer pytorch3d``).
    """
    try:
        renderer = get_renderer("opengl", scene=scene, settings=settings)
    except EmoteError as gl_error:
        cuda = torch.cuda.is_available() and (device is None or torch.device(device).type == "cuda")
        if not (cuda and _pytorch3d_importable()):
            raise
        log.info("renderer auto: PyTorch3D on CUDA (OpenGL cannot start: %s)", gl_error)
        return get_renderer("pytorch3d", scene=scene, settings=settings, device=device)
    log.info("renderer auto: OpenGL (the faster backend for video)")
    return renderer


def _pytorch3d_importable() -> bool:
    try:
        import pytorch3d.renderer  # noqa: F401
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] != "pytorch3d":
            raise
        return False
    return True
