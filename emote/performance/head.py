"""Small prosody-driven head motion.

Head movement tracks the prosody of speech: it rises and falls with the
voice's pitch (F0) and beats on loud, stressed syllables (Graf, Cosatto,
Strom & Huang 2002, "Visual prosody: facial movements accompanying speech",
*IEEE FG*; Yehia, Kuratate & Vatikiotis-Bateson 2002, "Linking facial
animation, head motion and speech acoustics", *J. Phonetics* 30). Its range
and mean posture depend on emotion: sad speech moves less and droops, angry
and happy speech move more (Busso, Deng, Grimm, Lee & Narayanan 2007, "Rigid
head motion in expressive speech animation: analysis and synthesis", *IEEE
TASLP* 15(3)). On top, slow smooth noise keeps a silent face alive.

The model, in degrees::

    pitch = pitch_deg * (f0_weight * z(F0) - beat_weight * z(energy)) + noise
    yaw   = yaw_deg * (0.4 + 0.6 * activity) * noise
    roll  = roll_deg * noise

with ``z`` a smoothed, standardised envelope over the voiced/speaking frames
and ``noise`` a sum of random-phase sinusoids in 0.05–0.5 Hz (continuous in
time: the same seed moves the head the same way at any fps). Here positive
pitch raises the chin; the ``HeadPitch`` channel gets it negated (the project's
convention, ``emote.animation.channels``: positive pitch tips the face down). Positive yaw turns to the subject's left, positive roll tilts
the head towards the subject's left shoulder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emote.animation.tracks import resample_track, smooth
from emote.performance.emotions import EMOTIONS


@dataclass
class HeadSettings:
    """Head motion amplitudes (degrees) and their emotion dependence.

    Attributes
    ----------
    pitch_deg, yaw_deg, roll_deg : float
        Typical amplitude of each rotation.
    f0_weight, beat_weight : float
        Share of pitch-following and of loudness beats in the nod.
    noise_weight : float
        Share of smooth noise in the pitch.
    smoothing : float
        Seconds of Gaussian smoothing of the prosody envelopes.
    band : tuple[float, float]
        Frequency band of the smooth noise, Hz.
    emotion_scale : dict
        Motion amplitude multiplier per emotion at full weight.
    emotion_pitch_deg : dict
        Posture offset of the head pitch per emotion at full weight.
    """

    pitch_deg: float = 2.5
    yaw_deg: float = 3.0
    roll_deg: float = 1.5
    f0_weight: float = 0.6
    beat_weight: float = 0.4
    noise_weight: float = 0.5
    smoothing: float = 0.12
    band: tuple[float, float] = (0.05, 0.5)
    emotion_scale: dict[str, float] = field(
        default_factory=lambda: {"sad": 0.6, "angry": 1.3, "happy": 1.2, "surprised": 1.1}
    )
    emotion_pitch_deg: dict[str, float] = field(
        default_factory=lambda: {"sad": -4.0, "surprised": 2.5, "angry": -2.0, "happy": 1.0, "contempt": 1.5}
    )


def smooth_noise(
    times: np.ndarray, rng: np.random.Generator, *, band: tuple[float, float], n: int = 6
) -> np.ndarray:
    """Unit-variance band-limited noise: a sum of ``n`` random-phase sinusoids.

    Parameters
    ----------
    times : np.ndarray [shape=(frames,)]
        Seconds.

    Returns
    -------
    np.ndarray [shape=(frames,), dtype=float64]
    """
    freqs = rng.uniform(band[0], band[1], size=n)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=n)
    return np.sin(2.0 * np.pi * times[:, None] * freqs + phases).sum(axis=1) / np.sqrt(n / 2.0)


def _zscore(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    sel = x[mask] if mask.any() else x
    sd = float(sel.std()) if sel.size else 0.0
    if sd < 1e-9:
        return np.zeros_like(x)
    return np.clip((x - float(sel.mean())) / sd, -2.5, 2.5)


def head_angles(
    n_frames: int,
    *,
    fps: float,
    rng: np.random.Generator,
    energy: np.ndarray | None = None,
    pitch: np.ndarray | None = None,
    speaking: np.ndarray | None = None,
    emotion_weights: np.ndarray | None = None,
    settings: HeadSettings | None = None,
    t0: float = 0.0,
) -> np.ndarray:
    """Head yaw, pitch and roll per frame, in radians.

    Parameters
    ----------
    n_frames : int
    fps : float
    rng : np.random.Generator
    energy : np.ndarray [shape=(m,)], optional
        Loudness in [0, 1] over the clip (resampled to ``n_frames``).
    pitch : np.ndarray [shape=(m,)], optional
        F0 in Hz, 0 or NaN where unvoiced (resampled to ``n_frames``).
    speaking : np.ndarray [shape=(frames,)], optional
        1 while speaking.
    emotion_weights : np.ndarray [shape=(frames, 8)], optional
    settings : HeadSettings, optional
    t0 : float
        Time of frame 0 (s). The noise is a function of absolute time, so a stream
        that calls this over successive windows with equally seeded ``rng`` gets
        one continuous motion (:mod:`emote.stream`).

    Returns
    -------
    np.ndarray [shape=(frames, 3), dtype=float64]
        ``HeadYaw``, ``HeadPitch``, ``HeadRoll`` in radians.
    """
    s = settings or HeadSettings()
    times = t0 + np.arange(n_frames) / fps
    noises = [smooth_noise(times, rng, band=s.band) for _ in range(3)]  # always drawn: stable streams
    act = np.ones(n_frames) if speaking is None else np.asarray(speaking, np.float64)
    act = smooth(act, fps=fps, seconds=0.3) if n_frames else act

    nod = np.zeros(n_frames)
    if pitch is not None and n_frames:
        raw = np.nan_to_num(np.asarray(pitch, np.float64))
        f0 = resample_track(raw, n_frames)
        voiced = resample_track((raw > 0).astype(np.float64), n_frames) > 0.999  # not the edges of a gap
        if voiced.any():
            # Semitones, bridged across unvoiced gaps, then smoothed.
            at = np.flatnonzero(voiced)
            semis = np.interp(np.arange(n_frames), at, 12.0 * np.log2(f0[at]))
            nod += s.f0_weight * _zscore(smooth(semis, fps=fps, seconds=s.smoothing), voiced)
    if energy is not None and n_frames:
        e = smooth(resample_track(energy, n_frames), fps=fps, seconds=s.smoothing)
        # Beats: loudness above its slow trend, chin down on the stressed syllable.
        beat = e - smooth(e, fps=fps, seconds=0.6)
        nod -= s.beat_weight * _zscore(beat, act > 0.5)
    pitch_deg = s.pitch_deg * (nod * act + s.noise_weight * noises[0])
    yaw_deg = s.yaw_deg * (0.4 + 0.6 * act) * noises[1]
    roll_deg = s.roll_deg * noises[2]

    if emotion_weights is not None:
        w = np.asarray(emotion_weights, np.float64)
        scale = np.ones(n_frames)
        for name, mult in s.emotion_scale.items():
            scale *= 1.0 + w[:, EMOTIONS.index(name)] * (mult - 1.0)
        offset = sum(w[:, EMOTIONS.index(name)] * deg for name, deg in s.emotion_pitch_deg.items())
        pitch_deg = pitch_deg * scale + offset
        yaw_deg = yaw_deg * scale
        roll_deg = roll_deg * scale
    # HeadPitch is positive chin-down (right-hand rule about +X, the subject's left).
    return np.radians(np.stack([yaw_deg, -pitch_deg, roll_deg], axis=1))
