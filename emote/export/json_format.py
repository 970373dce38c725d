"""emote JSON: the lossless, self-describing text format (schema version 1).

Schema (also in ``docs/json_schema.md``)::

    {
      "format": "emote.animation",        # fixed; identifies the file
      "schema_version": 1,                # integer; readers refuse newer versions
      "fps": 30.0,                        # frames per second, > 0
      "frames": 90,                       # number of frames, ≥ 0
      "channels": ["EyeBlinkLeft", ...],  # channel names, one per curve
      "metadata": {...},                  # FaceAnimation.metadata, verbatim
      "curves": [[...90 numbers...], ...] # one list per channel, in "channels" order
    }

Curves are column-major (one list per channel): each list is one animation
curve, which is what keyframe importers (Blender F-curves, Unreal curves) and
plotting want, and a channel can be dropped or added without touching the
rest. Numbers are the shortest decimals that read back as the same float32
(``0.1``, ``1e-08``), so a round trip is exact. Blendshapes are weights (nominally
0..1), the nine head/eye channels radians.

Writers emit all 61 channels in canonical order. Readers map by name
(case-insensitively), so ``channels`` may be a subset or in any order: missing
channels read as zeros and are listed in ``metadata["missing_channels"]``.
Readers check ``format``, the schema version, that every name is a known
channel (once), that there are ``len(channels)`` lists of ``frames`` finite
numbers, and that ``metadata`` is an object; each failure is a one-line
FormatError naming the file.

Metadata must be JSON-serialisable; numpy scalars and arrays and paths are
written as plain numbers, lists and strings (and read back as such).
"""

from __future__ import annotations

import json
from os import PathLike, fspath
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from emote.animation.channels import CHANNELS, N_CHANNELS
from emote.animation.face_animation import FaceAnimation
from emote.errors import FormatError, file_error
from emote.export._common import channel_columns, check_fps, check_readable, float32_text
from emote.io.atomic import atomic_write

EXTENSION = ".json"
NAME = "json"
FORMAT_ID = "emote.animation"
SCHEMA_VERSION = 1


def _plain(value: Any) -> Any:
    """json.dumps fallback for the non-JSON types metadata commonly holds."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, PurePath):
        return fspath(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def dump_metadata(metadata: dict[str, Any], path: Path, indent: int | None = None) -> str:
    """Metadata as JSON text, or a FormatError naming ``path`` and the offending value."""
    try:
        text = json.dumps(metadata, default=_plain, allow_nan=False, ensure_ascii=False, indent=indent)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a file name that is not UTF-8: escaped, so it reads back exactly
            text = json.dumps(metadata, default=_plain, allow_nan=False, ensure_ascii=True, indent=indent)
        return text
    except (TypeError, ValueError) as e:
        raise file_error(FormatError, path, f"metadata cannot be written as JSON: {e}") from None


def write(anim: FaceAnimation, path: str | PathLike[str]) -> None:
    """Write ``anim`` as emote JSON (atomically); exact for float32 curves and fps.

    Parameters
    ----------
    anim : FaceAnimation
        ``curves: (frames, 61) float32`` and JSON-serialisable metadata.
    path : str or PathLike
        Destination, conventionally ``*.json``.
    """
    path = Path(path)
    head = (
        "{\n"
        f'  "format": {json.dumps(FORMAT_ID)},\n'
        f'  "schema_version": {SCHEMA_VERSION},\n'
        f'  "fps": {float(anim.fps)!r},\n'
        f'  "frames": {anim.n_frames},\n'
        f'  "channels": {json.dumps(list(CHANNELS))},\n'
        f'  "metadata": {dump_metadata(anim.metadata, path)},\n'
        '  "curves": [\n'
    )
    block = 1 << 16  # frames formatted at a time: memory stays bounded whatever the length
    with atomic_write(path, "w", newline="\n") as f:
        f.write(head)
        for c in range(N_CHANNELS):
            f.write("    [")
            for i in range(0, anim.n_frames, block):
                f.write(("," if i else "") + ",".join(float32_text(anim.curves[i : i + block, c]).tolist()))
            f.write("]\n" if c == N_CHANNELS - 1 else "],\n")
        f.write("  ]\n}\n")


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


def _load(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8-sig") as f:
            return json.load(f, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise file_error(
            FormatError, path, f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
        ) from None
    except UnicodeDecodeError:
        raise file_error(FormatError, path, "not a UTF-8 text file (expected emote JSON)") from None
    except ValueError as e:  # NaN / Infinity tokens, numbers of thousands of digits
        raise file_error(FormatError, path, f"not valid JSON: {e}") from None
    except RecursionError:
        raise file_error(FormatError, path, "not valid emote JSON (nested too deeply)") from None
    except OSError as e:
        raise file_error(FormatError, path, f"cannot be read: {e.strerror or e}") from None


def read(path: str | PathLike[str]) -> FaceAnimation:
    """Read an emote JSON file (any schema version up to :data:`SCHEMA_VERSION`).

    Returns
    -------
    FaceAnimation
        Curves, fps and metadata exactly as written.

    Raises
    ------
    FormatError
        When the file is not emote JSON or breaks the schema.
    """
    path = check_readable(path)
    doc = _load(path)
    if not isinstance(doc, dict):
        raise file_error(FormatError, path, "expected a JSON object (emote JSON)")
    if doc.get("format") != FORMAT_ID:
        raise file_error(FormatError, path, f"'format' is {doc.get('format')!r}, expected {FORMAT_ID!r}")
    version = doc.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise file_error(FormatError, path, f"'schema_version' {version!r} is not a version number")
    if version > SCHEMA_VERSION:
        raise file_error(
            FormatError,
            path,
            f"schema_version {version} is newer than this emote reads ({SCHEMA_VERSION}); upgrade emote",
        )
    for key in ("fps", "frames", "channels", "curves"):
        if key not in doc:
            raise file_error(FormatError, path, f"key {key!r} missing (expected emote JSON)")
    fps = check_fps(path, doc["fps"])
    frames = doc["frames"]
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 0:
        raise file_error(FormatError, path, f"'frames' {frames!r} is not a frame count")
    columns, missing = channel_columns(path, doc["channels"], "'channels'")
    curves_in = doc["curves"]
    if not isinstance(curves_in, list) or len(curves_in) != len(columns):
        got = len(curves_in) if isinstance(curves_in, list) else type(curves_in).__name__
        raise file_error(
            FormatError, path, f"'curves' must hold {len(columns)} lists (one per channel), got {got}"
        )
    metadata = doc.get("metadata", {})
    if not isinstance(metadata, dict):
        raise file_error(FormatError, path, "'metadata' must be an object")

    curves = np.zeros((frames, N_CHANNELS), np.float32)
    for col, values in zip(columns, curves_in, strict=True):
        name = CHANNELS[col]
        if not isinstance(values, list) or len(values) != frames:
            got = len(values) if isinstance(values, list) else type(values).__name__
            raise file_error(
                FormatError, path, f"channel {name!r} has {got} values, expected {frames} ('frames')"
            )
        arr = np.asarray(values) if values else np.zeros(0)
        if arr.dtype.kind not in "fiu":
            bad = next((v for v in values if isinstance(v, bool) or not isinstance(v, (int, float))), None)
            raise file_error(FormatError, path, f"channel {name!r}: {bad!r} is not a number")
        with np.errstate(over="ignore"):
            column = arr.astype(np.float32)
        if not np.isfinite(column).all():
            raise file_error(FormatError, path, f"channel {name!r}: value beyond float32 range")
        curves[:, col] = column
    if missing:
        metadata = {**metadata, "missing_channels": missing}
    return FaceAnimation(fps, curves, metadata)


__all__ = ["EXTENSION", "FORMAT_ID", "SCHEMA_VERSION", "read", "write"]
