"""Engines turn speech into curves: ``phonetic`` (rules, no weights) and ``neural``.

Both produce (frames, 61) canonical curves of the speech alone; the emotion,
blinks, gaze and head motion come from :mod:`emote.performance`.
"""
