"""Engines turn speech into curves: ``phonetic`` (rules, no weights) and ``neural``.

Both produce (frames, 61) canonical curves. The phonetic engine's are the
speech alone and :mod:`emote.performance` adds the emotion's expression; the
neural engine's already carry it. Blinks, gaze and head motion come from
:mod:`emote.performance` for both.
"""

ENGINES: tuple[str, ...] = ("phonetic", "neural")
"""The engine names ``emote animate --engine``, the API and batch manifests take."""
