"""VMC protocol (Virtual Motion Capture, https://protocol.vmc.info): blend shapes over OSC/UDP.

For VSeeFace, Warudo, VMagicMirror, VNyan and other VRM apps that receive VMC
("Performer" → "Marionette"). Each frame is one OSC bundle::

    /VMC/Ext/Blend/Val  (string) name  (float) value     × 52, ARKit names
    /VMC/Ext/Blend/Apply

The names are Apple's ARKit blend shape names (``eyeBlinkLeft``, ``jawOpen``,
``mouthSmileLeft`` ...), which "perfect sync" VRM avatars carry as their clip
names. The default port is 39539, the VMC Marionette's.
"""

from __future__ import annotations

from emote.animation.channels import ARKIT_NAMES
from emote.stream.core import Frames
from emote.stream.outputs import osc
from emote.stream.outputs.base import UdpSender

PORT = 39539

ARKIT_CLIP_NAMES: tuple[str, ...] = tuple(n[0].lower() + n[1:] for n in ARKIT_NAMES)
"""emote's Live Link channel names in Apple's spelling (``EyeBlinkLeft`` → ``eyeBlinkLeft``)."""


def frame_bundle(values) -> bytes:
    """The bundle for one frame: 52 ``/VMC/Ext/Blend/Val`` then ``/VMC/Ext/Blend/Apply``."""
    vals = [
        osc.message("/VMC/Ext/Blend/Val", name, float(v))
        for name, v in zip(ARKIT_CLIP_NAMES, values, strict=False)
    ]
    return osc.bundle([*vals, osc.message("/VMC/Ext/Blend/Apply")])


class VMC:
    """Send frames' blend shapes to a VMC receiver."""

    def __init__(self, host: str, port: int = PORT) -> None:
        self._udp = UdpSender(host, port)
        self.sent = 0

    def send(self, frames: Frames) -> None:
        for k in range(len(frames)):
            self._udp.send(frame_bundle(frames.curves[k, : len(ARKIT_CLIP_NAMES)]))
            self.sent += 1

    def close(self) -> None:
        self._udp.close()
