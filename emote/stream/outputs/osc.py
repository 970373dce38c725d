"""OSC 1.0 encoding (opensoundcontrol.org, "The Open Sound Control 1.0 Specification", 2002).

Just what VMC needs: messages with string (``s``), float32 (``f``) and int32
(``i``) arguments, and bundles. Every string is NUL-terminated and padded to a
multiple of 4 bytes; numbers are big-endian; a bundle is ``"#bundle"``, a 64-bit
NTP time tag (1 = "immediately") and size-prefixed elements.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

Arg = str | float | int
Message = tuple[str, Sequence[Arg]]

IMMEDIATELY = 1


def _string(text: str) -> bytes:
    raw = text.encode("utf-8") + b"\0"
    return raw + b"\0" * (-len(raw) % 4)


def message(address: str, *args: Arg) -> bytes:
    """One OSC message: address pattern, type tag string, arguments."""
    tags, data = [","], []
    for a in args:
        if isinstance(a, str):
            tags.append("s")
            data.append(_string(a))
        elif isinstance(a, bool) or not isinstance(a, (int, float)):
            raise TypeError(f"OSC argument must be str, int or float, got {type(a).__name__}")
        elif isinstance(a, int):
            tags.append("i")
            data.append(struct.pack("!i", a))
        else:
            tags.append("f")
            data.append(struct.pack("!f", a))
    return _string(address) + _string("".join(tags)) + b"".join(data)


def bundle(elements: Sequence[bytes], *, timetag: int = IMMEDIATELY) -> bytes:
    """An OSC bundle of encoded messages (or bundles)."""
    return (
        _string("#bundle")
        + struct.pack("!Q", timetag)
        + b"".join(struct.pack("!i", len(e)) + e for e in elements)
    )


def decode(packet: bytes) -> list[Message]:
    """Every message in a packet (bundles flattened), as (address, args); raises ValueError on bad bytes."""
    try:
        if packet.startswith(b"#bundle\0"):
            out: list[Message] = []
            at = 16
            while at < len(packet):
                (size,) = struct.unpack_from("!i", packet, at)
                if size <= 0 or size % 4 or at + 4 + size > len(packet):
                    raise ValueError(f"bad bundle element size {size}")
                out.extend(decode(packet[at + 4 : at + 4 + size]))
                at += 4 + size
            return out
        address, at = _read_string(packet, 0)
        tags, at = _read_string(packet, at)
        if not address.startswith("/") or not tags.startswith(","):
            raise ValueError("not an OSC message")
        args: list[Arg] = []
        for tag in tags[1:]:
            if tag == "s":
                text, at = _read_string(packet, at)
                args.append(text)
            elif tag in "fi":
                (value,) = struct.unpack_from("!" + tag, packet, at)
                args.append(value)
                at += 4
            else:
                raise ValueError(f"unsupported OSC type tag {tag!r}")
        return [(address, args)]
    except (struct.error, UnicodeDecodeError) as exc:
        raise ValueError(f"malformed OSC packet: {exc}") from None


def _read_string(packet: bytes, at: int) -> tuple[str, int]:
    end = packet.index(b"\0", at)
    return packet[at:end].decode("utf-8"), at + (end - at) // 4 * 4 + 4
