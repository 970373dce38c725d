"""emote: speech + emotion in, 3D facial animation out.

>>> import emote
>>> anim = emote.animate("line.wav", emotion="angry", intensity=0.8)  # doctest: +SKIP
>>> anim.save("line.csv")  # Live Link Face CSV                        # doctest: +SKIP
"""

from emote.animation import FaceAnimation
from emote.errors import EmoteError
from emote.version import __version__


def animate(*args, **kwargs):
    """Animate an audio file; see :func:`emote.api.animate`."""
    from emote.api import animate as _animate

    return _animate(*args, **kwargs)


def __getattr__(name: str):
    # emote.Stream without importing the live machinery on ``import emote``.
    if name == "Stream":
        from emote.stream import Stream

        return Stream
    raise AttributeError(f"module 'emote' has no attribute {name!r}")


__all__ = ["EmoteError", "FaceAnimation", "Stream", "__version__", "animate"]
