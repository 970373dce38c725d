"""Atomic file writes: a crash never leaves a half-written file under the final name.

Everything emote writes goes through one of two context managers:

- :func:`atomic_write` yields an open file object (text or binary) for code
  that writes the bytes itself;
- :func:`atomic_path` yields a temporary *path* for libraries that insist on
  opening the file themselves (``numpy.savez``, ``pygltflib``, ffmpeg, USD).

Both write to a hidden temporary file in the destination folder (same file
system, so the final step is a rename, never a copy), flush it to disk with
``fsync`` and move it over the final name with :func:`os.replace`, which is
atomic on POSIX and Windows. If the block raises, the temporary file is removed
and the final path is left exactly as it was (absent, or the previous version).
Parent folders are created as needed. An existing file's permission bits are
kept; a new file gets the usual ``0o666 & ~umask``.

Examples
--------
>>> with atomic_write("out/take.csv") as f:  # doctest: +SKIP
...     f.write("Timecode,BlendShapeCount,...\\n")
>>> with atomic_path("out/take.npz") as tmp:  # doctest: +SKIP
...     np.savez(tmp, curves=curves)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import IO, Any

_MODES = {"w": "w", "wt": "w", "wb": "wb"}  # accepted mode → text or binary


def _temp_name(path: Path) -> Path:
    """A hidden sibling of ``path`` that keeps its suffix (libraries pick formats by it)."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp{path.suffix}")


def _prepare(path: str | PathLike[str]) -> Path:
    final = Path(path)
    if final.is_dir():
        raise IsADirectoryError(f"{final}: is a directory, expected a file path")
    final.parent.mkdir(parents=True, exist_ok=True)
    return final


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _commit(tmp: Path, final: Path, *, fsync: bool) -> None:
    """Give ``tmp`` the final file's mode and rename it over ``final``."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(tmp, stat.S_IMODE(final.stat().st_mode))
    os.replace(tmp, final)
    if fsync:
        _fsync_dir(final.parent)


@contextlib.contextmanager
def atomic_write(
    path: str | PathLike[str],
    mode: str = "w",
    *,
    encoding: str = "utf-8",
    newline: str | None = None,
    fsync: bool = True,
) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` only when the block succeeds.

    Parameters
    ----------
    path : str or PathLike
        The final file name. Parent folders are created.
    mode : {"w", "wt", "wb"}
        Text or binary writing.
    encoding, newline
        As for :func:`open`, text mode only. ``newline=""`` leaves line endings
        to the writer (what the :mod:`csv` module wants).
    fsync : bool
        Flush file and folder to disk before returning (default). Turn off only
        for throw-away files.

    Yields
    ------
    file : IO
        The open temporary file. Do not close it yourself.

    Raises
    ------
    ValueError
        For any other mode.
    IsADirectoryError
        When ``path`` is an existing folder.
    """
    if mode not in _MODES:
        raise ValueError(f"atomic_write mode must be 'w', 'wt' or 'wb', got {mode!r}")
    final = _prepare(path)
    binary = _MODES[mode] == "wb"
    while True:
        tmp = _temp_name(final)
        try:
            # "x": exclusive creation (never clobbers a stranger's file), mode 0o666 & ~umask.
            f = open(tmp, "xb") if binary else open(tmp, "x", encoding=encoding, newline=newline)  # noqa: SIM115
            break
        except FileExistsError:
            continue
    try:
        with f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        _commit(tmp, final, fsync=fsync)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(path: str | PathLike[str], *, fsync: bool = True) -> Iterator[Path]:
    """A temporary path whose file replaces ``path`` when the block succeeds.

    For libraries that open the file themselves. The temporary path sits in the
    destination folder, is hidden (leading dot) and ends with the same suffix as
    ``path`` (``.npz``, ``.glb``, ``.mp4``), so suffix-sniffing libraries behave.
    It does not exist when the block starts; the block must create it.

    Raises
    ------
    FileNotFoundError
        When the block finished without creating the file.
    IsADirectoryError
        When ``path`` is an existing folder.
    """
    final = _prepare(path)
    tmp = _temp_name(final)
    try:
        yield tmp
        if not tmp.is_file():
            raise FileNotFoundError(f"{final}: nothing was written to the temporary file {tmp.name}")
        if fsync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        _commit(tmp, final, fsync=fsync)
    except BaseException:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            tmp.unlink()
        raise


__all__ = ["atomic_path", "atomic_write"]
