"""The output interface, and the ``HOST:PORT`` parsing the command line shares."""

from __future__ import annotations

import contextlib
import socket
from typing import Protocol

from emote.errors import EmoteError
from emote.stream.core import Frames


class Sink(Protocol):
    """Something frames are sent to, in order."""

    def send(self, frames: Frames) -> None: ...

    def close(self) -> None: ...


def parse_address(text: str, *, default_port: int) -> tuple[str, int]:
    """``"HOST:PORT"``, ``"HOST"`` or ``":PORT"`` → (host, port); IPv6 as ``[::1]:PORT``.

    Raises
    ------
    EmoteError
        A port that is not a number in 1..65535.
    """
    host, port = text, str(default_port)
    if text.startswith("["):  # [v6]:port
        end = text.find("]")
        host, rest = text[1:end], text[end + 1 :]
        port = rest[1:] if rest.startswith(":") else port
    elif text.count(":") == 1:
        host, port = text.split(":")
    host = host or "127.0.0.1"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise EmoteError(f"{text!r}: port must be a number in 1..65535")
    return host, int(port)


class UdpSender:
    """A UDP socket aimed at one address (resolved once, IPv4 or IPv6)."""

    def __init__(self, host: str, port: int) -> None:
        try:
            family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        except socket.gaierror as exc:
            raise EmoteError(f"{host}:{port}: cannot resolve the host ({exc.strerror})") from None
        self.address = address
        self._sock = socket.socket(family, kind, proto)

    def send(self, packet: bytes) -> None:
        # UDP is fire-and-forget: a receiver that is not up yet must not stop the stream.
        with contextlib.suppress(OSError):
            self._sock.sendto(packet, self.address)

    def close(self) -> None:
        self._sock.close()
