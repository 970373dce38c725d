"""Per-vertex normals for a batch of posed frames, in one torch call."""

from __future__ import annotations

import torch


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted vertex normals of every frame at once.

    Each face adds its unnormalised normal ``(v1 − v0) × (v2 − v0)`` (twice its area) to its
    three vertices; the sums are normalised. Vertices in no face get a zero normal.

    Parameters
    ----------
    vertices : torch.Tensor [shape=(T, V, 3), float]
        Posed frames.
    faces : torch.Tensor [shape=(F, 3), int64]
        Triangles, counter-clockwise seen from outside.

    Returns
    -------
    torch.Tensor [shape=(T, V, 3)]
        Unit normals pointing outwards, same dtype and device as ``vertices``.
    """
    if vertices.ndim != 3 or vertices.shape[-1] != 3:
        raise ValueError(f"vertices must be (T, V, 3), got {tuple(vertices.shape)}")
    faces = faces.to(device=vertices.device, dtype=torch.long)
    v0 = vertices[:, faces[:, 0]]
    e1 = vertices[:, faces[:, 1]] - v0
    e2 = vertices[:, faces[:, 2]] - v0
    face_n = torch.linalg.cross(e1, e2, dim=-1)  # (T, F, 3)
    out = torch.zeros_like(vertices)
    for k in range(3):
        out.index_add_(1, faces[:, k], face_n)
    return torch.nn.functional.normalize(out, dim=-1, eps=1e-12)
