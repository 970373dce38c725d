"""PyTorch3D backend: batched (and differentiable) rendering, meant for CUDA.

``MeshRasterizer`` rasterises a batch of frames at once; a Phong shader (the same formula as
the OpenGL backend, :func:`emote.render.scene.phong`, with several directional lights — the
shipped ``HardPhongShader`` takes one light per batch element) shades per pixel from
interpolated vertex normals, positions and ``TexturesVertex`` colours; ``hard_rgb_blend``
puts the background behind it.

Camera conversion. PyTorch3D's view space has +X left, +Y up and looks down +Z, with row
vectors (``X_view = X_world @ R + T``); OpenGL's has +X right, +Y up and looks down -Z.
With ``F = diag(-1, 1, -1)`` and the OpenGL view ``x_v = R_gl x + t_gl``:
``R = (F R_gl)ᵀ`` and ``T = F t_gl``. Both field-of-view conventions span the shorter image
side, so ``FoVPerspectiveCameras(fov, aspect_ratio=1)`` matches
:meth:`~emote.render.scene.Camera.projection_matrix` for any image size.

On CPU it is correct but slow (its CPU rasteriser tests every face against every pixel:
about a minute per 512² frame of a 50k-triangle head); use it there only for small images.
"""

from __future__ import annotations

import numpy as np
import torch

from emote.errors import EmoteError
from emote.render.backends import Renderer
from emote.render.scene import Camera, Lighting, RenderSettings, Scene, phong


def _import_pytorch3d():  # -> module namespace
    try:
        import pytorch3d.renderer as p3r
        from pytorch3d.structures import Meshes
    except Exception as e:  # ImportError, or an extension built against another torch
        raise EmoteError(
            f"PyTorch3D renderer unavailable ({type(e).__name__}: {e}); "
            "install PyTorch3D (see DEVELOPERS.md) or use --renderer opengl"
        ) from None
    return p3r, Meshes


def pytorch3d_camera(camera: Camera, *, device: torch.device):  # -> FoVPerspectiveCameras
    """The PyTorch3D ``FoVPerspectiveCameras`` seeing what ``camera`` sees (see module docstring)."""
    p3r, _ = _import_pytorch3d()
    view = camera.view_matrix()
    flip = np.diag([-1.0, 1.0, -1.0])
    r = (flip @ view[:3, :3]).T
    t = flip @ view[:3, 3]
    return p3r.FoVPerspectiveCameras(
        znear=camera.near,
        zfar=camera.far,
        aspect_ratio=1.0,
        fov=camera.fov,
        degrees=True,
        R=torch.tensor(r, dtype=torch.float32)[None],
        T=torch.tensor(t, dtype=torch.float32)[None],
        device=device,
    )


def _make_shader_class():  # -> type
    _import_pytorch3d()  # a clear error first
    from pytorch3d.ops import interpolate_face_attributes
    from pytorch3d.renderer.blending import hard_rgb_blend
    from pytorch3d.renderer.mesh.shader import ShaderBase

    class MultiLightPhongShader(ShaderBase):
        """Per-pixel Phong with several directional lights, lit from both sides; hard blending.

        Expects ``meshes`` built with ``verts_normals`` and ``TexturesVertex`` colours.
        """

        def __init__(self, *, eye: torch.Tensor, lighting: Lighting, cameras, blend_params) -> None:
            super().__init__(device=eye.device, cameras=cameras, blend_params=blend_params)
            self.eye = eye
            self.lighting = lighting

        def forward(self, fragments, meshes, **kwargs) -> torch.Tensor:  # (N, H, W, 4)
            # One interpolation for normals, positions and colours together (three passes
            # over the fragments cost more than the shading itself).
            faces = meshes.faces_packed()
            attributes = torch.cat(
                [
                    meshes.verts_normals_packed(),
                    meshes.verts_packed(),
                    meshes.textures.verts_features_packed(),
                ],
                dim=-1,
            )[faces]
            pixel = interpolate_face_attributes(fragments.pix_to_face, fragments.bary_coords, attributes)
            normals, positions, albedo = pixel[..., 0:3], pixel[..., 3:6], pixel[..., 6:9]
            colors = phong(
                normals=normals, positions=positions, albedo=albedo, eye=self.eye, lighting=self.lighting
            )
            return hard_rgb_blend(colors, fragments, self.blend_params)

    return MultiLightPhongShader


class PyTorch3DRenderer(Renderer):
    """PyTorch3D renderer; see the module docstring.

    Parameters
    ----------
    scene, settings
        As for every :class:`~emote.render.backends.Renderer`.
    device : str or torch.device, optional
        Default CUDA when available, else CPU.
    batch : int
        Frames rasterised per PyTorch3D call (bounds GPU memory: about 25 MB per 512² frame).
    """

    name = "pytorch3d"

    def __init__(
        self,
        scene: Scene,
        settings: RenderSettings,
        *,
        device: str | torch.device | None = None,
        batch: int = 32,
    ) -> None:
        super().__init__(scene, settings)
        p3r, self._Meshes = _import_pytorch3d()
        self._p3r = p3r
        self.device = torch.device(device) if device is not None else self._default_device()
        self.batch = max(1, int(batch))
        where = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "CPU"
        self.description = f"PyTorch3D MeshRasterizer + Phong on {where}"
        self.cameras = pytorch3d_camera(scene.camera, device=self.device)
        raster = p3r.RasterizationSettings(
            image_size=(settings.height, settings.width),
            blur_radius=0.0,
            faces_per_pixel=1,
            perspective_correct=True,
            cull_backfaces=False,
        )
        blend = p3r.BlendParams(background_color=tuple(float(c) for c in settings.background))
        shader = _make_shader_class()(
            eye=torch.tensor(scene.camera.eye, dtype=torch.float32, device=self.device),
            lighting=scene.lighting,
            cameras=self.cameras,
            blend_params=blend,
        )
        self.renderer = p3r.MeshRenderer(
            rasterizer=p3r.MeshRasterizer(cameras=self.cameras, raster_settings=raster), shader=shader
        )
        self._faces_dev = self.faces.to(self.device)
        self._colors_dev = torch.from_numpy(scene.colors).to(self.device)

    @staticmethod
    def _default_device() -> torch.device:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    @torch.inference_mode()
    def _draw(self, vertices: torch.Tensor, normals: torch.Tensor, out: np.ndarray) -> None:
        for start in range(0, len(vertices), self.batch):
            stop = min(start + self.batch, len(vertices))
            images = self.forward(vertices[start:stop], normals[start:stop])
            rgb8 = (images[..., :3] * 255 + 0.5).clamp(0, 255).to(torch.uint8)
            out[start:stop] = rgb8.cpu().numpy()

    def forward(self, vertices: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
        """Differentiable float images ``(N, H, W, 4)`` in [0, 1] (RGB + alpha 1) of ``vertices (N, V, 3)``.

        Gradients flow to ``vertices`` and ``normals`` (for image-space losses).
        """
        n = len(vertices)
        meshes = self._Meshes(
            verts=vertices,
            faces=self._faces_dev.expand(n, -1, -1),
            verts_normals=normals,
            textures=self._p3r.TexturesVertex(verts_features=self._colors_dev.expand(n, -1, -1)),
        )
        return self.renderer(meshes)
