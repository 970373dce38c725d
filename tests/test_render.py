"""Renderer specs: camera and framing, normals, the OpenGL backend against a reference Phong
shading of an analytic sphere, and OpenGL against PyTorch3D on the same posed head."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch
from conftest import RIGS_DATA, missing, needs

from emote.errors import EmoteError
from emote.render import (
    Camera,
    Lighting,
    Renderer,
    RenderSettings,
    Scene,
    frame_camera,
    get_renderer,
    phong,
    vertex_normals,
)

ICT_NEUTRAL = RIGS_DATA / "ict-facekit" / "FaceXModel" / "generic_neutral_mesh.obj"


# -- test meshes ----------------------------------------------------------------------


def icosphere(subdivisions: int = 3, radius: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Unit icosahedron subdivided ``subdivisions`` times, scaled; faces CCW from outside."""
    t = (1 + 5**0.5) / 2
    v = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t),
         (0, -1, -t), (0, 1, -t), (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]  # fmt: skip
    f = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4),
         (11, 10, 2), (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8),
         (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)]  # fmt: skip
    verts = [np.array(p, float) / np.linalg.norm(p) for p in v]
    cache: dict[tuple[int, int], int] = {}  # edge → midpoint vertex (indices stay valid across levels)

    def mid(a: int, b: int) -> int:
        key = (min(a, b), max(a, b))
        if key not in cache:
            m = verts[a] + verts[b]
            verts.append(m / np.linalg.norm(m))
            cache[key] = len(verts) - 1
        return cache[key]

    for _ in range(subdivisions):
        f = [
            tri
            for a, b, c in f
            for tri in ((a, mid(a, b), mid(c, a)), (b, mid(b, c), mid(a, b)), (c, mid(c, a), mid(b, c)),
                        (mid(a, b), mid(b, c), mid(c, a)))
        ]  # fmt: skip
    return (np.array(verts) * radius).astype(np.float32), np.array(f, np.int32)


ICT_COLORS = {
    "M_Face": (0.80, 0.60, 0.50), "M_BackHead": (0.80, 0.60, 0.50), "M_GumsTongue": (0.65, 0.28, 0.30),
    "M_Teeth": (0.92, 0.90, 0.84), "M_ScleraLeft": (0.95, 0.95, 0.93), "M_ScleraRight": (0.95, 0.95, 0.93),
    "M_IrisLeft": (0.25, 0.35, 0.45), "M_IrisRight": (0.25, 0.35, 0.45),
}  # fmt: skip


def read_ict_head(path=ICT_NEUTRAL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ICT-FaceKit neutral (cm → mm), opaque parts only (no lashes/occlusion shells), triangulated."""
    verts, faces, colors = [], [], {}
    material = None
    for line in path.read_text().splitlines():
        if line.startswith("v "):
            verts.append(line.split()[1:4])
        elif line.startswith("usemtl"):
            material = line.split()[1]
        elif line.startswith("f ") and material in ICT_COLORS:
            idx = [int(tok.split("/")[0]) - 1 for tok in line.split()[1:]]
            faces += [(idx[0], idx[k], idx[k + 1]) for k in range(1, len(idx) - 1)]
            colors.update(dict.fromkeys(idx, ICT_COLORS[material]))
    v = np.array(verts, np.float32) * 10
    c = np.full((len(v), 3), 0.5, np.float32)
    c[list(colors)] = list(colors.values())
    return v, np.array(faces, np.int32), c


@pytest.fixture(scope="module")
def ict_head() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not ICT_NEUTRAL.is_file():
        needs("test-material", f"ICT-FaceKit not found at {ICT_NEUTRAL}")
    return read_ict_head()


def opengl_or_skip(scene: Scene, settings: RenderSettings):
    try:
        return get_renderer("opengl", scene=scene, settings=settings)
    except EmoteError as e:
        needs("opengl", str(e))


def silhouette(frame: np.ndarray, background: tuple[float, float, float]) -> np.ndarray:
    """Pixels not of the background colour (±1 for 8-bit rounding)."""
    bg = np.asarray(background) * 255
    return (np.abs(frame - bg) > 1.01).any(axis=-1)


# -- camera and framing -----------------------------------------------------------------


def test_camera_projects_its_target_to_the_image_centre_and_up_to_the_top():
    cam = Camera(eye=(30.0, 40.0, 500.0), target=(10.0, 5.0, 0.0), fov=30.0)
    px = cam.project(np.array([[10.0, 5.0, 0.0], [10.0, 60.0, 0.0]]), 640, 480)
    np.testing.assert_allclose(px[0], [320, 240], atol=1e-6)
    assert px[1, 1] < 240  # +Y world is up in the image


def test_projection_fov_spans_the_shorter_image_side():
    cam = Camera(eye=(0.0, 0.0, 100.0), target=(0.0, 0.0, 0.0), fov=90.0, near=1.0, far=1000.0)
    edge = 100 * math.tan(math.radians(45))  # a point at the half-angle on the target plane
    for w, h in ((400, 200), (200, 400)):
        px = cam.project(np.array([[edge, 0, 0], [0, edge, 0]]), w, h)
        short = min(w, h)
        reaches = px[0, 0] - w / 2 if w < h else h / 2 - px[1, 1]
        assert reaches == pytest.approx(short / 2)


@pytest.mark.parametrize(
    ("width", "height", "view"), [(512, 512, (0, 0, 1)), (640, 360, (0.6, 0.3, 1)), (200, 400, (0, 0, 1))]
)
def test_frame_camera_fits_the_mesh_with_the_margin(width, height, view):
    rng = np.random.default_rng(0)
    verts = rng.normal(size=(500, 3)) * [80, 120, 90] + [
        5,
        1700,
        -20,
    ]  # a head-sized blob far from the origin
    cam = frame_camera(verts, fov=20, aspect=width / height, margin=1.1, view_direction=view)
    px = cam.project(verts, width, height)
    assert (px >= 0).all() and (px[:, 0] <= width).all() and (px[:, 1] <= height).all()
    # The limiting side is filled to about 1/margin (the box is conservative: at least 75 %).
    fill = max((px[:, 0].max() - px[:, 0].min()) / width, (px[:, 1].max() - px[:, 1].min()) / height)
    assert 0.75 / 1.1 < fill <= 1 / 1.1 + 1e-6


# -- normals ------------------------------------------------------------------------------


def test_vertex_normals_of_a_sphere_point_away_from_its_centre():
    v, f = icosphere(3)
    n = vertex_normals(torch.from_numpy(v)[None], torch.from_numpy(f))[0].numpy()
    radial = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert np.einsum("ij,ij->i", n, radial).min() > 0.999


def test_batched_vertex_normals_match_a_per_frame_loop():
    v, f = icosphere(2)
    rng = np.random.default_rng(1)
    frames = v[None] * rng.uniform(0.5, 1.5, size=(5, 1, 3)) + rng.normal(size=(5, len(v), 3))
    got = vertex_normals(torch.tensor(frames, dtype=torch.float32), torch.from_numpy(f)).numpy()
    for t in range(5):  # reference: plain loop over faces
        acc = np.zeros_like(v, dtype=np.float64)
        for a, b, c in f:
            fn = np.cross(frames[t, b] - frames[t, a], frames[t, c] - frames[t, a])
            acc[[a, b, c]] += fn
        ref = acc / np.linalg.norm(acc, axis=1, keepdims=True)
        np.testing.assert_allclose(got[t], ref, atol=1e-4)


# -- OpenGL ---------------------------------------------------------------------------------


def test_opengl_draws_the_head_centred_on_the_requested_background(ict_head):
    v, f, c = ict_head
    settings = RenderSettings(width=256, height=192, background=(0.2, 0.6, 0.3))
    scene = Scene.for_mesh(v, f, c, settings)
    with opengl_or_skip(scene, settings) as r:
        frame = r.render(torch.from_numpy(v)[None])[0]
    assert frame.shape == (192, 256, 3) and frame.dtype == np.uint8
    assert not silhouette(frame[[0, 0, -1, -1], [0, -1, 0, -1]], settings.background).any()  # corners
    mask = silhouette(frame, settings.background)
    assert 0.15 < mask.mean() < 0.8
    ys, xs = np.nonzero(mask)
    # Centred: the silhouette's box is centred horizontally and vertically within a few pixels.
    assert abs((xs.min() + xs.max()) / 2 - 128) < 4
    assert abs((ys.min() + ys.max()) / 2 - 96) < 6
    # Fits: the height is the limiting side and fills about 1/margin of it without touching.
    assert ys.min() > 0 and ys.max() < 191
    assert (ys.max() - ys.min()) / 192 > 0.8 / settings.margin


def test_opengl_shading_matches_reference_phong_of_the_analytic_sphere():
    """Oracle: ray-cast the exact sphere and shade with :func:`phong`; the tessellated render must agree."""
    v, f = icosphere(4, radius=100.0)
    colors = np.tile([[0.8, 0.5, 0.4]], (len(v), 1)).astype(np.float32)
    settings = RenderSettings(width=128, height=128, msaa=0)
    scene = Scene.for_mesh(v, f, colors, settings)
    with opengl_or_skip(scene, settings) as r:
        frame = r.render(torch.from_numpy(v)[None])[0].astype(np.float64) / 255

    cam = scene.camera
    view = cam.view_matrix()
    ys, xs = np.mgrid[0:128, 0:128] + 0.5
    t = math.tan(math.radians(cam.fov) / 2)
    d_view = np.stack([(xs / 64 - 1) * t, (1 - ys / 64) * t, -np.ones_like(xs)], -1)
    d = d_view @ view[:3, :3]  # view → world (rotation transpose)
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    eye = np.asarray(cam.eye)
    b = d @ eye
    disc = b**2 - (eye @ eye - 100.0**2)
    hit = disc > 0
    depth = -b - np.sqrt(np.where(hit, disc, 0))
    p = eye + depth[..., None] * d
    ref = phong(
        normals=torch.from_numpy(p),
        positions=torch.from_numpy(p),
        albedo=torch.tensor([0.8, 0.5, 0.4], dtype=torch.float64).expand(128, 128, 3),
        eye=torch.from_numpy(eye),
        lighting=scene.lighting,
    ).numpy()
    drawn = silhouette((frame * 255).round().astype(np.uint8), settings.background)
    inner = hit & drawn
    assert (hit != drawn).mean() < 0.01  # silhouette of the polyhedron vs the sphere
    err = np.abs(frame - ref)[inner].mean()
    assert err < 0.01, f"mean |OpenGL − reference Phong| = {err:.4f}"


def test_opengl_frames_follow_the_posed_vertices():
    v, f = icosphere(3)
    settings = RenderSettings(width=96, height=96)
    scene = Scene.for_mesh(v, f, None, settings)
    moved = v.copy()
    moved[v[:, 1] < 0, 1] -= 30  # "open the jaw": stretch the lower half down
    with opengl_or_skip(scene, settings) as r:
        frames = r.render(torch.from_numpy(np.stack([v, moved, v])))
    assert (frames[0] == frames[2]).all()  # deterministic
    lower_rows = silhouette(frames[1], settings.background).any(axis=1).nonzero()[0].max()
    assert lower_rows > silhouette(frames[0], settings.background).any(axis=1).nonzero()[0].max() + 3


def test_render_reuses_the_callers_buffer():
    v, f = icosphere(2)
    settings = RenderSettings(width=64, height=64)
    with opengl_or_skip(Scene.for_mesh(v, f, None, settings), settings) as r:
        buf = np.zeros((4, 64, 64, 3), np.uint8)
        out = r.render(torch.from_numpy(np.stack([v, v])), out=buf)
    assert out.base is buf or np.shares_memory(out, buf)
    assert out.shape == (2, 64, 64, 3) and buf[:2].any() and not buf[2:].any()


def test_render_rejects_vertices_of_another_mesh():
    v, f = icosphere(2)
    settings = RenderSettings(width=64, height=64)
    with (
        opengl_or_skip(Scene.for_mesh(v, f, None, settings), settings) as r,
        pytest.raises(EmoteError, match="162"),
    ):
        r.render(torch.zeros(1, 10, 3))


# -- settings and backend choice --------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs", [{"width": 511}, {"height": 0}, {"background": (1.0, 2.0, 0.0)}, {"fov": 0.0}]
)
def test_bad_render_settings_are_one_line_errors(kwargs):
    with pytest.raises(EmoteError) as e:
        RenderSettings(**kwargs)
    assert "\n" not in str(e.value) and next(iter(kwargs)) in str(e.value)


def test_unknown_renderer_name_lists_the_choices():
    v, f = icosphere(1)
    settings = RenderSettings(width=32, height=32)
    with pytest.raises(EmoteError, match="opengl"):
        get_renderer("vulkan", scene=Scene.for_mesh(v, f, None, settings), settings=settings)


@pytest.mark.parametrize("cuda", [False, True])
def test_auto_renders_video_with_opengl_even_with_cuda_and_says_so(caplog, monkeypatch, cuda):
    import emote.render.backends as backends

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(backends, "_pytorch3d_importable", lambda: True)
    v, f = icosphere(1)
    settings = RenderSettings(width=32, height=32)
    with caplog.at_level(logging.INFO, logger="emote.render"):
        try:
            r = get_renderer("auto", scene=Scene.for_mesh(v, f, None, settings), settings=settings)
        except EmoteError as e:
            needs("opengl", str(e))
        r.close()
    assert r.name == "opengl"
    assert "renderer auto: OpenGL (the faster backend for video)" in caplog.text


def test_auto_falls_back_to_pytorch3d_on_cuda_only_when_opengl_cannot_start(monkeypatch):
    import emote.render.backends as backends
    import emote.render.opengl as opengl

    def no_gl(*a, **k):
        raise EmoteError("OpenGL: no EGL display")

    made = []

    class FakePyTorch3D(Renderer):
        name = "pytorch3d"

        def __init__(self, scene, settings, device=None):
            super().__init__(scene, settings)
            made.append(device)

        def _draw(self, vertices, normals, out):
            out[:] = 0

    monkeypatch.setattr(opengl, "OpenGLRenderer", no_gl)
    import emote.render.pytorch3d_backend as p3d

    monkeypatch.setattr(p3d, "PyTorch3DRenderer", FakePyTorch3D)
    monkeypatch.setattr(backends, "_pytorch3d_importable", lambda: True)
    v, f = icosphere(1)
    settings = RenderSettings(width=8, height=8)
    scene = Scene.for_mesh(v, f, None, settings)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_renderer("auto", scene=scene, settings=settings).name == "pytorch3d" and made == [None]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(EmoteError, match="no EGL display"):
        get_renderer("auto", scene=scene, settings=settings)


def test_missing_egl_says_which_debian_packages_to_install(monkeypatch):
    moderngl = pytest.importorskip("moderngl", reason=missing("render", "moderngl not installed"))

    def no_egl(**kwargs):
        raise Exception("eglGetDisplay failed")

    monkeypatch.setattr(moderngl, "create_standalone_context", no_egl)
    v, f = icosphere(1)
    settings = RenderSettings(width=32, height=32)
    with pytest.raises(EmoteError, match="libegl1 libegl-mesa0 libgl1-mesa-dri") as e:
        get_renderer("opengl", scene=Scene.for_mesh(v, f, None, settings), settings=settings)
    assert "eglGetDisplay failed" in str(e.value) and "\n" not in str(e.value)


# -- OpenGL against PyTorch3D ---------------------------------------------------------------


def pytorch3d_or_skip() -> None:
    # Only an absent PyTorch3D skips: a broken one (an ABI mismatch with torch) fails the test.
    try:
        import pytorch3d.renderer  # noqa: F401
    except ModuleNotFoundError as e:
        if e.name != "pytorch3d":
            raise
        needs("pytorch3d", "not installed")


def render_both(verts: np.ndarray, faces: np.ndarray, colors: np.ndarray | None, settings: RenderSettings):
    scene = Scene.for_mesh(verts, faces, colors, settings)
    x = torch.from_numpy(verts)[None]
    with opengl_or_skip(scene, settings) as gl:
        a = gl.render(x)[0]
    with get_renderer("pytorch3d", scene=scene, settings=settings, device="cpu") as p3d:
        b = p3d.render(x)[0]
    return a, b


def compare(a: np.ndarray, b: np.ndarray, background) -> tuple[float, float]:
    sa, sb = silhouette(a, background), silhouette(b, background)
    iou = (sa & sb).sum() / (sa | sb).sum()
    both = sa & sb
    shading = np.abs(a.astype(float) - b.astype(float))[both].mean() / 255
    return float(iou), float(shading)


def test_opengl_and_pytorch3d_agree_on_a_posed_head(ict_head):
    pytorch3d_or_skip()
    v, f, c = ict_head
    rot = torch.tensor(
        [[math.cos(0.3), 0, math.sin(0.3)], [0, 1, 0], [-math.sin(0.3), 0, math.cos(0.3)]],
        dtype=torch.float32,
    )
    posed = (torch.from_numpy(v) @ rot.T).numpy()  # turned 17° so the profile shows
    settings = RenderSettings(width=128, height=112, msaa=0, background=(0.1, 0.1, 0.3))
    a, b = render_both(posed, f, c, settings)
    iou, shading = compare(a, b, settings.background)
    assert iou >= 0.98, f"silhouette IoU {iou:.4f}"
    assert shading < 0.02, f"mean shading difference {shading:.4f}"


def test_opengl_and_pytorch3d_agree_on_a_sphere_off_centre():
    pytorch3d_or_skip()
    v, f = icosphere(3)
    colors = (v / 200 + 0.5).astype(np.float32)  # a colour gradient checks attribute interpolation
    settings = RenderSettings(width=96, height=64, msaa=0, view_direction=(0.4, 0.5, 1.0))
    a, b = render_both(v + np.float32([30, -10, 5]), f, colors, settings)
    iou, shading = compare(a, b, settings.background)
    assert iou >= 0.98, f"silhouette IoU {iou:.4f}"
    assert shading < 0.01, f"mean shading difference {shading:.4f}"


def test_pytorch3d_images_are_differentiable_in_the_vertices():
    pytorch3d_or_skip()
    v, f = icosphere(2)
    settings = RenderSettings(width=32, height=32)
    scene = Scene.for_mesh(v, f, None, settings)
    with get_renderer("pytorch3d", scene=scene, settings=settings, device="cpu") as r:
        x = torch.from_numpy(v)[None].requires_grad_(True)
        images = r.forward(x, vertex_normals(x, r.faces))
        images[..., :3].mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_lighting_rejects_a_zero_direction():
    from emote.render import DirectionalLight

    with pytest.raises(EmoteError, match="direction"):
        Lighting(lights=(DirectionalLight(direction=(0.0, 0.0, 0.0)),)).directions()
