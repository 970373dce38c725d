"""The speech features the neural engine reads: level-normalised log-mel at 100 Hz,
optionally followed by the phone recogniser's log-posteriors.

One function serves the data engine (features stored in the dataset) and
inference (features of the user's audio), so both see exactly the same input.
Curves are predicted at :attr:`FeatureSettings.frame_rate` (50 Hz), two mel
frames per curve frame: mel frame ``2 i`` is centred on curve frame ``i``.

Why posteriors: log-mel learnt from a dozen synthetic voices does not carry over
to real speakers (the first, log-mel-only model closed the lips on 79% of real
bilabials against 98% on held-out synthetic voices), while the recogniser was
trained on real speech; its phone probabilities are much the same for a TTS
voice and a person, so a network reading them meets real speech on familiar ground.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from emote.phonetics.labels import PHONE_CLASSES

__all__ = ["FeatureSettings", "align_mel", "phone_probability", "speech_features"]


@dataclass(frozen=True)
class FeatureSettings:
    """Log-mel analysis.

    Attributes
    ----------
    sr : int
        Analysis rate (input is resampled to it).
    n_mels : int
    hop_length, n_fft : int
        Samples (160 = 10 ms, 400 = 25 ms at 16 kHz).
    fmin, fmax : float
        Filterbank band, Hz.
    frame_rate : float
        Curve frames per second predicted from the features (``sr / hop_length / 2``).
    floor : float
        Levels more than this far under the speech level are clipped (natural-log
        power units: 12 ≈ 52 dB).
    ceiling : float or None
        Highest feature value (louder bins are clipped); None: no ceiling. The
        first shipped model was trained on 8-bit features whose code tops out at
        0.484 (≈ 8.4 dB above the speech level), yet did better on held-out
        voices *without* this ceiling at inference (bilabial closure 0.983 vs
        0.966), so none is the default.
    phones : bool
        Append the phone recogniser's log-posteriors (:func:`emote.audio.recognize.phone_posteriors`,
        one column per :data:`PHONE_CLASSES`, 50 Hz rows repeated to 100 Hz,
        ``log p / 4`` clipped at ``-phone_floor / 4``).
    phone_floor : float
        Log-probabilities under ``-phone_floor`` (8: p < 0.03%) are clipped: what
        lies below carries little, and the clipped columns store in a third of the space.
    """

    sr: int = 16000
    n_mels: int = 40
    hop_length: int = 160
    n_fft: int = 400
    fmin: float = 50.0
    fmax: float = 7600.0
    frame_rate: float = 50.0
    floor: float = 12.0
    ceiling: float | None = None
    phones: bool = False
    phone_floor: float = 8.0

    @property
    def width(self) -> int:
        """Feature columns: ``n_mels``, plus one per :data:`PHONE_CLASSES` with ``phones``."""
        return self.n_mels + (len(PHONE_CLASSES) if self.phones else 0)

    @property
    def mel_per_frame(self) -> int:
        return round(self.sr / self.hop_length / self.frame_rate)

    def to_dict(self) -> dict:
        return asdict(self)


def speech_features(
    y: np.ndarray, *, sr: int, settings: FeatureSettings | None = None, posteriors: np.ndarray | None = None
) -> np.ndarray:
    """Level-normalised log-mel features of a mono signal (and phone log-posteriors).

    ``S = log(mel power)``; the speech level ``L`` is the 95th percentile of the
    frames' mean ``S``; features are ``clip((S - L) / 4, -floor / 4, ceiling)``:
    a gain applied to ``y`` changes nothing, silence sits at ``-floor / 4``.
    With ``settings.phones``, the recogniser's phone log-posteriors follow the
    ``n_mels`` columns (see :class:`FeatureSettings`).

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
    sr : int
        Rate of ``y`` (resampled to ``settings.sr`` when different).
    settings : FeatureSettings, optional
    posteriors : np.ndarray [shape=(rows, len(PHONE_CLASSES))], optional
        With ``settings.phones``: the phone log-probabilities of each feature row (10 ms),
        computed elsewhere, instead of :func:`emote.audio.recognize.phone_posteriors` of
        ``y`` (a stream's, from its live recogniser, which sees more than one window:
        :mod:`emote.stream.recognizer`). Missing last rows hold the last one.

    Returns
    -------
    np.ndarray [shape=(1 + samples_at_sr // hop_length, settings.width), dtype=float32]
    """
    from emote.audio.features import log_mel  # imported here: training machines need no audio stack

    s = settings or FeatureSettings()
    y = np.asarray(y, np.float32)
    if sr != s.sr:
        import soxr

        y = soxr.resample(y, sr, s.sr).astype(np.float32)
    S = log_mel(
        y=y, sr=s.sr, n_mels=s.n_mels, hop_length=s.hop_length, n_fft=s.n_fft, fmin=s.fmin, fmax=s.fmax
    )
    level = float(np.percentile(S.mean(axis=1), 95)) if S.size else 0.0
    mel = np.clip((S - level) / 4.0, -s.floor / 4.0, s.ceiling).astype(np.float32)  # ceiling None: no top
    if not s.phones:
        return mel
    from emote.audio.recognize import phone_posteriors

    if s.sr != 16000 or s.hop_length != 160:
        raise ValueError("phone posteriors need 16 kHz features with a 10 ms hop")
    if posteriors is None:
        post = np.repeat(phone_posteriors(y), 2, axis=0)  # 20 ms rows → 10 ms rows
    else:
        post = np.asarray(posteriors, np.float32)
    rows = mel.shape[0]
    if post.shape[0] < rows:  # one row short at most (given posteriors: a few): hold the last
        post = np.concatenate([post, np.repeat(post[-1:], rows - post.shape[0], axis=0)])
    post = np.maximum(post[:rows] / 4.0, -s.phone_floor / 4.0).astype(np.float32)
    return np.concatenate([mel, post], axis=1)


def phone_probability(features: np.ndarray, phones: tuple[str, ...], settings: FeatureSettings) -> np.ndarray:
    """P(any of ``phones``) per curve frame, read back from :func:`speech_features` output.

    Parameters
    ----------
    features : np.ndarray [shape=(rows, settings.width)]
        With ``settings.phones``.
    phones : tuple of str
        Among :data:`PHONE_CLASSES`.

    Returns
    -------
    np.ndarray [shape=(rows // mel_per_frame,), dtype=float64]
    """
    cols = [settings.n_mels + PHONE_CLASSES.index(c) for c in phones]
    return np.exp(4.0 * features[:: settings.mel_per_frame, cols].astype(np.float64)).sum(axis=1)


def align_mel(mel: np.ndarray, n_frames: int, *, settings: FeatureSettings | None = None) -> np.ndarray:
    """Pad (with the quietest value) or trim features to ``n_frames * mel_per_frame`` rows.

    Returns
    -------
    np.ndarray [shape=(n_frames * mel_per_frame, n_mels)]
    """
    s = settings or FeatureSettings()
    rows = n_frames * s.mel_per_frame
    if mel.shape[0] >= rows:
        return mel[:rows]
    fill = mel.min() if mel.size else -s.floor / 4.0
    pad = np.full((rows - mel.shape[0], mel.shape[1]), fill, mel.dtype)
    return np.concatenate([mel, pad])
