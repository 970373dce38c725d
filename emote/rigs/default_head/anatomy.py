"""The assembled default head before shapes: every vertex with what it belongs to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emote.rigs.default_head import parts as pt
from emote.rigs.default_head.layout import LAYOUT, Layout
from emote.rigs.default_head.skin import SkinMesh, build_skin

# Part codes per vertex (the skin's own kinds first).
SKIN, MOUTH, LID, CAP = 0, 1, 2, 3
EYE_L, EYE_R, TEETH_UP, TEETH_LO, GUM_UP, GUM_LO, TONGUE, EAR = 4, 5, 6, 7, 8, 9, 10, 11


@dataclass
class Anatomy:
    """Rest mesh of the whole head and per-vertex bookkeeping (see :class:`~.skin.SkinMesh`).

    Attributes
    ----------
    rest : (V, 3) float64, mm
    faces : (F, 3) int64
    part : (V,) int8, one of the part codes above
    colors : (V, 3) float, albedo of the separate parts (the skin is painted later)
    mouth_k, mouth_s, mouth_side, eye, eye_k, eye_s, eye_side, anchor : per-vertex ring
        bookkeeping of the skin, neutral values on the separate parts
    layout : the proportions used
    """

    rest: np.ndarray
    faces: np.ndarray
    part: np.ndarray
    colors: np.ndarray
    mouth_k: np.ndarray
    mouth_s: np.ndarray
    mouth_side: np.ndarray
    eye: np.ndarray
    eye_k: np.ndarray
    eye_s: np.ndarray
    eye_side: np.ndarray
    anchor: np.ndarray
    layout: Layout

    @property
    def n(self) -> int:
        return int(self.rest.shape[0])

    def indices(self, *codes: int) -> np.ndarray:
        """Vertex indices of the given parts."""
        return np.flatnonzero(np.isin(self.part, codes))


def assemble(layout: Layout = LAYOUT) -> tuple[Anatomy, SkinMesh]:
    """Build the skin and the separate parts and put them into one vertex array."""
    skin = build_skin(layout)
    extras: list[tuple[int, pt.Part]] = [
        (EYE_L, pt.eyeball(layout.eye_left, layout)),
        (EYE_R, pt.eyeball(layout.eye_right, layout)),
        (TEETH_UP, pt.tooth_row(pt.UPPER_ARCH)),
        (TEETH_LO, pt.tooth_row(pt.LOWER_ARCH)),
        (GUM_UP, pt.gums(pt.UPPER_ARCH)),
        (GUM_LO, pt.gums(pt.LOWER_ARCH)),
        (TONGUE, pt.tongue(layout)),
        (EAR, pt.ear(layout=layout)),
        (EAR, pt.ear(right=True, layout=layout)),
    ]
    n_skin = len(skin.vertices)
    verts = [skin.vertices]
    faces = [skin.faces]
    part = [skin.kind.astype(np.int8)]
    colors = [np.zeros((n_skin, 3))]
    offset = n_skin
    for code, p in extras:
        verts.append(p.vertices)
        faces.append(p.faces + offset)
        part.append(np.full(len(p.vertices), code, np.int8))
        colors.append(p.colors)
        offset += len(p.vertices)
    n_extra = offset - n_skin

    def pad(a: np.ndarray, fill: float) -> np.ndarray:
        tail = np.full((n_extra, *a.shape[1:]), fill, dtype=a.dtype)
        return np.concatenate([a, tail])

    rest = np.concatenate(verts)
    anchor = np.concatenate([skin.anchor, rest[n_skin:]])
    an = Anatomy(
        rest=rest,
        faces=np.concatenate(faces).astype(np.int64),
        part=np.concatenate(part),
        colors=np.concatenate(colors),
        mouth_k=pad(skin.mouth_k, -99),
        mouth_s=pad(skin.mouth_s, 0.0),
        mouth_side=pad(skin.mouth_side, 0.0),
        eye=pad(skin.eye, -1),
        eye_k=pad(skin.eye_k, -99),
        eye_s=pad(skin.eye_s, 0.0),
        eye_side=pad(skin.eye_side, 0.0),
        anchor=anchor,
        layout=layout,
    )
    return an, skin
