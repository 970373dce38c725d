"""Reading audio files into float32 mono at 16 kHz, whole or in bounded-memory blocks.

Decoding goes through libsndfile (the ``soundfile`` package): WAV (8/16/24/32-bit
integer, 32/64-bit float), FLAC, MP3, Ogg Vorbis and Ogg Opus, any rate, any number
of channels. Only a file libsndfile cannot open (AAC/M4A, WMA, the audio track of
a video) is handed to the ``ffmpeg`` program through a subprocess, when ``ffmpeg``
and ``ffprobe`` are on the PATH. Channels are averaged to mono and the signal is
resampled with soxr (``HQ``) in a streaming resampler, so loading never holds
more than one block of the source at its own rate.

Every problem a user can cause raises :class:`emote.errors.AudioError` with a
one-line message ``"<path>: <problem>"``: a missing or empty file, something that
is not audio, a corrupt or truncated file, audio with no samples, and non-finite
(NaN/Inf) samples, which only a damaged float file holds and which are reported
rather than silently zeroed. Silence is not an error of loading: callers that
need speech ask :func:`check_not_silent`.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from emote.audio.convert import SAMPLE_RATE
from emote.errors import AudioError, file_error
from emote.limits import check_audio_info, check_regular_file

__all__ = [
    "SILENCE_DB",
    "Audio",
    "AudioInfo",
    "audio_info",
    "check_not_silent",
    "is_silent",
    "iter_audio_blocks",
    "load_audio",
]

SILENCE_DB = -60.0
"""Peak level (dBFS) under which a signal counts as silent: below 16-bit dither noise
of a real recording chain it is -90 dB, a whispered take still peaks above -40 dB."""

_BLOCK_SECONDS = 30.0

# First bytes of containers we know: a file that starts like one of these but does
# not decode is corrupt or truncated; anything else is not audio at all.
_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"ID3", b"FORM", b".snd", b"caff", b"wvpk")


@dataclass(frozen=True)
class Audio:
    """Decoded audio: mono float32 at ``sr`` plus where it came from.

    Attributes
    ----------
    samples : np.ndarray [shape=(n,), dtype=float32]
        The signal, mono, nominally in [-1, 1] (float sources may exceed it).
    sr : int
        Sample rate of ``samples`` in Hz (16000 unless asked otherwise).
    path : str | None
        The file it was read from, or None for audio made in memory.
    source_sr : int
        The file's own sample rate in Hz.
    source_channels : int
        The file's channel count before the mono downmix.
    """

    samples: np.ndarray
    sr: int = SAMPLE_RATE
    path: str | None = None
    source_sr: int = SAMPLE_RATE
    source_channels: int = 1

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"samples must be 1-D (mono), got shape {samples.shape}")
        object.__setattr__(self, "samples", samples)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples.shape[0] / self.sr

    @property
    def name(self) -> str:
        """The path, or ``"<array>"`` for audio made in memory (for messages)."""
        return self.path if self.path is not None else "<array>"


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header (nothing decoded).

    Attributes
    ----------
    path : str
    duration : float
        Seconds.
    sr : int
        The file's sample rate in Hz.
    channels : int
    frames : int
        Samples per channel (``round(duration * sr)`` for ffmpeg-read files).
    format : str
        Container, e.g. ``"WAV"``, ``"FLAC"``, ``"MP3"``, ``"OGG"``.
    subtype : str
        Encoding, e.g. ``"PCM_16"``, ``"FLOAT"``, ``"OPUS"``.
    decoder : str
        ``"soundfile"`` or ``"ffmpeg"``: which one will decode it.
    """

    path: str
    duration: float
    sr: int
    channels: int
    frames: int
    format: str
    subtype: str
    decoder: str


def audio_info(path: str | PathLike[str]) -> AudioInfo:
    """Duration, rate and channels of an audio file without decoding it.

    Raises
    ------
    AudioError
        The file is missing, empty, not audio, corrupt, or holds no samples.
    """
    path = _check_file(path)
    try:
        # bytes: a file name that is not UTF-8 opens too
        with sf.SoundFile(os.fsencode(path)) as f:
            if (cut := _truncation(f.extra_info)) is not None:
                raise file_error(AudioError, path, f"truncated audio ({cut})")
            info = AudioInfo(
                path=str(path),
                duration=f.frames / f.samplerate,
                sr=int(f.samplerate),
                channels=int(f.channels),
                frames=int(f.frames),
                format=str(f.format),
                subtype=str(f.subtype),
                decoder="soundfile",
            )
    except (sf.LibsndfileError, RuntimeError) as exc:
        info = _ffprobe_info(path, reason=str(exc))
    if info.frames <= 0 or info.duration <= 0:
        raise file_error(AudioError, path, "holds no audio samples (zero-length audio)")
    check_audio_info(info)
    return info


def load_audio(
    path: str | PathLike[str], *, sr: int = SAMPLE_RATE, max_duration: float | None = None
) -> Audio:
    """Read a whole audio file as mono float32 at ``sr`` Hz.

    Parameters
    ----------
    path : str or PathLike
        WAV, FLAC, MP3, OGG/Opus (or anything ffmpeg reads, see the module notes).
    sr : int
        Target rate in Hz (default 16000).
    max_duration : float or None
        Refuse files longer than this many seconds, before decoding anything: the
        guard for callers that would otherwise hold an hour of audio in memory
        (they should stream with :func:`iter_audio_blocks` instead).

    Returns
    -------
    Audio
        ``samples`` [shape=(round(duration * sr),), dtype=float32].

    Raises
    ------
    AudioError
        Missing, empty, not audio, corrupt or truncated, zero-length, longer than
        ``max_duration``, or NaN/Inf samples.

    Examples
    --------
    >>> audio = load_audio("speech.mp3")  # doctest: +SKIP
    >>> audio.sr, audio.samples.dtype     # doctest: +SKIP
    (16000, dtype('float32'))
    """
    info = audio_info(path)
    if max_duration is not None and info.duration > max_duration:
        raise file_error(
            AudioError,
            info.path,
            f"is {info.duration:.1f} s long, more than max_duration={max_duration:g} s "
            "(stream it with iter_audio_blocks)",
        )
    blocks = list(_iter_blocks(info, sr=sr, block_seconds=_BLOCK_SECONDS))
    samples = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise file_error(AudioError, info.path, "holds no audio samples (zero-length audio)")
    return Audio(samples, sr, info.path, info.sr, info.channels)


def iter_audio_blocks(
    path: str | PathLike[str], *, sr: int = SAMPLE_RATE, block_seconds: float = _BLOCK_SECONDS
) -> Iterator[np.ndarray]:
    """Yield a file as consecutive mono float32 blocks at ``sr``, in bounded memory.

    Concatenated, the blocks equal :func:`load_audio`'s samples. Each block holds
    about ``block_seconds`` of audio (the resampler holds back a few milliseconds
    and releases them with the last block), so an hour-long file costs one block
    of memory, not an hour.

    Yields
    ------
    block : np.ndarray [shape=(n,), dtype=float32]

    Raises
    ------
    AudioError
        As :func:`load_audio`; a decoding error in the middle of the file is
        raised when that block is reached.
    """
    if not (math.isfinite(block_seconds) and block_seconds > 0):
        raise ValueError(f"block_seconds must be positive, got {block_seconds!r}")
    yield from _iter_blocks(audio_info(path), sr=sr, block_seconds=block_seconds)


def is_silent(y: np.ndarray, *, threshold_db: float = SILENCE_DB) -> bool:
    """True when the peak of ``y`` [shape=(n,)] is below ``threshold_db`` dBFS (or ``y`` is empty)."""
    if y.size == 0:
        return True
    peak = float(np.max(np.abs(y)))
    return peak <= 10.0 ** (threshold_db / 20.0)


def check_not_silent(audio: Audio, *, threshold_db: float = SILENCE_DB) -> Audio:
    """Return ``audio`` unchanged, or raise :class:`AudioError` if it is all silence.

    Raises
    ------
    AudioError
        ``"<path>: is silent (peak below -60 dBFS); nothing to animate"``.
    """
    if is_silent(audio.samples, threshold_db=threshold_db):
        raise file_error(
            AudioError, audio.name, f"is silent (peak below {threshold_db:g} dBFS); nothing to animate"
        )
    return audio


# -- internals ----------------------------------------------------------------


def _check_file(path: str | PathLike[str]) -> Path:
    p = Path(path)
    # A FIFO, /dev/zero or a pipe is refused by what it is, not reported as "empty".
    if check_regular_file(p, AudioError, "audio file").st_size == 0:
        raise file_error(AudioError, p, "is empty (0 bytes)")
    return p


def _looks_like_audio(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(12)
    # MPEG audio frames start with an 11-bit sync word (0xFFE); MP4/M4A has 'ftyp' at 4.
    return head.startswith(_MAGIC) or (head[:1] == b"\xff" and head[1] & 0xE0 == 0xE0) or head[4:8] == b"ftyp"


def _undecodable(path: Path, reason: str) -> AudioError:
    if _looks_like_audio(path):
        return file_error(AudioError, path, f"corrupt or truncated audio ({reason})")
    return file_error(AudioError, path, "not an audio file (unrecognised format)")


def _truncation(log: str) -> str | None:
    """Read libsndfile's header log for a file cut short; None when it looks whole.

    A WAV whose data chunk promises more bytes than the file holds, and an Ogg
    stream whose last page is not marked as the end, were cut off in writing or
    copying. (A WAV from a streaming writer that leaves the size at 0 or 0xFFFFFFFF
    is not.) An MP3 has no length to check: a cut one decodes to what is there.
    """
    m = re.search(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", log, re.MULTILINE)
    if m and int(m.group(1)) not in (0, 0xFFFFFFFF) and int(m.group(1)) > int(m.group(2)):
        return f"the header promises {m.group(1)} bytes of samples, the file holds {m.group(2)}"
    if "Last page lacks an end-of-stream bit" in log:
        return "the Ogg stream ends without its last page"
    return None


def _iter_blocks(info: AudioInfo, *, sr: int, block_seconds: float) -> Iterator[np.ndarray]:
    if not (isinstance(sr, (int, np.integer)) and sr > 0):
        raise ValueError(f"sr must be a positive integer, got {sr!r}")
    if info.decoder == "ffmpeg":
        yield from _ffmpeg_blocks(info, sr=sr, block_seconds=block_seconds)
        return
    resampler = None if info.sr == sr else soxr.ResampleStream(info.sr, sr, 1, dtype="float32")
    blocksize = max(1, round(block_seconds * info.sr))
    decoded = 0
    try:
        with sf.SoundFile(os.fsencode(info.path)) as f:
            while True:
                block = f.read(blocksize, dtype="float32", always_2d=True)
                decoded += block.shape[0]
                last = block.shape[0] < blocksize
                if last:
                    _check_complete(info, decoded)
                mono = _checked_mono(block, info.path)
                if resampler is not None:
                    mono = resampler.resample_chunk(mono, last=last)
                if mono.size:
                    yield mono
                if last:
                    return
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise _undecodable(Path(info.path), str(exc)) from None


def _check_complete(info: AudioInfo, decoded: int) -> None:
    """Refuse a file that decodes to much less than its header promised (a cut MP3).

    Padding the missing part with silence would animate a clip of the header's
    length in which most of the speech is absent: a silent wrong result. A few
    frames short (encoder delay, a last partial MP3 frame) is normal.
    """
    # An MP3 without a Xing/Info header has only an estimated length: allow it more room.
    estimated = info.format.upper() == "MP3"
    tolerance = max((0.25 if estimated else 0.05) * info.sr, (0.10 if estimated else 0.01) * info.frames)
    if info.frames - decoded > tolerance:
        raise file_error(
            AudioError,
            info.path,
            f"truncated audio (the header promises {info.duration:.2f} s, only "
            f"{decoded / info.sr:.2f} s decodes)",
        )


MAX_SAMPLE_MAGNITUDE = 1000.0
"""Largest sample accepted (full scale is 1): 60 dB over full scale is a damaged float file,
and squaring 1e30 for a spectrum overflows float32 into NaN curves."""


def _checked_mono(block: np.ndarray, path: str) -> np.ndarray:
    """Average channels ``block`` [shape=(n, channels)] to (n,); reject NaN/Inf and absurd samples."""
    if not np.isfinite(block).all():
        bad = int(np.count_nonzero(~np.isfinite(block)))
        raise file_error(AudioError, path, f"holds {bad} NaN/Inf samples (damaged float audio)")
    peak = float(np.abs(block).max(initial=0.0))
    if peak > MAX_SAMPLE_MAGNITUDE:
        raise file_error(
            AudioError,
            path,
            f"holds samples of magnitude {peak:.3g}, far beyond full scale 1.0 "
            f"(damaged float audio; at most {MAX_SAMPLE_MAGNITUDE:g} is accepted)",
        )
    mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(mono, dtype=np.float32)


# -- ffmpeg fallback (formats libsndfile lacks: AAC/M4A, WMA, video files) ------


def _ffmpeg_tools() -> tuple[str, str] | None:
    ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    return (ffmpeg, ffprobe) if ffmpeg and ffprobe else None


def _ffprobe_info(path: Path, *, reason: str) -> AudioInfo:
    tools = _ffmpeg_tools()
    if tools is None or not _looks_like_audio(path):
        raise _undecodable(path, reason)
    cmd = [tools[1], "-v", "error", "-select_streams", "a:0", "-show_streams", "-show_format", "-of", "json"]
    try:
        done = subprocess.run([*cmd, str(path)], capture_output=True, timeout=60, check=False)
        probe = json.loads(done.stdout or b"{}")
        stream = probe["streams"][0]
        rate, channels = int(stream["sample_rate"]), int(stream["channels"])
        duration = float(stream.get("duration") or probe["format"]["duration"])
    except (KeyError, IndexError, ValueError, TypeError, subprocess.TimeoutExpired):
        raise _undecodable(path, reason) from None
    return AudioInfo(
        path=str(path),
        duration=duration,
        sr=rate,
        channels=channels,
        frames=round(duration * rate),
        format=str(probe.get("format", {}).get("format_name", "?")).upper(),
        subtype=str(stream.get("codec_name", "?")).upper(),
        decoder="ffmpeg",
    )


def _ffmpeg_blocks(info: AudioInfo, *, sr: int, block_seconds: float) -> Iterator[np.ndarray]:
    tools = _ffmpeg_tools()
    if tools is None:
        raise file_error(AudioError, info.path, "needs ffmpeg to decode, and ffmpeg is not on the PATH")
    # ffmpeg downmixes and resamples (its own resampler) and writes raw float32 to stdout.
    cmd = [tools[0], "-v", "error", "-nostdin", "-i", info.path, "-vn", "-ac", "1", "-ar", str(sr)]
    proc = subprocess.Popen([*cmd, "-f", "f32le", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    nbytes = 4 * max(1, round(block_seconds * sr))
    try:
        while chunk := proc.stdout.read(nbytes):
            block = np.frombuffer(chunk[: len(chunk) // 4 * 4], dtype="<f4")
            yield _checked_mono(block[:, None], info.path)
        err = proc.stderr.read().decode(errors="replace").strip().splitlines()
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
    if proc.returncode not in (0, -9) and err:
        raise file_error(AudioError, info.path, f"corrupt or truncated audio (ffmpeg: {err[-1]})")
