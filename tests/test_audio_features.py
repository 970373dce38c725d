"""Features at the animation frame rate: loudness, pitch, log-mel, pauses; unit conversions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emote.audio.convert import (
    frames_to_samples,
    frames_to_time,
    n_frames_for,
    samples_to_frames,
    time_to_frames,
    time_to_samples,
)
from emote.audio.features import frame_energy, log_mel, mel_filterbank, pauses, pitch, voicing, yin
from emote.audio.io import load_audio
from emote.audio.timings import read_textgrid

SR = 16000


def harmonic(f0: float, seconds: float, sr: int = SR) -> np.ndarray:
    """A voiced-like tone: f0 and four harmonics with falling amplitude."""
    t = np.arange(round(seconds * sr)) / sr
    return sum(0.3 / k * np.sin(2 * np.pi * f0 * k * t) for k in range(1, 6)).astype(np.float32)


# -- convert -------------------------------------------------------------------------------------


def test_conversions_round_trip_within_half_a_frame() -> None:
    times = np.linspace(0, 10, 997)
    back = frames_to_time(time_to_frames(times, fps=30), fps=30)
    assert np.max(np.abs(back - times)) <= 0.5 / 30 + 1e-12
    assert samples_to_frames(48000, sr=SR, fps=60) == 180
    assert frames_to_samples(180, sr=SR, fps=60) == 48000
    assert time_to_samples(1.5, sr=SR) == 24000


def test_frame_count_covers_the_whole_clip() -> None:
    assert n_frames_for(duration=2.0, fps=30) == 61
    assert n_frames_for(duration=2.01, fps=30) == 62
    assert (n_frames_for(duration=2.01, fps=30) - 1) / 30 >= 2.01
    with pytest.raises(ValueError, match="fps"):
        n_frames_for(duration=1.0, fps=0)


# -- energy --------------------------------------------------------------------------------------


def test_energy_is_zero_in_silence_and_high_in_speech(speech_dir: Path) -> None:
    audio = load_audio(speech_dir / "acoustic_corpus.wav")
    energy = frame_energy(y=audio.samples, sr=SR, fps=100)
    ref = read_textgrid(speech_dir / "acoustic_corpus.TextGrid")
    times = np.arange(energy.size) / 100
    idx = ref.phone_index(times)
    labels = np.array([ref.phones[i].label if i >= 0 else "SIL" for i in idx])
    vowels = np.isin(labels, ["AA", "AE", "AH", "AO", "EH", "IY", "OW", "ER"])
    silent = labels == "SIL"
    assert energy.min() >= 0 and energy.max() <= 1
    assert np.median(energy[vowels]) > 0.5
    assert np.median(energy[silent]) < 0.1


def test_energy_does_not_depend_on_gain(speech_dir: Path) -> None:
    y = load_audio(speech_dir / "bobby.wav").samples
    loud = frame_energy(y=y, sr=SR, fps=60)
    quiet = frame_energy(y=y * 0.01, sr=SR, fps=60)
    np.testing.assert_allclose(loud, quiet, atol=1e-5)


def test_energy_of_digital_silence_is_zero() -> None:
    assert not frame_energy(y=np.zeros(SR, np.float32), sr=SR, fps=30).any()


def test_energy_has_one_value_per_animation_frame() -> None:
    y = harmonic(120, 1.0)
    assert frame_energy(y=y, sr=SR, fps=30).shape == (31,)
    assert frame_energy(y=y, sr=SR, fps=30, n_frames=10).shape == (10,)


# -- pitch ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("f0", [85.0, 150.0, 310.0])
def test_yin_finds_the_fundamental_of_a_harmonic_tone(f0: float) -> None:
    track = pitch(y=harmonic(f0, 1.0), sr=SR, fps=100)
    inner = track[5:-5]
    assert (inner > 0).all()
    assert np.max(np.abs(inner - f0)) / f0 < 0.02


def test_noise_and_silence_are_unvoiced() -> None:
    noise = np.random.default_rng(1).standard_normal(SR).astype(np.float32) * 0.1
    assert np.mean(pitch(y=noise, sr=SR, fps=100) > 0) < 0.05
    assert not pitch(y=np.zeros(SR, np.float32), sr=SR, fps=100).any()
    assert voicing(y=noise, sr=SR, fps=100).mean() < voicing(y=harmonic(200, 1.0), sr=SR, fps=100).mean()


def test_speech_pitch_is_in_the_voice_range(speech_dir: Path) -> None:
    y = load_audio(speech_dir / "61-70968-0000.flac").samples
    f0, periodicity = yin(y=y, sr=SR, fps=100)
    voiced = f0[f0 > 0]
    assert 0.2 < voiced.size / f0.size < 0.9
    assert 70 < np.median(voiced) < 250
    assert periodicity[f0 > 0].mean() > periodicity[f0 == 0].mean()


# -- log-mel -------------------------------------------------------------------------------------


def test_log_mel_shape_and_the_band_of_a_tone() -> None:
    t = np.arange(SR) / SR
    y = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    S = log_mel(y=y, sr=SR, n_mels=80, hop_length=160, n_fft=400)
    assert S.shape == (101, 80) and S.dtype == np.float32
    weights = mel_filterbank(sr=SR, n_fft=400, n_mels=80)
    centre = np.argmax(weights[:, round(1000 / (SR / 400))])
    assert abs(int(np.argmax(S[50])) - centre) <= 1


def test_filterbank_tiles_the_band() -> None:
    weights = mel_filterbank(sr=SR, n_fft=512, n_mels=40)
    assert weights.shape == (40, 257)
    covered = weights[:, 2:-2].max(axis=0) > 0
    assert covered.all()


# -- pauses --------------------------------------------------------------------------------------


def test_pauses_are_found_where_the_transcript_has_silence(speech_dir: Path) -> None:
    # (cold_corpus's untranscribed coughs and sniffs fill its "silences": not a fair check.)
    audio = load_audio(speech_dir / "acoustic_corpus.wav")
    found = pauses(frame_energy(y=audio.samples, sr=SR, fps=100), fps=100, min_duration=0.3)
    ref = read_textgrid(speech_dir / "acoustic_corpus.TextGrid")
    long_silences = [p for p in ref.phones if p.label == "SIL" and p.duration >= 0.5 and p.start > 0]
    assert len(long_silences) >= 4
    detected = [
        max((min(sil.end, e) - max(sil.start, s) for s, e in found), default=0) > 0.3 * sil.duration
        for sil in long_silences
    ]
    assert np.mean(detected) >= 0.75  # a breath may fill one
    # and what is found is silence in the reference, not speech
    times = np.concatenate([np.arange(s, e, 0.01) for s, e in found])
    idx = ref.phone_index(times)
    assert np.mean([i < 0 or ref.phones[i].label == "SIL" for i in idx]) > 0.8


def test_pauses_respect_min_duration() -> None:
    energy = np.ones(100, np.float32)
    energy[10:14] = 0  # 40 ms
    energy[50:90] = 0  # 400 ms
    assert pauses(energy, fps=100, min_duration=0.3) == [(0.5, 0.9)]
    assert len(pauses(energy, fps=100, min_duration=0.03)) == 2


# -- librosa as the oracle (the hand-written versions stay for measured reasons: see features.py) --


def test_filterbank_matches_librosas_slaney_filters() -> None:
    import librosa

    ours = mel_filterbank(sr=16000, n_fft=400, n_mels=40, fmin=50.0, fmax=7600.0)
    theirs = librosa.filters.mel(
        sr=16000, n_fft=400, n_mels=40, fmin=50.0, fmax=7600.0, norm="slaney", htk=False
    )
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-8)


def test_log_mel_matches_librosas_melspectrogram(speech_dir: Path) -> None:
    import librosa

    y = load_audio(speech_dir / "bobby.wav").samples
    ours = log_mel(y=y, sr=16000, n_mels=40, hop_length=160, n_fft=400, fmin=50.0, fmax=7600.0)
    power = librosa.feature.melspectrogram(
        y=y, sr=16000, n_fft=400, hop_length=160, window="hann", center=True, pad_mode="reflect",
        power=2.0, n_mels=40, fmin=50.0, fmax=7600.0, norm="slaney", htk=False,
    )  # fmt: skip
    theirs = np.log(np.maximum(power.T, 1e-10))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)


def test_yin_agrees_with_librosas_yin_on_voiced_frames(speech_dir: Path) -> None:
    import librosa

    y = load_audio(speech_dir / "bobby.wav").samples
    # 25 fps at 8 kHz is a whole 320-sample hop, so both put frames at the same instants.
    ours = pitch(y=y, sr=16000, fps=25)
    x = librosa.resample(y, orig_sr=16000, target_sr=8000, res_type="soxr_lq")
    theirs = librosa.yin(x, fmin=60.0, fmax=500.0, sr=8000, frame_length=2 * 134, hop_length=320,
                         trough_threshold=0.15, center=True)  # fmt: skip
    n = min(ours.size, theirs.size)
    voiced = ours[:n] > 0
    assert voiced.sum() > 10
    cents = np.abs(1200 * np.log2(theirs[:n][voiced] / ours[:n][voiced]))
    assert np.median(cents) < 20 and (cents < 50).mean() > 0.85
