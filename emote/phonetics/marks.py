"""Closure marks: how a lip closure shows in the speech curves, so a later pass can read it back.

The phonetic engine writes a bilabial closure (/p b m/) with ``MouthPress`` at
:data:`BILABIAL_PRESS` and a labiodental (/f v/) with ``MouthRollLower`` at
:data:`LABIODENTAL_ROLL` (so does :func:`emote.performance.compose.close_lips`, the
neural engine's closure pass); the performance layer
(:func:`emote.performance.compose.articulation_lock`) finds the closures from these
marks alone, so an emotion added on top never parts lips that speech closed. Writers
and reader take the numbers from here.
"""

from __future__ import annotations

BILABIAL_PRESS: float = 0.4
"""``MouthPress`` (left and right) of a sealed bilabial: the phonetic engine's /p b m/ viseme target."""

LABIODENTAL_ROLL: float = 0.65
"""``MouthRollLower`` of a labiodental: the lower lip rolled under the upper teeth (/f v/)."""
