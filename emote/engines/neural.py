"""The neural engine: audio + emotion track → face curves, with the shipped EMOTE-style model.

The network (:mod:`emote.nn.networks`) reads level-normalised log-mel
and, for the shipped model, the phone recogniser's posteriors
(:mod:`emote.nn.features`) with the per-frame emotion weights, predicts the
motion prior's latents and decodes them into the mouth *and* the emotion's
expression at 50 Hz; the result is resampled to the requested frame rate. A
closure pass then shuts the lips wherever the recogniser is sure of a /p b m/
(:func:`bilabial_lock`). Blinks, gaze and head motion are not the network's
job: the performance layer adds them procedurally.

The model file comes from, in order: the ``checkpoint`` argument, the
``EMOTE_CHECKPOINT`` environment variable, ``checkpoints/`` inside the
installed package or beside it in a source checkout. The argument and the
variable take a file path or the name of a shipped model (:data:`MODELS`).
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from os import PathLike
from pathlib import Path

import numpy as np

from emote.animation.channels import INDEX, N_ARKIT, N_CHANNELS
from emote.animation.frames import interpolate_frames
from emote.errors import EmoteError

__all__ = [
    "DEFAULT_MODEL",
    "HEARD_JAW",
    "MODELS",
    "ClosureSettings",
    "animate_neural",
    "animate_neural_batch",
    "bilabial_lock",
    "blend_heard_jaw",
    "check_model",
    "find_checkpoint",
    "finish_curves",
    "load",
    "network",
    "network_inputs",
    "phone_lock",
]

DEFAULT_MODEL = "emote_tts.pt"
"""File name of the shipped model."""

MODELS: dict[str, str] = {"tts": DEFAULT_MODEL, "multilingual": "emote_multilingual.pt"}
"""The shipped models by name (``--model NAME``); checkpoints/MODEL_CARD.md describes each."""


HEARD_JAW: float = 0.25
"""Share of ``JawOpen`` that follows the jaw opening heard in the audio, when it is given.

:func:`emote.api.animate` gives it for a language named other than English (as it does
to the phonetic engine, ``PhoneticSettings.heard_jaw``); English and ``"auto"`` keep the
network's jaw. Chosen off the test data by ``benchmarks/heard_jaw_choice.py``
(``neural_share`` in ``benchmarks/results/heard_jaw_choice.json``): on synthetic Mandarin
from espeak-ng with exact phones, the share that brings the multilingual model's jaw,
from the audio alone, nearest the jaw of the exact phones (correlation 0.913 with none,
0.926 at 0.25, 0.891 with the heard jaw alone).
"""


def find_checkpoint(checkpoint: str | PathLike[str] | None = None, *, default: str = "tts") -> Path:
    """The model file to use (see the module docstring for the search order).

    ``checkpoint`` (or ``EMOTE_CHECKPOINT``) is a path, or a name in :data:`MODELS`;
    ``default`` names the shipped model used when neither is given.

    Raises
    ------
    EmoteError
        When no model file is found, naming where it looked.
    """
    if checkpoint is None:
        checkpoint = os.environ.get("EMOTE_CHECKPOINT") or None
    if checkpoint is not None and str(checkpoint) not in MODELS:
        return Path(checkpoint)
    name = MODELS[str(checkpoint) if checkpoint is not None else default]
    package = Path(__file__).resolve().parents[1]
    candidates = [package / "checkpoints" / name, package.parent / "checkpoints" / name]
    for path in candidates:
        if path.is_file():
            return path
    raise EmoteError(f"no neural model {name} found (looked in {', '.join(str(c.parent) for c in candidates)}); "
                     "set EMOTE_CHECKPOINT or use --engine phonetic")  # fmt: skip


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float):
    from emote.nn.checkpoint import load_model

    return load_model(path)


def check_model(checkpoint: str | PathLike[str] | None = None) -> Path:
    """The model file :func:`find_checkpoint` names, which must exist (checked before any audio is read).

    Raises
    ------
    EmoteError
        No such file, naming it and the shipped models.
    """
    path = find_checkpoint(checkpoint)
    if not path.is_file():
        raise EmoteError(f"{path}: model file not found (shipped models: {', '.join(MODELS)})")
    return path


def load(checkpoint: str | PathLike[str] | None = None):
    """The model (loaded once per file and kept)."""
    path = check_model(checkpoint)
    return _load_cached(str(path.resolve()), path.stat().st_mtime)


_FEATURES: OrderedDict[tuple, np.ndarray] = OrderedDict()
_FEATURES_KEPT = 4


def _features(y: np.ndarray, sr: int, settings) -> np.ndarray:
    """:func:`emote.nn.features.speech_features`, remembered for the last few signals.

    One line is often animated several times (an emotion grid, a retake with
    another track): the recogniser's posteriors, most of the cost, are then
    computed once. Keyed by a digest of the samples, so equal audio hits.
    """
    from emote.nn.features import speech_features

    y = np.ascontiguousarray(y, np.float32)
    key = (hashlib.blake2b(y.view(np.uint8), digest_size=16).digest(), y.size, sr, repr(settings))
    if key in _FEATURES:
        _FEATURES.move_to_end(key)
        return _FEATURES[key]
    feats = speech_features(y, sr=sr, settings=settings)
    _FEATURES[key] = feats
    while len(_FEATURES) > _FEATURES_KEPT:
        _FEATURES.popitem(last=False)
    return feats


@dataclass(frozen=True)
class ClosureSettings:
    """Where the recogniser is sure of a /p b m/, the lips close (see :func:`bilabial_lock`).

    Attributes
    ----------
    threshold : float
        Bilabial probability (P + B + M) a 20 ms frame must reach.
    latency : float
        How late the recogniser's CTC spike comes after the closure's centre, s.
    half : float
        Least half-width of the held closure, s.
    ramp : float
        Raised-cosine easing either side, s.
    """

    threshold: float = 0.5
    latency: float = 0.03
    half: float = 0.035
    ramp: float = 0.04


def bilabial_lock(post: np.ndarray, times: np.ndarray, settings: ClosureSettings | None = None) -> np.ndarray:
    """Closure weights at ``times`` from per-20 ms bilabial probabilities.

    Each run of frames at or over ``threshold`` is one closure, shifted
    ``latency`` earlier and held as :func:`phone_lock` holds a phone.

    Parameters
    ----------
    post : np.ndarray [shape=(frames,)]
        P(bilabial) per 20 ms frame (frame ``k`` at ``k / 50`` s).
    times : np.ndarray [shape=(n,)]
        Output frame times, s.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
        In [0, 1].
    """
    s = settings or ClosureSettings()
    on = np.concatenate([[False], np.asarray(post) >= s.threshold, [False]])
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    # Frames [a, b) cover a * 0.02 - 0.01 ... b * 0.02 - 0.01 s.
    runs = [
        (a * 0.02 - 0.01 - s.latency, b * 0.02 - 0.01 - s.latency)
        for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]
    return _hold(runs, times, s)


def phone_lock(phones, times: np.ndarray, settings: ClosureSettings | None = None) -> np.ndarray:
    """Closure weights at ``times`` over the /p b m/ of known phone timings (aligned or given).

    Each bilabial is held over its interval (at least ``2 half`` wide) and eased
    in and out over ``ramp`` (:func:`emote.engines.phonetic.closure.lock_weight`).

    Parameters
    ----------
    phones : sequence of Phone
        Times in the same clock as ``times``.
    times : np.ndarray [shape=(n,)]

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
    """
    from emote.phonetics.phoneset import BILABIALS, to_segments

    s = settings or ClosureSettings()
    # Labels of any spelling (IPA in slashes from the multilingual aligner too) read as ARPAbet.
    segments = to_segments(phones)
    return _hold([(segments.start[i], segments.end[i]) for i in segments.where(BILABIALS)], times, s)


def _hold(intervals, times: np.ndarray, s: ClosureSettings) -> np.ndarray:
    """The largest lock weight over ``intervals`` (start, end) at ``times``; far ones are skipped."""
    from emote.engines.phonetic.closure import lock_weight

    lock = np.zeros(len(times))
    if not len(times):
        return lock
    reach = s.half + s.ramp  # a short interval still holds ``half`` either side of its centre
    for start, end in intervals:
        if end > times[0] - reach and start < times[-1] + reach:
            lock = np.maximum(lock, lock_weight(times, start, end, fps=0.5 / s.half, ramp=s.ramp))
    return lock


def animate_neural(
    y: np.ndarray,
    sr: int,
    *,
    fps: float,
    n_frames: int,
    track=None,
    checkpoint: str | PathLike[str] | None = None,
    style: str | None = None,
    t0: float = 0.0,
    closures: ClosureSettings | None = ClosureSettings(),
    phones=None,
    jaw_opening: np.ndarray | None = None,
    heard_jaw: float = HEARD_JAW,
    posteriors: np.ndarray | None = None,
) -> np.ndarray:
    """Face curves (mouth + emotion) for a speech signal.

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
        Mono speech.
    sr : int
        Rate of ``y``.
    fps : float
        Frame rate of the result.
    n_frames : int
        Frames to produce (frame ``i`` at ``i / fps`` s).
    track : EmotionTrack, str, dict or None
        Emotion over time (``None``: neutral).
    checkpoint : path, optional
        Model file (default: the shipped one, :func:`find_checkpoint`).
    style : str, optional
        Style name for a model trained with style codes.
    t0 : float
        Time of ``y``'s first sample in the whole clip (s), for a chunk of a
        long file: the emotion track is read at ``t0 + t``.
    closures : ClosureSettings or None
        For a model that reads phone posteriors: close the lips wherever the
        recogniser is sure of a bilabial (:func:`bilabial_lock`,
        :func:`emote.performance.compose.close_lips`), as the phonetic
        engine's closure pass does for its phones. None: the network alone.
    phones : sequence of Phone, optional
        Phone timings known better than the recogniser hears them (forced
        alignment of a transcript, or the user's own), in the whole clip's
        clock: their /p b m/ close the lips too (:func:`phone_lock`).
    jaw_opening : np.ndarray [shape=(m,)], optional
        The jaw opening heard in ``y``, in [0, 1] (:func:`emote.audio.formants.jaw_opening`,
        resampled to ``n_frames``): ``heard_jaw`` of ``JawOpen`` follows it
        (:func:`blend_heard_jaw`), before the closure pass.
    heard_jaw : float
        Its share (default :data:`HEARD_JAW`).
    posteriors : np.ndarray, optional
        For a model that reads phone posteriors: those of each 10 ms feature row of ``y``,
        computed elsewhere (a stream's live recogniser; see
        :func:`emote.nn.features.speech_features`). None: the recogniser runs on ``y``.

    Returns
    -------
    np.ndarray [shape=(n_frames, 61), dtype=float32]
        Blendshapes in [0, 1] with the emotion already expressed; blinks, gaze
        and head angles left at 0 (the performance layer adds them, with its
        expression step off). A model trained neutral-only
        (``ModelConfig.neutral_only``, the ablation) is run neutral and the
        emotion composed onto its output by the performance layer
        (:func:`emote.performance.compose.apply_emotion`), as for the phonetic engine.

    Examples
    --------
    >>> curves = animate_neural(y, 16000, fps=30, n_frames=91, track="happy")  # doctest: +SKIP
    """
    import torch

    model = load(checkpoint)
    if n_frames <= 0:
        return np.zeros((0, N_CHANNELS), np.float32)
    if posteriors is not None and model.config.features.phones:
        from emote.nn.features import speech_features

        features = speech_features(y, sr=sr, settings=model.config.features, posteriors=posteriors)
    else:
        features = _features(y, sr, model.config.features)
    mel, weights = network_inputs(features, model.config, fps=fps,
                                  n_frames=n_frames, track=track, t0=t0)  # fmt: skip
    style_id = _style_id(model.config, style)
    with torch.inference_mode():
        out = model.net(torch.from_numpy(mel)[None], torch.from_numpy(weights)[None], style_id)
    return finish_curves(out[0].numpy(), mel, model.config, fps=fps, n_frames=n_frames, track=track, t0=t0,
                         closures=closures, phones=phones, jaw_opening=jaw_opening,
                         heard_jaw=heard_jaw)  # fmt: skip


_NETS: dict[tuple[str, str], object] = {}


def network(checkpoint: str | PathLike[str] | None = None, device: str = "cpu"):
    """The model's network (:class:`emote.nn.networks.EmoteNet`) on ``device``: a copy kept per device."""
    return _net_on(load(checkpoint), device)


def _net_on(model, device: str):
    if device == "cpu":
        return model.net
    key = (model.path, device)
    if key not in _NETS:
        import copy

        _NETS[key] = copy.deepcopy(model.net).to(device).eval()
    return _NETS[key]


def animate_neural_batch(
    features: Sequence[np.ndarray],
    n_frames: Sequence[int],
    *,
    fps: float,
    track=None,
    checkpoint: str | PathLike[str] | None = None,
    device: str = "cpu",
    batch_size: int = 32,
    closures: ClosureSettings | None = ClosureSettings(),
    timings: dict[str, float] | None = None,
    map_fn: Callable = map,
) -> list[np.ndarray]:
    """:func:`animate_neural` over many clips, the network run on batches of them (on a GPU, say).

    Clips are sorted by length and each batch padded to its longest by
    :func:`emote.nn.features.align_mel` (the quietest feature value, silence): the
    network is convolutional, so only a padded clip's last 1.8 s (its receptive field)
    can differ from :func:`animate_neural`'s curves: they hear more silence past the end
    instead of the convolutions' zero padding. ``batch_size=1`` gives exactly the engine's curves,
    and so does any batch for a look-ahead model (``ModelConfig.lookahead``): it is causal, and
    the features it holds past a clip's end are the clip's own padding, the same value.

    Parameters
    ----------
    features : sequence of np.ndarray
        :func:`emote.nn.features.speech_features` of each clip (with the model's settings).
    n_frames : sequence of int
        Frames to produce for each clip.
    fps, track, checkpoint, closures
        As :func:`animate_neural` (one emotion track for all the clips).
    device : str
        Torch device of the network (``"cpu"``, ``"cuda"``).
    batch_size : int
        Clips per network call.
    timings : dict, optional
        Wall seconds added per stage: ``inputs``, ``to_device``, ``network``, ``from_device``, ``curves``.
    map_fn : callable
        Runs the last stage (:func:`finish_curves`, numpy) over the clips: the builtin, or
        a process pool's ``map`` to spread it over cores.

    Returns
    -------
    list of np.ndarray [shape=(n_frames[i], 61), dtype=float32]
    """
    import time

    import torch

    from emote.nn.features import align_mel

    if len(features) != len(n_frames):
        raise ValueError(f"{len(features)} feature arrays for {len(n_frames)} frame counts")
    model = load(checkpoint)
    cfg = model.config
    net = _net_on(model, device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    seconds = timings if timings is not None else {}

    def timed(stage: str, t: float) -> float:
        now = time.perf_counter()
        seconds[stage] = seconds.get(stage, 0.0) + now - t
        return now

    t = time.perf_counter()
    inputs = [
        network_inputs(f, cfg, fps=fps, n_frames=n, track=track) if n > 0 else None
        for f, n in zip(features, n_frames, strict=True)
    ]
    t = timed("inputs", t)
    results: list[np.ndarray] = [np.zeros((0, N_CHANNELS), np.float32)] * len(features)
    outs: dict[int, np.ndarray] = {}
    order = sorted((i for i, x in enumerate(inputs) if x is not None), key=lambda i: len(inputs[i][1]))
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        frames = max(len(inputs[i][1]) for i in idx)
        mel = np.stack([align_mel(inputs[i][0], frames, settings=cfg.features) for i in idx])
        weights = np.stack([_hold_last(inputs[i][1], frames) for i in idx])
        t = timed("inputs", t)  # padding and stacking the batch
        mel_d, weights_d = torch.from_numpy(mel).to(device), torch.from_numpy(weights).to(device)
        sync()
        t = timed("to_device", t)
        with torch.inference_mode():
            out_d = net(mel_d, weights_d)
        sync()
        t = timed("network", t)
        out = out_d.float().cpu().numpy()
        t = timed("from_device", t)
        for k, i in enumerate(idx):
            outs[i] = out[k, : len(inputs[i][1])]
    t = time.perf_counter()
    jobs = [(outs[i], inputs[i][0], cfg, fps, n_frames[i], track, closures) for i in order]
    for i, curves in zip(order, map_fn(_finish, jobs), strict=True):
        results[i] = curves
    timed("curves", t)
    return results


def _finish(job: tuple) -> np.ndarray:
    out, mel, cfg, fps, n_frames, track, closures = job
    return finish_curves(out, mel, cfg, fps=fps, n_frames=n_frames, track=track, closures=closures)


def blend_heard_jaw(curves: np.ndarray, jaw_opening: np.ndarray, share: float) -> np.ndarray:
    """``JawOpen = (1 - share) network + share heard``; the lips never open wider than the network's.

    The heard opening (0 to 1) is mapped to ``JawOpen`` as the phonetic engine maps it: from
    the rest jaw to the /aa/ viseme's opening (``emote.engines.phonetic.engine``).
    ``MouthClose`` follows so that the jaw's share of the lip gap, ``JawOpen - MouthClose``,
    shrinks in proportion where the jaw closes (the network's seal ``MouthClose / JawOpen``
    kept, the phonetic engine's rule) and stays the network's where the jaw opens: the
    heard jaw moves the jaw, never parts lips the network had (nearly) shut. A closure
    cannot get worse, whatever the share.

    Parameters
    ----------
    curves : np.ndarray [shape=(n, 61)]
    jaw_opening : np.ndarray [shape=(m,)]
        In [0, 1]; resampled to ``n`` when ``m != n``.
    share : float
        In [0, 1].

    Returns
    -------
    np.ndarray [shape=(n, 61), dtype=float32]
        A copy.
    """
    from emote.animation.tracks import resample_track
    from emote.engines.phonetic.engine import OPEN_JAW
    from emote.engines.phonetic.visemes import REST_JAW

    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be in [0, 1], got {share}")
    out = np.array(curves, np.float32)
    n = len(out)
    if not n:
        return out
    jaw, close = INDEX["JawOpen"], INDEX["MouthClose"]
    heard = REST_JAW + (OPEN_JAW - REST_JAW) * np.clip(resample_track(np.asarray(jaw_opening), n), 0.0, 1.0)
    before = out[:, jaw].astype(np.float64)
    gap = np.maximum(before - out[:, close], 0.0)
    after = np.clip((1.0 - share) * before + share * heard, 0.0, 1.0)
    ratio = np.where(before > 1e-6, after / np.maximum(before, 1e-6), 0.0)
    out[:, jaw] = after
    out[:, close] = after - gap * np.minimum(ratio, 1.0)
    return out


def _hold_last(x: np.ndarray, rows: int) -> np.ndarray:
    """``x`` padded to ``rows`` rows by repeating its last row (an emotion held past the end)."""
    if len(x) >= rows:
        return x
    return np.concatenate([x, np.repeat(x[-1:], rows - len(x), axis=0)])


def network_inputs(features: np.ndarray, cfg, *, fps: float, n_frames: int, track=None, t0: float = 0.0):
    """The network's input for ``n_frames`` frames at ``fps``: features trimmed or padded, emotion weights.

    Parameters
    ----------
    features : np.ndarray [shape=(rows, cfg.features.width)]
        :func:`emote.nn.features.speech_features` of the signal.
    cfg : ModelConfig
    fps, n_frames, track, t0
        As :func:`animate_neural`.

    Returns
    -------
    mel : np.ndarray [shape=(2 F, width), dtype=float32]
        Features for ``F`` frames at ``cfg.frame_rate``, ``F`` a multiple of ``cfg.stride``.
    weights : np.ndarray [shape=(F, 8), dtype=float32]
        Per-frame emotion weights (neutral for a neutral-only model).
    """
    from emote.nn.features import align_mel
    from emote.performance.track import as_track

    rate = cfg.frame_rate
    frames = int(np.ceil((n_frames - 1) / fps * rate)) + 2
    frames += (-frames) % cfg.stride  # the latent runs at 1/stride of the frame rate
    mel = align_mel(features, frames, settings=cfg.features)
    # A neutral-only model (the ablation) runs neutral; the performance layer adds the emotion below.
    weights = as_track(None if cfg.neutral_only else track).weights(t0 + np.arange(frames) / rate)
    return mel, np.asarray(weights, np.float32)


def _style_id(cfg, style: str | None):
    import torch

    if style is None:
        return None
    if style not in cfg.styles:
        raise EmoteError(f"unknown style {style!r}; this model knows: {', '.join(cfg.styles) or 'none'}")
    return torch.tensor([cfg.styles.index(style)])


def finish_curves(
    out: np.ndarray,
    mel: np.ndarray,
    cfg,
    *,
    fps: float,
    n_frames: int,
    track=None,
    t0: float = 0.0,
    closures: ClosureSettings | None = ClosureSettings(),
    phones=None,
    jaw_opening: np.ndarray | None = None,
    heard_jaw: float = HEARD_JAW,
) -> np.ndarray:
    """The network's output (frames at ``cfg.frame_rate``, ``cfg.channels``) → the engine's curves.

    Resampled to ``fps``, placed in the 61 channels, clipped, the heard jaw blended in
    (:func:`blend_heard_jaw`), the emotion composed for a neutral-only model, and the
    closure pass (see :func:`animate_neural`'s parameters).
    ``mel`` is :func:`network_inputs`' first output (the closure pass reads its posteriors).
    """
    from emote.performance.track import as_track

    rate = cfg.frame_rate
    pred = interpolate_frames(out, fps=rate, times=np.arange(n_frames) / fps)
    curves = np.zeros((n_frames, N_CHANNELS), np.float32)
    for j, name in enumerate(cfg.channels):
        if name in INDEX:
            curves[:, INDEX[name]] = pred[:, j]
    curves[:, :N_ARKIT] = np.clip(curves[:, :N_ARKIT], 0.0, 1.0)
    jaw, close = INDEX["JawOpen"], INDEX["MouthClose"]
    curves[:, close] = np.minimum(curves[:, close], curves[:, jaw])  # ARKit: lips cannot close past the jaw
    if jaw_opening is not None and heard_jaw > 0:
        curves = blend_heard_jaw(curves, jaw_opening, heard_jaw)
    if cfg.neutral_only:
        from emote.performance.compose import apply_emotion

        curves = apply_emotion(curves, as_track(track).weights(t0 + np.arange(n_frames) / fps))
    if closures is not None:
        from emote.nn.features import phone_probability
        from emote.performance.compose import close_lips
        from emote.phonetics.phoneset import BILABIALS

        times = np.arange(n_frames) / fps
        lock = np.zeros(n_frames)
        if cfg.features.phones:
            lock = bilabial_lock(phone_probability(mel, tuple(BILABIALS), cfg.features), times, closures)
        if phones:
            lock = np.maximum(lock, phone_lock(phones, t0 + times, closures))
        if lock.any():
            curves = close_lips(curves, lock)
    return curves
