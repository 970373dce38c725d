"""The one exception family of emote.

Every error a user can cause (a bad file, an unknown emotion, a missing model)
is raised as an :class:`EmoteError` subclass whose message is one line that
names the file (or value) and the problem, e.g.::

    take.csv: column 'JawOpen' missing (expected Live Link Face header)

The CLI prints that line and exits non-zero; nothing else is printed.
"""

from __future__ import annotations

import errno
import os
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


# What an ordinary OS error means to someone who asked for a file: one phrase per errno.
_OS_PROBLEMS: dict[int, str] = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large (the file-size limit was reached)",
    errno.ENAMETOOLONG: "file name too long (most file systems allow 255 bytes a name)",
    errno.EISDIR: "is a folder, expected a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "already exists and is not a folder",
    errno.ENOENT: "no such file or folder",
    errno.ELOOP: "too many levels of symbolic links",
    errno.EIO: "input/output error (a failing disk or a network file system)",
    errno.EMFILE: "too many open files",
    errno.ENXIO: "no such device (a FIFO without a reader?)",
}


def describe_os_error(exc: OSError) -> str:
    """One line for an :class:`OSError`: ``"<file>: <problem>"`` (the file when the error names one).

    Examples
    --------
    >>> describe_os_error(PermissionError(13, "Permission denied", "out/take.csv"))
    'out/take.csv: permission denied'
    """
    problem = _OS_PROBLEMS.get(exc.errno or -1) or (exc.strerror or str(exc) or type(exc).__name__)
    if exc.errno is None and str(exc):
        problem = str(exc)
    name = exc.filename
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if name is None:
        return problem
    target = f" -> {os.fsdecode(exc.filename2)}" if exc.filename2 is not None else ""
    return f"{name}{target}: {problem}"
