"""JSON lines: one frame per line, for pipes (``emote stream line.wav --jsonl | your-tool``).

Each line: ``{"frame": 12, "time": 0.4, "curves": {"EyeBlinkLeft": 0.0, ..., "RightEyeRoll": 0.0}}``;
the 52 ARKit weights in [0, 1] and the nine head/eye angles in radians, in Live
Link Face order (:data:`emote.animation.channels.CHANNELS`).
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

from emote.stream.core import Frames


class JsonLines:
    """Write frames as JSON lines to ``out`` (stdout by default), flushed per push."""

    def __init__(self, out: TextIO | None = None, digits: int = 4) -> None:
        self.out = out or sys.stdout
        self.digits = digits

    def send(self, frames: Frames) -> None:
        if not len(frames):
            return
        self.out.write(
            "".join(json.dumps(f.to_dict(self.digits), separators=(",", ":")) + "\n" for f in frames)
        )
        self.out.flush()

    def close(self) -> None:
        self.out.flush()
