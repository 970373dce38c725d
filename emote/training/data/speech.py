"""Recorded speech into training shards: phones from a transcript or the recogniser, the phonetic teacher.

For every clip of a speech folder (``emote data speech``):

1. phones — with a transcript, by forced alignment (:func:`emote.audio.align.align`,
   PocketSphinx); without one, recognised from the audio (:func:`emote.audio.recognize.recognize`,
   hama's CTC recogniser);
2. the phonetic engine on those phones and the clip's loudness: the emotion-free
   mouth, the same teacher as the synthetic voices (:mod:`emote.training.data.corpus`);
3. an emotion track drawn for the clip (the targets are the performance layer's
   composition of the mouth with it, or with any other track: :mod:`emote.training.data.dataset`);
4. the features the network reads (log-mel + the recogniser's phone posteriors),
   on the audio as recorded (no augmentation: it is already the variety we want);
5. a per-frame weight (the shard's ``frame_weight``): 1 for aligned phones; for
   recognised ones the recogniser's confidence (:func:`recognition_confidence`),
   so that training can mask the frames whose teacher curves rest on a doubtful
   phone. ``benchmarks/real_speech_labels.py`` measured what that mask removes,
   on LJSpeech, where the aligned phones are the reference.

Folders are read in one of two layouts:

- **LJSpeech**: ``metadata.csv`` (``ID|text|normalised text``) beside ``ID.*``
  audio; one speaker; aligned with the normalised text;
- **any other**: audio files, each with an optional ``.txt``/``.lab``
  transcript beside it; the speaker is a LibriSpeech name's first field
  (``SPEAKER-CHAPTER-UTTERANCE``), else the folder's name.

Speakers, not clips, are held out: a speaker is in the ``val`` split when
``sha1(corpus/speaker)`` falls under ``val_share`` (stable when clips are added),
and a corpus with a single speaker stays whole in ``train`` (its voice is then
never a validation voice: model selection reads the held-out speakers of the
multi-speaker corpora and the held-out synthetic voices).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import re
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from emote.animation.channels import indices
from emote.audio.phones import Phone
from emote.errors import EmoteError
from emote.nn.features import FeatureSettings, align_mel, speech_features
from emote.phonetics.labels import PHONE_CLASSES, SIL
from emote.training.data.corpus import TEACHER_CHANNELS
from emote.training.data.prosody import TrackSampling, sample_track
from emote.training.data.shards import (
    Item,
    check_settings,
    finished_shard,
    hold_posteriors,
    summarize,
    write_manifest,
    write_shard,
)

__all__ = [
    "LIP_CLASSES",
    "Clip",
    "SpeechSettings",
    "find_clips",
    "frame_weights",
    "generate_speech_shards",
    "held_out",
    "recognition_confidence",
    "render_clip",
    "teacher_curves",
]

log = logging.getLogger("emote.data")

AUDIO_SUFFIXES = (".wav", ".flac", ".opus", ".ogg", ".mp3", ".m4a")
_LIBRISPEECH = re.compile(r"^(\d+)-(\d+)-(\d+)$")

LIP_CLASSES: tuple[frozenset[str], ...] = tuple(
    frozenset(group.split())
    for group in (
        "P B M",  # lips closed
        "F V",  # lower lip to the teeth
        "TH DH",  # tongue between the teeth
        "W UW UH OW OY AO",  # rounded
        "SH ZH CH JH R",  # protruded
        "AA AE AH AW AY EH ER EY",  # open
        "IY IH Y",  # spread
        "T D N L S Z K G NG HH",  # lips free, tongue or throat articulates
    )
)
"""Phones that look alike on the lips. A recognised phone's confidence is the
recogniser's belief in its *class*: /t/ heard as /k/ moves the teacher's lips
little, /p/ heard as /f/ a great deal."""

_CLASS_OF = {p: k for k, group in enumerate(LIP_CLASSES) for p in group}


@dataclass(frozen=True)
class Clip:
    """One recorded utterance.

    Attributes
    ----------
    path : str
    corpus : str
        The folder's name (``ljspeech``, ``librispeech``...).
    speaker : str
    text : str or None
        Transcript (None: phones are recognised).
    """

    path: str
    corpus: str
    speaker: str
    text: str | None = None

    @property
    def name(self) -> str:
        return Path(self.path).stem


@dataclass(frozen=True)
class SpeechSettings:
    """How recorded speech becomes shards.

    Attributes
    ----------
    seed : int
        Seeds the emotion tracks (per shard: ``SeedSequence([seed, crc32(shard name)])``).
    val_share : float
        Share of a multi-speaker corpus's speakers held out (``val`` split).
    utterances_per_shard : int
    fps : float
    mel_dtype : str
        ``"uint8"`` or ``"float16"`` (:mod:`emote.training.data.shards`).
    features : FeatureSettings
    tracks : TrackSampling
    smooth : float
        Half-width (s) of the minimum filter that spreads a doubtful phone's low
        confidence onto its neighbours' frames (the teacher coarticulates over it).
    stream_posteriors : tuple[float, float] or None
        Store the phone posteriors a live stream's recogniser gives, each clip hearing a
        right context drawn from this range (s), instead of the whole clip's
        (:func:`emote.stream.recognizer.live_posteriors`; as ``CorpusSettings.stream_posteriors``).
    """

    seed: int = 0
    val_share: float = 0.1
    utterances_per_shard: int = 40
    fps: float = 50.0
    mel_dtype: str = "uint8"
    features: FeatureSettings = field(default_factory=lambda: FeatureSettings(phones=True))
    tracks: TrackSampling = field(default_factory=TrackSampling)
    smooth: float = 0.04
    stream_posteriors: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- clips -------------------------------------------------------------------------------------------
def find_clips(folder: str | PathLike[str]) -> list[Clip]:
    """The clips of a speech folder (see the module docstring for the layouts), sorted by name.

    Raises
    ------
    EmoteError
        No such folder, no audio in it, or a ``metadata.csv`` line naming no audio.
    """
    from emote.audio.timings import find_transcript

    root = Path(folder)
    if not root.is_dir():
        raise EmoteError(f"{root}: not a folder of speech clips")
    corpus = root.name
    audio = {p.stem: p for p in sorted(root.iterdir()) if p.suffix.lower() in AUDIO_SUFFIXES}
    if not audio:
        raise EmoteError(f"{root}: no audio files ({', '.join(AUDIO_SUFFIXES)}) in it")
    metadata = root / "metadata.csv"
    if metadata.is_file():
        clips = []
        with open(metadata, encoding="utf-8", newline="") as f:
            for n, row in enumerate(csv.reader(f, delimiter="|", quoting=csv.QUOTE_NONE), 1):
                if not row or not row[0].strip():
                    continue
                if row[0] not in audio or len(row) < 2:
                    raise EmoteError(f"{metadata}: line {n}: no audio file {row[0]!r} or no text")
                clips.append(Clip(str(audio[row[0]]), corpus, corpus, row[-1].strip()))
        return sorted(clips, key=lambda c: c.name)
    clips = []
    for stem, path in audio.items():
        m = _LIBRISPEECH.match(stem)
        clips.append(Clip(str(path), corpus, m.group(1) if m else corpus, find_transcript(path)))
    return clips


def held_out(clip: Clip, share: float) -> bool:
    """Whether ``clip``'s speaker is held out: ``sha1(corpus/speaker)`` under ``share``, stable for any clip set."""
    digest = hashlib.sha1(f"{clip.corpus}/{clip.speaker}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def _splits(clips: Sequence[Clip], share: float) -> list[str]:
    """``"train"``/``"val"`` per clip: a single-speaker corpus is all ``train``."""
    speakers: dict[str, set[str]] = {}
    for c in clips:
        speakers.setdefault(c.corpus, set()).add(c.speaker)
    return ["val" if len(speakers[c.corpus]) > 1 and held_out(c, share) else "train" for c in clips]


# -- labels ------------------------------------------------------------------------------------------
def recognition_confidence(phones: Sequence[Phone], log_post: np.ndarray, *, rate: float = 50.0,
                           latency: float = 0.06, min_emission: float = 0.1) -> np.ndarray:  # fmt: skip
    """The recogniser's belief in each recognised phone's lip class.

    CTC posteriors are spikes: a phone shows as one or two frames where the
    blank gives way. Over the frames of a phone (moved ``latency`` later, where
    its spike lies) that emit at all (non-blank mass ≥ ``min_emission``), the
    confidence is the largest share of the emitted mass that falls on the
    phone's class of :data:`LIP_CLASSES`. Silence is trusted (1); a phone
    without an emitting frame gets 0.

    Parameters
    ----------
    phones : sequence of Phone
        Recognised phones (:func:`emote.audio.recognize.recognize`).
    log_post : np.ndarray [shape=(frames, len(PHONE_CLASSES))]
        Natural-log phone posteriors at ``rate`` (:func:`emote.audio.recognize.phone_posteriors`).

    Returns
    -------
    np.ndarray [shape=(len(phones),), dtype=float32]
    """
    p = np.exp(log_post.astype(np.float64))
    emitted = 1.0 - p[:, PHONE_CLASSES.index("<blank>")]
    columns = np.zeros((len(LIP_CLASSES), len(PHONE_CLASSES)))
    for j, c in enumerate(PHONE_CLASSES):
        if c in _CLASS_OF:
            columns[_CLASS_OF[c], j] = 1.0
    in_class = p @ columns.T  # (frames, classes)
    out = np.ones(len(phones), np.float32)
    n = p.shape[0]
    for k, ph in enumerate(phones):
        if ph.label == SIL or ph.label not in _CLASS_OF:
            continue
        a = min(math.floor((ph.start + latency) * rate), n - 1)
        b = min(max(math.ceil((ph.end + latency) * rate), a + 1), n)
        e = emitted[a:b]
        share = in_class[a:b, _CLASS_OF[ph.label]] / np.maximum(e, 1e-9)
        out[k] = float(share[e >= min_emission].max(initial=0.0))
    return out


def frame_weights(phones: Sequence[Phone], confidence: np.ndarray, *, n_frames: int, fps: float,
                  smooth: float = 0.04) -> np.ndarray:  # fmt: skip
    """Per-frame weight (n_frames,): the confidence of the phone under each frame, then the
    least within ``smooth`` seconds (a doubtful phone's neighbours are coarticulated with it)."""
    w = np.ones(n_frames, np.float32)
    times = np.arange(n_frames) / fps
    for ph, c in zip(phones, confidence, strict=True):
        w[(times >= ph.start) & (times < ph.end)] = c
    r = round(smooth * fps)
    if r > 0 and n_frames:
        padded = np.pad(w, r, mode="edge")
        w = np.lib.stride_tricks.sliding_window_view(padded, 2 * r + 1).min(axis=1)
    return w.astype(np.float32)


def teacher_curves(
    phones: Sequence[Phone], y: np.ndarray, sr: int, *, n_frames: int, fps: float
) -> np.ndarray:
    """The phonetic teacher's emotion-free mouth (n_frames, len(TEACHER_CHANNELS)) on ``phones``."""
    from emote.audio.features import frame_energy
    from emote.engines.phonetic import animate_phones

    energy = frame_energy(y=y, sr=sr, fps=fps, n_frames=n_frames)
    return animate_phones(phones, n_frames=n_frames, fps=fps, energy=energy)[:, indices(TEACHER_CHANNELS)]


def render_clip(clip: Clip, rng: np.random.Generator, settings: SpeechSettings) -> Item:
    """Phones (aligned or recognised), teacher, emotion track, features and frame weights of one clip.

    Raises
    ------
    EmoteError
        The audio cannot be read, or the transcript cannot be aligned (the message names the file).
    """
    from emote.audio.align import align
    from emote.audio.io import load_audio
    from emote.audio.recognize import recognize

    fs, fps = settings.features, settings.fps
    audio = load_audio(clip.path, sr=fs.sr)
    y, sr = audio.samples.astype(np.float32), audio.sr
    duration = y.size / sr
    n = math.ceil(duration * fps)
    features = None  # log-mel with the whole clip's phone posteriors, where needed
    if clip.text is not None:
        alignment = align(y=y, sr=sr, text=clip.text)
        phones, weight, how = list(alignment.phones), np.ones(n, np.float32), "aligned"
    else:
        phones = list(recognize(y=y, sr=sr).phones)
        # The teacher's phones were recognised over the whole clip: so is their confidence.
        features = speech_features(y, sr=sr, settings=fs)
        post = align_mel(features, n, settings=fs)[:: fs.mel_per_frame, fs.n_mels :] * 4.0  # log p, 50 Hz
        confidence = recognition_confidence(phones, post, rate=fps)
        weight, how = (
            frame_weights(phones, confidence, n_frames=n, fps=fps, smooth=settings.smooth),
            "recognised",
        )
    speech = teacher_curves(phones, y, sr, n_frames=n, fps=fps)
    track = sample_track(duration, rng, settings.tracks)
    live = {}
    if settings.stream_posteriors is not None and fs.phones:
        from emote.stream.recognizer import live_posteriors

        live = {"posterior_right_s": round(float(rng.uniform(*settings.stream_posteriors)), 3)}
        # The same log-mel; the posteriors of a stream's recogniser.
        features = speech_features(
            y, sr=sr, settings=fs, posteriors=live_posteriors(y, right=live["posterior_right_s"])
        )
    elif features is None:
        features = speech_features(y, sr=sr, settings=fs)
    mel = hold_posteriors(align_mel(features, n, settings=fs), fs)
    meta = {
        "source": f"{clip.corpus}/{Path(clip.path).name}",
        "voice": clip.corpus,
        "speaker": clip.speaker,
        "style": clip.corpus,
        "duration": round(duration, 4),
        "emotion": "neutral",  # read speech; the targets follow the track
        "phones_from": how,
        "weight_mean": round(float(weight.mean()), 4) if n else 1.0,
        "emotion_track": track.to_dict(),
        **live,
        **({"text": clip.text} if clip.text is not None else {}),
    }
    return Item(mel=mel, curves=speech, phones=phones, meta=meta, weight=weight)


# -- the corpus --------------------------------------------------------------------------------------
def _plan(clips: Sequence[Clip], settings: SpeechSettings) -> list[tuple[str, str, int, list[Clip]]]:
    """Shards to write: (file name, split, seed index, clips), grouped by corpus and split."""
    splits = _splits(clips, settings.val_share)
    groups: dict[tuple[str, str], list[Clip]] = {}
    for c, s in zip(clips, splits, strict=True):
        groups.setdefault((c.corpus, s), []).append(c)
    plan = []
    order = list(dict.fromkeys(c.corpus for c in clips))  # corpora in the order given, train before val
    ranked = sorted(groups.items(), key=lambda g: (order.index(g[0][0]), g[0][1] != "train"))
    for (corpus, split), members in ranked:
        per = settings.utterances_per_shard
        for k in range(0, len(members), per):
            name = f"shard-{corpus}-{split}-{k // per:04d}.npz"
            plan.append((name, split, zlib.crc32(name.encode()), members[k : k + per]))
    return plan


def generate_speech_shards(
    folders: Sequence[str | PathLike[str]],
    out: str | PathLike[str],
    settings: SpeechSettings | None = None,
    *,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Turn speech folders into a sharded dataset in ``out`` (or finish an interrupted run).

    Parameters
    ----------
    folders : sequence of path
        Speech folders (see :func:`find_clips`).
    out : path
        Dataset folder (created). Shards already there with the same settings are kept.
    settings : SpeechSettings, optional
    progress : callable, optional
        Called with the fraction of audio done after each shard.

    Returns
    -------
    dict
        The manifest written to ``out/manifest.json``: shards with their split, the
        held-out speakers, clips that failed (skipped with their reason), and the
        generation's speed.
    """
    from emote.audio.io import audio_info

    s = settings or SpeechSettings()
    root = Path(out)
    clips = [c for folder in folders for c in find_clips(folder)]
    corpora = sorted({c.corpus for c in clips})
    if len(corpora) != len({Path(f).resolve() for f in folders}):
        raise EmoteError("two speech folders share a name; corpora are told apart by their folder's name")
    root.mkdir(parents=True, exist_ok=True)
    wanted = json.loads(json.dumps({**s.to_dict(), "corpora": corpora}))
    check_settings(root, wanted, "dataset")
    plan = _plan(clips, s)
    seconds = {c.path: audio_info(c.path).duration for c in clips}
    total = sum(seconds.values()) or 1.0
    entries: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    done, made, t0 = 0.0, 0.0, time.perf_counter()
    for name, split, index, members in plan:
        path = root / name
        if (shard := finished_shard(path)) is not None:
            entries.append(_entry(name, split, shard.meta))
            skipped += shard.header.get("skipped", [])
            done += sum(seconds[c.path] for c in members)
            continue
        rng = np.random.default_rng(np.random.SeedSequence([s.seed, index]))
        items, failed = [], []
        for clip in members:
            try:
                items.append(render_clip(clip, rng, s))
            except (EmoteError, RuntimeError) as err:  # one bad clip must not stop an hour's run
                failed.append({"source": f"{clip.corpus}/{Path(clip.path).name}", "reason": str(err)})
                log.warning("skipped %s: %s", clip.path, err)
        header = {"fps": s.fps, "kind": "speech", "features": s.features.to_dict(), "split": split,
                  "voice": members[0].corpus, "skipped": failed}  # fmt: skip
        if items:
            write_shard(
                path,
                items,
                channels=TEACHER_CHANNELS,
                header=header,
                mel_dtype=s.mel_dtype,
                compact=s.mel_dtype == "uint8" and s.features.phones,
            )
            entries.append(_entry(name, split, [it.meta for it in items]))
        skipped += failed
        part = sum(seconds[c.path] for c in members)
        done += part
        made += part
        if progress:
            progress(done / total)
    elapsed = time.perf_counter() - t0
    val_speakers = sorted({f"{c.corpus}/{c.speaker}" for c, sp in zip(clips, _splits(clips, s.val_share), strict=True)
                           if sp == "val"})  # fmt: skip
    manifest = {
        "format": "emote-dataset",
        "kind": "speech",
        "settings": wanted,
        "shards": entries,
        "val_speakers": val_speakers,
        "skipped": skipped,
        "generation": {
            "audio_seconds": round(made, 1),
            "seconds": round(elapsed, 1),
            "x_real_time": round(made / elapsed, 1) if made and elapsed else None,
        },
        "counts": summarize(root, entries),
    }
    write_manifest(root, manifest)
    return manifest


def _entry(name: str, split: str, metas: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"file": name, "voice": metas[0]["voice"], "split": split,
            "seconds": round(sum(float(m["duration"]) for m in metas), 3),
            "speakers": sorted({m["speaker"] for m in metas})}  # fmt: skip
