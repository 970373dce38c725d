"""A tiny built-in 5×7 bitmap font for labels on grids and contact sheets (no Pillow needed).

Upper-case letters, digits and common punctuation; lower case is drawn as upper case and any
other character as ``?``.
"""

from __future__ import annotations

import numpy as np

GLYPH_W, GLYPH_H = 5, 7

# Each glyph: 7 rows of 5 columns, '#' = ink.
_GLYPHS: dict[str, str] = {
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    " ": "..... ..... ..... ..... ..... ..... .....",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    "-": "..... ..... ..... ##### ..... ..... .....",
    "_": "..... ..... ..... ..... ..... ..... #####",
    "/": "....# ....# ...#. ..#.. .#... #.... #....",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "%": "##..# ##..# ...#. ..#.. .#... #..## #..##",
    "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    "=": "..... ..... ##### ..... ##### ..... .....",
    "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
    "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
    "'": "..#.. ..#.. .#... ..... ..... ..... .....",
    "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
}

GLYPHS: dict[str, np.ndarray] = {
    ch: np.array([[c == "#" for c in row] for row in rows.split()], dtype=bool)
    for ch, rows in _GLYPHS.items()
}


def text_mask(text: str, *, scale: int = 1) -> np.ndarray:
    """Ink mask of ``text`` in one line, ``(7·scale, (6·len − 1)·scale) bool`` (1-column gaps)."""
    glyphs = [GLYPHS.get(ch.upper(), GLYPHS["?"]) for ch in text] or [GLYPHS[" "]]
    gap = np.zeros((GLYPH_H, 1), bool)
    parts: list[np.ndarray] = []
    for i, g in enumerate(glyphs):
        parts.extend([gap, g] if i else [g])
    mask = np.concatenate(parts, axis=1)
    return mask.repeat(scale, axis=0).repeat(scale, axis=1)


def draw_label(
    images: np.ndarray,
    text: str,
    *,
    x: int,
    y: int,
    scale: int = 2,
    color: tuple[int, int, int] = (255, 255, 255),
    pad: int | None = None,
) -> None:
    """Draw ``text`` on a darkened box at ``(x, y)`` (top-left) of every image, in place.

    Parameters
    ----------
    images : np.ndarray [shape=(..., H, W, 3), uint8]
        One image or a batch; the text is clipped at the image border.
    text : str
    x, y : int
        Top-left corner of the box in pixels.
    scale : int
        Pixel size of one font dot.
    color : (3,) int
        Ink colour.
    pad : int, optional
        Box padding (default ``2·scale``).
    """
    pad = 2 * scale if pad is None else pad
    mask = np.pad(text_mask(text, scale=scale), pad)
    h, w = images.shape[-3:-1]
    mh, mw = min(mask.shape[0], h - y), min(mask.shape[1], w - x)
    if mh <= 0 or mw <= 0:
        return
    region = images[..., y : y + mh, x : x + mw, :]
    box = (region.astype(np.uint16) * 2 // 5).astype(np.uint8)  # darken the box to 40 %
    box[..., mask[:mh, :mw], :] = np.asarray(color, np.uint8)
    region[...] = box
