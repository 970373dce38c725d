"""Where live audio comes from: a file, a WAV or raw PCM stream (stdin), or the microphone.

Each source yields ``(samples, sr)`` blocks of about ``block`` seconds, for
:meth:`emote.Stream.push`.
"""

from __future__ import annotations

import contextlib
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike
from typing import BinaryIO

import numpy as np

from emote.errors import AudioError, EmoteError

Block = tuple[np.ndarray, int]

RAW_FORMATS = {"s16le": np.dtype("<i2"), "s32le": np.dtype("<i4"), "f32le": np.dtype("<f4")}
"""``--raw-format`` values: sample encodings of a headerless PCM stream."""


def file_blocks(path: str | PathLike[str], *, block: float = 0.02, realtime: bool = False) -> Iterator[Block]:
    """A file decoded block by block (:func:`emote.audio.io.iter_audio_blocks`), paced in real time on request."""
    from emote.audio.convert import SAMPLE_RATE
    from emote.audio.io import iter_audio_blocks

    start = time.perf_counter()
    sent = 0
    for big in iter_audio_blocks(path, block_seconds=10.0):
        step = max(round(block * SAMPLE_RATE), 1)
        for a in range(0, big.size, step):
            piece = big[a : a + step]
            if realtime:  # the audio's own clock: never ahead of the wall clock
                ahead = sent / SAMPLE_RATE - (time.perf_counter() - start)
                if ahead > 0:
                    time.sleep(ahead)
            yield piece, SAMPLE_RATE
            sent += piece.size


@dataclass(frozen=True)
class WavFormat:
    sr: int
    channels: int
    dtype: np.dtype


def read_wav_header(stream: BinaryIO, name: str = "stdin") -> WavFormat:
    """Read a RIFF/WAVE header up to its ``data`` chunk from a non-seekable stream.

    A streamed WAV (``tts ... | emote stream -``) often carries a placeholder data
    size (0 or 0xFFFFFFFF): the data runs until the stream ends, whatever it says.

    Raises
    ------
    AudioError
        Not a WAV stream, or an encoding other than 16/32-bit PCM or 32-bit float.
    """
    head = _read_exactly(stream, 12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioError(f"{name}: not a WAV stream (no RIFF/WAVE header); for raw PCM pass --raw-rate")
    fmt = None
    while True:
        chunk = _read_exactly(stream, 8)
        if len(chunk) < 8:
            raise AudioError(f"{name}: WAV stream ended before its data chunk")
        cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"data":
            break
        if size > 1 << 20:
            raise AudioError(f"{name}: WAV chunk {cid!r} of {size} bytes is implausibly large")
        body = _read_exactly(stream, size + (size & 1))
        if cid == b"fmt ":
            if len(body) < 16:
                raise AudioError(f"{name}: WAV fmt chunk is truncated")
            tag, channels, sr, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, sr, bits)
    if fmt is None:
        raise AudioError(f"{name}: WAV stream has no fmt chunk before its data")
    tag, channels, sr, bits = fmt
    dtypes = {(1, 16): "<i2", (1, 32): "<i4", (3, 32): "<f4"}
    if (tag, bits) not in dtypes:
        raise AudioError(
            f"{name}: WAV encoding {tag}/{bits}-bit is not supported (16/32-bit PCM or 32-bit float)"
        )
    if not 1 <= channels <= 32 or not 1000 <= sr <= 384_000:
        raise AudioError(f"{name}: WAV header says {channels} channels at {sr} Hz")
    return WavFormat(sr, channels, np.dtype(dtypes[(tag, bits)]))


def pcm_blocks(stream: BinaryIO, fmt: WavFormat, *, block: float = 0.02) -> Iterator[Block]:
    """Interleaved PCM from ``stream`` until it ends, in blocks of ``block`` seconds."""
    frame_bytes = fmt.dtype.itemsize * fmt.channels
    want = max(round(block * fmt.sr), 1) * frame_bytes
    rest = b""
    while True:
        data = stream.read(want)
        if not data:
            break
        data = rest + data
        usable = len(data) // frame_bytes * frame_bytes
        rest = data[usable:]
        if usable:
            y = np.frombuffer(data[:usable], fmt.dtype).reshape(-1, fmt.channels)
            yield (y[:, 0] if fmt.channels == 1 else y), fmt.sr


def stdin_blocks(
    stream: BinaryIO,
    *,
    raw_rate: int | None = None,
    raw_format: str = "s16le",
    channels: int = 1,
    block: float = 0.02,
) -> Iterator[Block]:
    """``-``: a WAV stream, or headerless PCM when ``raw_rate`` is given."""
    if raw_rate is not None:
        if raw_format not in RAW_FORMATS:
            raise EmoteError(f"--raw-format must be one of {', '.join(RAW_FORMATS)}, got {raw_format!r}")
        fmt = WavFormat(raw_rate, channels, RAW_FORMATS[raw_format])
    else:
        fmt = read_wav_header(stream)
    yield from pcm_blocks(stream, fmt, block=block)


def mic_blocks(*, sr: int = 16000, block: float = 0.02, device: str | int | None = None) -> Iterator[Block]:
    """The default (or a named) microphone through PortAudio (``sounddevice``), until interrupted.

    Raises
    ------
    EmoteError
        sounddevice or PortAudio missing, or no input device.
    """
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        raise EmoteError(
            f"the microphone needs PortAudio and sounddevice ({exc}); install libportaudio2 and "
            "pip install 'emote[live]', or stream a file or stdin instead"
        ) from None
    try:
        info = sd.query_devices(device, kind="input")
    except (ValueError, sd.PortAudioError) as exc:
        raise EmoteError(f"no microphone found ({exc}); stream a file or stdin instead") from None
    import queue

    blocks: queue.Queue = queue.Queue(maxsize=256)

    def on_audio(indata, frames, when, status) -> None:
        with contextlib.suppress(queue.Full):  # the consumer is stalled: drop audio rather than grow
            blocks.put_nowait(indata[:, 0].copy())

    try:
        with sd.InputStream(samplerate=sr, channels=1, dtype="float32", blocksize=max(round(block * sr), 1),
                            device=device, callback=on_audio):  # fmt: skip
            while True:
                yield blocks.get(), sr
    except sd.PortAudioError as exc:
        raise EmoteError(f"microphone {info.get('name', device)!r}: {exc}") from None


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    out = b""
    while len(out) < n:
        data = stream.read(n - len(out))
        if not data:
            break
        out += data
    return out
