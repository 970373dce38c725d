"""Where streamed frames go: Unreal Live Link (UDP), VMC/OSC (UDP), JSON lines; WebSocket in :mod:`emote.stream.server`.

Every output is a :class:`Sink`: ``send(frames)`` then ``close()``.
"""

from emote.stream.outputs.base import Sink, parse_address
from emote.stream.outputs.jsonl import JsonLines
from emote.stream.outputs.livelink import LiveLinkFace
from emote.stream.outputs.vmc import VMC

__all__ = ["VMC", "JsonLines", "LiveLinkFace", "Sink", "parse_address"]
