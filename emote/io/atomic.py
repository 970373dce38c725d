"""Atomic file writes: a crash never leaves a half-written file under the final name.

Everything emote writes goes through one of two context managers:

- :func:`atomic_write` yields an open file object (text or binary) for code
  that writes the bytes itself;
- :func:`atomic_path` yields a temporary *path* for libraries that insist on
  opening the file themselves (``numpy.savez``, ``pygltflib``, ffmpeg, USD).

Both write to a hidden temporary file in the destination folder (same file
system, so the final step is a rename, never a copy), named
``.emote-<pid>-<random>.tmp<suffix>``: short, so that it fits wherever the final
name fits (a 250-byte final name must not fail for its temporary's sake), and
carrying the writer's process id, so :func:`sweep_stale_temporaries` removes only
the leftovers of processes that are gone, never a live run's file. Each is flushed to disk with
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
import errno
import os
import re
import secrets
import stat
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import IO, Any

_MODES = {"w": "w", "wt": "w", "wb": "wb"}  # accepted mode → text or binary


TEMP_PREFIX = ".emote-"
_TEMP_NAME = re.compile(r"^\.emote-(\d+)-[0-9a-f]{8}\.tmp")
_MAX_SUFFIX = 16


def _temp_name(path: Path) -> Path:
    """A short hidden sibling of ``path`` that keeps its suffix (libraries pick formats by it)."""
    suffix = path.suffix if len(path.suffix) <= _MAX_SUFFIX else ""
    return path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.tmp{suffix}")


def _prepare(path: str | PathLike[str]) -> Path:
    final = Path(path)
    if final.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, expected a file path", str(final))
    final.parent.mkdir(parents=True, exist_ok=True)
    return final


def _naming_final(exc: BaseException, tmp: Path, final: Path) -> BaseException:
    """``exc`` re-aimed at the final name when it names the temporary (or nothing).

    A user asked for ``out/take.csv``; "``.emote-123-ab12cd34.tmp.csv``: No space
    left on device" would name a file they never heard of.
    """
    if isinstance(exc, OSError) and exc.errno is not None and exc.filename in (None, str(tmp), tmp):
        return type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), str(final))
    return exc


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's live process
        return True
    return True


def sweep_stale_temporaries(folder: str | PathLike[str]) -> list[Path]:
    """Remove the temporary files that writers which are gone left in ``folder``; return them.

    Only names of the shape ``.emote-<pid>-<hex>.tmp*`` whose process no longer
    exists are removed: a temporary of a live process (another ``emote`` writing
    into the same folder right now) is never touched. A folder that does not
    exist or cannot be listed is left alone.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_NAME.match(entry.name)
        if m is None or _alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):  # a staging folder (staged_outputs)
                import shutil

                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


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
        except OSError as e:
            raise _naming_final(e, tmp, final) from None
    try:
        with f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        _commit(tmp, final, fsync=fsync)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        renamed = _naming_final(e, tmp, final)
        if renamed is e:
            raise
        raise renamed from None


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
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        renamed = _naming_final(e, tmp, final)
        if renamed is e:
            raise
        raise renamed from None


@contextlib.contextmanager
def staged_outputs(folder: str | PathLike[str]) -> Iterator[Path]:
    """A hidden staging folder whose contents move into ``folder`` together, or not at all.

    For a command that writes several outputs (``emote animate``: CSV, JSON, NPZ,
    MetaHuman, MP4): if the fourth fails (disk full, a killed run), the first three
    must not be left behind as a partial set either. Everything is written into
    ``folder/.emote-<pid>-<hex>.tmp/`` (same file system, same names) and renamed
    into ``folder`` only when the block succeeds; on failure the staging folder is
    removed and ``folder`` is as it was. An output that is itself a folder (an OBJ
    sequence) replaces the previous one whole.

    Yields
    ------
    Path
        The staging folder; write the outputs into it under their final names.
    """
    import shutil

    final = Path(folder)
    final.mkdir(parents=True, exist_ok=True)
    stage = _temp_name(final / "x")  # ".emote-<pid>-<hex>.tmp": swept like any temporary
    stage.mkdir()
    try:
        yield stage
        for entry in sorted(stage.iterdir()):
            target = final / entry.name
            if entry.is_dir() and not entry.is_symlink() and target.is_dir() and not target.is_symlink():
                old = _temp_name(target)
                os.replace(target, old)
                os.replace(entry, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(entry, target)
        _fsync_dir(final)
    except OSError as e:  # name the file the user asked for, not its staged copy
        name = os.fsdecode(e.filename) if isinstance(e.filename, (str, bytes)) else None
        if e.errno is None or name is None or not name.startswith(str(stage)):
            raise
        raise type(e)(e.errno, e.strerror, str(final / Path(name).relative_to(stage))) from None
    except Exception as e:
        from emote.errors import EmoteError

        if isinstance(e, EmoteError) and str(stage) in str(e):
            raise type(e)(str(e).replace(str(stage), str(final))) from None
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


__all__ = ["TEMP_PREFIX", "atomic_path", "atomic_write", "staged_outputs", "sweep_stale_temporaries"]
