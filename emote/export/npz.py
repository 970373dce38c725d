"""emote NPZ: a NumPy archive for pipelines that want arrays, exact and compact.

Arrays in the archive (``numpy.savez_compressed``; no pickles, so
``np.load(path)`` works with the default ``allow_pickle=False``):

==================  ========================  ==========================================
key                 dtype / shape              meaning
==================  ========================  ==========================================
``format``          str, ()                    ``"emote.animation"``
``schema_version``  int64, ()                  1
``fps``             float64, ()                frames per second
``channels``        str, (C,)                  channel names, column order of ``curves``
``curves``          float32, (frames, C)       the curves (C = 61 when written by emote)
``metadata``        str, ()                    ``FaceAnimation.metadata`` as JSON text
==================  ========================  ==========================================

A round trip is exact: curves, fps and metadata come back equal. The reader
needs only ``curves`` and ``fps``: ``channels`` may be a subset or reordered
(mapped by name; missing channels are zeros, listed in
``metadata["missing_channels"]``) and, if absent, ``curves`` must have 61
columns in canonical order; ``format``, ``schema_version`` and ``metadata`` are
checked when present.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from emote.animation.channels import CHANNELS, N_CHANNELS
from emote.animation.face_animation import FaceAnimation
from emote.errors import FormatError, file_error
from emote.export._common import channel_columns, check_fps, check_readable
from emote.export.json_format import FORMAT_ID, SCHEMA_VERSION, dump_metadata
from emote.io.atomic import atomic_write

EXTENSION = ".npz"
NAME = "npz"
EXPECTED = "expected emote NPZ with curves and fps"


def write(anim: FaceAnimation, path: str | PathLike[str]) -> None:
    """Write ``anim`` as an emote NPZ archive (atomically).

    Parameters
    ----------
    anim : FaceAnimation
        ``curves: (frames, 61) float32``; JSON-serialisable metadata.
    path : str or PathLike
        Destination, conventionally ``*.npz``.
    """
    path = Path(path)
    arrays = {
        "format": np.array(FORMAT_ID),
        "schema_version": np.array(SCHEMA_VERSION, np.int64),
        "fps": np.array(anim.fps, np.float64),
        "channels": np.array(CHANNELS),
        "curves": np.ascontiguousarray(anim.curves, np.float32),
        "metadata": np.array(dump_metadata(anim.metadata, path)),
    }
    with atomic_write(path, "wb") as f:
        _savez_reproducible(f, arrays)


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _savez_reproducible(f: Any, arrays: dict[str, np.ndarray]) -> None:
    """``numpy.savez_compressed``, but every member dated 1980-01-01 (zip's epoch).

    numpy stamps each member with the wall clock, so two writes of one animation
    would differ in a few bytes; fixed dates make the same animation the same file.
    """
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


def _scalar(path: Path, arrays: Any, key: str, kind: str) -> Any:
    value = arrays[key]
    if value.shape != () or value.dtype.kind not in kind:
        raise file_error(
            FormatError, path, f"array {key!r} must be a single value, got {value.dtype} {value.shape}"
        )
    return value.item()


def read(path: str | PathLike[str]) -> FaceAnimation:
    """Read an emote NPZ archive.

    Raises
    ------
    FormatError
        When the file is not a NumPy archive or its arrays break the layout.
    """
    path = check_readable(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise file_error(FormatError, path, f"not a NumPy .npz archive ({EXPECTED})")
        with np.load(path, allow_pickle=False) as arrays:
            return _from_arrays(path, arrays)
    except (zipfile.BadZipFile, EOFError, zlib.error):
        raise file_error(FormatError, path, f"not a readable NumPy .npz archive ({EXPECTED})") from None
    except ValueError as e:
        if "pickle" in str(e):
            raise file_error(FormatError, path, "holds pickled objects, which emote does not load") from None
        raise file_error(FormatError, path, f"not a readable NumPy .npz archive: {e}") from None
    except OSError as e:
        raise file_error(FormatError, path, f"cannot be read: {e.strerror or e}") from None


def _from_arrays(path: Path, arrays: Any) -> FaceAnimation:
    keys = set(arrays.files)
    for key in ("curves", "fps"):
        if key not in keys:
            raise file_error(FormatError, path, f"array {key!r} missing ({EXPECTED})")
    if "format" in keys and _scalar(path, arrays, "format", "U") != FORMAT_ID:
        raise file_error(FormatError, path, f"'format' is not {FORMAT_ID!r}")
    if "schema_version" in keys:
        version = _scalar(path, arrays, "schema_version", "iu")
        if version > SCHEMA_VERSION:
            raise file_error(
                FormatError,
                path,
                f"schema_version {version} is newer than this emote reads ({SCHEMA_VERSION}); upgrade emote",
            )
    fps = check_fps(path, _scalar(path, arrays, "fps", "fiu"))

    stored = arrays["curves"]
    if stored.ndim != 2 or stored.dtype.kind not in "fiu":
        raise file_error(
            FormatError, path, f"'curves' must be a 2-D numeric array, got {stored.dtype} {stored.shape}"
        )
    if "channels" in keys:
        names = arrays["channels"]
        if names.ndim != 1 or names.dtype.kind != "U":
            raise file_error(FormatError, path, "'channels' must be a 1-D array of names")
        columns, missing = channel_columns(path, names.tolist(), "'channels'")
    else:
        columns, missing = list(range(N_CHANNELS)), []
    if stored.shape[1] != len(columns):
        raise file_error(
            FormatError, path, f"'curves' has {stored.shape[1]} columns for {len(columns)} channels"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        values = stored.astype(np.float32)
    if not np.isfinite(values).all():
        raise file_error(FormatError, path, "'curves' holds NaN, Inf or values beyond float32 range")

    metadata: dict[str, Any] = {}
    if "metadata" in keys:
        text = _scalar(path, arrays, "metadata", "U")
        try:
            metadata = json.loads(text)
        except json.JSONDecodeError as e:
            raise file_error(FormatError, path, f"'metadata' is not valid JSON ({e.msg})") from None
        if not isinstance(metadata, dict):
            raise file_error(FormatError, path, "'metadata' must be a JSON object")
    if missing:
        metadata["missing_channels"] = missing

    curves = np.zeros((stored.shape[0], N_CHANNELS), np.float32)
    curves[:, columns] = values
    return FaceAnimation(fps, curves, metadata)


__all__ = ["EXTENSION", "read", "write"]
