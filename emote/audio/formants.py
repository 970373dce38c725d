"""How open the jaw is, heard in the audio: the first formant and loudness, in any language.

The first formant (F1) rises as the jaw and tongue lower the vocal tract's
constriction (Lindblom & Sundberg 1971, "Acoustical consequences of lip, tongue,
jaw, and larynx movement", JASA 50(4B)), from about 270-310 Hz on /i/ to 730-850 Hz
on /a/ (Peterson & Barney 1952, "Control methods used in a study of the vowels",
JASA 24(2)), and open vowels are louder. So :func:`opening_of` takes, per animation
frame of voiced speech, F1 above the tracker's 200 Hz floor times a power of the RMS
amplitude in the F1 band (100-800 Hz, the band Grant & Seitz 2000, "The use of visible
speech cues for improving auditory detection of spoken sentences", JASA 108(3), call
F1), smoothed and scaled to the clip's own loud speech: no phone, no language, no
transcript needed.

F1 is the lowest resonance of a linear-prediction model of the frame (Markel &
Gray 1976, *Linear Prediction of Speech*): autocorrelation LPC of order
``2 + sr / 1000`` on a pre-emphasised 30 ms Hamming window, the roots of the
predictor polynomial as resonances, the lowest one between 200 and 1200 Hz with
a bandwidth under 500 Hz. These are textbook values, fitted to no data (a tracker
after Praat's, 10 poles at 11 kHz, read real English a little better and synthetic
Mandarin worse on the choice material below, so it was not taken).

What was chosen on data, and on which: :class:`HeardJawSettings` (the loudness
exponent, the voicing gate, the smoothing, the F1 floor of 0 or 200 Hz and the band,
whole or F1) and the phonetic engine's share of the jaw that follows the heard one
(``PhoneticSettings.heard_jaw``), by ``benchmarks/heard_jaw_choice.py`` on 13 min of
LJSpeech (training material) with forced-aligned phones and 5 min of synthetic
Mandarin from espeak-ng with exact phones: the settings whose heard jaw comes nearest
the jaw the reference phones imply, then the share that brings the jaw of recognised
Mandarin phones nearest it (``benchmarks/results/heard_jaw_choice.json``). Never on the
Mandarin face capture or the test speech, which ``benchmarks/languages.py`` measures with.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from emote.audio.convert import n_frames_for
from emote.audio.features import frame_energy

__all__ = [
    "HeardJawSettings",
    "JawTracks",
    "drive_reference",
    "first_formant",
    "hears_jaw",
    "jaw_drive",
    "jaw_opening",
    "jaw_tracks",
    "opening_of",
    "scaled_opening",
]

_F1_RANGE = (200.0, 1200.0)
_MAX_BANDWIDTH = 500.0
F1_BAND = (100.0, 800.0)  # Hz: Grant & Seitz (2000)'s F1 band


def first_formant(*, y: np.ndarray, sr: int, fps: float, n_frames: int | None = None) -> np.ndarray:
    """F1 in Hz per animation frame (0 where the frame has no resonance in 200-1200 Hz).

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
        Mono signal.
    sr : int
    fps : float
    n_frames : int or None
        Default ``n_frames_for(duration=len(y) / sr, fps=fps)``.

    Returns
    -------
    np.ndarray [shape=(n_frames,), dtype=float64]
    """
    y = np.asarray(y, np.float64)
    n = n_frames_for(duration=y.size / sr, fps=fps) if n_frames is None else n_frames
    emphasised = np.append(y[:1], y[1:] - 0.97 * y[:-1])
    win = int(0.03 * sr)
    order = 2 + sr // 1000
    window = np.hamming(win)
    padded = np.pad(emphasised, (win // 2, win // 2 + 1))
    # scipy.linalg costs ~0.2 s to import: paid only where a heard jaw is asked for (not English).
    from scipy.linalg import solve_toeplitz

    centres = np.minimum(np.round(np.arange(n) * sr / fps).astype(np.int64), y.size)
    out = np.zeros(n)
    for i, c in enumerate(centres):
        x = padded[c : c + win] * window
        r = np.correlate(x, x, "full")[win - 1 : win + order]
        if r[0] <= 1e-10:
            continue
        r[0] *= 1.0 + 1e-6  # white-noise correction keeps the system well-conditioned
        a = solve_toeplitz(r[:order], -r[1 : order + 1])
        roots = np.roots(np.r_[1.0, a])
        roots = roots[np.imag(roots) > 0]
        freq = np.angle(roots) * sr / (2 * np.pi)
        bandwidth = -np.log(np.maximum(np.abs(roots), 1e-12)) * sr / np.pi
        ok = (freq > _F1_RANGE[0]) & (freq < _F1_RANGE[1]) & (bandwidth < _MAX_BANDWIDTH)
        if ok.any():
            out[i] = freq[ok].min()
    return out


@dataclass(frozen=True)
class HeardJawSettings:
    """How :func:`opening_of` turns F1 and loudness into an opening.

    Every default was chosen off the test data by ``benchmarks/heard_jaw_choice.py``
    (``benchmarks/results/heard_jaw_choice.json``): on LJSpeech clips and synthetic
    Mandarin, the settings whose heard jaw comes nearest the jaw the reference phones imply.

    Attributes
    ----------
    loudness : float
        Exponent of the RMS amplitude in the drive ``(F1 - f1_floor) * RMS**loudness``
        (0: F1 alone).
    voiced : float
        ``frame_energy`` above which a frame is speech whose F1 counts (others are 0).
    smoothing : float
        Standard deviation of the Gaussian smoothing of the drive, seconds.
    f1_floor : float
        Hz taken off F1 before it scales the drive: 200, the lowest F1 the tracker
        accepts, makes the closest vowels (F1 near 250-300 Hz) nearly closed rather
        than half as open as /a/; 0 takes F1 as it is.
    band : str
        Whose RMS the drive takes: ``"f1"``, the 100-800 Hz band that carries the first
        formant (Grant & Seitz's F1 band), or ``"broad"``, the whole signal.
    """

    loudness: float = 0.25
    voiced: float = 0.4
    smoothing: float = 0.04
    f1_floor: float = 200.0
    band: str = "f1"


@dataclass(frozen=True)
class JawTracks:
    """What :func:`opening_of` reads, per animation frame, before any setting applies."""

    f1: np.ndarray  # Hz, 0 where no resonance (:func:`first_formant`)
    rms: np.ndarray  # RMS amplitude over 40 ms, whole signal
    f1_band_rms: np.ndarray  # the same in the F1 band, 100-800 Hz
    energy: np.ndarray  # ``emote.audio.features.frame_energy``, in [0, 1]


def _frame_rms(y: np.ndarray, *, sr: int, fps: float, n: int) -> np.ndarray:
    """RMS over 40 ms centred on each frame."""
    win = int(0.04 * sr)
    padded = np.pad(y.astype(np.float64), (win // 2, win // 2 + 1))
    squares = np.concatenate([[0.0], np.cumsum(padded**2)])
    centres = np.minimum(np.round(np.arange(n) * sr / fps).astype(np.int64), y.size)
    return np.sqrt(np.maximum(squares[centres + win] - squares[centres], 0.0) / win)


@functools.lru_cache(maxsize=4)
def _f1_band_filter(sr: int) -> np.ndarray:
    """The F1 band's 4th-order Butterworth band-pass, as second-order sections (designed once
    per rate: a stream asks for it every window)."""
    from scipy.signal import butter

    return butter(4, F1_BAND, btype="bandpass", fs=sr, output="sos")


def jaw_tracks(
    *,
    y: np.ndarray,
    sr: int,
    fps: float,
    n_frames: int | None = None,
    energy: np.ndarray | None = None,
    f1: np.ndarray | None = None,
) -> JawTracks:
    """F1, RMS amplitude (whole and F1 band) and loudness per animation frame.

    ``energy``: the loudness that gates voicing, if known (default ``frame_energy`` of ``y``,
    scaled to its own speech level; a stream passes its loudness against the last 30 s heard).
    ``f1``: the :func:`first_formant` track, if known (a stream tracks each frame once).
    """
    from scipy.signal import sosfiltfilt

    y = np.asarray(y, np.float32)
    n = n_frames_for(duration=y.size / sr, fps=fps) if n_frames is None else n_frames
    if energy is None:
        energy = frame_energy(y=y, sr=sr, fps=fps, n_frames=n)
    if f1 is None:
        f1 = first_formant(y=y, sr=sr, fps=fps, n_frames=n)
    # Zero-phase band-pass, so the band's loudness does not lag the F1 it multiplies; a clip
    # shorter than the filter's edge padding (a few samples) is taken whole.
    sos = _f1_band_filter(sr)
    band = sosfiltfilt(sos, y.astype(np.float64)) if y.size > 3 * (2 * len(sos) + 1) else y
    return JawTracks(
        f1=f1,
        rms=_frame_rms(y, sr=sr, fps=fps, n=n),
        f1_band_rms=_frame_rms(band, sr=sr, fps=fps, n=n),
        energy=np.asarray(energy, np.float64),
    )


def jaw_drive(tracks: JawTracks, *, fps: float, settings: HeardJawSettings | None = None) -> np.ndarray:
    """The opening before it is scaled: ``(F1 - f1_floor) * RMS**loudness`` on voiced frames
    (0 elsewhere), Gaussian-smoothed.

    Returns
    -------
    np.ndarray [shape=(n_frames,), dtype=float64]
    """
    from emote.animation.tracks import smooth

    s = settings or HeardJawSettings()
    if s.band not in ("f1", "broad"):
        raise ValueError(f"band must be 'f1' or 'broad', got {s.band!r}")
    rms = tracks.f1_band_rms if s.band == "f1" else tracks.rms
    voiced = (tracks.energy > s.voiced) & (tracks.f1 > 0)
    drive = np.where(voiced, np.maximum(tracks.f1 - s.f1_floor, 0.0) * rms**s.loudness, 0.0)
    return smooth(drive, fps=fps, seconds=s.smoothing)


def drive_reference(drive: np.ndarray) -> float:
    """The drive of loud open vowels, which :func:`scaled_opening` maps to 1: the 95th
    percentile of the drive over speech (its frames above 0); 0 without speech."""
    speech = drive[drive > 0]
    return float(np.percentile(speech, 95)) if speech.size else 0.0


def scaled_opening(drive: np.ndarray, reference: float) -> np.ndarray:
    """``drive / reference`` clipped to [0, 1] (all 0 for a reference of 0), float32.

    Offline the reference is the clip's own (:func:`opening_of`); a stream's is that of
    the speech it heard last (``emote.stream.engines.HeardJaw``).
    """
    if reference <= 0:
        return np.zeros(drive.size, np.float32)
    return np.clip(drive / reference, 0.0, 1.0).astype(np.float32)


def opening_of(tracks: JawTracks, *, fps: float, settings: HeardJawSettings | None = None) -> np.ndarray:
    """The opening in [0, 1] from heard tracks.

    :func:`jaw_drive` divided by its 95th percentile over the speech (:func:`drive_reference`).

    Returns
    -------
    np.ndarray [shape=(n_frames,), dtype=float32]
    """
    drive = jaw_drive(tracks, fps=fps, settings=settings)
    return scaled_opening(drive, drive_reference(drive))


def jaw_opening(
    *,
    y: np.ndarray,
    sr: int,
    fps: float,
    n_frames: int | None = None,
    settings: HeardJawSettings | None = None,
) -> np.ndarray:
    """Jaw opening heard in the audio, in [0, 1] per animation frame (1: the clip's loud open vowels).

    :func:`jaw_tracks` then :func:`opening_of`.

    Returns
    -------
    np.ndarray [shape=(n_frames,), dtype=float32]
    """
    return opening_of(jaw_tracks(y=y, sr=sr, fps=fps, n_frames=n_frames), fps=fps, settings=settings)


def hears_jaw(language: str) -> bool:
    """Whether the jaw follows the opening heard in the audio: for a language said to be other than English.

    On the Mandarin face capture the heard jaw follows the captured one better than the
    recognised phones do (``benchmarks/languages.py``); on English speech with reference
    timings it lowers the open/closed lip contrast, so English (and ``"auto"``) keep the
    phones' jaw. The one rule for :func:`emote.animate` and ``emote.Stream``.
    """
    from emote.audio.espeak import other_than_english

    return other_than_english(language.strip().lower())
