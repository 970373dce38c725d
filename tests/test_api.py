"""`emote.animate` end to end on real speech: shapes, metadata, lip-sync and emotion."""

from __future__ import annotations

import numpy as np
import pytest

import emote
from emote.animation import N_CHANNELS
from emote.errors import EmoteError
from emote.performance import PerformanceSettings

EMOTIONS = ("neutral", "happy", "sad", "surprised", "fear", "disgusted", "angry", "contempt")


@pytest.fixture(scope="module")
def bobby(speech_dir):
    return speech_dir / "bobby.wav", speech_dir / "bobby_phones.TextGrid"


def closure(anim, textgrid) -> float:
    from emote.audio.timings import read_textgrid
    from emote.eval.metrics import bilabial_closure, lip_gap_proxy

    phones = read_textgrid(textgrid).phones
    return bilabial_closure(lip_gap_proxy(anim.curves), fps=anim.fps, phones=phones)


def test_result_has_one_frame_per_period_and_full_metadata(bobby):
    wav, grid = bobby
    anim = emote.animate(
        wav, timings=grid, emotion="angry", intensity=0.8, fps=60, performance=PerformanceSettings(seed=3)
    )
    assert anim.curves.shape == (anim.n_frames, N_CHANNELS)
    assert anim.curves.dtype == np.float32
    # frames cover the clip with both ends included: the last frame is at or just after its end
    audio_end = anim.metadata["audio_duration"]
    assert (anim.n_frames - 2) / 60 < audio_end <= (anim.n_frames - 1) / 60
    meta = anim.metadata
    assert meta["engine"] == "phonetic" and meta["seed"] == 3 and meta["audio"] == str(wav)
    assert meta["emotion_track"]["segments"][0]["emotion"] == "angry"
    assert meta["version"] == emote.__version__
    assert anim.blendshapes.min() >= 0 and anim.blendshapes.max() <= 1


def test_bilabials_close_on_bobby_with_its_phone_timings(bobby):
    wav, grid = bobby
    assert closure(emote.animate(wav, timings=grid), grid) >= 0.9


@pytest.mark.parametrize("emotion", EMOTIONS[1:])
def test_every_emotion_keeps_bilabial_closure_within_5_points_of_neutral(bobby, emotion):
    wav, grid = bobby
    neutral = closure(emote.animate(wav, timings=grid), grid)
    emotional = closure(emote.animate(wav, timings=grid, emotion=emotion, intensity=1.0), grid)
    assert abs(emotional - neutral) <= 0.05


def test_transcript_and_recognition_both_find_the_bilabials(bobby):
    wav, grid = bobby
    aligned = emote.animate(wav, text="bobby ripped the ledger")
    assert aligned.metadata["phones_source"] == "alignment"
    assert closure(aligned, grid) >= 0.9
    recognised = emote.animate(wav, use_transcript_file=False)
    assert recognised.metadata["phones_source"] == "recognition"
    assert recognised.metadata["n_phones"] > 5


def test_same_seed_same_animation_other_seed_other_blinks(bobby):
    wav, grid = bobby
    a = emote.animate(wav, timings=grid, performance=PerformanceSettings(seed=1))
    b = emote.animate(wav, timings=grid, performance=PerformanceSettings(seed=1))
    c = emote.animate(wav, timings=grid, performance=PerformanceSettings(seed=2))
    np.testing.assert_array_equal(a.curves, b.curves)
    assert not np.array_equal(a.curves, c.curves)


def test_switching_off_the_performance_layer(bobby):
    wav, grid = bobby
    still = emote.animate(
        wav, timings=grid, performance=PerformanceSettings(blinks=False, gaze=False, head=False)
    )
    assert np.abs(still.pose).max() == 0.0
    assert still.channel("EyeBlinkLeft").max() == 0.0


def test_long_files_go_in_chunks_without_loading_whole(monkeypatch, tmp_path, bobby):
    import soundfile as sf

    import emote.api
    import emote.audio.io

    wav, _ = bobby
    y, sr = sf.read(wav, dtype="float32")
    long = tmp_path / "long.wav"
    sf.write(long, np.tile(y, 6), sr)
    whole = emote.animate(long, use_transcript_file=False)

    monkeypatch.setattr(emote.api, "LONG_AUDIO_SECONDS", 3.0)
    monkeypatch.setattr(emote.api, "CHUNK_SECONDS", 2.5)

    def refuse(*a, **k):
        raise AssertionError("a long file must not be loaded whole")

    monkeypatch.setattr(emote.audio.io, "load_audio", refuse)
    chunked = emote.animate(long, use_transcript_file=False)
    assert chunked.n_frames == whole.n_frames
    # the chunked run finds speech movement all along the file
    jaw = chunked.channel("JawOpen")
    assert all(jaw[i : i + 60].max() > 0.05 for i in range(0, chunked.n_frames - 60, 60))


def test_chunk_joins_keep_every_frame_at_its_time(monkeypatch, tmp_path, bobby):
    """Chunks are half-open frame ranges read from frame-aligned samples (emote.animation.frames):
    joined, they give the clip's frame count and each frame's pitch where the whole file has it."""
    import soundfile as sf

    import emote.api
    from emote.audio.convert import n_frames_for

    wav, _ = bobby
    y, sr = sf.read(wav, dtype="float32")
    long = tmp_path / "long.wav"
    sf.write(long, np.tile(y, 4), sr)
    whole = emote.api.analyse(long, recognise=False, use_transcript_file=False)
    monkeypatch.setattr(emote.api, "LONG_AUDIO_SECONDS", 3.0)
    monkeypatch.setattr(emote.api, "CHUNK_SECONDS", 2.5)
    chunked = emote.api.analyse(long, recognise=False, use_transcript_file=False)
    assert chunked.n_frames == whole.n_frames == n_frames_for(duration=whole.duration, fps=30)
    joins = np.arange(75, whole.n_frames, 75)  # 2.5 s chunks at 30 fps
    far = np.array([np.abs(joins - i).min() > 3 for i in range(whole.n_frames)])
    assert (whole.pitch[far] > 0).mean() > 0.3  # voiced frames to compare
    np.testing.assert_allclose(chunked.pitch[far], whole.pitch[far], atol=1e-3)


def test_bad_settings_fail_before_decoding(tmp_path):
    missing = tmp_path / "never-read.wav"
    with pytest.raises(EmoteError, match="grumpy"):
        emote.animate(missing, emotion="grumpy")
    with pytest.raises(EmoteError, match="fps"):
        emote.animate(missing, fps=-1)


def test_the_neural_engine_animates_with_closure_and_keeps_the_performance_layer(bobby):
    wav, grid = bobby
    anim = emote.animate(wav, engine="neural", emotion="happy", performance=PerformanceSettings(seed=4))
    assert anim.metadata["engine"] == "neural"
    assert closure(anim, grid) >= 0.9
    # the expression comes from the network, blinks and head motion from the performance layer
    assert anim.channel("MouthSmileLeft").mean() > 0.1
    assert np.abs(anim.channel("HeadYaw")).max() > 0


def test_the_neural_engine_without_a_transcript_skips_phone_recognition(bobby, monkeypatch):
    import importlib

    from emote.api import analyse, perform_speech

    wav, _ = bobby
    recognize = importlib.import_module("emote.audio.recognize")
    monkeypatch.setattr(recognize, "recognize", lambda **k: pytest.fail("recognised phones for the network"))
    anim = emote.animate(wav, engine="neural", emotion="sad")
    assert anim.metadata["phones_source"] == "none" and anim.metadata["engine"] == "neural"
    speech = analyse(wav, recognise=False)
    assert speech.phones == [] and speech.source == "none"
    with pytest.raises(EmoteError, match="without phones"):
        perform_speech(speech, engine="phonetic")


def test_unknown_engine_is_refused(tmp_path):
    with pytest.raises(EmoteError, match="phonetic, neural"):
        emote.animate(tmp_path / "x.wav", engine="magic")


def test_the_old_performance_keywords_still_work_with_a_deprecation_warning(bobby):
    wav, grid = bobby
    new = emote.animate(wav, timings=grid, performance=PerformanceSettings(seed=5, blinks=False, head=False))
    with pytest.warns(DeprecationWarning, match=r"animate\(seed=, blinks=, head_motion=\) is deprecated"):
        old = emote.animate(wav, timings=grid, seed=5, blinks=False, head_motion=False)
    np.testing.assert_array_equal(old.curves, new.curves)
    assert old.metadata["seed"] == new.metadata["seed"] == 5
    assert old.metadata["settings"] == new.metadata["settings"]
    assert new.metadata["settings"] == {"blinks": False, "gaze": True, "head_motion": False}
    with pytest.raises(TypeError, match="unexpected keyword argument 'blink'"):
        emote.animate(wav, timings=grid, blink=False)
