"""Audio augmentation: make clean TTS sound like speech recorded in the world.

Each utterance passes a random chain (every step optional, drawn from the
utterance's own generator, so a seed reproduces it):

1. **reverb** — a synthetic room impulse response: a direct path plus
   exponentially decaying noise with a random RT60 (Schroeder's statistical
   model of diffuse reverberation, Schroeder 1962);
2. **band-limiting** — telephone band (300–3400 Hz) or a random low-pass;
3. **resampling artefacts** — down to 8 or 11.025 kHz and back;
4. **additive noise** at a random SNR: white, pink, brown, mains hum or babble
   (other utterances of the corpus, mixed);
5. **gain**, with occasional clipping.

The phone timings are untouched by every step (the impulse response's direct
path is at lag 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import soxr
from scipy import signal

__all__ = ["AugmentSettings", "augment", "colored_noise", "room_impulse_response"]


@dataclass(frozen=True)
class AugmentSettings:
    """Probabilities and ranges of each augmentation step.

    Attributes
    ----------
    p_clean : float
        Share of utterances left untouched (gain aside).
    p_reverb, p_band, p_resample, p_noise, p_clip : float
        Probability of each step.
    rt60 : (float, float)
        Reverberation time range, seconds.
    snr_db : (float, float)
        Signal-to-noise ratio range, dB.
    gain_db : (float, float)
        Output gain range, dB.
    noise_kinds : tuple[str, ...]
        Drawn uniformly: ``white``, ``pink``, ``brown``, ``hum``, ``babble``.
    """

    p_clean: float = 0.15
    p_reverb: float = 0.35
    p_band: float = 0.25
    p_resample: float = 0.2
    p_noise: float = 0.6
    p_clip: float = 0.05
    rt60: tuple[float, float] = (0.15, 0.9)
    snr_db: tuple[float, float] = (0.0, 30.0)
    gain_db: tuple[float, float] = (-20.0, 6.0)
    noise_kinds: tuple[str, ...] = field(default=("white", "pink", "brown", "hum", "babble"))


def colored_noise(n: int, kind: str, rng: np.random.Generator, *, sr: int = 16000) -> np.ndarray:
    """Unit-RMS noise of ``n`` samples: white, pink (1/f), brown (1/f²) or mains hum.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
    """
    if kind == "hum":
        t = np.arange(n) / sr
        f0 = 50.0 if rng.random() < 0.5 else 60.0
        x = sum(
            rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi))
            for k in range(1, 6)
        )
        x = x + 0.05 * rng.standard_normal(n)
    else:
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.fft.rfftfreq(n)
        f[0] = f[1] if n > 1 else 1.0
        power = {"white": 0.0, "pink": 1.0, "brown": 2.0}[kind]
        x = np.fft.irfft(spectrum / f ** (power / 2), n)
    x = np.asarray(x, np.float64)
    return (x / (np.sqrt(np.mean(x**2)) + 1e-12)).astype(np.float32)


def room_impulse_response(rt60: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room impulse response with the direct path at lag 0.

    ``h[0] = 1``; then, after a 2–10 ms gap, Gaussian noise under an envelope
    ``exp(-6.9 t / rt60)`` (60 dB of decay in ``rt60`` seconds), scaled to a
    random direct-to-reverberant ratio of -3 to +12 dB.

    Returns
    -------
    np.ndarray [shape=(taps,), dtype=float32]
    """
    n = int(sr * rt60)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    gap = int(sr * rng.uniform(0.002, 0.01))
    tail[:gap] = 0.0
    drr_db = rng.uniform(-3.0, 12.0)
    tail *= 10 ** (-drr_db / 20) / (np.sqrt(np.sum(tail**2)) + 1e-12)
    tail[0] = 1.0
    return tail.astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)) + 1e-12)


def augment(
    y: np.ndarray,
    sr: int,
    rng: np.random.Generator,
    *,
    settings: AugmentSettings | None = None,
    babble: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One random augmentation chain over a clean utterance.

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
        Clean speech.
    sr : int
    rng : np.random.Generator
    settings : AugmentSettings, optional
    babble : np.ndarray [shape=(m,)], optional
        Other speech to draw babble noise from (the kind is skipped without it).

    Returns
    -------
    y : np.ndarray [shape=(samples,), dtype=float32]
        Same length as the input.
    applied : dict
        What was done (for the dataset's metadata).
    """
    s = settings or AugmentSettings()
    x = np.asarray(y, np.float32)
    n = x.size
    applied: dict[str, Any] = {}
    speech_rms = _rms(x)
    if rng.random() >= s.p_clean:
        if rng.random() < s.p_reverb:
            rt60 = float(rng.uniform(*s.rt60))
            x = signal.fftconvolve(x, room_impulse_response(rt60, sr, rng))[:n].astype(np.float32)
            applied["reverb_rt60"] = round(rt60, 3)
        if rng.random() < s.p_band:
            if rng.random() < 0.5:
                sos = signal.butter(4, [300, min(3400, 0.45 * sr)], btype="bandpass", fs=sr, output="sos")
                applied["band"] = "telephone"
            else:
                cutoff = float(rng.uniform(2500, min(7000, 0.45 * sr)))
                sos = signal.butter(6, cutoff, btype="lowpass", fs=sr, output="sos")
                applied["band"] = f"lowpass {cutoff:.0f}"
            x = signal.sosfilt(sos, x).astype(np.float32)
        if rng.random() < s.p_resample:
            low = int(rng.choice([8000, 11025]))
            x = soxr.resample(soxr.resample(x, sr, low, quality="LQ"), low, sr, quality="LQ")
            x = np.pad(x, (0, max(0, n - x.size)))[:n].astype(np.float32)
            applied["resample"] = low
        if rng.random() < s.p_noise:
            kinds = [k for k in s.noise_kinds if k != "babble" or (babble is not None and babble.size > n)]
            kind = kinds[int(rng.integers(len(kinds)))]
            if kind == "babble":
                assert babble is not None
                noise = np.zeros(n, np.float64)
                for _ in range(int(rng.integers(2, 5))):
                    start = int(rng.integers(0, babble.size - n))
                    noise += babble[start : start + n]
                noise = (noise / _rms(noise)).astype(np.float32)
            else:
                noise = colored_noise(n, kind, rng, sr=sr)
            snr = float(rng.uniform(*s.snr_db))
            x = x + noise * (speech_rms * 10 ** (-snr / 20))
            applied["noise"] = kind
            applied["snr_db"] = round(snr, 1)
    gain = float(rng.uniform(*s.gain_db))
    x = x * (0.1 / _rms(x)) * 10 ** (gain / 20)  # -20 dBFS RMS, then the gain
    if rng.random() < s.p_clip:
        x = np.clip(x, -0.3, 0.3)
        applied["clipped"] = True
    applied["gain_db"] = round(gain, 1)
    return np.clip(x, -1.0, 1.0).astype(np.float32), applied
