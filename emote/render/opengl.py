"""OpenGL backend: moderngl on a headless EGL context.

Mesa's llvmpipe software rasteriser on machines without a GPU, the vendor driver where one
exists. Faces and colours are uploaded once; each frame uploads only positions and normals
(two buffer writes), draws with depth test and MSAA, resolves, and reads back
straight into the caller's frame buffer. The projection is flipped vertically so that GL's
bottom-up read-back yields top-row-first images without a copy.
"""

from __future__ import annotations

import numpy as np
import torch

from emote.errors import EmoteError
from emote.render.backends import Renderer
from emote.render.scene import RenderSettings, Scene

MAX_LIGHTS = 4

_VERTEX_SHADER = """
#version 330
uniform mat4 mvp;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
out vec3 v_pos;
out vec3 v_normal;
out vec3 v_color;
void main() {
    v_pos = in_pos;
    v_normal = in_normal;
    v_color = in_color;
    gl_Position = mvp * vec4(in_pos, 1.0);
}
"""

# Mirrors emote.render.scene.phong (the reference the PyTorch3D backend uses).
_FRAGMENT_SHADER = f"""
#version 330
#define MAX_LIGHTS {MAX_LIGHTS}
uniform vec3 eye;
uniform int n_lights;
uniform vec3 light_dir[MAX_LIGHTS];
uniform vec3 light_color[MAX_LIGHTS];
uniform float ambient;
uniform float specular;
uniform float shininess;
in vec3 v_pos;
in vec3 v_normal;
in vec3 v_color;
out vec4 f_color;
void main() {{
    vec3 n = normalize(v_normal);
    vec3 v = normalize(eye - v_pos);
    if (dot(n, v) < 0.0) n = -n;
    vec3 c = ambient * v_color;
    for (int i = 0; i < n_lights; ++i) {{
        vec3 l = light_dir[i];
        float ndotl = dot(n, l);
        if (ndotl > 0.0) {{
            vec3 r = 2.0 * ndotl * n - l;
            c += light_color[i] * (ndotl * v_color + specular * pow(max(dot(r, v), 0.0), shininess));
        }}
    }}
    f_color = vec4(clamp(c, 0.0, 1.0), 1.0);
}}
"""

EGL_PACKAGES = "libegl1 libegl-mesa0 libgl1-mesa-dri"


def create_context():  # -> moderngl.Context
    """A headless OpenGL 3.3 context through EGL, or an EmoteError saying what to install."""
    try:
        import moderngl
    except ImportError as e:
        raise EmoteError(
            f"OpenGL renderer needs the 'moderngl' package ({e}); pip install 'emote[render]'"
        ) from None
    try:
        return moderngl.create_standalone_context(backend="egl", require=330)
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EmoteError(
            f"OpenGL renderer: cannot create a headless EGL context ({reason}); "
            f"on Debian/Ubuntu install {EGL_PACKAGES}, or use --renderer pytorch3d on a CUDA machine"
        ) from None


def is_software(renderer: str) -> bool:
    """Whether a GL renderer string names a CPU rasteriser (Mesa llvmpipe, softpipe, swrast)."""
    return any(k in renderer.lower() for k in ("llvmpipe", "softpipe", "swrast", "software"))


class OpenGLRenderer(Renderer):
    """moderngl/EGL renderer; see the module docstring."""

    name = "opengl"
    device = torch.device("cpu")

    def __init__(self, scene: Scene, settings: RenderSettings) -> None:
        super().__init__(scene, settings)
        lighting = scene.lighting
        if len(lighting.lights) > MAX_LIGHTS:
            raise EmoteError(f"OpenGL renderer: at most {MAX_LIGHTS} lights, got {len(lighting.lights)}")
        self.ctx = ctx = create_context()
        try:
            self._setup(scene, settings)
        except Exception:
            ctx.release()
            raise

    def _setup(self, scene: Scene, settings: RenderSettings) -> None:
        ctx = self.ctx
        info = ctx.info
        self.description = f"{info.get('GL_RENDERER', '?')}; {info.get('GL_VERSION', '?')}"
        w, h = settings.width, settings.height
        self.prog = prog = ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)

        flip_y = np.diag([1.0, -1.0, 1.0, 1.0])  # draw upside down: GL reads rows bottom-up
        cam = scene.camera
        mvp = flip_y @ cam.projection_matrix(settings.aspect) @ cam.view_matrix()
        prog["mvp"].write(mvp.T.astype("f4").tobytes())  # GLSL matrices are column-major
        lighting = scene.lighting
        dirs = np.zeros((MAX_LIGHTS, 3), np.float32)
        cols = np.zeros((MAX_LIGHTS, 3), np.float32)
        n_lights = len(lighting.lights)
        if n_lights:
            dirs[:n_lights] = lighting.directions()
            cols[:n_lights] = lighting.colors()
        prog["eye"].value = tuple(float(x) for x in cam.eye)
        prog["n_lights"].value = n_lights
        prog["light_dir"].value = [tuple(map(float, d)) for d in dirs]
        prog["light_color"].value = [tuple(map(float, c)) for c in cols]
        prog["ambient"].value = float(lighting.ambient)
        prog["specular"].value = float(lighting.specular)
        prog["shininess"].value = float(lighting.shininess)

        n_vertices = scene.n_vertices
        self._positions = ctx.buffer(reserve=n_vertices * 3 * 4, dynamic=True)  # rewritten every frame
        self._normals = ctx.buffer(reserve=n_vertices * 3 * 4, dynamic=True)
        self._colors = ctx.buffer(scene.colors.astype("f4").tobytes())
        self._ibo = ctx.buffer(scene.faces.astype("i4").tobytes())
        self._vao = ctx.vertex_array(
            prog,
            [
                (self._positions, "3f", "in_pos"),
                (self._normals, "3f", "in_normal"),
                (self._colors, "3f", "in_color"),
            ],
            index_buffer=self._ibo,
            index_element_size=4,
        )
        msaa = settings.msaa
        if msaa is None:
            msaa = 0 if is_software(self.description) else 4
        samples = min(msaa, ctx.max_samples) if msaa > 1 else 0
        self.samples = samples
        self._target = ctx.framebuffer(ctx.renderbuffer((w, h), components=4), ctx.depth_renderbuffer((w, h)))
        if samples:
            self._draw_fbo = ctx.framebuffer(
                ctx.renderbuffer((w, h), components=4, samples=samples),
                ctx.depth_renderbuffer((w, h), samples=samples),
            )
        else:
            self._draw_fbo = self._target
        self._background = tuple(float(c) for c in settings.background)
        if samples:
            self.description += f"; MSAA {samples}x"

    def _draw(self, vertices: torch.Tensor, normals: torch.Tensor, out: np.ndarray) -> None:
        import moderngl

        positions = vertices.contiguous().numpy()  # (N, V, 3) float32, no copy on CPU
        normals_np = normals.contiguous().numpy()
        ctx, fbo = self.ctx, self._draw_fbo
        fbo.use()
        ctx.enable(moderngl.DEPTH_TEST)
        for i in range(len(positions)):
            self._positions.write(positions[i])
            self._normals.write(normals_np[i])
            fbo.clear(*self._background, 1.0, depth=1.0)
            self._vao.render(moderngl.TRIANGLES)
            if fbo is not self._target:
                ctx.copy_framebuffer(self._target, fbo)  # resolve MSAA
            self._target.read_into(out[i], components=3, alignment=1)

    def close(self) -> None:
        if getattr(self, "ctx", None) is not None:
            self.ctx.release()
            self.ctx = None
