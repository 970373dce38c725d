"""The tool as one call: :func:`animate` turns an audio file into a `FaceAnimation`.

Stages (each a library call, timed; logged at INFO and, with ``stage_timings=True``,
kept in ``metadata["timings"]``):

1. *load*: decode to mono float32 at 16 kHz; long files go chunk by chunk.
2. *features*: loudness envelope, pitch and pauses per animation frame.
3. *phones*: user timings, forced alignment of a transcript, or recognition.
4. *engine*: phones → mouth and jaw curves (the phonetic engine).
5. *performance*: emotion track, blinks, gaze, head motion.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emote import limits
from emote.animation import N_CHANNELS, FaceAnimation
from emote.engines import ENGINES
from emote.errors import AudioError, EmoteError, file_error

if TYPE_CHECKING:
    from emote.performance import PerformanceSettings

log = logging.getLogger("emote")

Progress = Callable[[float, str], None]

LONG_AUDIO_SECONDS = 600.0
"""Files longer than this are processed in chunks, never held whole in memory."""

CHUNK_SECONDS = 60.0
"""Chunk length for long files (frame-aligned; phones are found per chunk)."""

MIN_FPS, MAX_FPS = limits.MIN_FPS, limits.MAX_FPS
"""Frame rates accepted (animation curves are sampled at 24–60 fps in practice); see :mod:`emote.limits`."""


@dataclass
class _Analysis:
    """What the front-end found in one stretch of audio, in frames of the animation."""

    energy: np.ndarray
    pitch: np.ndarray
    jaw: np.ndarray | None = None
    phones: list = field(default_factory=list)
    words: list = field(default_factory=list)


@dataclass
class Speech:
    """What the front-end found in a recording, per frame of the animation to come.

    Attributes
    ----------
    audio : str
        The file.
    duration : float
        Its length in seconds.
    fps : float
        Frame rate of ``energy`` and ``pitch``.
    energy : np.ndarray [shape=(frames,), float32]
        Loudness in [0, 1] (``emote.audio.features.frame_energy``).
    pitch : np.ndarray [shape=(frames,), float32]
        f0 in Hz, 0 where unvoiced.
    phones, words : list
        ``emote.audio.phones.Phone`` / ``Word`` in seconds.
    source : str
        Where the phones came from: ``alignment``, ``recognition``, ``timings:FILE``, or
        ``none`` (analysed with ``recognise=False`` and no transcript: no phones).
    language : str
        The language asked for (``"auto"`` when not said).
    jaw : np.ndarray [shape=(frames,), float32] or None
        Jaw opening heard in the audio, in [0, 1] (``emote.audio.formants.jaw_opening``),
        for a language other than English (None otherwise: the phones drive the jaw).
    timings : dict[str, float]
        Wall seconds per stage so far.
    """

    audio: str
    duration: float
    fps: float
    energy: np.ndarray
    pitch: np.ndarray
    phones: list
    words: list
    source: str
    timings: dict[str, float]
    language: str = "auto"
    jaw: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.energy.shape[0])


def animate(
    audio: str | PathLike[str],
    *,
    text: str | None = None,
    timings: str | PathLike[str] | None = None,
    use_transcript_file: bool = True,
    language: str = "auto",
    emotion: str | None = "neutral",
    intensity: float = 1.0,
    emotion_track: str | PathLike[str] | dict | None = None,
    fps: float = 30.0,
    engine: str = "phonetic",
    model: str | PathLike[str] | None = None,
    performance: PerformanceSettings | None = None,
    stage_timings: bool = False,
    progress: Progress | None = None,
    **deprecated: Any,
) -> FaceAnimation:
    """Animate a face from a speech recording.

    Parameters
    ----------
    audio : path
        Speech: wav, flac, mp3, ogg/opus, any rate, mono or stereo.
    text : str, optional
        Transcript; force-aligned to the audio for precise phone timings.
    timings : path, optional
        Phone timings to use as they are: a Praat TextGrid or a CSV (start,end,phone).
    use_transcript_file : bool
        Without ``text``/``timings``, use a ``.txt`` or ``.lab`` beside the audio if there is one.
    language : str
        Language of the speech, as espeak-ng names it (``"es"``, ``"fr"``, ``"zh"``...;
        ``emote.audio.espeak.languages()`` lists them). With a transcript: English (``"en"``,
        and ``"auto"``) is force-aligned by PocketSphinx's English model, any other language
        phonemised by espeak-ng and aligned by CTC on the phone recogniser's IPA
        posteriors. Without one: ``"auto"`` and every language but English animate the
        recognised IPA phones by their articulatory features; ``"en"`` folds them into
        English phones first. For a language other than English the jaw also follows the
        opening heard in the audio (``emote.audio.formants``). An unknown language is an
        error naming the known ones.
    emotion, intensity :
        A constant emotion (``emote emotions`` lists them) at ``intensity`` in [0, 1].
    emotion_track : path or dict, optional
        A time-varying emotion track (JSON file or its dict); replaces ``emotion``.
    fps : float
        Frame rate of the result.
    engine : str
        ``"phonetic"`` (rules over phones; needs no weights; the default: best on real
        speech) or ``"neural"`` (the EMOTE-style network in ``checkpoints/``).
    model : str or path, optional
        The neural engine's model: a shipped one by name (``"tts"``, or ``"multilingual"``,
        also taught fifteen other languages; see ``checkpoints/MODEL_CARD.md``) or a model
        file. Only with ``engine="neural"``. Default: ``"multilingual"`` for a ``language``
        named other than English, ``"tts"`` otherwise (``EMOTE_CHECKPOINT`` overrides both).
    performance : emote.performance.PerformanceSettings, optional
        Blinks, gaze and head motion (each on or off, and their details) and the ``seed`` of
        their randomness: the same seed gives the same animation. Default: all on, seed 0.
    stage_timings : bool
        Keep the wall seconds of each stage in ``metadata["timings"]``. Off by
        default: they differ run to run, and files written from the result would
        then never be byte-identical.
    progress : callable, optional
        Called as ``progress(fraction, stage)`` while working.
    **deprecated
        ``seed``, ``blinks``, ``gaze`` and ``head_motion``, the old spelling of
        ``performance``, still work for one release with a ``DeprecationWarning``.

    Returns
    -------
    FaceAnimation
        ``curves`` [shape=(n_frames_for(duration, fps), 61)], metadata with the
        engine, emotion track, audio path and duration, seed, phone source (and
        per-stage timings with ``stage_timings=True``).

    Raises
    ------
    EmoteError
        A bad file or setting; the message names it.

    See Also
    --------
    analyse, perform_speech : the two halves, to animate one line in several emotions.

    Examples
    --------
    >>> anim = animate("line.wav", emotion="happy", intensity=0.7)  # doctest: +SKIP
    >>> anim.save("line.csv")                                        # doctest: +SKIP
    >>> from emote.performance import PerformanceSettings
    >>> still = animate("line.wav", performance=PerformanceSettings(head=False, seed=7))  # doctest: +SKIP
    """
    # Settings are checked before any audio is decoded: a typo fails in milliseconds.
    track = emotion_track_for(emotion, intensity, emotion_track)
    check_engine(engine, model)
    performance = _performance_settings(performance, deprecated, caller="animate")
    report = progress or (lambda fraction, stage: None)
    speech = analyse(
        audio, text=text, timings=timings, use_transcript_file=use_transcript_file, fps=fps,
        recognise=engine != "neural", language=language, progress=lambda f, stage: report(0.85 * f, stage),
    )  # fmt: skip
    anim = perform_speech(
        speech, emotion_track=track, engine=engine, model=model, performance=performance,
        stage_timings=stage_timings,
    )  # fmt: skip
    report(1.0, "done")
    return anim


def analyse(
    audio: str | PathLike[str],
    *,
    text: str | None = None,
    timings: str | PathLike[str] | None = None,
    use_transcript_file: bool = True,
    fps: float = 30.0,
    recognise: bool = True,
    language: str = "auto",
    progress: Progress | None = None,
) -> Speech:
    """The front-end half of :func:`animate`: decode, features and phones (see its parameters).

    Files longer than :data:`LONG_AUDIO_SECONDS` are decoded and analysed in
    :data:`CHUNK_SECONDS` chunks, so memory stays bounded whatever the length.
    ``recognise=False`` skips phone recognition when there is no transcript or
    timings (``source="none"``): the neural engine hears the audio itself.
    """
    from emote.audio.convert import n_frames_for
    from emote.audio.espeak import other_than_english, recognises_ipa, voice_of
    from emote.audio.io import audio_info

    report = progress or (lambda fraction, stage: None)
    path = Path(audio)
    voice = voice_of(language)  # an unknown language fails before decoding
    # Every limit (emote.limits) is checked from headers and sizes before any decoding.
    limits.check_fps(fps)
    text_from = "text"
    if text is None and timings is None and use_transcript_file:
        text = _transcript_beside(path)
        text_from = f"{path.with_suffix('')}.txt/.lab"
    timer = _Timer()

    with timer("load"):
        info = audio_info(path)
    n_frames = n_frames_for(duration=info.duration, fps=fps)
    limits.check_frames(n_frames, what=f"{path} at {fps:g} fps")
    if text:
        limits.check_transcript(text, duration=info.duration, where=f"{path}: transcript ({text_from})")
    report(0.02, "load")

    alignment = None
    source = "alignment" if text else ("recognition" if recognise else "none")
    if timings is not None:
        from emote.audio.timings import check_timings_fit, read_timings

        with timer("phones"):
            alignment = read_timings(timings)
        check_timings_fit(alignment, timings, duration=info.duration)
        source = f"timings:{Path(timings).name}"

    parts = []
    chunks = _Chunks(info, fps=fps, n_frames=n_frames)
    if text and alignment is None and other_than_english(voice):
        # Another language: espeak-ng's phones, CTC-aligned over the whole file.
        from emote.audio.ctc_align import ctc_align
        from emote.audio.io import load_audio

        with timer("phones"):
            sound = load_audio(path)
            alignment = ctc_align(y=sound.samples, sr=sound.sr, text=text, language=voice)
        source = "alignment"
    if chunks.count > 1 and text and alignment is None:
        # A long transcript is aligned by its own streaming pass (bounded memory), not per chunk.
        from emote.audio.align import align_file

        with timer("phones"):
            alignment = align_file(path, text=text, progress=lambda f: report(0.05 + 0.45 * f, "phones"))
    find_phones = alignment is None and source != "none"  # per chunk; none when read, aligned or not wanted
    blocks = chunks.blocks()
    for k in range(chunks.count):
        with timer("load"):
            start_frame, y = next(blocks)
        part = _analyse(
            y, fps=fps, n_frames=chunks.stop(k) - start_frame, timer=timer, jaw=_hears_jaw(language)
        )
        if find_phones:
            _find_phones(part, y, text=text, t0=start_frame / fps, timer=timer, ipa=recognises_ipa(voice))
        parts.append(part)
        report(0.05 + 0.95 * (k + 1) / chunks.count, "phones" if find_phones else "features")

    energy = np.concatenate([p.energy for p in parts])
    if float(energy.max(initial=0.0)) <= 0.0:
        raise file_error(AudioError, path, "is silent (no speech found); nothing to animate")
    if alignment is not None:
        phones, words = list(alignment.phones), list(alignment.words)
    else:
        phones = [ph for p in parts for ph in p.phones]
        words = [w for p in parts for w in p.words]
    return Speech(
        audio=str(path), duration=info.duration, fps=float(fps), energy=energy,
        pitch=np.concatenate([p.pitch for p in parts]), phones=phones, words=words, source=source,
        timings=timer.seconds, language=language,
        jaw=np.concatenate([p.jaw for p in parts]) if _hears_jaw(language) else None,
    )  # fmt: skip


def perform_speech(
    speech: Speech,
    *,
    emotion: str | None = "neutral",
    intensity: float = 1.0,
    emotion_track=None,
    engine: str = "phonetic",
    model: str | PathLike[str] | None = None,
    performance: PerformanceSettings | None = None,
    stage_timings: bool = False,
    **deprecated: Any,
) -> FaceAnimation:
    """The animation half of :func:`animate`: engine and performance layer over analysed speech."""
    from emote.audio.features import pauses as find_pauses
    from emote.performance import perform

    track = emotion_track_for(emotion, intensity, emotion_track)
    check_engine(engine, model)
    performance = _performance_settings(performance, deprecated, caller="perform_speech")
    timer = _Timer()
    if (
        engine == "neural"
        and model is None
        and not os.environ.get("EMOTE_CHECKPOINT")
        and _hears_jaw(speech.language)
    ):
        # A language named other than English: the model also taught fifteen other languages
        # closes more of their bilabials from audio alone (benchmarks/languages_neural.py).
        model = "multilingual"
    with timer("engine"):
        if engine == "neural":
            face = _neural_curves(speech, track, model)
        elif speech.source == "none":
            raise EmoteError(f"{speech.audio}: analysed without phones; the phonetic engine needs them")
        else:
            from emote.engines.phonetic import animate_phones

            face = animate_phones(
                speech.phones, n_frames=speech.n_frames, fps=speech.fps, energy=speech.energy,
                jaw_opening=speech.jaw,
            )  # fmt: skip
    with timer("performance"):
        # The neural engine's curves already carry the emotion's expression.
        settings = dataclasses.replace(performance, expression=performance.expression and engine != "neural")
        curves = perform(
            face, fps=speech.fps, track=track, energy=speech.energy,
            pauses=find_pauses(speech.energy, fps=speech.fps), pitch=speech.pitch, settings=settings,
        )  # fmt: skip
    assert curves.shape == (speech.n_frames, N_CHANNELS)
    metadata = {
        "engine": engine,
        "emotion_track": track.to_dict(),
        "audio": speech.audio,
        "audio_duration": speech.duration,
        "seed": performance.seed,
        "phones_source": speech.source,
        "language": speech.language,
        "n_phones": len(speech.phones),
        "settings": {"blinks": performance.blinks, "gaze": performance.gaze, "head_motion": performance.head},
    }
    if engine == "neural":
        from emote.engines.neural import find_checkpoint

        metadata["model"] = find_checkpoint(model).name
    seconds = {**speech.timings, **timer.seconds}
    log.info("%s: stage seconds %s", speech.audio, ", ".join(f"{k} {v:.3f}" for k, v in seconds.items()))
    if stage_timings:  # wall-clock: kept out of the files unless asked for (reproducible outputs)
        metadata["timings"] = seconds
    if speech.words:
        metadata["transcript_words"] = len(speech.words)
    return FaceAnimation(speech.fps, curves, metadata)


# -- helpers -------------------------------------------------------------------------------------


def emotion_track_for(emotion: str | None, intensity: float = 1.0, emotion_track=None):
    """An ``EmotionTrack`` from a constant emotion, a track file or dict (or a track, passed through)."""
    from emote.performance import EmotionTrack

    if isinstance(emotion_track, EmotionTrack):
        return emotion_track
    if emotion_track is not None:
        if isinstance(emotion_track, dict):
            return EmotionTrack.from_dict(emotion_track)
        return EmotionTrack.from_json(emotion_track)
    return EmotionTrack.constant(emotion or "neutral", intensity)


def _hears_jaw(language: str) -> bool:
    """Whether the jaw follows the opening heard in the audio (:func:`emote.audio.formants.hears_jaw`,
    imported when called: ``import emote`` stays free of the audio stack)."""
    from emote.audio.formants import hears_jaw

    return hears_jaw(language)


_OLD_PERFORMANCE_KWARGS = {"seed": "seed", "blinks": "blinks", "gaze": "gaze", "head_motion": "head"}


def _performance_settings(
    performance: PerformanceSettings | None, deprecated: dict[str, Any], *, caller: str
) -> PerformanceSettings:
    """``performance`` (default: all on, seed 0) with the old keyword arguments folded in, checked.

    ``seed=``, ``blinks=``, ``gaze=``, ``head_motion=`` were :func:`animate`'s spelling before
    :class:`~emote.performance.PerformanceSettings`; they warn and win over ``performance``.
    """
    from emote.performance import PerformanceSettings

    unknown = sorted(set(deprecated) - set(_OLD_PERFORMANCE_KWARGS))
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
    if performance is None:
        performance = PerformanceSettings()
    elif not isinstance(performance, PerformanceSettings):
        raise EmoteError(f"performance must be a PerformanceSettings, got {type(performance).__name__}")
    if deprecated:
        warnings.warn(
            f"{caller}({', '.join(f'{k}=' for k in deprecated)}) is deprecated; pass "
            "performance=PerformanceSettings(seed=, blinks=, gaze=, head=)",
            DeprecationWarning,
            stacklevel=_outside_emote(),
        )
        performance = dataclasses.replace(
            performance, **{_OLD_PERFORMANCE_KWARGS[k]: v for k, v in deprecated.items()}
        )
    _check_seed(performance.seed)
    return performance


def _outside_emote() -> int:
    """``warnings.warn``'s stacklevel of the first caller outside the emote package."""
    frame, level = sys._getframe(2), 2  # 1 is warn's caller
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "emote":
        frame, level = frame.f_back, level + 1
    return level


def check_engine(engine: str, model: str | PathLike[str] | None = None) -> None:
    """Raise EmoteError for an unknown engine, or a model the engine does not read or that is not there."""
    if engine not in ENGINES:
        raise EmoteError(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}")
    if model is not None:
        if engine != "neural":
            raise EmoteError(f"a model ({model}) is only read by the neural engine, not by {engine!r}")
        from emote.engines.neural import check_model

        check_model(model)


def _neural_curves(speech: Speech, track, model: str | PathLike[str] | None = None) -> np.ndarray:
    """The neural engine over the recording, chunk by chunk.

    It reads audio, not phones; but phones from a transcript or the user's
    timings are surer than the recogniser, so their /p b m/ close the lips too. For a
    language other than English ``speech.jaw`` is heard, and ``HEARD_JAW`` of the jaw follows it.
    """
    from emote.audio.convert import SAMPLE_RATE
    from emote.audio.io import audio_info
    from emote.engines.neural import animate_neural

    chunks = _Chunks(audio_info(speech.audio), fps=speech.fps, n_frames=speech.n_frames)
    parts = [
        animate_neural(
            y,
            SAMPLE_RATE,
            fps=speech.fps,
            n_frames=chunks.stop(k) - start,
            track=track,
            t0=start / speech.fps,
            checkpoint=model,
            phones=speech.phones if speech.source not in ("recognition", "none") else None,
            # A language other than English: the jaw also follows the opening heard (as the phonetic engine's).
            jaw_opening=None if speech.jaw is None else speech.jaw[start : chunks.stop(k)],
        )
        for k, (start, y) in enumerate(chunks.blocks())
    ]
    return np.concatenate(parts)


def _check_seed(seed: int) -> None:
    if not (isinstance(seed, int) and seed >= 0):
        raise EmoteError(f"seed must be a non-negative integer, got {seed!r}")


def _transcript_beside(path: Path) -> str | None:
    from emote.audio.timings import find_transcript

    text = find_transcript(path)
    if text:
        log.info("%s: using the transcript beside it", path)
    return text


def _analyse(y: np.ndarray, *, fps: float, n_frames: int, timer: _Timer, jaw: bool) -> _Analysis:
    from emote.audio.convert import SAMPLE_RATE
    from emote.audio.features import frame_energy, pitch
    from emote.audio.formants import jaw_opening

    # The last frame sits at or just after the end of the audio: pad so every frame has samples.
    needed = round((n_frames - 1) * SAMPLE_RATE / fps) + 1
    if y.size < needed:
        y = np.pad(y, (0, needed - y.size))
    with timer("features"):
        energy = frame_energy(y=y, sr=SAMPLE_RATE, fps=fps, n_frames=n_frames)
        f0 = pitch(y=y, sr=SAMPLE_RATE, fps=fps, n_frames=n_frames)
        heard = jaw_opening(y=y, sr=SAMPLE_RATE, fps=fps, n_frames=n_frames) if jaw else None
    return _Analysis(energy=energy, pitch=f0, jaw=heard)


def _find_phones(
    part: _Analysis, y: np.ndarray, *, text: str | None, t0: float, timer: _Timer, ipa: bool
) -> None:
    from emote.audio.align import align
    from emote.audio.convert import SAMPLE_RATE
    from emote.audio.recognize import RecognizeSettings, recognize

    with timer("phones"):
        if part.energy.max(initial=0.0) <= 0.0:
            return  # a silent chunk has no phones
        if text:
            result = align(y=y, sr=SAMPLE_RATE, text=text)
        else:
            result = recognize(y=y, sr=SAMPLE_RATE, settings=RecognizeSettings(ipa=ipa))
    if t0:
        result = result.shifted(t0)
    part.phones, part.words = list(result.phones), list(result.words)


class _Chunks:
    """Frame-aligned audio chunks: one for short files, ``CHUNK_SECONDS`` each for long ones."""

    def __init__(self, info, *, fps: float, n_frames: int) -> None:
        self.info, self.fps, self.n_frames = info, fps, n_frames
        per_chunk = n_frames if info.duration <= LONG_AUDIO_SECONDS else max(int(CHUNK_SECONDS * fps), 1)
        self.starts = list(range(0, n_frames, per_chunk)) or [0]
        self.count = len(self.starts)

    def stop(self, k: int) -> int:
        return self.starts[k + 1] if k + 1 < self.count else self.n_frames

    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first frame, samples)`` per chunk, decoding the file once."""
        from emote.audio.convert import SAMPLE_RATE
        from emote.audio.io import iter_audio_blocks, load_audio

        if self.count == 1:
            yield 0, load_audio(self.info.path).samples
            return
        # Re-buffer the decoder's blocks at frame-aligned sample boundaries.
        bounds = [round(s * SAMPLE_RATE / self.fps) for s in self.starts] + [None]
        buffer = np.zeros(0, np.float32)
        consumed = 0
        k = 0
        for block in iter_audio_blocks(self.info.path, block_seconds=CHUNK_SECONDS / 2):
            buffer = np.concatenate([buffer, block])
            while k < self.count and bounds[k + 1] is not None and consumed + buffer.size >= bounds[k + 1]:
                cut = bounds[k + 1] - consumed
                yield self.starts[k], buffer[:cut]
                buffer, consumed, k = buffer[cut:], bounds[k + 1], k + 1
        # The decoder may end a few samples early: the remaining chunks get what is left.
        for j in range(k, self.count):
            yield self.starts[j], buffer if j == k else np.zeros(0, np.float32)


class _Timer:
    """Accumulates wall seconds per stage: ``with timer("phones"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start
