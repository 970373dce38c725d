"""The TTS corpus generator: voices × texts × emotions → a sharded training set.

For every utterance (DESIGN.md, "Data engine and training"):

1. draw a line (:mod:`emote.training.data.text`), an emotion and intensity, and the
   emotion's prosody (:mod:`emote.training.data.prosody`);
2. synthesise it with a voice, keeping the synthesiser's exact phone timings
   (:mod:`emote.training.data.tts`), resample to 16 kHz, pad with a little silence;
3. run the phonetic engine (the teacher) on the *true* timings and the clean
   audio's loudness: the emotion-free mouth curves;
4. draw an emotion track for the utterance (its first segment is the emotion
   the line was spoken with; later segments change mid-utterance);
5. augment the audio (:mod:`emote.training.data.augment`) and compute the features the
   network reads (:mod:`emote.nn.features`).

Shards hold one voice each, so whole voices can be held out for validation.
Each shard's randomness comes from ``SeedSequence([seed, voice, shard])``:
the corpus is the same on every machine for one seed, and a generation that
was interrupted resumes where it stopped (finished shards are kept).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from itertools import islice
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from emote.animation.channels import MOUTH_NAMES, indices
from emote.audio.phones import Phone
from emote.errors import EmoteError
from emote.nn.features import FeatureSettings, align_mel, speech_features
from emote.performance.emotions import EMOTIONS
from emote.performance.track import EmotionSegment, EmotionTrack
from emote.phonetics.labels import SIL
from emote.training.data.augment import AugmentSettings, augment
from emote.training.data.lines import language_lines
from emote.training.data.prosody import TrackSampling, sample_prosody, sample_track
from emote.training.data.shards import (
    Item,
    check_settings,
    finished_shard,
    hold_posteriors,
    summarize,
    write_manifest,
    write_shard,
)
from emote.training.data.text import sentences
from emote.training.data.tts import (
    TRAINING_LANGUAGE_VOICES,
    VOICES,
    Prosody,
    TTSError,
    Utterance,
    Voice,
    available_voices,
    synthesize,
)

__all__ = [
    "ALL_VOICES",
    "CorpusSettings",
    "Rendered",
    "generate_corpus",
    "language_voice_ids",
    "render_utterance",
]

log = logging.getLogger("emote.data")  # named for `emote data`, as "emote.train" for `emote train`

TEACHER_CHANNELS: tuple[str, ...] = MOUTH_NAMES
"""The channels the phonetic teacher writes (jaw, mouth, cheeks, tongue); the rest are 0."""

ALL_VOICES: tuple[Voice, ...] = VOICES + TRAINING_LANGUAGE_VOICES
"""Every voice a corpus may use: the English voices (the default), then the multilingual ones.
A voice's place here seeds its shards, so the English corpora stay the same."""


def language_voice_ids(languages: tuple[str, ...]) -> tuple[str, ...]:
    """The training voices (:data:`TRAINING_LANGUAGE_VOICES`) of ``languages`` (``("all",)``: every one).

    Raises
    ------
    EmoteError
        A language without training voices, naming those that have them.
    """
    known = tuple(dict.fromkeys(v.language for v in TRAINING_LANGUAGE_VOICES))
    wanted = known if tuple(languages) == ("all",) else tuple(languages)
    unknown = [code for code in wanted if code not in known]
    if unknown:
        raise EmoteError(
            f"no training voices for language(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return tuple(v.id for v in TRAINING_LANGUAGE_VOICES if v.language in wanted)


@dataclass(frozen=True)
class CorpusSettings:
    """What corpus to make.

    Attributes
    ----------
    seed : int
    minutes_per_voice : float
        Audio per training voice, minutes.
    validation_minutes_per_voice : float
        Audio per held-out voice, minutes.
    utterances_per_shard : int
    voices : tuple[str, ...]
        Voice ids (:attr:`emote.training.data.tts.Voice.id`) of :data:`ALL_VOICES`; empty: every
        installed English voice (:data:`emote.training.data.tts.VOICES`). A multilingual voice
        speaks lines of its language (:mod:`emote.training.data.lines`) and its phones are IPA.
    validation_voices : tuple[str, ...]
        Voices held out whole for validation.
    fps : float
        Curve frame rate (the features' ``frame_rate``).
    pad : tuple[float, float]
        Range of silence added before and after each utterance, seconds.
    mel_dtype : str
        ``"float16"`` or ``"uint8"`` (:mod:`emote.training.data.shards`).
    features : FeatureSettings
        What the stored features hold; by default log-mel and the recogniser's
        phone log-posteriors (computed on the augmented audio, as at inference).
    stream_posteriors : tuple[float, float] or None
        The posteriors a live stream's recogniser gives instead of the whole clip's: each
        utterance draws a right context ``r`` in this range (s), and every frame's posteriors
        come from the recogniser over 0.1 s pieces that hear as much before them as a stream's
        (:data:`emote.stream.recognizer.NEURAL_LEFT`) and ``r`` after (:func:`emote.audio.recognize.phone_posteriors`'s
        ``right``). A network trained on them meets a stream's truncated view of the newest
        audio on familiar ground. None: the whole clip's.
    """

    seed: int = 0
    minutes_per_voice: float = 11.0
    validation_minutes_per_voice: float = 4.0
    utterances_per_shard: int = 40
    voices: tuple[str, ...] = ()
    validation_voices: tuple[str, ...] = ("flite-rms", "festival-ked_diphone", "espeak-en-gb-scotland_f5")
    fps: float = 50.0
    pad: tuple[float, float] = (0.05, 0.6)
    mel_dtype: str = "uint8"
    features: FeatureSettings = field(default_factory=lambda: FeatureSettings(phones=True))
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    tracks: TrackSampling = field(default_factory=TrackSampling)
    stream_posteriors: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _voices(settings: CorpusSettings) -> list[Voice]:
    installed = {v.id: v for v in available_voices(ALL_VOICES)}
    if settings.voices:
        unknown = [v for v in settings.voices if v not in {x.id for x in ALL_VOICES}]
        if unknown:
            raise EmoteError(
                f"unknown voice(s) {', '.join(unknown)}; known: {', '.join(v.id for v in ALL_VOICES)}"
            )
        missing = [v for v in settings.voices if v not in installed]
        if missing:
            raise EmoteError(
                f"voice(s) not installed: {', '.join(missing)} (apt-get install flite festival festvox-...)"
            )
        return [installed[v] for v in settings.voices]
    if not installed:
        raise EmoteError(
            "no TTS voice installed (apt-get install flite festival festvox-kallpc16k espeak-ng)"
        )
    return [v for v in VOICES if v.id in installed]


def _speak(voice: Voice, texts: list[str], prosodies: list[Prosody]) -> list[Utterance | None]:
    """:func:`synthesize`; for a multilingual voice a line espeak-ng cannot label is dropped (None), not fatal.

    Generated words now and then make espeak-ng emit a phoneme that has no IPA name (German
    "ur" before a consonant, Russian "ю" after one: ``'??'``, ``'u"'``); such a line is left out.
    """
    try:
        return list(synthesize(voice, texts, prosodies))
    except TTSError:
        if not voice.ipa:
            raise
    spoken: list[Utterance | None] = []
    for text, prosody in zip(texts, prosodies, strict=True):
        try:
            spoken.append(synthesize(voice, [text], [prosody])[0])
        except TTSError as err:
            log.warning("%s: left out %r (%s)", voice.id, text, err)
            spoken.append(None)
    return spoken


def _pad_phones(phones: list[Phone], lead: float, total: float) -> list[Phone]:
    out = [Phone(0.0, lead, SIL)] if lead > 0 else []
    out += [Phone(p.start + lead, p.end + lead, p.label) for p in phones]
    if out and total > out[-1].end:
        out.append(Phone(out[-1].end, total, SIL))
    merged: list[Phone] = []
    for p in out:
        if merged and merged[-1].label == p.label == SIL:
            merged[-1] = Phone(merged[-1].start, p.end, SIL)
        elif p.end > p.start:
            merged.append(p)
    return merged


@dataclass
class Rendered:
    """One utterance made ready for the dataset (or for an evaluation).

    Attributes
    ----------
    clean, noisy : np.ndarray [shape=(samples,), dtype=float32]
        Audio at ``sr`` before and after augmentation (silence padding included).
    sr : int
    phones : list[Phone]
        True timings on the padded clip.
    speech : np.ndarray [shape=(frames, 61), dtype=float32]
        The teacher's emotion-free curves at ``settings.fps``.
    mel : np.ndarray [shape=(2 frames, n_mels), dtype=float32]
        Features of ``noisy``.
    track : EmotionTrack
    meta : dict
    """

    clean: np.ndarray
    noisy: np.ndarray
    sr: int
    phones: list[Phone]
    speech: np.ndarray
    mel: np.ndarray
    track: EmotionTrack
    meta: dict[str, Any]


def render_utterance(
    utt: Utterance,
    *,
    text: str,
    voice: Voice,
    emotion: str,
    intensity: float,
    prosody: Prosody,
    gain_db: float,
    rng: np.random.Generator,
    settings: CorpusSettings,
    babble: np.ndarray | None = None,
) -> Rendered:
    """Resample, pad, teach (phonetic engine on the true timings), draw a track, augment, featurise."""
    import soxr

    from emote.audio.features import frame_energy
    from emote.engines.phonetic import animate_phones

    sr, fps = settings.features.sr, settings.fps
    y = soxr.resample(utt.samples, utt.sr, sr).astype(np.float32) if utt.sr != sr else utt.samples
    lead, tail = rng.uniform(*settings.pad, size=2)
    y = np.concatenate([np.zeros(int(lead * sr), np.float32), y, np.zeros(int(tail * sr), np.float32)])
    y *= np.float32(10 ** (gain_db / 20))
    duration = y.size / sr
    phones = _pad_phones(utt.phones, int(lead * sr) / sr, duration)
    n = math.ceil(duration * fps)
    speech = animate_phones(phones, n_frames=n, fps=fps, energy=frame_energy(y=y, sr=sr, fps=fps, n_frames=n))
    if np.abs(np.delete(speech, indices(TEACHER_CHANNELS), axis=1)).max(initial=0.0) > 0:
        raise AssertionError("the phonetic engine wrote channels outside TEACHER_CHANNELS")
    track = sample_track(duration, rng, settings.tracks)
    first = track.segments[0]
    track = EmotionTrack((EmotionSegment(0.0, first.end, emotion, intensity, first.blend, first.blend_weight),
                          *track.segments[1:]), track.transition)  # fmt: skip
    noisy, applied = augment(y, sr, rng, settings=settings.augment, babble=babble)
    posteriors = None
    if settings.stream_posteriors is not None and settings.features.phones:
        from emote.stream.recognizer import live_posteriors

        right = float(rng.uniform(*settings.stream_posteriors))
        posteriors = live_posteriors(noisy, right=right)
        applied = {**applied, "posterior_right_s": round(right, 3)}
    features = speech_features(noisy, sr=sr, settings=settings.features, posteriors=posteriors)
    mel = hold_posteriors(align_mel(features, n, settings=settings.features), settings.features)
    meta = {
        "text": text,
        "voice": voice.id,
        "language": voice.language,
        "style": voice.id,
        "duration": round(duration, 4),
        "emotion": emotion,
        "intensity": round(intensity, 3),
        "prosody": {"rate": round(prosody.rate, 3), "pitch": round(prosody.pitch, 3),
                    "pitch_range": round(prosody.pitch_range, 3), "gain_db": round(gain_db, 2)},
        "augment": applied,
        "emotion_track": track.to_dict(),
    }  # fmt: skip
    return Rendered(y, noisy, sr, phones, speech, mel, track, meta)


def _make_shard(voice: Voice, shard_seed: np.random.SeedSequence, settings: CorpusSettings) -> list[Item]:
    """Synthesise, teach, augment and featurise one shard of one voice."""
    rng = np.random.default_rng(shard_seed)
    text_seed = int(rng.integers(2**31))
    lines = language_lines(voice.language, text_seed) if voice.ipa else sentences(text_seed)
    texts = list(islice(lines, settings.utterances_per_shard))
    emotions = [(EMOTIONS[int(rng.integers(len(EMOTIONS)))], float(rng.choice([1.0, rng.uniform(0.2, 1.0)])))
                for _ in texts]  # fmt: skip
    prosodies, gains = zip(*(sample_prosody(e, i, rng) for e, i in emotions), strict=True)
    spoken = _speak(voice, texts, list(prosodies))
    cols = indices(TEACHER_CHANNELS)
    clean_audio: list[np.ndarray] = []
    items = []
    for text, (emotion, intensity), prosody, gain_db, utt in zip(
        texts, emotions, prosodies, gains, spoken, strict=True
    ):
        if utt is None:
            continue
        babble = np.concatenate(clean_audio[-6:]) if clean_audio else None
        r = render_utterance(utt, text=text, voice=voice, emotion=emotion, intensity=intensity, prosody=prosody,
                             gain_db=gain_db, rng=rng, settings=settings, babble=babble)  # fmt: skip
        clean_audio.append(r.clean / (np.sqrt(np.mean(r.clean**2)) + 1e-9))
        items.append(Item(mel=r.mel, curves=r.speech[:, cols], phones=r.phones, meta=r.meta))
    return items


def _shard_name(voice: Voice, k: int) -> str:
    return f"shard-{voice.id}-{k:04d}.npz"


def generate_corpus(
    out: str | PathLike[str],
    settings: CorpusSettings | None = None,
    *,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Generate (or finish generating) a TTS corpus in ``out``.

    Parameters
    ----------
    out : path
        Dataset folder (created). Shards already there with the same settings
        are kept, so an interrupted run resumes.
    settings : CorpusSettings, optional
    progress : callable, optional
        Called with the fraction done after each shard.

    Returns
    -------
    dict
        The manifest written to ``out/manifest.json``.
    """
    s = settings or CorpusSettings()
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    wanted = json.loads(json.dumps(s.to_dict()))
    check_settings(root, wanted, "corpus")
    voices = _voices(s)
    plan = [(vi, voice) for vi, voice in enumerate(ALL_VOICES) if voice in voices]
    entries: list[dict[str, Any]] = []
    total_target = 60 * sum(
        s.validation_minutes_per_voice if v.id in s.validation_voices else s.minutes_per_voice
        for _, v in plan
    )
    done_seconds = 0.0
    t0 = time.perf_counter()
    for vi, voice in plan:
        split = "val" if voice.id in s.validation_voices else "train"
        minutes = s.validation_minutes_per_voice if split == "val" else s.minutes_per_voice
        seconds = 0.0
        k = 0
        while seconds < minutes * 60:
            path = root / _shard_name(voice, k)
            shard = finished_shard(path)
            if shard is not None:
                shard_seconds = sum(float(m["duration"]) for m in shard.meta)
            else:
                items = _make_shard(voice, np.random.SeedSequence([s.seed, vi, k]), s)
                header = {"fps": s.fps, "kind": "speech", "features": s.features.to_dict(), "voice": voice.id}
                write_shard(path, items, channels=TEACHER_CHANNELS, header=header, mel_dtype=s.mel_dtype,
                            compact=s.mel_dtype == "uint8" and s.features.phones)  # fmt: skip
                shard_seconds = sum(float(it.meta["duration"]) for it in items)
                log.info(
                    "%s: %.1f s of audio (%.0f s elapsed)", path.name, shard_seconds, time.perf_counter() - t0
                )
            entries.append(
                {"file": path.name, "voice": voice.id, "split": split, "seconds": round(shard_seconds, 3)}
            )
            seconds += shard_seconds
            done_seconds += shard_seconds
            k += 1
            if progress:
                progress(min(done_seconds / total_target, 1.0))
    manifest = {
        "format": "emote-dataset",
        "kind": "tts",
        "settings": wanted,
        "shards": entries,
        "counts": summarize(root, entries),
    }
    write_manifest(root, manifest)
    return manifest
