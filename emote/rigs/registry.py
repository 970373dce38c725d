"""Rigs by name or path: what ``--rig``, ``--rig-path`` and ``--flame-model`` resolve to.

==================  ============================================================
``--rig``           rig
==================  ============================================================
``default``         the project's own head (built by code, no asset)
``ict-facekit``     ICT-FaceKit model folder: ``--rig-path DIR``, else the copy
                    ``emote rigs fetch ict-facekit`` put in the cache folder
``flame``           the user's FLAME model: ``--flame-model generic_model.pkl``
``metahuman``       MetaHuman ``CTRL_expressions_*`` curves (no mesh; previews
                    render the default head)
``arkit``           the 52 ARKit curves themselves (no mesh)
``PATH.glb``        any glTF/GLB head with ARKit-named morph targets
``PATH/``           a folder holding an ICT-FaceKit model
``PATH.pkl``        a FLAME model file (same as ``flame --flame-model PATH``)
==================  ============================================================
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np

from emote.animation.channels import ARKIT_NAMES, N_ARKIT, N_CHANNELS, POSE_NAMES
from emote.errors import RigError, file_error
from emote.rigs.base import MeshRig
from emote.rigs.mesh_tools import cache_dir

RIG_NAMES: tuple[str, ...] = ("default", "ict-facekit", "flame", "metahuman", "arkit")
_ALIASES = {
    "ict": "ict-facekit",
    "ictfacekit": "ict-facekit",
    "ict_facekit": "ict-facekit",
    "mh": "metahuman",
}

# Where `emote rigs fetch ict-facekit` downloads from (ICT-FaceKit, MIT licence).
ICT_REPOSITORY = "https://github.com/ICT-VGL/ICT-FaceKit"
ICT_RAW = "https://raw.githubusercontent.com/ICT-VGL/ICT-FaceKit/{branch}/{path}"
ICT_BRANCHES = ("master", "main")
ICT_FILES: tuple[str, ...] = (
    "LICENSE",
    "README.md",
    "FaceXModel/generic_neutral_mesh.obj",
    "FaceXModel/vertex_indices.json",
    "FaceXModel/ICTFaceModelMaterial.mtl",
    *(
        f"FaceXModel/{stem}.obj"
        for stem in (
            *(f"{base}_{s}" for base in (
                "browDown", "browInnerUp", "browOuterUp", "cheekPuff", "cheekSquint", "eyeBlink",
                "eyeLookDown", "eyeLookIn", "eyeLookOut", "eyeLookUp", "eyeSquint", "eyeWide",
                "mouthDimple", "mouthFrown", "mouthLowerDown", "mouthPress", "mouthSmile",
                "mouthStretch", "mouthUpperUp", "noseSneer",
            ) for s in "LR"),
            "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthFunnel", "mouthLeft",
            "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
        )
    ),
)  # fmt: skip


@dataclass
class CurveRig:
    """A rig with controls but no mesh (MetaHuman curves, plain ARKit).

    Attributes
    ----------
    name : str
    control_names : list[str]
        The rig's controls, in the column order of :meth:`controls`.
    preview : str
        The mesh rig previews render with (``"default"``).
    """

    name: str
    control_names: list[str]
    convert: Callable[[np.ndarray], np.ndarray]
    preview: str = "default"

    def controls(self, curves: np.ndarray) -> np.ndarray:
        """Control values for every frame.

        Parameters
        ----------
        curves : np.ndarray [shape=(frames, 61)]
            Canonical curves (``FaceAnimation.curves``).

        Returns
        -------
        np.ndarray [shape=(frames, len(control_names)), float32]
        """
        c = np.asarray(curves, np.float32)
        if c.ndim != 2 or c.shape[1] != N_CHANNELS:
            raise ValueError(f"curves must be (frames, {N_CHANNELS}), got {c.shape}")
        return np.asarray(self.convert(c), np.float32)


def metahuman_rig() -> CurveRig:
    """MetaHuman ``CTRL_expressions_*`` curves (plus the head/eye angles), via ``rigs/metahuman``."""
    from emote.rigs.metahuman import load_mapping

    mapping = load_mapping()

    def convert(c: np.ndarray) -> np.ndarray:
        return np.concatenate([mapping.to_curves(c[:, :N_ARKIT]), c[:, N_ARKIT:]], axis=1)

    return CurveRig("metahuman", [*mapping.curves, *POSE_NAMES], convert)


def arkit_rig() -> CurveRig:
    """The canonical curves themselves (ARKit 52 + head/eye angles)."""
    return CurveRig("arkit", [*ARKIT_NAMES, *POSE_NAMES], lambda c: c.copy())


def ict_default_folder() -> Path:
    """Where ``emote rigs fetch ict-facekit`` puts the model: ``<cache>/rigs/ict-facekit``."""
    return cache_dir() / "rigs" / "ict-facekit"


def _default_head() -> MeshRig:
    from emote.rigs.default_head import load_default_head

    return load_default_head()


def _ict(rig_path: str | PathLike[str] | None) -> MeshRig:
    from emote.rigs.ict import load_ict_rig

    if rig_path is not None:
        return load_ict_rig(rig_path)
    folder = ict_default_folder()
    if not (folder / "FaceXModel" / "generic_neutral_mesh.obj").is_file():
        raise RigError(
            "the ICT-FaceKit model is not installed: run 'emote rigs fetch ict-facekit' "
            "or pass a local copy with --rig-path DIR"
        )
    return load_ict_rig(folder)


def load_rig(
    name_or_path: str | PathLike[str],
    *,
    rig_path: str | PathLike[str] | None = None,
    flame_model: str | PathLike[str] | None = None,
    n_expression: int = 50,
    progress: Callable[[float], None] | None = None,
) -> MeshRig | CurveRig:
    """Resolve a rig name or file (see the module table).

    Parameters
    ----------
    name_or_path : str or PathLike
        A rig name (``default``, ``ict-facekit``, ``flame``, ``metahuman``,
        ``arkit``) or a ``.glb``/``.gltf`` file, ICT-FaceKit folder or FLAME ``.pkl``.
    rig_path : str or PathLike, optional
        The ICT-FaceKit folder for ``ict-facekit``.
    flame_model : str or PathLike, optional
        The FLAME model file for ``flame``.
    n_expression : int
        FLAME expression components (50 or 100).
    progress : callable, optional
        Fraction done (0..1) during slow first loads (the FLAME fit).

    Raises
    ------
    RigError
        Unknown name, missing files, or files that are not rigs.
    """
    text = os.fspath(name_or_path)
    key = _ALIASES.get(text.strip().lower(), text.strip().lower())
    if key == "default":
        return _default_head()
    if key == "ict-facekit":
        return _ict(rig_path)
    if key == "metahuman":
        return metahuman_rig()
    if key == "arkit":
        return arkit_rig()
    if key == "flame":
        return _flame(flame_model, n_expression=n_expression, progress=progress)
    path = Path(text).expanduser()
    suffix = path.suffix.lower()
    if suffix in (".glb", ".gltf"):
        from emote.rigs.gltf import load_gltf_rig

        return load_gltf_rig(path)
    if suffix in (".pkl", ".npz"):
        return _flame(path, n_expression=n_expression, progress=progress)
    if path.is_dir():
        return _ict(path)
    if path.exists():
        raise file_error(
            RigError, path, "not a rig file (expected .glb, .gltf, a FLAME .pkl or an ICT-FaceKit folder)"
        )
    raise RigError(f"unknown rig {text!r}; rigs are {', '.join(RIG_NAMES)}, or a .glb/.gltf file path")


def _flame(
    path: str | PathLike[str] | None, *, n_expression: int, progress: Callable[[float], None] | None
) -> MeshRig:
    from emote.rigs.flame import load_flame_model, load_flame_rig

    load_flame_model(path)  # fail fast (with where FLAME comes from) before building the source rig
    return load_flame_rig(path, source=_default_head(), n_expression=n_expression, progress=progress)


def _download(url: str, dest: Path, *, timeout: float) -> None:
    with (
        urllib.request.urlopen(url, timeout=timeout) as response,
        open(dest, "wb") as out,
    ):  # a fixed https URL (or the tests' file URL)
        shutil.copyfileobj(response, out)


def fetch_rig(
    name: str,
    dest: str | PathLike[str] | None = None,
    *,
    url_template: str = ICT_RAW,
    timeout: float = 60.0,
    progress: Callable[[float], None] | None = None,
) -> Path:
    """Download a freely licensed rig (``ict-facekit``) for users with internet.

    The ICT-FaceKit files (neutral mesh, the expression OBJs, ``vertex_indices.json``,
    material, LICENSE; about 140 MB, not the identity PCA shapes) come from
    its public repository. Everything goes to a temporary folder first and is
    moved into place only when complete, so an interrupted fetch leaves nothing
    half-written.

    Parameters
    ----------
    name : str
        ``"ict-facekit"``.
    dest : str or PathLike, optional
        Target folder; :func:`ict_default_folder` by default (where ``--rig
        ict-facekit`` looks without ``--rig-path``).
    url_template : str
        ``{branch}`` and ``{path}`` are filled in; tests point it elsewhere.
    timeout : float
        Seconds per request.
    progress : callable, optional
        Fraction of files done (0..1).

    Returns
    -------
    Path
        The folder holding ``FaceXModel/``.

    Raises
    ------
    RigError
        Unknown rig name, or the download failed (the message names the URL).
    """
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key != "ict-facekit":
        raise RigError(
            f"cannot fetch rig {name!r}; fetchable rigs: ict-facekit (FLAME needs registration at flame.is.tue.mpg.de)"
        )
    target = Path(dest).expanduser() if dest is not None else ict_default_folder()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".ict-facekit-", dir=target.parent))
    try:
        branch = None
        for i, rel in enumerate(ICT_FILES):
            out = staging / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            last: Exception | None = None
            for candidate in [branch] if branch else ICT_BRANCHES:
                url = url_template.format(branch=candidate, path=rel)
                try:
                    _download(url, out, timeout=timeout)
                    branch, last = candidate, None
                    break
                except (urllib.error.URLError, OSError, ValueError) as exc:
                    last = RigError(f"{url}: download failed ({exc})")
            if last is not None:
                raise last
            if progress:
                progress((i + 1) / len(ICT_FILES))
        from emote.rigs.ict import model_folder

        model_folder(staging)  # the result must load as an ICT-FaceKit folder
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


__all__ = [
    "ICT_REPOSITORY",
    "RIG_NAMES",
    "CurveRig",
    "arkit_rig",
    "fetch_rig",
    "ict_default_folder",
    "load_rig",
    "metahuman_rig",
]
