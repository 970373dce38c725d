"""Rendering: one scene description, two backends (PyTorch3D on CUDA, OpenGL via EGL), video files.

>>> from emote.render import RenderSettings, render_animation                 # doctest: +SKIP
>>> render_animation(rig, anim, "line.mp4", settings=RenderSettings(width=512, height=512))  # doctest: +SKIP
"""

from emote.render.backends import BACKENDS, Renderer, get_renderer
from emote.render.scene import (
    Camera,
    DirectionalLight,
    Frames,
    Lighting,
    RenderSettings,
    Scene,
    frame_camera,
    phong,
)
from emote.render.video import (
    PosableMesh,
    ProgressFn,
    RenderStats,
    VideoEncoder,
    contact_sheet,
    render_animation,
    render_grid,
    render_preview_png,
)
from emote.rigs.posing import vertex_normals

__all__ = [
    "BACKENDS",
    "Camera",
    "DirectionalLight",
    "Frames",
    "Lighting",
    "PosableMesh",
    "ProgressFn",
    "RenderSettings",
    "RenderStats",
    "Renderer",
    "Scene",
    "VideoEncoder",
    "contact_sheet",
    "frame_camera",
    "get_renderer",
    "phong",
    "render_animation",
    "render_grid",
    "render_preview_png",
    "vertex_normals",
]
