"""FLAME as a rig: ARKit curves → FLAME expression, jaw, neck and eye poses (and a mesh to render).

FLAME (Li, Bolkart, Black, Li and Romero, "Learning a model of facial shape
and expression from 4D scans", SIGGRAPH Asia 2017) is a linear-blend-skinned
head: a template, linear shape and expression blendshapes, pose-corrective
blendshapes, and five joints (root, neck, jaw, left eye, right eye)::

    T(β, ψ, θ) = T̄ + S β + E ψ + P(θ)           P linear in (R(θ_k) − I), k = 1..4
    J = 𝒥 T(β, ψ, θ=0)                         joints regressed from the shaped mesh
    v_i = Σ_k w_ik G_k(θ, J) [T_i; 1]             linear blend skinning

(the skinning formulation of SMPL, Loper et al. 2015). The model file is the
user's: FLAME is licensed per user at https://flame.is.tue.mpg.de (free
registration), and nothing of it ships with emote.

Loading. ``generic_model.pkl`` (FLAME 2020, and FLAME 2023's pickle) holds
``v_template (5023, 3)``, ``f``, ``shapedirs (5023, 3, 400)`` (300 identity
then 100 expression components), ``posedirs (5023, 3, 36)``,
``J_regressor (5, 5023)`` (scipy sparse), ``kintree_table (2, 5)`` and
``weights (5023, 5)``. Real files pickle some arrays as ``chumpy`` objects;
they are read here without chumpy by a restricted unpickler that turns those
objects into their stored arrays and refuses any other class (a pickle can
otherwise run code). The package ``smplx`` was considered: its FLAME class
also wants ``flame_static_embedding.pkl`` (landmarks, a separate download)
and chumpy for real files, so the LBS above (about 40 lines) is implemented
here in torch instead. ``.npz`` files with the same keys load too. Optional
eyelid blendshapes (as some FLAME tool chains add) are read from keys
``l_eyelid`` / ``r_eyelid`` (each ``(5023, 3)``) or from files
``l_eyelid.npy`` / ``r_eyelid.npy`` beside the model.

The ARKit → FLAME map is fitted at load time from the user's model, never
shipped: for each ARKit shape of a *source* mesh rig (the default head, or
ICT-FaceKit), its displacement field is transferred to FLAME's mean face and
FLAME's expression coefficients and jaw pose that reproduce it are solved for:

1. Alignment: the source's eye centres and lip line are matched to FLAME's
   (eye joints; the lip line is where the jaw's skinning weight changes on the
   front midline): a translation and per-axis scale (x and z from the eye
   distance, y from the eye-to-mouth height).
2. Correspondence: each FLAME vertex (eyeballs excepted) takes the inverse-
   distance-weighted displacement of its 4 nearest source vertices (eyeballs
   excepted), scaled by the alignment; vertices farther than 1 cm from the
   source get no target.
3. Fit: minimise ``Σ_i m_i ‖FLAME(ψ, θ_jaw)_i − T̄_i − d_i‖² + λ‖ψ‖²`` for all
   shapes at once (L-BFGS in torch, started from the linear solution with
   ``θ_jaw = 0``). The result is cached (``$EMOTE_CACHE_DIR``) under the hash
   of the model file, the source rig and the number of expression components.

Animation then maps linearly: ``ψ(t) = Σ_s w_s(t) ψ_s``, ``θ_jaw(t) = Σ_s w_s(t) θ_s``
(axis-angle; ARKit's jaw shapes rotate about distinct axes, so summing is a
fair approximation), the neck from HeadYaw/Pitch/Roll and the eyes from the
eye angles. The rig renders FLAME's own response to each ARKit shape as a
blendshape mesh (``deltas``), so previews show what the exported parameters do.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import torch

from emote.animation.channels import ARKIT_NAMES, INDEX, N_ARKIT, N_CHANNELS, rig_angles
from emote.errors import RigError, file_error
from emote.rigs.base import MeshRig, Rigid
from emote.rigs.mesh_tools import SKIN, cache_dir, find_probes, paint_eyes, pose_rotations

FLAME_URL = "https://flame.is.tue.mpg.de"
HOW_TO_GET = (
    f"FLAME is not bundled: register (free) at {FLAME_URL}, download FLAME 2020 or 2023 "
    "and pass its generic_model.pkl with --flame-model PATH"
)
_FIT_VERSION = "flame-fit-2"
N_SHAPE = 300  # FLAME's identity components precede the expression ones in shapedirs
JOINTS = ("root", "neck", "jaw", "left_eye", "right_eye")


# -- loading -------------------------------------------------------------------------------------


class _ChumpyArray:
    """Stand-in for a pickled ``chumpy`` object: keeps its state, from which the array is taken."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.state: object = None

    def __setstate__(self, state: object) -> None:
        self.state = state


class _ModelUnpickler(pickle.Unpickler):
    """Unpickles numpy / scipy.sparse data only; chumpy objects become :class:`_ChumpyArray`."""

    _BUILTINS = frozenset(
        {"set", "frozenset", "list", "dict", "tuple", "slice", "complex", "bytearray", "object"}
    )

    def find_class(self, module: str, name: str) -> object:
        root = module.split(".")[0]
        if root == "chumpy":
            return _ChumpyArray
        if root == "numpy":
            return super().find_class(module, name)
        if module.startswith("scipy.sparse"):
            import scipy.sparse

            cls = getattr(scipy.sparse, name, None)  # old pickles name private modules (scipy.sparse.csc)
            return cls if cls is not None else super().find_class(module, name)
        if module in ("copy_reg", "copyreg") and name == "_reconstructor":
            return super().find_class("copyreg", name)
        if module in ("__builtin__", "builtins") and name in self._BUILTINS:
            return super().find_class("builtins", name)
        if module == "_codecs" and name == "encode":  # protocol-2 pickles store bytes this way
            return super().find_class(module, name)
        if module == "collections" and name == "OrderedDict":
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (not model data)")


def _array(value: object, key: str, path: Path) -> np.ndarray:
    if isinstance(value, _ChumpyArray):
        state = value.state
        if isinstance(state, dict) and "x" in state:
            value = state["x"]
        else:
            raise file_error(
                RigError, path, f"'{key}' is a chumpy expression, not stored data; re-save the model"
            )
    if hasattr(value, "toarray"):  # scipy.sparse
        value = value.toarray()
    return np.asarray(value)


@dataclass(frozen=True)
class FlameModel:
    """A FLAME model's arrays (metres, +Y up, face towards +Z).

    Attributes
    ----------
    template : np.ndarray [shape=(V, 3), float64]
    faces : np.ndarray [shape=(F, 3), int64]
    shapedirs : np.ndarray [shape=(V, 3, n_shape), float64]
    exprdirs : np.ndarray [shape=(V, 3, n_expr), float64]
        Expression blendshapes (100 in FLAME 2020/2023).
    posedirs : np.ndarray [shape=(V, 3, 36), float64]
    j_regressor : np.ndarray [shape=(5, V), float64]
    parents : np.ndarray [shape=(5,), int64]
        Parent joint of each joint (-1 for the root).
    weights : np.ndarray [shape=(V, 5), float64]
    eyelids : np.ndarray [shape=(2, V, 3), float64] or None
        Left and right eyelid-closing blendshapes when the model has them.
    path : str
    digest : str
        SHA-1 of the file's bytes (keys the fitted-map cache).
    """

    template: np.ndarray
    faces: np.ndarray
    shapedirs: np.ndarray
    exprdirs: np.ndarray
    posedirs: np.ndarray
    j_regressor: np.ndarray
    parents: np.ndarray
    weights: np.ndarray
    eyelids: np.ndarray | None = None
    path: str = ""
    digest: str = ""

    @property
    def n_vertices(self) -> int:
        return int(self.template.shape[0])

    @property
    def n_expression(self) -> int:
        return int(self.exprdirs.shape[2])


def load_flame_model(path: str | PathLike[str] | None) -> FlameModel:
    """Read a FLAME model file (``generic_model.pkl`` of FLAME 2020/2023, or an ``.npz`` with its keys).

    Raises
    ------
    RigError
        No path, a missing file (saying where FLAME comes from), or a file that
        is not a FLAME model.
    """
    if path is None:
        raise RigError(f"the FLAME rig needs a FLAME model file. {HOW_TO_GET}")
    path = Path(path).expanduser()
    if not path.is_file():
        raise file_error(RigError, path, f"FLAME model file not found. {HOW_TO_GET}")
    raw = path.read_bytes()
    try:
        if raw[:2] == b"PK":
            with np.load(io.BytesIO(raw), allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        else:
            data = _ModelUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as exc:  # untrusted bytes: any failure to decode is "not a model"
        # (random bytes can even ask the unpickler for gigabytes: MemoryError)
        reason = str(exc)[:120] or type(exc).__name__
        raise file_error(RigError, path, f"not a readable FLAME model ({reason})") from None
    if not isinstance(data, dict):
        raise file_error(RigError, path, "not a FLAME model (expected a dict of arrays)")
    needed = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "kintree_table", "weights")
    absent = [k for k in needed if k not in data]
    if absent:
        raise file_error(RigError, path, f"not a FLAME model: missing {', '.join(absent)}")
    a = {k: _array(data[k], k, path) for k in needed}
    template = a["v_template"].astype(np.float64)
    v = len(template)
    shapedirs = a["shapedirs"].astype(np.float64)
    if template.shape != (v, 3) or shapedirs.ndim != 3 or shapedirs.shape[:2] != (v, 3):
        raise file_error(
            RigError, path, f"v_template {template.shape} and shapedirs {shapedirs.shape} disagree"
        )
    n_shape = N_SHAPE if shapedirs.shape[2] > N_SHAPE else shapedirs.shape[2] // 2
    if shapedirs.shape[2] - n_shape < 1:
        raise file_error(RigError, path, f"shapedirs {shapedirs.shape} holds no expression components")
    posedirs = a["posedirs"].astype(np.float64)
    j_reg = a["J_regressor"].astype(np.float64)
    weights = a["weights"].astype(np.float64)
    kintree = a["kintree_table"].astype(np.int64)
    n_joints = j_reg.shape[0]
    if n_joints != 5 or weights.shape != (v, 5) or posedirs.shape != (v, 3, 36) or j_reg.shape != (5, v):
        raise file_error(
            RigError,
            path,
            f"unexpected FLAME layout: J_regressor {j_reg.shape}, weights {weights.shape}, posedirs {posedirs.shape}",
        )
    parents = kintree[0].copy()
    parents[0] = -1  # stored as 2**32 - 1
    eyelids = None
    lids = [data.get(k) for k in ("l_eyelid", "r_eyelid")]
    if all(x is None for x in lids):
        files = [path.with_name(f"{s}_eyelid.npy") for s in "lr"]
        if all(f.is_file() for f in files):
            lids = [np.load(f, allow_pickle=False) for f in files]
    if all(x is not None for x in lids):
        stack = np.stack([_array(x, "eyelid", path).astype(np.float64).reshape(v, 3) for x in lids])
        # Which basis closes the character's left (+X) eye is read from the geometry, not the file name.
        centre_x = [
            (np.linalg.norm(b, axis=1) @ template[:, 0]) / max(np.linalg.norm(b, axis=1).sum(), 1e-12)
            for b in stack
        ]
        eyelids = stack if centre_x[0] >= centre_x[1] else stack[::-1].copy()
    return FlameModel(
        template=template,
        faces=a["f"].astype(np.int64),
        shapedirs=shapedirs[:, :, :n_shape],
        exprdirs=shapedirs[:, :, n_shape:],
        posedirs=posedirs,
        j_regressor=j_reg,
        parents=parents,
        weights=weights,
        eyelids=eyelids,
        path=str(path),
        digest=hashlib.sha1(raw).hexdigest(),
    )


# -- the model in torch ------------------------------------------------------------------------


def rodrigues(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` from axis-angle vectors ``(..., 3)`` (smooth at zero)."""
    angle = torch.sqrt((axis_angle * axis_angle).sum(-1, keepdim=True) + 1e-16)
    k = axis_angle / angle
    zero = torch.zeros_like(k[..., 0])
    kx, ky, kz = k.unbind(-1)
    cross = torch.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], -1).reshape(*k.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    s, c = torch.sin(angle)[..., None], torch.cos(angle)[..., None]
    return eye + s * cross + (1 - c) * cross @ cross


class FlameLayer:
    """FLAME's forward model (expression and pose; identity β = 0) as torch tensors."""

    def __init__(self, model: FlameModel, *, n_expression: int, dtype: torch.dtype = torch.float64) -> None:
        if not 1 <= n_expression <= model.n_expression:
            raise RigError(f"n_expression must be in 1..{model.n_expression}, got {n_expression}")
        v = model.n_vertices
        self.n_expression = n_expression
        self.template = torch.as_tensor(model.template, dtype=dtype)
        self.exprdirs = torch.as_tensor(model.exprdirs[:, :, :n_expression], dtype=dtype)
        self.posedirs = torch.as_tensor(model.posedirs.reshape(v * 3, 36).T, dtype=dtype)
        self.j_regressor = torch.as_tensor(model.j_regressor, dtype=dtype)
        self.weights = torch.as_tensor(model.weights, dtype=dtype)
        self.parents = [int(p) for p in model.parents]
        self.eyelids = None if model.eyelids is None else torch.as_tensor(model.eyelids, dtype=dtype)

    def __call__(
        self,
        expression: torch.Tensor,
        pose: torch.Tensor,
        eyelids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Posed vertices.

        Parameters
        ----------
        expression : torch.Tensor [shape=(B, n_expression)]
        pose : torch.Tensor [shape=(B, 5, 3)]
            Axis-angle per joint: root, neck, jaw, left eye, right eye.
        eyelids : torch.Tensor [shape=(B, 2)], optional
            Eyelid blendshape weights (left, right), when the model has them.

        Returns
        -------
        torch.Tensor [shape=(B, V, 3)], metres.
        """
        b = expression.shape[0]
        v = self.template + torch.einsum("vck,bk->bvc", self.exprdirs, expression)
        if eyelids is not None and self.eyelids is not None:
            v = v + torch.einsum("lvc,bl->bvc", self.eyelids, eyelids)
        joints = torch.einsum("jv,bvc->bjc", self.j_regressor, v)
        rot = rodrigues(pose)  # (B, 5, 3, 3)
        eye = torch.eye(3, dtype=v.dtype)
        features = (rot[:, 1:] - eye).reshape(b, -1)
        v = v + (features @ self.posedirs).reshape(b, -1, 3)
        chain: list[torch.Tensor] = []
        for k, parent in enumerate(self.parents):
            offset = joints[:, k] - (joints[:, parent] if parent >= 0 else 0.0)
            local = torch.cat([torch.cat([rot[:, k], offset[..., None]], -1), _bottom_row(b, v.dtype)], -2)
            chain.append(local if parent < 0 else chain[parent] @ local)
        world = torch.stack(chain, 1)  # (B, 5, 4, 4)
        shift = world[..., :3, 3] - (world[..., :3, :3] @ joints[..., None])[..., 0]
        rot_v = torch.einsum("vk,bkij->bvij", self.weights, world[..., :3, :3])
        shift_v = torch.einsum("vk,bki->bvi", self.weights, shift)
        return (rot_v @ v[..., None])[..., 0] + shift_v

    def joints(self) -> np.ndarray:
        """Rest joint positions ``(5, 3)`` in metres."""
        return (self.j_regressor @ self.template).numpy()


def _bottom_row(b: int, dtype: torch.dtype) -> torch.Tensor:
    row = torch.zeros(b, 1, 4, dtype=dtype)
    row[..., 3] = 1.0
    return row


# -- fitting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlameFit:
    """Expression and jaw pose reproducing displacement fields on FLAME.

    Attributes
    ----------
    expression : np.ndarray [shape=(S, n_expression), float32]
    jaw : np.ndarray [shape=(S, 3), float32]
        Jaw axis-angle (radians).
    rms_mm : np.ndarray [shape=(S,), float32]
        Root-mean-square residual over the weighted vertices, in mm.
    """

    expression: np.ndarray
    jaw: np.ndarray
    rms_mm: np.ndarray


def fit_flame(
    layer: FlameLayer,
    targets: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    regularization: float = 1e-4,
    iterations: int = 80,
) -> FlameFit:
    """Fit FLAME expression + jaw pose to displacement fields, all shapes at once.

    Minimises, per shape ``s`` (in mm², vertex-weighted mean)::

        Σ_i m_i ‖FLAME(ψ_s, θ_s)_i − T̄_i − d_si‖² / Σ_i m_i + λ (‖ψ_s‖² + ‖θ_s / 0.02‖²)

    by L-BFGS (strong Wolfe line search) from the linear least-squares
    solution with ``θ = 0``.

    Parameters
    ----------
    layer : FlameLayer
    targets : np.ndarray [shape=(S, V, 3)]
        Displacements from the template, metres.
    mask : np.ndarray [shape=(V,)], optional
        Per-vertex weights in [0, 1] (0: no target there); all ones by default.
    regularization : float
        λ, pulling coefficients towards 0 where the target leaves them free.
    iterations : int
        L-BFGS iterations.

    Returns
    -------
    FlameFit
    """
    dtype = layer.template.dtype
    d = torch.as_tensor(np.asarray(targets), dtype=dtype)
    s, v = d.shape[:2]
    m = torch.ones(v, dtype=dtype) if mask is None else torch.as_tensor(np.asarray(mask), dtype=dtype)
    msum = m.sum().clamp_min(1e-12)
    n = layer.n_expression
    rest = layer(torch.zeros(1, n, dtype=dtype), torch.zeros(1, 5, 3, dtype=dtype))
    mm = 1000.0

    # Linear start: ψ = argmin ‖√m (E ψ − d)‖² + λ‖ψ‖² (jaw at rest).
    w = m.sqrt()[:, None, None]
    e = (layer.exprdirs * w * mm).reshape(v * 3, n)
    rhs = (d * w[None, :, :, 0] * mm).reshape(s, v * 3).T
    lhs = e.T @ e / msum + regularization * torch.eye(n, dtype=dtype)
    psi0 = torch.linalg.solve(lhs, e.T @ rhs / msum).T

    psi = psi0.clone().requires_grad_(True)
    # The jaw is optimised in units of JAW_UNIT radians, so that a unit step of
    # any parameter moves the face by millimetres: L-BFGS converges far faster.
    jaw_unit = 0.02
    jaw_scaled = torch.zeros(s, 3, dtype=dtype, requires_grad=True)
    zeros = torch.zeros(s, 1, 3, dtype=dtype)

    def residual() -> torch.Tensor:
        jaw = jaw_scaled * jaw_unit
        pose = torch.cat([zeros, zeros, jaw[:, None], zeros, zeros], 1)
        return (layer(psi, pose) - rest - d) * mm

    def closure() -> torch.Tensor:
        opt.zero_grad()
        r = residual()
        loss = ((r * r).sum(-1) * m).sum() / msum + regularization * (
            (psi * psi).sum() + (jaw_scaled * jaw_scaled).sum()
        )
        loss.backward()
        return loss

    opt = torch.optim.LBFGS(
        [psi, jaw_scaled],
        lr=1.0,
        max_iter=iterations,
        history_size=50,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-10,
        tolerance_change=1e-12,
    )
    opt.step(closure)
    with torch.no_grad():
        r = residual()
        rms = torch.sqrt(((r * r).sum(-1) * m).sum(-1) / msum)
    return FlameFit(
        expression=psi.detach().numpy().astype(np.float32),
        jaw=(jaw_scaled * jaw_unit).detach().numpy().astype(np.float32),
        rms_mm=rms.numpy().astype(np.float32),
    )


# -- transfer from a source rig --------------------------------------------------------------------


def _eye_vertices(model: FlameModel) -> dict[str, np.ndarray]:
    """FLAME's eyeball vertices per character side, from the skinning weights."""
    dominant = model.weights.argmax(1)
    strong = model.weights.max(1) > 0.5
    out = {}
    for joint in (3, 4):
        idx = np.nonzero((dominant == joint) & strong)[0]
        if len(idx):
            side = "left" if model.template[idx, 0].mean() > 0 else "right"
            out[side] = idx
    return out


def _flame_landmarks(model: FlameModel, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray, float | None]:
    """(left eye centre, right eye centre, lip-line height or None), metres."""
    eyes = sorted(joints[3:5].tolist(), key=lambda p: -p[0])
    left, right = np.asarray(eyes[0]), np.asarray(eyes[1])
    t, jaw_w = model.template, model.weights[:, 2]
    eye_y, eye_z = 0.5 * (left[1] + right[1]), 0.5 * (left[2] + right[2])
    width = abs(left[0] - right[0])
    front = (np.abs(t[:, 0]) < 0.05 * width) & (t[:, 1] < eye_y) & (t[:, 2] > eye_z)
    jawed, free = front & (jaw_w > 0.5), front & (jaw_w < 0.5)
    if not jawed.any() or not free.any():
        return left, right, None
    chin = t[jawed, 1].min()
    upper = free & (t[:, 1] > chin)
    if not upper.any():
        return left, right, None
    return left, right, float(0.5 * (t[upper, 1].min() + t[jawed, 1].max()))


def _source_landmarks(rig: MeshRig) -> tuple[np.ndarray, np.ndarray, float | None] | None:
    pivots = {e.yaw: e.pivot for e in rig.eyes}
    if "LeftEyeYaw" not in pivots or "RightEyeYaw" not in pivots:
        return None
    mouth = None
    if "upper_lip" in rig.probes and "lower_lip" in rig.probes:
        mouth = float(
            0.5 * (rig.neutral[rig.probes["upper_lip"], 1] + rig.neutral[rig.probes["lower_lip"], 1])
        )
    return np.asarray(pivots["LeftEyeYaw"], np.float64), np.asarray(pivots["RightEyeYaw"], np.float64), mouth


def transfer_shapes(
    model: FlameModel, source: MeshRig, *, max_distance: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """The source rig's 52 ARKit displacement fields on FLAME's template (see the module notes).

    Returns
    -------
    targets : np.ndarray [shape=(52, V, 3), float64]
        Metres; zero for shapes the source lacks.
    mask : np.ndarray [shape=(V,), float64]
        1 where a vertex has a target (near the source surface, not an eyeball).
    """
    from scipy.spatial import cKDTree

    layer = FlameLayer(model, n_expression=1)
    f_left, f_right, f_mouth = _flame_landmarks(model, layer.joints())
    src = _source_landmarks(source)
    s_verts = np.asarray(source.neutral, np.float64)
    if src is None:
        # No eyes to align by: match bounding boxes (a coarser correspondence).
        lo, hi = s_verts.min(0), s_verts.max(0)
        flo, fhi = model.template.min(0), model.template.max(0)
        scale = (fhi - flo) / np.maximum(hi - lo, 1e-9)
        s_centre, f_centre = 0.5 * (lo + hi), 0.5 * (flo + fhi)
    else:
        s_left, s_right, s_mouth = src
        sx = np.linalg.norm(f_left - f_right) / max(np.linalg.norm(s_left - s_right), 1e-9)
        sy = sx
        s_centre, f_centre = 0.5 * (s_left + s_right), 0.5 * (f_left + f_right)
        if f_mouth is not None and s_mouth is not None and abs(s_centre[1] - s_mouth) > 1e-9:
            sy = (f_centre[1] - f_mouth) / (s_centre[1] - s_mouth)
        scale = np.array([sx, sy, sx])
    aligned = f_centre + (s_verts - s_centre) * scale

    eye_src = np.concatenate([e.vertices for e in source.eyes]) if source.eyes else np.zeros(0, np.int64)
    usable = np.setdiff1d(np.arange(len(s_verts)), eye_src)
    tree = cKDTree(aligned[usable])
    dist, nn = tree.query(model.template, k=4)
    weights = 1.0 / np.maximum(dist, 1e-6)
    weights /= weights.sum(1, keepdims=True)
    mask = (dist[:, 0] <= max_distance).astype(np.float64)
    for idx in _eye_vertices(model).values():
        mask[idx] = 0.0

    targets = np.zeros((N_ARKIT, model.n_vertices, 3))
    for row, name in enumerate(source.shape_names):
        d = np.asarray(source.deltas[row], np.float64)[usable] * scale
        targets[INDEX[name]] = (d[nn] * weights[..., None]).sum(1) * mask[:, None]
    return targets, mask


# -- the rig ----------------------------------------------------------------------------------------


def euler_to_axis_angle(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Axis-angle ``(frames, 3)`` of head/eye angles (see :func:`emote.rigs.mesh_tools.pose_rotations`)."""
    return pose_rotations(yaw, pitch, roll).as_rotvec().astype(np.float32)


@dataclass(eq=False)
class FlameRig(MeshRig):
    """A FLAME model driven by the canonical curves.

    As a :class:`MeshRig` it renders FLAME's fitted response to each ARKit
    shape; :meth:`flame_params` gives the FLAME parameters themselves.

    Attributes
    ----------
    model_path : str
    expression_map : np.ndarray [shape=(52, n_expression), float32]
        FLAME expression coefficients of each ARKit shape at weight 1.
    jaw_map : np.ndarray [shape=(52, 3), float32]
        Jaw axis-angle of each ARKit shape at weight 1.
    has_eyelids : bool
        The model has eyelid blendshapes, driven by EyeBlinkLeft/Right.
    fit_rms_mm : dict[str, float]
        Residual of each shape's fit (mm), for the user's information.
    """

    model_path: str = ""
    expression_map: np.ndarray = field(default_factory=lambda: np.zeros((N_ARKIT, 0), np.float32))
    jaw_map: np.ndarray = field(default_factory=lambda: np.zeros((N_ARKIT, 3), np.float32))
    has_eyelids: bool = False
    fit_rms_mm: dict[str, float] = field(default_factory=dict)

    @property
    def n_expression(self) -> int:
        return int(self.expression_map.shape[1])

    def flame_params(self, curves: np.ndarray) -> dict[str, np.ndarray]:
        """FLAME parameters for every frame.

        Parameters
        ----------
        curves : np.ndarray [shape=(frames, 61)]
            Canonical curves (``FaceAnimation.curves``).

        Returns
        -------
        dict of np.ndarray, float32
            ``expression (frames, n_expression)``, ``jaw_pose (frames, 3)``,
            ``neck_pose (frames, 3)`` (from HeadYaw/Pitch/Roll),
            ``global_pose (frames, 3)`` (zeros), ``eye_pose (frames, 6)``
            (left then right eye, axis-angle, as smplx orders them), and
            ``eyelids (frames, 2)`` (left, right) when the model has them.
        """
        c = np.asarray(curves, np.float32)
        if c.ndim != 2 or c.shape[1] != N_CHANNELS:
            raise ValueError(f"curves must be (frames, {N_CHANNELS}), got {c.shape}")
        w = c[:, :N_ARKIT]
        out = {
            "expression": (w @ self.expression_map).astype(np.float32),
            "jaw_pose": (w @ self.jaw_map).astype(np.float32),
            "neck_pose": euler_to_axis_angle(
                c[:, INDEX["HeadYaw"]], c[:, INDEX["HeadPitch"]], c[:, INDEX["HeadRoll"]]
            ),
            "global_pose": np.zeros((len(c), 3), np.float32),
            "eye_pose": np.concatenate(
                [
                    euler_to_axis_angle(*rig_angles(c, (f"{s}EyeYaw", f"{s}EyePitch", f"{s}EyeRoll")))
                    for s in ("Left", "Right")
                ],
                axis=1,
            ),
        }
        if self.has_eyelids:
            out["eyelids"] = c[:, [INDEX["EyeBlinkLeft"], INDEX["EyeBlinkRight"]]].copy()
        return out


def _source_key(source: MeshRig) -> str:
    h = hashlib.sha1(source.name.encode())
    h.update(np.ascontiguousarray(source.neutral, np.float32).tobytes())
    h.update(np.ascontiguousarray(source.deltas, np.float32).tobytes())
    h.update(",".join(source.shape_names).encode())
    return h.hexdigest()[:16]


def fit_arkit_map(
    model: FlameModel,
    source: MeshRig,
    *,
    n_expression: int,
    progress: Callable[[float], None] | None = None,
) -> dict[str, np.ndarray]:
    """Fit the ARKit → FLAME map (``expression_map``, ``jaw_map``, ``rms_mm``, ``fitted``) from a source rig."""
    layer = FlameLayer(model, n_expression=n_expression)
    targets, mask = transfer_shapes(model, source)
    if progress:
        progress(0.2)
    if layer.eyelids is not None:
        # The eyelid blendshapes carry the blinks; the expression fits what remains.
        for row, lid in ((INDEX["EyeBlinkLeft"], 0), (INDEX["EyeBlinkRight"], 1)):
            targets[row] = targets[row] - model.eyelids[lid] * mask[:, None]
    fitted = np.array([n in source.shape_names for n in ARKIT_NAMES])
    fit = fit_flame(layer, targets[fitted], mask)
    if progress:
        progress(0.9)
    expression = np.zeros((N_ARKIT, n_expression), np.float32)
    jaw = np.zeros((N_ARKIT, 3), np.float32)
    rms = np.zeros(N_ARKIT, np.float32)
    expression[fitted], jaw[fitted], rms[fitted] = fit.expression, fit.jaw, fit.rms_mm
    return {"expression_map": expression, "jaw_map": jaw, "rms_mm": rms, "fitted": fitted}


def load_flame_rig(
    path: str | PathLike[str] | None,
    *,
    source: MeshRig,
    n_expression: int = 50,
    use_cache: bool = True,
    progress: Callable[[float], None] | None = None,
) -> FlameRig:
    """Load a user's FLAME model as a rig, fitting (or reading the cached) ARKit → FLAME map.

    Parameters
    ----------
    path : str or PathLike or None
        ``generic_model.pkl`` (FLAME 2020/2023) or an ``.npz`` with the same keys.
    source : MeshRig
        The rig whose ARKit shapes define the map (the default head, or ICT-FaceKit).
    n_expression : int
        FLAME expression components to use: 50 (EMOTE's layout) or up to 100.
    use_cache : bool
        Read/write the fitted map in the cache folder.
    progress : callable, optional
        Receives the fraction done (0..1) while fitting.

    Returns
    -------
    FlameRig
        Mesh in mm; ``missing`` lists ARKit shapes the source lacks or FLAME
        cannot show (e.g. TongueOut: FLAME has no tongue).

    Raises
    ------
    RigError
        No file, a missing file (with where FLAME comes from), not a FLAME model.
    """
    model = load_flame_model(path)
    if not 1 <= n_expression <= model.n_expression:
        raise file_error(
            RigError, model.path, f"has {model.n_expression} expression components, asked for {n_expression}"
        )
    key = hashlib.sha1(
        f"{_FIT_VERSION}:{model.digest}:{_source_key(source)}:{n_expression}".encode()
    ).hexdigest()[:20]
    cache_file = cache_dir() / f"flame-map-{key}.npz"
    mapping = None
    if use_cache and cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as z:
                mapping = {k: z[k] for k in z.files}
        except (OSError, ValueError):
            mapping = None
    if mapping is None:
        mapping = fit_arkit_map(model, source, n_expression=n_expression, progress=progress)
        if use_cache:
            from emote.io.atomic import atomic_path

            try:
                with atomic_path(cache_file, fsync=False) as tmp:
                    np.savez(tmp, **mapping)
            except OSError:
                pass
    if progress:
        progress(1.0)
    return _build_rig(model, mapping, source_missing=list(source.missing))


def _build_rig(model: FlameModel, mapping: dict[str, np.ndarray], *, source_missing: list[str]) -> FlameRig:
    expression_map = mapping["expression_map"].astype(np.float32)
    jaw_map = mapping["jaw_map"].astype(np.float32)
    fitted = mapping["fitted"].astype(bool)
    layer = FlameLayer(model, n_expression=expression_map.shape[1])
    with torch.no_grad():
        dtype = layer.template.dtype
        zeros = torch.zeros(N_ARKIT, 1, 3, dtype=dtype)
        pose = torch.cat([zeros, zeros, torch.as_tensor(jaw_map, dtype=dtype)[:, None], zeros, zeros], 1)
        lids = None
        if layer.eyelids is not None:
            lids = torch.zeros(N_ARKIT, 2, dtype=dtype)
            lids[INDEX["EyeBlinkLeft"], 0] = 1.0
            lids[INDEX["EyeBlinkRight"], 1] = 1.0
        posed = layer(torch.as_tensor(expression_map, dtype=dtype), pose, lids)
        rest = layer(torch.zeros(1, layer.n_expression, dtype=dtype), torch.zeros(1, 5, 3, dtype=dtype))
    deltas = ((posed - rest) * 1000.0).numpy().astype(np.float32)
    motion = np.abs(deltas).max(axis=(1, 2))
    # Shapes the source lacks, or that FLAME's surface does not show (under 0.05 mm), are missing.
    keep = fitted & (motion > 0.05) & ~np.isin(np.array(ARKIT_NAMES), source_missing)
    names = [n for n, k in zip(ARKIT_NAMES, keep, strict=True) if k]
    neutral = (model.template * 1000.0).astype(np.float32)

    colors = np.tile(np.asarray(SKIN, np.float32), (model.n_vertices, 1))
    eyes = []
    joints = layer.joints() * 1000.0
    for side, idx in sorted(_eye_vertices(model).items()):
        joint = (
            3
            if abs(joints[3, 0] - neutral[idx, 0].mean()) < abs(joints[4, 0] - neutral[idx, 0].mean())
            else 4
        )
        pivot = joints[joint].astype(np.float32)
        prefix = "Left" if side == "left" else "Right"
        eyes.append(
            Rigid(idx.astype(np.int64), pivot, f"{prefix}EyeYaw", f"{prefix}EyePitch", f"{prefix}EyeRoll")
        )
    colors = paint_eyes(colors, neutral, eyes)
    eye_idx = np.concatenate([e.vertices for e in eyes]) if eyes else np.zeros(0, np.int64)
    skin = np.setdiff1d(np.arange(model.n_vertices), eye_idx)
    rows = [ARKIT_NAMES.index(n) for n in names]
    probes = find_probes(neutral, deltas[rows], names, candidates=skin)
    head = Rigid(
        np.arange(model.n_vertices, dtype=np.int64),
        joints[1].astype(np.float32),
        "HeadYaw",
        "HeadPitch",
        "HeadRoll",
    )
    rms = mapping.get("rms_mm")
    return FlameRig(
        name="flame",
        neutral=neutral,
        faces=model.faces.astype(np.int32),
        shape_names=names,
        deltas=deltas[rows],
        colors=colors,
        eyes=eyes,
        head=head,
        probes=probes,
        missing=[n for n in ARKIT_NAMES if n not in names],
        model_path=model.path,
        expression_map=expression_map,
        jaw_map=jaw_map,
        has_eyelids=model.eyelids is not None,
        fit_rms_mm={}
        if rms is None
        else {n: float(r) for n, r, f in zip(ARKIT_NAMES, rms, fitted, strict=True) if f},
    )


__all__ = [
    "FLAME_URL",
    "FlameFit",
    "FlameLayer",
    "FlameModel",
    "FlameRig",
    "euler_to_axis_angle",
    "fit_arkit_map",
    "fit_flame",
    "load_flame_model",
    "load_flame_rig",
    "rodrigues",
    "transfer_shapes",
]
