"""A dependency-free PNG writer (and reader, for tests) for contact sheets."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from emote.io.atomic import atomic_write


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an RGB image ``(H, W, 3) uint8`` (8-bit truecolour, no filtering)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) uint8, got {image.shape}")
    h, w, _ = image.shape
    raw = np.zeros((h, 1 + 3 * w), np.uint8)  # each row: filter byte 0, then RGB
    raw[:, 1:] = image.reshape(h, 3 * w)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def write_png(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Write ``image (H, W, 3) uint8`` as a PNG, atomically. Returns the path."""
    data = encode_png(image)
    with atomic_write(path, "wb") as f:
        f.write(data)
    return Path(path)


def read_png(path: str | os.PathLike[str]) -> np.ndarray:
    """Read back a PNG written by :func:`write_png` (8-bit RGB, filter 0 rows) as ``(H, W, 3) uint8``."""
    data = Path(path).read_bytes()
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            w, h = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + 3 * w)
    if raw[:, 0].any():
        raise ValueError(f"{path}: only unfiltered PNG rows are supported")
    return raw[:, 1:].reshape(h, w, 3).copy()
