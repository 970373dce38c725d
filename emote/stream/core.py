"""``emote.Stream``: speech pushed in pieces, face frames out as soon as they are sure.

How a stream works (each step reuses the offline code; nothing is re-implemented):

1. :meth:`Stream.push` turns the samples into 16 kHz mono (:mod:`emote.stream.audio`).
2. When at least ``hop`` seconds of new audio are in and a frame has become
   sendable, a *window* is analysed: the audio from ``context`` seconds before the
   first unsent frame to the newest sample, through the engine as offline
   (:mod:`emote.stream.engines`) and the performance layer
   (:mod:`emote.stream.performance`). The phone recogniser keeps the frames it has
   decided (:mod:`emote.stream.recognizer`) and runs only over the newer audio.
3. Frames at least ``lookahead`` seconds older than the newest sample are sent;
   the younger ones are kept as provisional. The next window's first frames are
   crossfaded from the provisional ones over ``seam`` seconds, so a window edge
   never shows as a jump.
4. Audio, phones and plans older than the next window can need are forgotten:
   memory is flat for any length.
5. An engine change runs the old and the new engine side by side for
   ``transition`` seconds and crossfades their faces.

The end-to-end latency of a frame is its look-ahead, plus the wait for the next
window (up to ``hop``), plus the window's compute time; ``benchmarks/stream.py``
measures it.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from emote.animation.channels import CHANNELS, N_CHANNELS
from emote.audio import align_transcript
from emote.audio.convert import SAMPLE_RATE, n_frames_for
from emote.audio.espeak import recognises_ipa, voice_of
from emote.audio.formants import hears_jaw
from emote.audio.phones import Phone
from emote.engines import ENGINES
from emote.engines.phonetic import PhoneticSettings
from emote.errors import EmoteError
from emote.performance import PerformanceSettings, apply_emotion
from emote.performance.head import head_angles
from emote.performance.layer import add_motion, pauses_from_energy, speaking_mask
from emote.performance.track import raised_cosine_step
from emote.stream.audio import AudioInput, AudioWindow
from emote.stream.engines import HeardJaw, Loudness, Window, neural_window, phonetic_window
from emote.stream.performance import LiveEmotion, MotionPlans, Switch
from emote.stream.recognizer import FRAME, LEFT, NEURAL_LEFT, RIGHT, LiveRecognizer

NEURAL_MODEL = "multilingual"
"""The neural engine's model in a stream: the shipped look-ahead network (``[model] lookahead = 5``:
each frame reads 100 ms of speech past it and no more, so a short look-ahead loses little; the
centred ``tts`` model reads about a second ahead)."""

LOOKAHEAD: dict[str, float] = {"phonetic": 0.05, "neural": 0.14}
"""Default look-ahead per engine, seconds (``benchmarks/stream.py``, closure against look-ahead on
the four real clips with reference phones, and all nine real clips). Phonetic: closure from the
curves stays within one of the 29 /p b m/ of offline from 50 to 150 ms, and within one of all 52
from 30 to 200 ms (on the default head's mesh within two), so 50 ms, which with :data:`HOP` keeps
the end-to-end latency under 120 ms. Neural (the look-ahead
model, :data:`NEURAL_MODEL`): its network reads 100 ms ahead; the phone recogniser beside it
wants a little more, and 140 ms with a 40 ms hop is the most that keeps the latency under 200 ms."""

HOP: dict[str, float] = {"phonetic": 0.05, "neural": 0.04}
"""Default hop per engine, seconds: the least new audio that runs a window. A frame waits up to
a hop for its window, so a shorter hop means less latency and more windows (compute): the
phonetic 50 ms costs a third less CPU than 40 ms for the same latency with 10 ms less look-ahead."""


@dataclass
class StreamSettings:
    """How a stream trades latency for quality, and what it adds to the face.

    Attributes
    ----------
    fps : float
        Frame rate of the frames sent.
    engine : {"phonetic", "neural"}
    lookahead : float or None
        Seconds of audio after a frame that are heard before it is sent (None: the
        engine's :data:`LOOKAHEAD`). More look-ahead, surer phones, more latency.
    hop : float or None
        Least new audio (s) that runs the next window, once a frame has become sendable
        (None: the engine's :data:`HOP`). Smaller: less waiting, more compute.
    context : float
        Past audio (s) each window re-reads before its first new frame.
    max_step : float
        Most new audio (s) one window takes: a big push is worked in such steps.
    seam : float
        Crossfade (s) from one window's provisional frames to the next's.
    emotion, intensity, transition :
        The starting emotion, and the glide time of every later change.
    blinks, gaze, head_motion : bool
    seed : int
    language : str
        Language of the speech, as :func:`emote.animate` takes it (``"auto"``, ``"en"``, ``"es"``,
        ``"zh"``...). For a language other than English the jaw also follows the opening heard
        in the audio (:class:`~emote.stream.engines.HeardJaw`, scaled to the last 30 s of
        speech), and text pushed beside the audio is phonemised by espeak-ng and CTC-aligned
        (:func:`align_transcript`); English and ``"auto"`` keep the English aligner and the
        phones' jaw. Recognised phones (no text) are the same in every language.
    recognizer_left, recognizer_right : float
        The phone recogniser's context (:class:`~emote.stream.recognizer.LiveRecognizer`):
        seconds of audio before the frames it computes, and the age at which a frame's
        phone log-probabilities are kept rather than recomputed. ``recognizer_left=None``:
        the recogniser reruns over each whole window (closest to offline, most compute).
    neural_recognizer_left : float
        The left context of the recogniser whose phone posteriors the neural engine's network
        reads (a model with ``phones`` features), with ``recognizer_right``
        (:data:`~emote.stream.recognizer.NEURAL_LEFT`).
    phonetic : PhoneticSettings
        The phonetic engine's settings (``articulation`` etc.).
    checkpoint : path or None
        The neural engine's model file or shipped model name (None: ``EMOTE_CHECKPOINT``, else
        :data:`NEURAL_MODEL`).
    """

    fps: float = 30.0
    engine: str = "phonetic"
    lookahead: float | None = None
    hop: float | None = None
    context: float = 1.0
    max_step: float = 8.0
    seam: float = 0.1
    emotion: str | None = "neutral"
    intensity: float = 1.0
    transition: float = 0.3
    blinks: bool = True
    gaze: bool = True
    head_motion: bool = True
    seed: int = 0
    language: str = "auto"
    recognizer_left: float | None = LEFT
    recognizer_right: float = RIGHT
    neural_recognizer_left: float = NEURAL_LEFT
    phonetic: PhoneticSettings = field(default_factory=PhoneticSettings)
    checkpoint: str | None = None

    def checked(self) -> StreamSettings:
        """These settings with ``lookahead`` filled in; raises EmoteError naming a bad one."""
        if self.engine not in ENGINES:
            raise EmoteError(f"unknown engine {self.engine!r}; available: {', '.join(ENGINES)}")
        if not (isinstance(self.fps, (int, float)) and math.isfinite(self.fps) and 1 <= self.fps <= 240):
            raise EmoteError(f"fps must be a number in [1, 240], got {self.fps!r}")
        lookahead = LOOKAHEAD[self.engine] if self.lookahead is None else self.lookahead
        hop = HOP[self.engine] if self.hop is None else self.hop
        for name, value, lo, hi in (("lookahead", lookahead, 0.0, 5.0), ("hop", hop, 0.01, 2.0),
                                    ("context", self.context, 0.2, 10.0), ("max_step", self.max_step, 0.1, 30.0),
                                    ("seam", self.seam, 0.0, 1.0), ("recognizer_right", self.recognizer_right, 0.0, 2.0),
                                    ("recognizer_left", 0.0 if self.recognizer_left is None else self.recognizer_left,
                                     0.0, 5.0), ("neural_recognizer_left", self.neural_recognizer_left, 0.0, 5.0)):  # fmt: skip
            if not (isinstance(value, (int, float)) and math.isfinite(value) and lo <= value <= hi):
                raise EmoteError(f"{name} must be a number of seconds in [{lo:g}, {hi:g}], got {value!r}")
        if not (isinstance(self.seed, int) and self.seed >= 0):
            raise EmoteError(f"seed must be a non-negative integer, got {self.seed!r}")
        voice_of(self.language)  # an unknown language fails here, naming the known ones
        return replace(self, lookahead=float(lookahead), hop=float(hop))

    @property
    def model(self) -> str:
        """The neural engine's model file (:func:`emote.engines.neural.find_checkpoint`)."""
        from emote.engines.neural import find_checkpoint

        return str(find_checkpoint(self.checkpoint, default=NEURAL_MODEL))


@dataclass(frozen=True)
class Frame:
    """One frame: its index in the stream, its time (s) and the 61 curves (Live Link Face order)."""

    index: int
    time: float
    values: np.ndarray

    def to_dict(self, digits: int = 4) -> dict:
        """``{"frame", "time", "curves": {name: value}}``, values rounded (JSON frames, JSON lines; no -0.0)."""
        return {"frame": self.index, "time": round(self.time, 6),
                "curves": {n: round(float(v), digits) + 0.0 for n, v in zip(CHANNELS, self.values, strict=True)}}  # fmt: skip


@dataclass(frozen=True)
class Frames:
    """Consecutive frames sent by one push.

    Attributes
    ----------
    first : int
        Index of the first frame (frame ``i`` shows the face at ``i / fps`` s).
    fps : float
    curves : np.ndarray [shape=(n, 61), dtype=float32]
    """

    first: int
    fps: float
    curves: np.ndarray

    def __len__(self) -> int:
        return int(self.curves.shape[0])

    @property
    def times(self) -> np.ndarray:
        return (self.first + np.arange(len(self))) / self.fps

    def __iter__(self) -> Iterator[Frame]:
        for k in range(len(self)):
            yield Frame(self.first + k, (self.first + k) / self.fps, self.curves[k])


class Stream:
    """Live speech in, face frames out (``emote.Stream``).

    Parameters
    ----------
    fps, engine, emotion, intensity, seed, blinks, gaze, head_motion :
        As :func:`emote.animate`.
    language : str
        Language of the speech (``"auto"``, ``"en"``, ``"es"``, ``"zh"``...): for one other than
        English the jaw also follows the opening heard, and pushed text is aligned by espeak-ng's
        phones, as :func:`emote.animate` does (see :class:`StreamSettings`).
    latency : float, optional
        Look-ahead in seconds (see :class:`StreamSettings`); default per engine.
    **settings
        Any other :class:`StreamSettings` field (``hop``, ``context`` ...).

    Examples
    --------
    >>> stream = Stream(fps=60, engine="phonetic", emotion="happy")          # doctest: +SKIP
    >>> for chunk in tts_chunks:                                              # doctest: +SKIP
    ...     for frame in stream.push(chunk, 24000):
    ...         send(frame.values)
    >>> tail = stream.flush()                                                 # doctest: +SKIP

    From asyncio: ``await stream.apush(chunk, sr)``, ``await stream.aclose()`` and
    ``async for frames in stream``.
    """

    def __init__(
        self,
        *,
        fps: float = 30.0,
        engine: str = "phonetic",
        emotion: str | None = "neutral",
        intensity: float = 1.0,
        latency: float | None = None,
        seed: int = 0,
        blinks: bool = True,
        gaze: bool = True,
        head_motion: bool = True,
        language: str = "auto",
        **settings,
    ) -> None:
        try:
            s = StreamSettings(fps=fps, engine=engine, emotion=emotion, intensity=intensity, lookahead=latency,
                               seed=seed, blinks=blinks, gaze=gaze, head_motion=head_motion, language=language,
                               **settings)  # fmt: skip
        except TypeError as exc:
            raise EmoteError(f"Stream: {exc}") from None
        self.settings = s = s.checked()
        if s.engine == "neural":
            from emote.engines.neural import load

            load(s.model)  # a missing model fails now, not at the first window
        self._fading: tuple[str, float] | None = None  # (old engine, switch s) during a crossfade
        self.emotion = LiveEmotion(s.emotion, s.intensity, s.transition)
        self._perf = PerformanceSettings(seed=s.seed)
        self._plans = MotionPlans(s.fps, self._perf)
        self._loudness = Loudness(s.fps)
        self._heard_jaw = HeardJaw(s.fps)
        self._switches = {
            "blinks": Switch(s.blinks),
            "gaze": Switch(s.gaze),
            "head_motion": Switch(s.head_motion),
        }
        self._input = AudioInput()
        self._audio = AudioWindow()
        self._recognizer: LiveRecognizer | None = None  # made at the first window that needs it
        self._neural_recognizer: LiveRecognizer | None = None  # the neural engine's posteriors
        self._known: list[Phone] = []  # phones of pushed transcripts, stream time
        self._next = 0  # first frame not yet sent
        self._analysed = 0  # newest sample the last window saw
        self._pending = np.zeros((0, N_CHANNELS), np.float32)  # provisional frames from self._next
        self._closed = False
        self._lock = threading.Lock()
        self._queue: asyncio.Queue | None = None

    # -- the synchronous interface -------------------------------------------------------------
    @property
    def fps(self) -> float:
        return self.settings.fps

    @property
    def frames_sent(self) -> int:
        return self._next

    @property
    def samples_in(self) -> int:
        """16 kHz samples pushed so far."""
        return self._audio.end

    def push(self, samples: np.ndarray, sr: int, *, text: str | None = None) -> Frames:
        """Add speech; return the frames that became sure.

        Parameters
        ----------
        samples : np.ndarray [shape=(n,) or (n, channels)]
            int16, int32 or float in [-1, 1].
        sr : int
            Their rate (the first push fixes it).
        text : str, optional
            What these samples say (a TTS line): force-aligned to them (in the stream's
            ``language``, :func:`align_transcript`), its phones replace recognition there.

        Returns
        -------
        Frames
            Possibly none; frames always follow on from the last push's.

        Raises
        ------
        EmoteError
            Bad samples, a changed rate, a transcript that does not fit, or a
            closed stream.
        """
        with self._lock:
            if self._closed:
                raise EmoteError("stream is closed (flush() was called)")
            y = self._input(samples, sr)
            if text:
                self._align(y, text)
            self._audio.append(y)
            return self._advance(final=False)

    def expect(self, phones) -> None:
        """Phones known in advance (an aligned transcript, timings), in stream seconds.

        They replace recognition wherever they lie (the phonetic engine animates
        them; the neural engine closes the lips on their /p b m/).
        """
        with self._lock:
            self._known.extend(Phone(float(p.start), float(p.end), str(p.label)) for p in phones)
            self._known.sort(key=lambda p: p.start)

    def flush(self) -> Frames:
        """End of speech: send every remaining frame (to the end of the audio) and close."""
        with self._lock:
            if self._closed:
                return Frames(self._next, self.fps, np.zeros((0, N_CHANNELS), np.float32))
            self._audio.append(self._input.flush())
            self._closed = True
            return self._advance(final=True)

    def set(
        self,
        *,
        emotion: str | None = None,
        intensity: float | None = None,
        blinks: bool | None = None,
        gaze: bool | None = None,
        head_motion: bool | None = None,
        phonetic: PhoneticSettings | None = None,
        engine: str | None = None,
        language: str | None = None,
    ) -> None:
        """Change settings from the next frame on; every change glides (no pop).

        ``emotion``/``intensity`` glide over the stream's ``transition``; the
        switches fade over 0.3 s; phonetic settings take effect at the next window,
        its seam crossfade smoothing the change. A new ``engine`` runs beside the
        old one for ``transition`` seconds from the next frame, the frames
        crossfading from the old engine's face to the new one's (its look-ahead
        stays the stream's: set ``latency`` when the stream is made). A new
        ``language`` aligns the text pushed from then on, and turns the heard jaw on
        or off from the next window (crossfaded at its seam).

        Raises
        ------
        EmoteError
            An unknown engine or language, or a neural model that cannot be loaded
            (the stream keeps its settings).
        """
        if language is not None:
            replace(self.settings, language=language).checked()  # validates the name
        if engine is not None and engine != self.settings.engine:
            replace(self.settings, engine=engine).checked()  # validates the name
            if engine == "neural":
                from emote.engines.neural import load

                load(self.settings.model)  # outside the lock: the first load takes a while
        with self._lock:
            after = self._next / self.fps
            if engine is not None and engine != self.settings.engine:
                self._fading = (self.settings.engine, after)
                self.settings = replace(self.settings, engine=engine)
            if emotion is not None or intensity is not None:
                seg = self.emotion.segments[0]
                self.emotion.change(emotion or seg.emotion, seg.intensity if intensity is None else intensity,
                                    after=after)  # fmt: skip
            for name, value in (("blinks", blinks), ("gaze", gaze), ("head_motion", head_motion)):
                if value is not None:
                    self._switches[name].set(bool(value), frame=self._next, fps=self.fps)
            if phonetic is not None:
                self.settings = replace(self.settings, phonetic=phonetic)
            if language is not None:
                self.settings = replace(self.settings, language=language)

    def feed(self, blocks: Iterable[np.ndarray], sr: int) -> Iterator[Frames]:
        """Push every block, yield the frames as they come, flush at the end."""
        for block in blocks:
            out = self.push(block, sr)
            if len(out):
                yield out
        tail = self.flush()
        if len(tail):
            yield tail

    # -- the asyncio interface -----------------------------------------------------------------
    async def apush(self, samples: np.ndarray, sr: int, *, text: str | None = None) -> None:
        """:meth:`push` off the event loop; its frames go to ``async for`` (waits while that lags)."""
        frames = await asyncio.to_thread(self.push, samples, sr, text=text)
        if len(frames):
            await self._frames_queue().put(frames)

    async def aclose(self) -> None:
        """:meth:`flush`; the ``async for`` ends after the last frames."""
        frames = await asyncio.to_thread(self.flush)
        queue = self._frames_queue()
        if len(frames):
            await queue.put(frames)
        await queue.put(None)

    def __aiter__(self) -> AsyncIterator[Frames]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Frames]:
        queue = self._frames_queue()
        while (frames := await queue.get()) is not None:
            yield frames

    def _frames_queue(self) -> asyncio.Queue:
        if self._queue is None:
            self._queue = asyncio.Queue(maxsize=32)  # bounded: a slow consumer slows apush down
        return self._queue

    # -- internals -----------------------------------------------------------------------------
    def _align(self, y: np.ndarray, text: str) -> None:
        t0 = self._audio.end / SAMPLE_RATE
        try:
            result = align_transcript(y=y, sr=SAMPLE_RATE, text=text, language=self.settings.language)
        except EmoteError as exc:
            raise EmoteError(f"text pushed at {t0:.2f} s does not fit its audio: {exc}") from None
        self._known.extend(Phone(p.start + t0, p.end + t0, p.label) for p in result.phones)
        self._known.sort(key=lambda p: p.start)

    def _advance(self, *, final: bool) -> Frames:
        s = self.settings
        out = []
        hop = round(s.hop * SAMPLE_RATE)
        while True:
            new = self._audio.end - self._analysed
            if final:
                if self._next >= self._total_frames():
                    break
            elif new < hop or not self._sendable(self._audio.end):
                break  # a window runs once it has new audio and a frame to send
            step = min(new, round(s.max_step * SAMPLE_RATE))
            out.append(self._window(self._analysed + step, final=final and step == new))
            self._analysed += step
        first = self._next - sum(len(c) for c in out)
        curves = np.concatenate(out) if out else np.zeros((0, N_CHANNELS), np.float32)
        return Frames(first, s.fps, curves)

    def _sendable(self, end: int) -> bool:
        """Whether a window ending at sample ``end`` would make a new frame sure."""
        return math.floor((end / SAMPLE_RATE - self.settings.lookahead) * self.fps) + 1 > self._next

    def _total_frames(self) -> int:
        return n_frames_for(duration=self._audio.end / SAMPLE_RATE, fps=self.fps) if self._audio.end else 0

    def _window(self, end: int, *, final: bool) -> np.ndarray:
        """Analyse the window ending at sample ``end``; return the frames it makes sure (and send them)."""
        s = self.settings
        fps = s.fps
        end_t = end / SAMPLE_RATE
        if final:
            stop = self._total_frames()
            n_last = stop
        else:
            stop = max(math.floor((end_t - s.lookahead) * fps) + 1, self._next)
            n_last = math.floor(end_t * fps) + 1
        first = max(self._next - round(s.context * fps), 0)
        window = Window(first=first, n_frames=max(n_last, stop) - first, fps=fps,
                        y=self._audio.read(round(first / fps * SAMPLE_RATE), end), phones=self._phones(first, end_t))  # fmt: skip
        curves = self._perform(window)
        k = self._next - first  # the window's frame of the first unsent frame
        fresh = curves[k:]
        # Crossfade from what the last window showed for these frames: no seam.
        m = min(len(self._pending), len(fresh), max(round(s.seam * fps), 0))
        if m:
            w = ((np.arange(m) + 1) / (m + 1))[:, None]
            fresh[:m] = (1 - w) * self._pending[:m] + w * fresh[:m]
        sent, self._pending = fresh[: stop - self._next], fresh[stop - self._next :].copy()
        self._next = stop
        self._forget()
        return sent

    def _phones(self, first: int, end_t: float) -> list[Phone]:
        t0 = first / self.fps
        return [
            Phone(p.start - t0, p.end - t0, p.label) for p in self._known if p.end > t0 and p.start < end_t
        ]

    def _perform(self, window: Window) -> np.ndarray:
        s = self.settings
        n, fps = window.n_frames, window.fps
        energy = self._loudness.energy(window)
        weights = self.emotion.weights(window.t0 + np.arange(n) / fps)
        # A language other than English: the jaw also follows the opening heard (as offline).
        jaw = self._heard_jaw.opening(window, energy) if hears_jaw(s.language) else None
        curves = self._speech(s.engine, window, energy, weights, jaw)
        if self._fading is not None:  # an engine change: crossfade from the old engine's face
            old, at = self._fading
            if window.t0 >= at + s.transition:
                self._fading = None
            else:
                w = raised_cosine_step((window.t0 + np.arange(n) / fps - at) / max(s.transition, 1e-6) - 0.5)
                if w.min() < 1.0:
                    before = self._speech(old, window, energy, weights, jaw)
                    curves = (before + (curves - before) * w[:, None].astype(np.float32)).astype(np.float32)
        frames = window.first + np.arange(n)
        gains = {name: sw.gain(frames, fps) for name, sw in self._switches.items()}
        blink, gaze = self._plans.motion(window.first, n, self.emotion)
        head = None
        if gains["head_motion"].any():
            speaking = speaking_mask(n, fps=fps, pauses=pauses_from_energy(energy, fps=fps))
            rng = np.random.default_rng(np.random.SeedSequence(s.seed).spawn(3)[2])
            head = head_angles(n, fps=fps, rng=rng, energy=energy, pitch=window.pitch(), speaking=speaking,
                               emotion_weights=weights, settings=self._perf.head_settings, t0=window.t0)  # fmt: skip
            head *= gains["head_motion"][:, None]
        return add_motion(curves, blink=blink * gains["blinks"], gaze=gaze * gains["gaze"][:, None], head=head,
                          gaze_settings=self._perf.gaze_settings)  # fmt: skip

    def _speech(
        self, engine: str, window: Window, energy: np.ndarray, weights: np.ndarray, jaw: np.ndarray | None
    ) -> np.ndarray:
        """One engine's face (speech and emotion) over a window; ``jaw``: the heard opening, if followed."""
        s = self.settings
        if engine == "neural":
            return neural_window(window, self.emotion, s.model, self._posteriors(window), jaw)
        speech = phonetic_window(window, energy, s.phonetic, lambda: self._heard(window), jaw)
        return apply_emotion(speech, weights)

    def _heard(self, window: Window) -> list[Phone]:
        """Recognised phones of a window's audio (:class:`LiveRecognizer`: each 20 ms frame computed once).

        As :func:`emote.animate` recognises them: in IPA with the bilabial closures heard
        (:mod:`emote.audio.bilabial`) written in, unless the language is said to be English.
        """
        s = self.settings
        ipa = recognises_ipa(voice_of(s.language))
        if s.recognizer_left is None:  # the recogniser over the whole window, every window
            from emote.audio.recognize import RecognizeSettings, recognize

            return list(recognize(y=window.y, sr=SAMPLE_RATE, settings=RecognizeSettings(ipa=ipa)).phones)
        if self._recognizer is None:
            self._recognizer = LiveRecognizer(s.recognizer_left, s.recognizer_right)
        a = round(window.t0 * SAMPLE_RATE)
        return self._recognizer.phones(self._audio, a, a + window.y.size, ipa=ipa)

    def _posteriors(self, window: Window) -> np.ndarray | None:
        """The phone log-probabilities of a neural window's feature rows, from a live recogniser.

        The network was trained on posteriors of whole clips; hama's attention over a one-second
        window alone gives the newest frames' quite different ones, and the lips then miss
        closures the whole clip makes. A recogniser that keeps its settled frames and hears
        ``neural_recognizer_left`` seconds before them comes closer (``benchmarks/stream_context.py``).
        None for a model that reads no posteriors, for a centred model (the tts model reads a
        second ahead, and the window's own recogniser gives the older frames it reads more of
        what follows them than the live recogniser's settled frames heard; its stream closed
        fewer of the real bilabials with the live one, in a run not kept), and with
        ``recognizer_left=None`` (the recogniser over each window alone).
        """
        from emote.engines.neural import load

        s = self.settings
        cfg = load(s.model).config
        if s.recognizer_left is None or not cfg.features.phones or not cfg.lookahead:
            return None
        if self._neural_recognizer is None:
            self._neural_recognizer = LiveRecognizer(s.neural_recognizer_left, s.recognizer_right)
        a = round(window.t0 * SAMPLE_RATE)
        return self._neural_recognizer.feature_rows(self._audio, a, a + window.y.size)

    def _forget(self) -> None:
        first = max(self._next - round(self.settings.context * self.fps), 0)
        t0 = first / self.fps
        keep = round(t0 * SAMPLE_RATE)
        for recognizer in (self._recognizer, self._neural_recognizer):
            if recognizer is not None:
                recognizer.forget_before(keep // FRAME)
                context = max(recognizer.stable - recognizer.left, 0) * FRAME  # its next run's
                keep = min(keep, context)
        self._audio.forget_before(keep)
        self._known = [p for p in self._known if p.end > t0]
