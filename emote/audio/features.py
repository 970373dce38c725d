"""Speech features sampled at the animation frame rate: loudness, pitch, log-mel, pauses.

All functions are pure numpy over a mono signal ``y: (samples,) float32`` and
vectorised over frames (no Python loop per frame). Frame ``i`` of a feature at
``fps`` describes the signal around time ``i / fps``, the instant frame ``i`` of a
:class:`emote.animation.FaceAnimation` shows; by default a feature has
:func:`emote.audio.convert.n_frames_for` frames, so both cover the whole clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import soxr

from emote.audio.convert import n_frames_for

__all__ = [
    "ENERGY_FLOOR_DB",
    "PitchSettings",
    "frame_db",
    "frame_energy",
    "log_mel",
    "mel_filterbank",
    "pauses",
    "pitch",
    "voicing",
    "yin",
]

ENERGY_FLOOR_DB = -50.0
"""Loudness (dB under the clip's speech level) that maps to energy 0 in a clean recording."""

_NOISE_MARGIN_DB = 3.0  # a frame this close to the noise floor is still background
_MIN_RANGE_DB = 12.0  # the floor never rises closer than this to the speech level
_SILENT_DBFS = -90.0  # a clip whose speech level is below this is digital silence


def _frame_centres(n_samples: int, *, sr: int, fps: float, n_frames: int | None) -> np.ndarray:
    """Sample index of each frame's centre, (frames,) int64."""
    if n_frames is None:
        n_frames = n_frames_for(duration=n_samples / sr, fps=fps)
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    return np.rint(np.arange(n_frames) * (sr / fps)).astype(np.int64)


def _check_signal(y: np.ndarray, sr: int, fps: float | None = None) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be mono with shape (samples,), got shape {y.shape}")
    if not (isinstance(sr, (int, np.integer)) and sr > 0):
        raise ValueError(f"sr must be a positive integer, got {sr!r}")
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be positive, got {fps!r}")
    return y.astype(np.float32, copy=False)


def _window_rms(y: np.ndarray, centres: np.ndarray, half: int) -> np.ndarray:
    """RMS of ``y`` over ``[c - half, c + half)`` for each centre, via prefix sums (O(n))."""
    power = np.concatenate([[0.0], np.cumsum(y.astype(np.float64) ** 2)])
    lo = np.clip(centres - half, 0, y.size)
    hi = np.clip(centres + half, 0, y.size)
    count = np.maximum(hi - lo, 1)
    return np.sqrt(np.maximum(power[hi] - power[lo], 0.0) / count)


def frame_db(*, y: np.ndarray, sr: int, fps: float, n_frames: int | None = None) -> np.ndarray:
    """RMS level in dBFS per frame, over a window of two frame periods (at least 20 ms).

    Returns
    -------
    db : np.ndarray [shape=(frames,), dtype=float32]
        ``20 log10(rms)``, floored at -200 dB.
    """
    y = _check_signal(y, sr, fps)
    centres = _frame_centres(y.size, sr=sr, fps=fps, n_frames=n_frames)
    half = max(round(sr / fps), round(0.010 * sr))
    return (20.0 * np.log10(np.maximum(_window_rms(y, centres, half), 1e-10))).astype(np.float32)


def frame_energy(
    *,
    y: np.ndarray,
    sr: int,
    fps: float,
    n_frames: int | None = None,
    floor_db: float = ENERGY_FLOOR_DB,
) -> np.ndarray:
    """Loudness envelope in [0, 1], one value per animation frame.

    The RMS over a window of two frame periods (at least 20 ms) centred on each
    frame is taken in dB and mapped linearly from a floor (0) to the clip's speech
    level (1, the 95th percentile of frame levels), then clipped. The floor is
    ``floor_db`` under the speech level, raised to just above the background
    noise (the 10th percentile plus 3 dB) when the recording is noisy, but never
    closer than 12 dB to the speech level, so pauses in a noisy room read 0 and
    a clip without pauses keeps its contour. Every level is relative, so scaling
    ``y`` by any gain leaves the result unchanged (bar digital silence, under
    -90 dBFS, which is all 0).

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
        Mono signal.
    sr : int
        Sample rate of ``y`` in Hz.
    fps : float
        Frame rate of the output.
    n_frames : int or None
        Number of frames; default ``n_frames_for(duration=len(y) / sr, fps=fps)``.
    floor_db : float
        dB under the speech level that maps to 0 (negative).

    Returns
    -------
    energy : np.ndarray [shape=(frames,), dtype=float32]

    Examples
    --------
    >>> t = np.arange(16000) / 16000
    >>> y = np.where(t < 0.5, 0.0, 0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    >>> e = frame_energy(y=y, sr=16000, fps=10)
    >>> bool(e[:4].max() == 0.0), bool(e[7:].min() > 0.9)
    (True, True)
    """
    if not floor_db < 0:
        raise ValueError(f"floor_db must be negative, got {floor_db!r}")
    db = frame_db(y=y, sr=sr, fps=fps, n_frames=n_frames).astype(np.float64)
    if db.size == 0:
        return np.zeros(0, np.float32)
    reference, noise = np.percentile(db, [95, 10])
    return levels_to_energy(db, reference=float(reference), noise=float(noise), floor_db=floor_db)


def levels_to_energy(
    db: np.ndarray, *, reference: float, noise: float, floor_db: float = ENERGY_FLOOR_DB
) -> np.ndarray:
    """Frame levels (dBFS) to loudness in [0, 1] against a speech level and a noise level.

    The mapping of :func:`frame_energy`, for callers that know the levels from
    elsewhere (a stream keeps them over the speech heard so far).

    Parameters
    ----------
    db : np.ndarray [shape=(frames,)]
        :func:`frame_db` levels.
    reference, noise : float
        Speech level (maps to 1) and background level, dBFS.

    Returns
    -------
    np.ndarray [shape=(frames,), dtype=float32]
    """
    db = np.asarray(db, np.float64)
    if reference < _SILENT_DBFS:
        return np.zeros(db.size, np.float32)
    floor = np.clip(noise + _NOISE_MARGIN_DB, reference + floor_db, reference - _MIN_RANGE_DB)
    return np.clip((db - floor) / (reference - floor), 0.0, 1.0).astype(np.float32)


def pauses(
    energy: np.ndarray, *, fps: float, min_duration: float = 0.3, threshold: float = 0.15
) -> list[tuple[float, float]]:
    """Silent stretches of at least ``min_duration`` seconds in an energy envelope.

    Parameters
    ----------
    energy : np.ndarray [shape=(frames,)]
        From :func:`frame_energy` (values in [0, 1]).
    fps : float
        Its frame rate.
    min_duration : float
        Shortest pause reported, in seconds (300 ms is the usual floor for a
        perceived pause, and the rest-pose threshold of DESIGN.md).
    threshold : float
        Energy under which a frame is silent.

    Returns
    -------
    list of (start, end)
        Seconds, in order, non-overlapping; ``start = i / fps`` of the first silent
        frame, ``end = j / fps`` of the first loud frame after it (or the clip end).
    """
    energy = np.asarray(energy)
    if energy.ndim != 1:
        raise ValueError(f"energy must have shape (frames,), got {energy.shape}")
    silent = np.concatenate([[False], energy < threshold, [False]])
    edges = np.flatnonzero(np.diff(silent.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    keep = (ends - starts) / fps >= min_duration - 1e-9
    return [(float(s / fps), float(e / fps)) for s, e in zip(starts[keep], ends[keep], strict=True)]


# -- pitch ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PitchSettings:
    """YIN settings.

    Attributes
    ----------
    fmin, fmax : float
        Search range in Hz (60-500 covers adult and child speech).
    threshold : float
        Absolute threshold on the cumulative mean normalised difference: a frame
        whose dip falls below it is voiced (de Cheveigné & Kawahara use 0.1-0.15).
    analysis_sr : int
        The signal is resampled to this rate first; f0 up to 500 Hz needs far less
        than 16 kHz, and the FFTs get 2x shorter.
    """

    fmin: float = 60.0
    fmax: float = 500.0
    threshold: float = 0.15
    analysis_sr: int = 8000


def yin(
    *, y: np.ndarray, sr: int, fps: float, n_frames: int | None = None, settings: PitchSettings | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fundamental frequency and periodicity per frame by YIN.

    Implements de Cheveigné & Kawahara, "YIN, a fundamental frequency estimator
    for speech and music", JASA 111(4), 2002: the difference function (step 2,
    computed for all frames at once through FFT autocorrelation and prefix sums
    of energy), cumulative mean normalisation (step 3), the absolute threshold
    (step 4) and parabolic interpolation of the dip (step 5). Steps 6 (best local
    estimate) is left out: animation only needs a stable contour.

    Why not librosa (measured, benchmarks/results/field_libraries.json): ``librosa.yin``
    gives f0 only, with no voicing decision, at a hop of whole samples (30 fps at 8 kHz is
    266.67 samples, so its frames drift off the animation's instants); ``librosa.pyin`` decides
    voicing but is 84x slower. Where both estimate f0 they agree (median 9 cents on a minute of
    voiced frames, 85% within 50 cents; tests/test_audio_features.py uses ``librosa.yin`` as
    the oracle).

    Returns
    -------
    f0 : np.ndarray [shape=(frames,), dtype=float32]
        Hz; 0 in unvoiced frames.
    periodicity : np.ndarray [shape=(frames,), dtype=float32]
        ``1 - d'(tau)`` at the chosen dip, clipped to [0, 1]: near 1 for clean
        voicing, near 0 for noise and silence.
    """
    s = settings or PitchSettings()
    y = _check_signal(y, sr, fps)
    if not 0 < s.fmin < s.fmax < s.analysis_sr / 2:
        raise ValueError(f"need 0 < fmin < fmax < analysis_sr / 2, got {s}")
    centres_out = _frame_centres(y.size, sr=sr, fps=fps, n_frames=n_frames)
    n = centres_out.size
    if n == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    a_sr = s.analysis_sr
    x = soxr.resample(y, sr, a_sr, quality="LQ") if sr != a_sr else y
    tau_min, tau_max = max(2, int(a_sr / s.fmax)), math.ceil(a_sr / s.fmin)
    win = tau_max  # integration window W >= the longest period
    centres = np.rint(centres_out * (a_sr / sr)).astype(np.int64)
    # Frame j holds x[c - W/2 - ..., c + W/2 + tau_max): W for integration, tau_max for the lag.
    pad = win + tau_max
    xp = np.pad(x.astype(np.float32), (pad, pad))
    starts = centres - win // 2 + pad
    # Frames are independent: blocks of them keep memory bounded at any frame rate (one frame
    # costs ~20 KB of FFT work, so 120 000 frames at once would need 2.5 GB).
    f0, periodicity = np.empty(n, np.float32), np.empty(n, np.float32)
    for i in range(0, n, _YIN_BLOCK):
        f0[i : i + _YIN_BLOCK], periodicity[i : i + _YIN_BLOCK] = _yin_block(
            xp, starts[i : i + _YIN_BLOCK], win=win, tau_min=tau_min, tau_max=tau_max, a_sr=a_sr, s=s
        )
    return f0, periodicity


_YIN_BLOCK = 2048
"""Frames analysed at once by :func:`yin`."""


def _yin_block(
    xp: np.ndarray, starts: np.ndarray, *, win: int, tau_min: int, tau_max: int, a_sr: int, s: PitchSettings
) -> tuple[np.ndarray, np.ndarray]:
    """YIN steps 2-5 for the frames starting at ``starts`` in the padded signal ``xp``."""
    n = starts.size
    length = win + tau_max
    idx = starts[:, None] + np.arange(length)[None, :]
    frames = xp[idx]  # (n, W + tau_max)
    nfft = 1 << (2 * length - 1).bit_length()
    spec = np.fft.rfft(frames, nfft, axis=1)
    head = np.fft.rfft(frames[:, :win], nfft, axis=1)
    # r(tau) = sum_{j<W} x_j x_{j+tau}: cross-correlation of the first W samples with the frame.
    r = np.fft.irfft(np.conj(head) * spec, nfft, axis=1)[:, : tau_max + 1]
    sq = np.concatenate([np.zeros((n, 1), np.float32), np.cumsum(frames**2, axis=1)], axis=1)
    energy0 = sq[:, win]  # sum of x_j^2 for j < W
    lags = np.arange(tau_max + 1)
    energy_tau = sq[:, lags + win] - sq[:, lags]  # sum of x_{j+tau}^2 for j < W
    diff = np.maximum(energy0[:, None] + energy_tau - 2.0 * r, 0.0)
    diff[:, 0] = 0.0
    cum = np.cumsum(diff[:, 1:], axis=1) / np.arange(1, tau_max + 1)
    cmndf = np.ones_like(diff)
    cmndf[:, 1:] = diff[:, 1:] / np.maximum(cum, 1e-12)
    search = cmndf[:, tau_min : tau_max + 1]
    # Step 4: the first lag under the threshold, followed to the bottom of its dip;
    # without one, the global minimum (reported unvoiced).
    below = search < s.threshold
    has = below.any(axis=1)
    first = np.where(has, below.argmax(axis=1), search.argmin(axis=1))
    k = first.copy()
    # Walk down the dip: at most a period's worth of steps, vectorised over frames.
    for _ in range(tau_max - tau_min):
        nxt = np.minimum(k + 1, search.shape[1] - 1)
        step = has & (search[np.arange(n), nxt] < search[np.arange(n), k])
        if not step.any():
            break
        k = np.where(step, nxt, k)
    tau = k + tau_min
    # Step 5: parabolic interpolation around the dip.
    rows = np.arange(n)
    left = cmndf[rows, np.maximum(tau - 1, 1)]
    mid = cmndf[rows, tau]
    right = cmndf[rows, np.minimum(tau + 1, tau_max)]
    denom = left - 2 * mid + right
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / np.where(denom == 0, 1, denom), 0.0)
    period = tau + np.clip(shift, -0.5, 0.5)
    periodicity = np.clip(1.0 - mid, 0.0, 1.0)
    silent = energy0 <= win * 1e-7  # under about -70 dBFS RMS: no pitch in silence
    voiced = has & ~silent
    f0 = np.where(voiced, a_sr / period, 0.0)
    periodicity[silent] = 0.0
    return f0.astype(np.float32), periodicity.astype(np.float32)


def pitch(
    *, y: np.ndarray, sr: int, fps: float, n_frames: int | None = None, settings: PitchSettings | None = None
) -> np.ndarray:
    """f0 in Hz per frame, 0 where unvoiced: (frames,) float32. See :func:`yin`."""
    return yin(y=y, sr=sr, fps=fps, n_frames=n_frames, settings=settings)[0]


def voicing(
    *, y: np.ndarray, sr: int, fps: float, n_frames: int | None = None, settings: PitchSettings | None = None
) -> np.ndarray:
    """Periodicity in [0, 1] per frame (1 clean voicing, 0 noise/silence): (frames,) float32."""
    return yin(y=y, sr=sr, fps=fps, n_frames=n_frames, settings=settings)[1]


# -- log-mel ------------------------------------------------------------------------------------
# Hand-written, not librosa, for a measured reason (benchmarks/field_libraries.py, result file
# benchmarks/results/field_libraries.json): librosa's filterbank agrees to 1e-9 and its
# melspectrogram to 4e-5 in log power, and the shipped network's curves move by under 1e-6 fed
# either, so librosa does the same job, and its STFT runs 2-3x faster. But its first call in a
# process costs 5.4 s (numba, scikit-learn, scipy imports) against 0.22 s here, and this log-mel runs once per `emote animate --engine neural`,
# whose whole 60 s line takes 0.5 s. tests/test_audio_features.py checks this code against
# librosa as its oracle.


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    # Slaney's Auditory Toolbox scale: linear to 1 kHz, logarithmic above.
    f = np.asarray(f, dtype=np.float64)
    lin = f / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, lin)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    lin = m * (200.0 / 3)
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
    return np.where(m >= 15.0, log, lin)


@lru_cache(maxsize=16)
def mel_filterbank(
    *, sr: int, n_fft: int, n_mels: int = 80, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular mel filters on the Slaney scale, area-normalised.

    Returns
    -------
    weights : np.ndarray [shape=(n_mels, n_fft // 2 + 1), dtype=float32]
        Read-only (cached): ``mel_power = weights @ power_spectrum``.
    """
    fmax = sr / 2 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sr / 2:
        raise ValueError(f"need 0 <= fmin < fmax <= sr / 2, got fmin={fmin}, fmax={fmax}, sr={sr}")
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    lower = (freqs[None, :] - edges[:-2, None]) / np.maximum(np.diff(edges)[:-1, None], 1e-10)
    upper = (edges[2:, None] - freqs[None, :]) / np.maximum(np.diff(edges)[1:, None], 1e-10)
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # equal area per filter
    weights = weights.astype(np.float32)
    weights.flags.writeable = False
    return weights


def log_mel(
    *,
    y: np.ndarray,
    sr: int,
    n_mels: int = 80,
    hop_length: int = 160,
    n_fft: int = 400,
    fmin: float = 0.0,
    fmax: float | None = None,
) -> np.ndarray:
    """Log mel power spectrogram, time first.

    A centred STFT (reflect padding of ``n_fft // 2``, periodic Hann window) gives
    ``1 + len(y) // hop_length`` frames; frame ``t`` is centred on sample
    ``t * hop_length``. Power is projected on :func:`mel_filterbank` and the
    natural log taken with a floor of 1e-10.

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
    sr : int
    n_mels : int
    hop_length : int
        Samples between frames (160 = 10 ms at 16 kHz).
    n_fft : int
        FFT and window length (400 = 25 ms at 16 kHz).
    fmin, fmax : float
        Band edges of the filterbank in Hz (``fmax`` default ``sr / 2``).

    Returns
    -------
    S : np.ndarray [shape=(frames, n_mels), dtype=float32]
    """
    y = _check_signal(y, sr)
    if hop_length <= 0 or n_fft <= 0 or n_mels <= 0:
        raise ValueError(
            f"hop_length, n_fft and n_mels must be positive, got {hop_length}, {n_fft}, {n_mels}"
        )
    half = n_fft // 2
    mode = "reflect" if y.size > half else "constant"
    padded = np.pad(y, (half, half), mode=mode)
    n = 1 + y.size // hop_length
    idx = np.arange(n)[:, None] * hop_length + np.arange(n_fft)[None, :]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    frames = padded[idx] * window
    power = np.abs(np.fft.rfft(frames, n_fft, axis=1)) ** 2
    weights = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    mel = power.astype(np.float32) @ weights.T
    return np.log(np.maximum(mel, 1e-10)).astype(np.float32)
