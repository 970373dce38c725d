"""Real time: speech pushed in pieces, face frames out, into Live Link, VMC, WebSocket or JSON lines.

>>> from emote.stream import Stream
>>> stream = Stream(fps=60, emotion="happy")        # doctest: +SKIP
>>> frames = stream.push(chunk, 24000)              # doctest: +SKIP
"""

from emote.stream.core import LOOKAHEAD, Frame, Frames, Stream, StreamSettings

__all__ = ["LOOKAHEAD", "Frame", "Frames", "Stream", "StreamSettings"]
