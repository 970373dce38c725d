"""Every input limit emote enforces, in one place, checked before any work starts.

A careless or hostile input (``--fps 1e9``, a 1 MB transcript for two seconds of
speech, ``--text-file /dev/zero``, a WAV header claiming 30 hours at 1 Hz) must
fail in milliseconds with one line that says the limit, not grow until the kernel
kills the machine. Each entry point (:func:`emote.animate`, ``emote animate``,
``render``, ``convert``, ``batch`` and each manifest job) calls these checks
before decoding, analysing or allocating anything sized by the input.

==========================  ============  =============================  ===================================
limit                       default       raise it with                  why
==========================  ============  =============================  ===================================
frame rate                  1 .. 1000     (fixed)                        curves are sampled at 24-120 fps
frames per animation        500 000       ``EMOTE_MAX_FRAMES``           4.6 h at 30 fps; ~2 KiB a frame
audio duration              4 h           ``EMOTE_MAX_AUDIO_SECONDS``    decode time; long files are chunked
audio sample rate           4 .. 768 kHz  (fixed)                        below 4 kHz is not speech
transcript words / second   12 (+ 20)     ``EMOTE_MAX_WORDS_PER_SECOND``  fast speech is 5-7 words a second
transcript / track file     1 MiB         ``EMOTE_MAX_TEXT_BYTES``       a novel is 1 MB
timings file (TextGrid)     64 MiB        ``EMOTE_MAX_TIMINGS_BYTES``    4 h of phones is ~20 MB
animation file (read)       1 GiB         ``EMOTE_MAX_ANIMATION_BYTES``  a 500 000-frame CSV is ~350 MB
render size                 16 .. 4096    (fixed)                        the GL framebuffer's usual maximum
==========================  ============  =============================  ===================================

A limit read from its environment variable must be a positive number; the
error message of every raisable limit names its variable.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from emote.errors import EmoteError, file_error

__all__ = [
    "MAX_FPS",
    "MAX_RENDER_SIZE",
    "MIN_FPS",
    "MIN_RENDER_SIZE",
    "check_audio_info",
    "check_fps",
    "check_frames",
    "check_regular_file",
    "check_render_size",
    "check_transcript",
    "limit",
    "read_bounded",
]

MIN_FPS, MAX_FPS = 1.0, 1000.0
"""Frame rates accepted anywhere (``--fps``, manifests, ``FaceAnimation.resample`` via the CLI)."""

MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 4000, 768_000
"""Audio sample rates accepted, Hz (a header saying 1 Hz is a broken or hostile file)."""

MIN_RENDER_SIZE, MAX_RENDER_SIZE = 16, 4096
"""Video width and height accepted, pixels."""

WORDS_SLACK = 20
"""Words a transcript may hold beyond the per-second rate (short clips, counted numbers)."""


@dataclass(frozen=True)
class _Limit:
    default: float
    env: str
    unit: str


_LIMITS: dict[str, _Limit] = {
    "frames": _Limit(500_000, "EMOTE_MAX_FRAMES", "frames"),
    "audio_seconds": _Limit(4 * 3600.0, "EMOTE_MAX_AUDIO_SECONDS", "s"),
    "words_per_second": _Limit(12.0, "EMOTE_MAX_WORDS_PER_SECOND", "words/s"),
    "text_bytes": _Limit(1 << 20, "EMOTE_MAX_TEXT_BYTES", "bytes"),
    "timings_bytes": _Limit(64 << 20, "EMOTE_MAX_TIMINGS_BYTES", "bytes"),
    "animation_bytes": _Limit(1 << 30, "EMOTE_MAX_ANIMATION_BYTES", "bytes"),
}


def limit(name: str) -> float:
    """The value of limit ``name`` (a key of the table above): its variable if set, else the default.

    Raises
    ------
    EmoteError
        The environment variable is set to something that is not a positive number.
    """
    spec = _LIMITS[name]
    raw = os.environ.get(spec.env, "").strip()
    if not raw:
        return spec.default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise EmoteError(f"{spec.env}={raw!r}: expected a positive number")
    return value


def _raise_hint(name: str) -> str:
    return f"set {_LIMITS[name].env} to raise it"


def _size(n: float) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} bytes"


# -- numbers ---------------------------------------------------------------------------------------


def check_fps(fps: object, *, what: str = "fps") -> float:
    """``fps`` as a float in [:data:`MIN_FPS`, :data:`MAX_FPS`], or an EmoteError quoting it."""
    ok = isinstance(fps, (int, float)) and not isinstance(fps, bool) and math.isfinite(fps)
    if not (ok and MIN_FPS <= fps <= MAX_FPS):
        raise EmoteError(f"{what} must be a number in [{MIN_FPS:g}, {MAX_FPS:g}], got {fps!r}")
    return float(fps)


def check_frames(n_frames: float, *, what: str) -> int:
    """``n_frames`` when within the frame limit; ``what`` says whose frames (for the message)."""
    most = limit("frames")
    if not n_frames <= most:
        raise EmoteError(
            f"{what}: {n_frames:.0f} frames is more than the limit of {most:.0f} ({_raise_hint('frames')})"
        )
    return int(n_frames)


def check_audio_info(info) -> None:
    """Refuse audio whose header promises an absurd rate or length, before decoding a sample.

    ``info`` is an :class:`emote.audio.io.AudioInfo`.
    """
    from emote.errors import AudioError

    if not MIN_SAMPLE_RATE <= info.sr <= MAX_SAMPLE_RATE:
        raise file_error(
            AudioError,
            info.path,
            f"sample rate {info.sr} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz "
            "(a damaged header, or not speech)",
        )
    most = limit("audio_seconds")
    if info.duration > most:
        raise file_error(
            AudioError,
            info.path,
            f"is {info.duration:.0f} s long, more than the limit of {most:.0f} s ({_raise_hint('audio_seconds')})",
        )


def check_transcript(text: str, *, duration: float, where: str) -> None:
    """Refuse a transcript with far more words than the audio could hold.

    At most ``words_per_second × duration + WORDS_SLACK`` words: fast speech is 5-7
    words a second, so more is the wrong file, and aligning it would cost memory in
    proportion to words × audio.
    """
    from emote.errors import TranscriptError

    words = len(text.split())
    rate = limit("words_per_second")
    most = rate * duration + WORDS_SLACK
    if words > most:
        raise TranscriptError(
            f"{where}: {words} words for {duration:.2f} s of audio, more than the limit of {most:.0f} "
            f"({rate:g} words a second + {WORDS_SLACK}; {_raise_hint('words_per_second')})"
        )


def check_render_size(width: int, height: int) -> None:
    """Refuse a video size the GL framebuffer and the encoder cannot take."""
    for side, value in (("width", width), ("height", height)):
        if not MIN_RENDER_SIZE <= value <= MAX_RENDER_SIZE:
            raise EmoteError(
                f"--size {width}x{height}: {side} must be {MIN_RENDER_SIZE}..{MAX_RENDER_SIZE} pixels"
            )


# -- files ----------------------------------------------------------------------------------------------


def check_regular_file(path: str | PathLike[str], cls: type[EmoteError], what: str) -> os.stat_result:
    """``stat`` of ``path`` when it is a readable regular file, else a one-line ``cls`` error.

    FIFOs, character devices (``/dev/zero``) and pipes (``/dev/stdin``) are refused
    before anything opens them: they never end, or block, or change under a re-read.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise file_error(cls, p, "no such file") from None
    except NotADirectoryError:
        raise file_error(cls, p, "no such file (a part of the path is a file)") from None
    except PermissionError:
        raise file_error(cls, p, "permission denied") from None
    except OSError as e:
        raise file_error(cls, p, f"cannot be read ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise file_error(cls, p, f"is a folder, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise file_error(cls, p, f"is not a regular file (a FIFO, device or pipe); the {what} must be a file")
    if not os.access(p, os.R_OK):
        raise file_error(cls, p, "permission denied")
    return st


def read_bounded(path: str | PathLike[str], limit_name: str, cls: type[EmoteError], what: str) -> bytes:
    """The bytes of a regular file of at most ``limit(limit_name)`` bytes, never more read.

    The file is stat-ed first (not a FIFO or device) and read to at most one byte
    past the limit, so a file that grows while read cannot exceed it either.
    """
    most = int(limit(limit_name))
    st = check_regular_file(path, cls, what)
    too_big = file_error(
        cls, path, f"is larger than the {_size(most)} limit for a {what} ({_raise_hint(limit_name)})"
    )
    if st.st_size > most:
        raise too_big
    try:
        with open(path, "rb") as f:
            data = f.read(most + 1)
    except OSError as e:
        raise file_error(cls, path, f"cannot be read ({e.strerror or e})") from None
    if len(data) > most:
        raise too_big
    return data


def check_file_size(path: str | PathLike[str], limit_name: str, cls: type[EmoteError], what: str) -> None:
    """A regular file no larger than ``limit(limit_name)`` bytes (for readers that stream it)."""
    most = limit(limit_name)
    st = check_regular_file(path, cls, what)
    if st.st_size > most:
        raise file_error(
            cls, path, f"is larger than the {_size(most)} limit for a {what} ({_raise_hint(limit_name)})"
        )


def check_output_folder(folder: str | PathLike[str]) -> Path:
    """Refuse an output folder that cannot be written, before any work (not after it).

    ``folder`` may not exist yet: then its nearest existing ancestor must be a
    writable folder. ``os.access`` reports a read-only file system even to root.
    """
    p = Path(folder)
    probe = p
    while not probe.exists():
        if probe.is_symlink():
            raise file_error(EmoteError, probe, "is a dangling symbolic link, not a folder")
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise file_error(EmoteError, probe, "exists and is not a folder; give a folder for the outputs")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        why = "read-only file system" if _read_only(probe) else "permission denied"
        raise file_error(EmoteError, probe, f"cannot write here ({why})")
    return p


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def check_output_name(name: str, suffixes: list[str] | tuple[str, ...]) -> str:
    """A base name for output files: one plain file name, short enough for every suffix.

    Refused: path separators and absolute names (the outputs would land outside the
    output folder), ``.``/``..``, hidden names (reserved for temporary files), and a
    name whose longest output file exceeds the 255 bytes a file system allows.
    """
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise EmoteError(
            f"--name {name!r}: give a plain file name (no '/', '\\\\' or '..'); it goes inside the output folder"
        )
    if name.startswith("."):
        raise EmoteError(
            f"--name {name!r}: hidden names (starting with '.') are reserved for temporary files"
        )
    longest = max((len(os.fsencode(name + s)) for s in suffixes), default=len(os.fsencode(name)))
    if longest > 255:
        raise EmoteError(
            f"--name {name[:40]}...: the output file names would be {longest} bytes long, "
            "more than the 255 a file system allows; give a shorter --name"
        )
    return name
