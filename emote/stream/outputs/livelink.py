"""Unreal Live Link Face over UDP: the packets Epic's Live Link Face iOS app sends.

An Unreal project that already receives the app (the Live Link plug-in's "Apple
ARKit Face" source listening on port 11111, a MetaHuman with the ``LLink_Face``
blueprint) animates from emote with no plug-in: point ``--livelink`` at it.

Packet, version 6, every number in network byte order (big-endian), as Unreal's
``FNboSerialize`` reads it::

    uint8    version            6
    int32    len, bytes[len]    device id   (UTF-8, no terminator)
    int32    len, bytes[len]    subject name
    int32    frame number  ┐
    float32  sub-frame     │    FQualifiedFrameTime: the frame's time at
    int32    rate numerator│    rate = numerator / denominator frames per second
    int32    rate denominat┘
    uint8    count              61
    float32  values[61]         ELiveLinkFaceBlendShape order: 52 ARKit weights, then
                                HeadYaw, HeadPitch, HeadRoll, Left/RightEye Yaw, Pitch, Roll

One packet per frame. Unreal keys a subject by its name and tells senders
apart by device id.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from emote.animation.channels import N_CHANNELS
from emote.errors import EmoteError
from emote.stream.core import Frames
from emote.stream.outputs.base import UdpSender

PORT = 11111
"""The port the Live Link Face app sends to, and Unreal listens on, by default."""

VERSION = 6

_HEAD = struct.Struct("!B")
_TIME = struct.Struct("!ifii")
_VALUES = struct.Struct(f"!B{N_CHANNELS}f")


@dataclass(frozen=True)
class LiveLinkPacket:
    """One decoded packet (what :func:`decode` returns)."""

    version: int
    device_id: str
    subject: str
    frame: int
    sub_frame: float
    rate: Fraction
    values: np.ndarray

    @property
    def time(self) -> float:
        return float((self.frame + self.sub_frame) / self.rate)


def frame_rate(fps: float) -> Fraction:
    """The rational rate Unreal expects: 30 → 30/1, 29.97 → 30000/1001 (the NTSC rates), 12.5 → 25/2."""
    ntsc = round(fps * 1.001)
    if fps != round(fps) and abs(fps * 1.001 - ntsc) < 0.005:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(fps).limit_denominator(1000)


def encode(values: np.ndarray, *, frame: int, rate: Fraction, subject: str, device_id: str,
           sub_frame: float = 0.0) -> bytes:  # fmt: skip
    """One packet for one frame's 61 values."""
    v = np.asarray(values, np.float32)
    if v.shape != (N_CHANNELS,):
        raise ValueError(f"values must have shape ({N_CHANNELS},), got {v.shape}")
    out = [_HEAD.pack(VERSION)]
    for text in (device_id, subject):
        raw = text.encode("utf-8")
        out.append(struct.pack("!i", len(raw)) + raw)
    out.append(_TIME.pack(frame, sub_frame, rate.numerator, rate.denominator))
    out.append(_VALUES.pack(N_CHANNELS, *v.tolist()))
    return b"".join(out)


def decode(packet: bytes) -> LiveLinkPacket:
    """Read a packet as Unreal does; raises ValueError on anything else (a receiver for tests and tools)."""
    try:
        (version,) = _HEAD.unpack_from(packet, 0)
        if version != VERSION:
            raise ValueError(f"packet version {version}, expected {VERSION}")
        at = 1
        texts = []
        for _ in range(2):
            (n,) = struct.unpack_from("!i", packet, at)
            if not 0 <= n <= 1024:
                raise ValueError(f"string length {n} out of range")
            texts.append(packet[at + 4 : at + 4 + n].decode("utf-8"))
            at += 4 + n
        frame, sub, num, den = _TIME.unpack_from(packet, at)
        at += _TIME.size
        count, *values = _VALUES.unpack_from(packet, at)
        if count != N_CHANNELS or at + _VALUES.size != len(packet):
            raise ValueError(f"expected {N_CHANNELS} values filling the packet, got count {count}")
    except struct.error as exc:
        raise ValueError(f"truncated packet: {exc}") from None
    return LiveLinkPacket(
        version, texts[0], texts[1], frame, sub, Fraction(num, den), np.asarray(values, np.float32)
    )


class LiveLinkFace:
    """Send frames to Unreal as the Live Link Face app does.

    Parameters
    ----------
    host, port : str, int
        Where Unreal listens (port 11111 by default).
    subject : str
        The Live Link subject name Unreal shows (the app's default is the phone's name).
    device_id : str, optional
        Default: a fresh UUID per sender, as each phone has its own.
    """

    def __init__(
        self, host: str, port: int = PORT, *, subject: str = "emote", device_id: str | None = None
    ) -> None:
        if not subject or len(subject.encode("utf-8")) > 255:
            raise EmoteError("Live Link subject name must be 1 to 255 bytes")
        self.subject = subject
        self.device_id = device_id or str(uuid.uuid4()).upper()
        self._udp = UdpSender(host, port)
        self.sent = 0

    def send(self, frames: Frames) -> None:
        rate = frame_rate(frames.fps)
        for k in range(len(frames)):
            # The frame's time at the rational rate: whole frames plus the sub-frame fraction.
            position = Fraction(frames.first + k) / Fraction(frames.fps) * rate
            whole = int(position)
            packet = encode(frames.curves[k], frame=whole, sub_frame=float(position - whole), rate=rate,
                            subject=self.subject, device_id=self.device_id)  # fmt: skip
            self._udp.send(packet)
            self.sent += 1

    def close(self) -> None:
        self._udp.close()
