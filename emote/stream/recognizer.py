"""The phone recogniser over a growing signal: each 20 ms frame computed once, when it is stable.

hama's network (:class:`emote.audio.hama_net.HamaNet`) attends over all the audio it is
given, so a frame's log-probabilities depend on what surrounds it. A stream that re-ran
it over its whole window (a second of context) on every new piece paid for each frame
ten times over. :class:`LiveRecognizer` keeps the log-probabilities of frames that are
*stable*, at least ``right`` seconds older than the newest sample, and runs the network
only over the frames after them plus ``left`` seconds of audio before them (their
context); the youngest ``right`` seconds are provisional, used by the window that
computed them and recomputed by the next.

This is an approximation of the network over the whole clip (which sees seconds either
side): ``benchmarks/stream.py`` measures its agreement, the greedy token per frame, and
what it does to bilabial closure; the defaults are the shortest contexts that keep the
tokens close (see :data:`LEFT`, :data:`RIGHT`).
"""

from __future__ import annotations

import numpy as np

from emote.audio.convert import SAMPLE_RATE
from emote.audio.phones import Phone
from emote.stream.audio import AudioWindow

FRAME = 320
"""Samples per recogniser frame (20 ms at 16 kHz)."""

LEFT = 0.8
"""Default left context (s) the network sees before the first frame it computes. Measured
(``benchmarks/stream.py``, phonetic defaults): 0.8 s keeps the streamed curves as close to offline
as re-running the whole window (the same closure count of 29, mouth MAE 0.0162 against 0.0165) for
3-9% less CPU (two runs); 0.4 s saves 24-26% and strays further (JawOpen correlation with offline
0.70 against 0.76)."""

RIGHT = 0.2
"""Default right context (s): frames younger than this are recomputed by the next window."""

NEURAL_LEFT = 2.0
"""Default left context (s) of the recogniser whose posteriors the neural engine's network reads.
Measured by ``benchmarks/stream_context.py`` on LibriSpeech training speech (not the test clips),
the stream model of 5c568c5 streamed against its own offline curves: the recogniser over each
one-second window alone keeps 0.909 of the offline lip closures at mouth MAE 0.0084; a live
recogniser hearing 0.8 s before its frames 0.914 / 0.0086, 2 s 0.919 / 0.0075, 4 s 0.929 /
0.0071, at 0.36, 0.35, 0.46 and 0.62 CPU seconds per second of audio. 2 s: most of the MAE's
gain for a third more CPU. Measured again with the shipped stream model (``--held-out``: 15 clips
of LibriSpeech speakers no training shard holds): 2 s keeps 0.932 of the offline closures and adds
15, 3 s 0.937 and 11, 4 s 0.937 and 12 (on the default head's mesh 0.918, 0.913, 0.918), at 0.46,
0.53 and 0.59 CPU seconds per second (results ``stream_context_heldout_left.json``): one closure of
222 and four extra ones for a sixth more CPU in every stream; the default stays 2 s."""


def live_posteriors(y: np.ndarray, *, right: float) -> np.ndarray:
    """The phone log-posteriors per 10 ms feature row that a neural stream's recogniser gives, offline.

    0.1 s pieces of 16 kHz ``y``, each heard with :data:`NEURAL_LEFT` seconds before it and
    ``right`` after (a stream's look-ahead): the data engine stores them so that a network
    learns the view of the newest audio it gets when streamed (``--stream-posteriors``).
    """
    from emote.audio.recognize import phone_posteriors

    return np.repeat(phone_posteriors(y, chunk=0.1, context=NEURAL_LEFT, right=right), 2, axis=0)


class LiveRecognizer:
    """hama's per-frame log-probabilities of a stream, each stable frame computed once.

    Parameters
    ----------
    left, right : float
        Seconds of context before the computed frames, and the age at which a frame is stable.
    """

    def __init__(self, left: float = LEFT, right: float = RIGHT) -> None:
        from emote.audio.recognize import hama_network

        net = hama_network()
        if net is None:
            raise RuntimeError("the live recogniser needs hama 1.7's network (pip install 'hama>=1.7,<1.8')")
        self._net = net
        self.left = max(round(left * SAMPLE_RATE / FRAME), 0)
        self.right = max(round(right * SAMPLE_RATE / FRAME), 0)
        self._first = 0  # absolute frame of self._kept[0]
        self._kept = np.zeros((0, net.proj.shape[1]), np.float32)
        # The encoder's hidden frames of the kept ones, for the closure detector.
        self._kept_hidden = np.zeros((0, net.proj.shape[0]), np.float32)
        self.frames_computed = 0  # network frames evaluated (context included): the cost

    @property
    def stable(self) -> int:
        """First frame not yet kept."""
        return self._first + len(self._kept)

    def log_probs(self, audio: AudioWindow, a: int, b: int) -> np.ndarray:
        """Log-probabilities of the frames of samples ``[a, b)``, ``a`` a multiple of :data:`FRAME`.

        Returns
        -------
        np.ndarray [shape=((b - a) // FRAME + 1, tokens), dtype=float32]
            As :meth:`HamaNet.log_probs` of ``audio[a:b]`` would have them (frame ``k`` at
            ``a + k FRAME``), kept frames reused.
        """
        return self.frames(audio, a, b)[0]

    def frames(self, audio: AudioWindow, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`log_probs` and the encoder's hidden frames they project (:meth:`HamaNet.encode`)."""
        f0, last = a // FRAME, b // FRAME
        if not self._first <= f0 <= self.stable:  # the window left the kept frames behind
            self._first, self._kept, self._kept_hidden = f0, self._kept[:0], self._kept_hidden[:0]
        lo = max(self.stable - self.left, -(-audio.start // FRAME))  # no context from audio no longer held
        hidden = self._net.encode(audio.read(lo * FRAME, b))
        fresh = self._net.project(hidden)
        self.frames_computed += len(fresh)
        new, new_hidden = fresh[self.stable - lo :], hidden[self.stable - lo :]
        out = np.concatenate([self._kept[f0 - self._first :], new])
        out_hidden = np.concatenate([self._kept_hidden[f0 - self._first :], new_hidden])
        settled = last + 1 - self.right - self.stable  # frames that just became stable
        if settled > 0:
            self._kept = np.concatenate([self._kept, new[:settled]])
            self._kept_hidden = np.concatenate([self._kept_hidden, new_hidden[:settled]])
        return out, out_hidden

    def kept(self) -> tuple[int, np.ndarray]:
        """The first kept frame and the kept log-probabilities, (frames, tokens)."""
        return self._first, self._kept

    def forget_before(self, frame: int) -> None:
        """Drop kept frames before ``frame`` (the stream's windows start after it)."""
        cut = min(max(frame - self._first, 0), len(self._kept))
        if cut:
            self._kept, self._kept_hidden = self._kept[cut:], self._kept_hidden[cut:]
            self._first += cut

    def feature_rows(self, audio: AudioWindow, a: int, b: int) -> np.ndarray:
        """Phone log-probabilities (:data:`PHONE_CLASSES` columns) of each 10 ms feature row of
        samples ``[a, b)``, as :func:`emote.nn.features.speech_features` of the whole clip has them.

        The two rows of each curve frame (rows ``2 j`` and ``2 j + 1``, sample ``a + 320 j``)
        take the frame of the stream's absolute 20 ms grid (the offline clip's) nearest that
        sample, wherever the window starts: the network was trained on posteriors that change
        once per curve frame.

        Returns
        -------
        np.ndarray [shape=(1 + (b - a) // 160, len(PHONE_CLASSES)), dtype=float32]
        """
        from emote.audio.recognize import phone_posteriors_of

        start = a // FRAME * FRAME
        post = phone_posteriors_of(self.log_probs(audio, start, b))
        pair = np.arange(1 + (b - a) // (FRAME // 2)) // 2  # the curve frame of each 10 ms row
        rows = (a - start + FRAME // 2 + FRAME * pair) // FRAME
        return post[np.minimum(rows, len(post) - 1)]

    def phones(self, audio: AudioWindow, a: int, b: int, *, ipa: bool = False) -> list[Phone]:
        """Recognised phones of samples ``[a, b)``, in seconds from ``a`` (as :func:`recognize` times them).

        ``ipa``: IPA labels and the bilabial closures heard by :mod:`emote.audio.bilabial` written
        in, as :func:`emote.animate` recognises speech in any language but English (and ``auto``);
        the detector reads the kept hidden frames, so the network still runs once per frame.
        """
        from emote.audio.recognize import RecognizeSettings, phones_from_log_probs

        start = a // FRAME * FRAME  # the frame grid is absolute; the window's start may fall inside a frame
        y = audio.read(start, b)
        log_probs, hidden = self.frames(audio, start, b)
        phones = phones_from_log_probs(
            y, log_probs, RecognizeSettings(ipa=ipa), encoding=hidden if ipa else None
        )
        shift = (a - start) / SAMPLE_RATE
        return [Phone(max(p.start - shift, 0.0), p.end - shift, p.label) for p in phones if p.end > shift]
