"""Tolerant matching of blendshape / morph-target names to the 52 ARKit names.

Rigs from different tools spell the ARKit shapes differently: ``jawOpen``
(Apple), ``JawOpen`` (Unreal), ``mouthSmile_L`` (ICT-FaceKit, many DCC rigs),
``AK_25_JawOpen`` (Rocketbox Headbox), ``blendShape1.jawOpen`` (Maya
namespaces), ``Mouth_Smile_Left``. :func:`match_arkit_names` maps each of them
to the canonical spelling of :data:`emote.animation.channels.ARKIT_NAMES`.

"Left" and "Right" are the character's own sides, as in ARKit.

Pure Python (no numpy): the Blender add-on imports this module too.

Examples
--------
>>> match_arkit_names(["AK_25_JawOpen", "mouthSmile_L", "blendShape1.eyeBlinkRight", "AU_26_JawDrop"])
{0: 'JawOpen', 1: 'MouthSmileLeft', 2: 'EyeBlinkRight'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from emote.animation.channels import ARKIT_NAMES

# Canonical names keyed by their lower-case spelling.
_BY_KEY: dict[str, str] = {n.lower(): n for n in ARKIT_NAMES}

_SIDES = {"l": "left", "left": "left", "r": "right", "right": "right"}

# "AK_25_", "ARKit_07_" mark ARKit shapes explicitly; other numbered families
# ("HB_08_", "SR_21_", "AU_26_") are other rigs' vocabularies, only trusted
# when nothing better names the same ARKit shape.
_ARKIT_PREFIX = re.compile(r"^(?:ak|arkit|ark|arkit52)[_\-. ]?\d*[_\-. ]", re.IGNORECASE)
_PLAIN_ARKIT_PREFIX = re.compile(r"^(?:arkit|ark)[_\-. ]", re.IGNORECASE)
_NUMBERED_PREFIX = re.compile(r"^[A-Za-z]{1,4}[_\-. ]\d+[_\-. ]")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

# Ranks, lower is better: how the name reached an ARKit spelling.
_EXACT, _SPELLING, _ARKIT_TAGGED, _FOREIGN = 0, 1, 2, 3


def _strip_namespace(name: str) -> str:
    """``blendShape1.jawOpen`` → ``jawOpen``; ``Face:jawOpen``, ``geo|jawOpen`` likewise.

    A trailing Blender side suffix (``mouthSmile.L``) is not a namespace.
    """
    parts = [p for p in re.split(r"[.:|/]", name.strip()) if p]
    if not parts:
        return ""
    if len(parts) >= 2 and parts[-1].lower() in _SIDES:
        return f"{parts[-2]}_{parts[-1]}"
    return parts[-1]


def _key(name: str) -> str | None:
    """The lower-case ARKit spelling that ``name`` denotes, or None.

    Words are split at separators and camel-case humps; a side word
    (``L``, ``Left``, ``R``, ``Right``) may stand first or last and becomes
    the trailing ``left``/``right`` that ARKit uses.
    """
    words = [w.lower() for chunk in re.split(r"[_\-. ]+", name) for w in _WORD.findall(chunk)]
    if not words:
        return None
    side = None
    if words[-1] in _SIDES:
        side = _SIDES[words.pop()]
    elif words[0] in _SIDES and len(words) > 1:
        side = _SIDES[words.pop(0)]
    if any(w in _SIDES for w in words):  # a side in the middle: another naming scheme
        return None
    key = "".join(words) + (side or "")
    return key if key in _BY_KEY else None


def _candidate(name: str) -> tuple[int, str] | None:
    """(rank, canonical ARKit name) for one source name, or None."""
    base = _strip_namespace(name)
    if not base:
        return None
    if base in _BY_KEY.values():
        return _EXACT, base
    key = _key(base)
    if key is not None:
        return _SPELLING, _BY_KEY[key]
    for pattern, rank in (
        (_ARKIT_PREFIX, _ARKIT_TAGGED),
        (_PLAIN_ARKIT_PREFIX, _ARKIT_TAGGED),
        (_NUMBERED_PREFIX, _FOREIGN),
    ):
        stripped = pattern.sub("", base, count=1)
        if stripped != base and (key := _key(stripped)) is not None:
            return rank, _BY_KEY[key]
    return None


def match_arkit_names(names: Iterable[str]) -> dict[int, str]:
    """Map source blendshape names to canonical ARKit names.

    Parameters
    ----------
    names : iterable of str
        The rig's shape names in its own order (glTF ``targetNames``, shape keys).

    Returns
    -------
    dict[int, str]
        Source index → canonical ARKit name (``"JawOpen"``). Each ARKit name is
        given to one source at most: the best-ranked spelling wins (exact
        canonical, then other spellings such as ``jawOpen``/``mouthSmile_L``,
        then ``AK_NN_``-tagged names, then other numbered families such as
        ``SR_21_Jaw_Open``), the earliest on a tie. Unmatched names (visemes,
        FACS units, split shapes ARKit does not have) are absent.

    See Also
    --------
    missing_arkit_names : the ARKit names a match leaves uncovered.
    """
    best: dict[str, tuple[int, int]] = {}  # canonical → (rank, source index)
    for i, name in enumerate(names):
        found = _candidate(str(name))
        if found is None:
            continue
        rank, canonical = found
        if canonical not in best or rank < best[canonical][0]:
            best[canonical] = (rank, i)
    return {i: canonical for canonical, (_, i) in sorted(best.items(), key=lambda kv: kv[1][1])}


def missing_arkit_names(matches: Mapping[int, str] | Iterable[str]) -> list[str]:
    """ARKit names (canonical order) not covered by ``matches``.

    ``matches`` is the result of :func:`match_arkit_names` or any iterable of
    canonical names.
    """
    covered = set(matches.values()) if isinstance(matches, Mapping) else set(matches)
    return [n for n in ARKIT_NAMES if n not in covered]


def canonical_arkit_name(name: str) -> str | None:
    """The canonical ARKit name one source name denotes, or None (see :func:`match_arkit_names`)."""
    found = _candidate(name)
    return None if found is None else found[1]


__all__ = ["canonical_arkit_name", "match_arkit_names", "missing_arkit_names"]
