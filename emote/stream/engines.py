"""The engines over one window of a stream: the offline calls, on the window's audio.

A window is the audio from ``context`` seconds before the first frame not yet
sent up to the newest sample. Each engine is run exactly as :func:`emote.animate`
runs it, on that audio:

- ``phonetic``: the phone recogniser (:func:`emote.audio.recognize.recognize`)
  or the phones of a pushed transcript, then
  :func:`emote.engines.phonetic.animate_phones` with the window's loudness;
- ``neural``: :func:`emote.engines.neural.animate_neural` with the live emotion
  track read at the window's own time.

For a language other than English both also follow the jaw opening heard in the
audio (:class:`HeardJaw`), as offline.

Frames near the newest sample are provisional: the recogniser has not heard what
follows them (a CTC spike comes ~60 ms after its phone begins) and the network
reads a few frames ahead. The stream sends only frames at least its look-ahead old.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from emote.audio.convert import SAMPLE_RATE
from emote.audio.features import frame_db, levels_to_energy, pitch
from emote.audio.phones import Phone
from emote.engines.phonetic import PhoneticSettings, animate_phones
from emote.performance import EmotionTrack


@dataclass
class Window:
    """One stretch of a stream's audio, aligned to its animation frames.

    Attributes
    ----------
    first : int
        Stream frame index of the window's frame 0 (at ``first / fps`` s).
    n_frames : int
        Frames the window covers.
    fps : float
    y : np.ndarray [shape=(samples,), dtype=float32]
        16 kHz audio from ``first / fps`` s.
    phones : list of Phone
        Phones known from a transcript in the window, in window time (s); empty
        when none was pushed for this stretch.
    """

    first: int
    n_frames: int
    fps: float
    y: np.ndarray
    phones: list[Phone]

    @property
    def t0(self) -> float:
        return self.first / self.fps

    def levels(self) -> np.ndarray:
        """Frame levels in dBFS (:func:`emote.audio.features.frame_db`)."""
        return frame_db(y=self._padded(), sr=SAMPLE_RATE, fps=self.fps, n_frames=self.n_frames)

    def pitch(self) -> np.ndarray:
        return pitch(y=self._padded(), sr=SAMPLE_RATE, fps=self.fps, n_frames=self.n_frames)

    def _padded(self) -> np.ndarray:
        # As api._analyse: the last frame may sit just past the audio's end.
        needed = round((self.n_frames - 1) * SAMPLE_RATE / self.fps) + 1
        return np.pad(self.y, (0, max(needed - self.y.size, 0)))


class Loudness:
    """Loudness in [0, 1] against the speech level of everything heard in the last ``seconds``.

    Offline, :func:`emote.audio.features.frame_energy` maps each frame's level
    between the clip's noise (10th percentile) and speech level (95th); a window of a
    second or two would put its own quietest speech at full loudness. A stream keeps
    its frames' levels (a bounded ring) and maps every window against those.
    """

    def __init__(self, fps: float, seconds: float = 30.0) -> None:
        self._db: deque[float] = deque(maxlen=max(round(seconds * fps), 1))
        self._upto = 0  # frames recorded so far

    def energy(self, window: Window) -> np.ndarray:
        db = window.levels()
        # Record the window's frames not seen before; its last frame's audio is not all in yet.
        new = db[max(self._upto - window.first, 0) : max(window.n_frames - 1, 0)]
        self._db.extend(new.tolist())
        self._upto = max(self._upto, window.first + window.n_frames - 1)
        heard = np.fromiter(self._db, np.float64) if self._db else db.astype(np.float64)
        reference, noise = np.percentile(heard, [95, 10])
        return levels_to_energy(db, reference=float(reference), noise=float(noise))


class HeardJaw:
    """Jaw opening heard in a window (:mod:`emote.audio.formants`), against the last ``seconds`` of speech.

    Offline, :func:`emote.audio.formants.jaw_opening` maps the drive (F1 and loudness) of
    each frame to 1 at the 95th percentile of the clip's own speech; a window of a second
    would put its own closest vowel at full opening. As :class:`Loudness`, a stream keeps
    the drive of its speech frames (a bounded ring) and scales every window against
    those (in its first seconds, against what it has heard so far); voicing is gated by
    the stream's loudness, not the window's own. A frame's drive and F1 are kept once
    ``settle`` seconds of audio follow it (its F1 and RMS windows, band-pass filter and
    smoothing then see all they reach): F1, the costly part, is tracked once per frame.
    """

    def __init__(self, fps: float, seconds: float = 30.0, settle: float = 0.1) -> None:
        self._drive: deque[float] = deque(maxlen=max(round(seconds * fps), 1))
        self._settle = settle
        self._upto = 0  # frames whose drive is recorded (or passed over)
        self._f1_first = 0  # stream frame of self._f1[0]
        self._f1 = np.zeros(0)  # F1 (Hz) of settled frames

    def opening(self, window: Window, energy: np.ndarray) -> np.ndarray:
        """The heard opening in [0, 1] of each of the window's frames (float32)."""
        from emote.audio.formants import drive_reference, jaw_drive, jaw_tracks, scaled_opening

        fps, first, n = window.fps, window.first, window.n_frames
        end_t = window.t0 + window.y.size / SAMPLE_RATE
        settled = max(min(math.floor((end_t - self._settle) * fps) + 1 - first, n), 0)
        y = window._padded()
        f1 = self._first_formant(y, first, n, fps, settled)
        drive = jaw_drive(jaw_tracks(y=y, sr=SAMPLE_RATE, fps=fps, n_frames=n, energy=energy, f1=f1), fps=fps)
        new = drive[max(self._upto - first, 0) : settled]
        self._drive.extend(new[new > 0].tolist())
        self._upto = max(self._upto, first + settled)
        heard = np.fromiter(self._drive, np.float64) if self._drive else drive
        return scaled_opening(drive, drive_reference(heard))

    def _first_formant(self, y: np.ndarray, first: int, n: int, fps: float, settled: int) -> np.ndarray:
        """F1 of frames ``first`` to ``first + n`` (``y`` from frame ``first``): kept frames reused."""
        from emote.audio.formants import first_formant

        if not self._f1_first <= first <= self._f1_first + self._f1.size:  # the window left them behind
            self._f1_first, self._f1 = first, self._f1[:0]
        known = self._f1[first - self._f1_first :][:n]
        # The tracker reads 15 ms either side of a frame: start it a little before the first new one.
        lead = min(math.ceil(0.02 * fps) + 1, known.size)
        a = round((known.size - lead) * SAMPLE_RATE / fps)
        fresh = first_formant(y=y[a:], sr=SAMPLE_RATE, fps=fps, n_frames=n - known.size + lead)[lead:]
        f1 = np.concatenate([known, fresh])
        self._f1_first, self._f1 = first, f1[: max(settled, known.size)]
        return f1


def phonetic_window(
    window: Window,
    energy: np.ndarray,
    settings: PhoneticSettings | None,
    heard: Callable[[], list[Phone]],
    jaw_opening: np.ndarray | None = None,
) -> np.ndarray:
    """Mouth and jaw curves (n_frames, 61) for a window: recognised or given phones, then the engine.

    ``heard`` gives the recognised phones of the window's audio (in window time); it is
    called only where no pushed transcript covers the window. ``jaw_opening``: the jaw
    opening heard in the window (:class:`HeardJaw`), followed by ``settings.heard_jaw``
    of the jaw, as offline for a language other than English.
    """
    phones: Sequence[Phone] = window.phones
    start = min((p.start for p in phones), default=np.inf)
    end = max((p.end for p in phones), default=-np.inf)
    covered = start <= 0.0 and end >= window.n_frames / window.fps
    if not covered and float(energy.max(initial=0.0)) > 0.0:
        # Recognised phones fill what the known ones leave (a line with its text, then speech without).
        phones = sorted([*phones, *(p for p in heard() if not start <= (p.start + p.end) / 2 <= end)],
                        key=lambda p: p.start)  # fmt: skip
    return animate_phones(phones, n_frames=window.n_frames, fps=window.fps, energy=energy, settings=settings,
                          jaw_opening=jaw_opening)  # fmt: skip


def neural_window(
    window: Window,
    track: EmotionTrack,
    checkpoint=None,
    posteriors: np.ndarray | None = None,
    jaw_opening: np.ndarray | None = None,
) -> np.ndarray:
    """Curves (n_frames, 61), mouth and expression, for a window: the network on its audio.

    ``posteriors``: the phone log-probabilities of the window's 10 ms feature rows from the
    stream's live recogniser (:meth:`LiveRecognizer.feature_rows`), which hears more than
    the window; None: the recogniser runs on the window's audio alone. ``jaw_opening``: the
    jaw opening heard in the window (:class:`HeardJaw`), of which the jaw follows
    :data:`~emote.engines.neural.HEARD_JAW`, as offline for a language other than English.
    """
    from emote.engines.neural import animate_neural

    return animate_neural(
        window.y, SAMPLE_RATE, fps=window.fps, n_frames=window.n_frames, track=track, t0=window.t0,
        checkpoint=checkpoint, phones=[Phone(p.start + window.t0, p.end + window.t0, p.label)
                                       for p in window.phones] or None, posteriors=posteriors, jaw_opening=jaw_opening,
    )  # fmt: skip
