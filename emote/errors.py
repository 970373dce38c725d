"""The one exception family of emote.

Every error a user can cause (a bad file, an unknown emotion, a missing model)
is raised as an :class:`EmoteError` subclass whose message is one line that
names the file (or value) and the problem, e.g.::

    take.csv: column 'JawOpen' missing (expected Live Link Face header)

The CLI prints that line and exits non-zero; nothing else is printed.
"""

from __future__ import annotations

from os import PathLike


class EmoteError(Exception):
    """Base class of every error emote raises on purpose."""


class AudioError(EmoteError):
    """An audio file is missing, empty, corrupt, silent or not audio."""


class TranscriptError(EmoteError):
    """A transcript or phone-timing file (TextGrid, CSV, .lab) is unusable."""


class EmotionError(EmoteError):
    """An unknown emotion, an intensity out of range or a malformed emotion track."""


class FormatError(EmoteError):
    """An animation file (CSV, JSON, NPZ) cannot be read or written."""


class RigError(EmoteError):
    """A rig file or model is missing or lacks what is needed."""


def file_error(cls: type[EmoteError], path: str | PathLike[str], problem: str) -> EmoteError:
    """Build ``cls("<path>: <problem>")``, the message shape every file error uses."""
    return cls(f"{path}: {problem}")
