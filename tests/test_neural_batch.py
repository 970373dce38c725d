"""The neural engine's batched path (``animate_neural_batch``, what benchmarks/speed_gpu.py times)
gives the engine's curves, clip by clip."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from emote.audio.io import load_audio
from emote.engines.neural import animate_neural, animate_neural_batch, load
from emote.nn.features import speech_features


@pytest.fixture(scope="module")
def clips(speech_dir):
    """Three cuts of cold_corpus.wav, 9, 6 and 4 s (different lengths: the batch pads them)."""
    y = load_audio(speech_dir / "cold_corpus.wav").samples
    return [y[: 9 * 16000], y[: 6 * 16000], y[2 * 16000 : 6 * 16000]]


def test_batched_curves_are_the_engines_curves_but_for_the_padded_tail(clips):
    cfg = load().config
    fps = 30.0
    n_frames = [int(np.ceil(y.size / 16000 * fps)) + 1 for y in clips]
    features = [speech_features(y, sr=16000, settings=cfg.features) for y in clips]
    timings: dict[str, float] = {}
    batched = animate_neural_batch(features, n_frames, fps=fps, track="happy", batch_size=3, timings=timings)
    one_by_one = animate_neural_batch(features, n_frames, fps=fps, track="happy", batch_size=1)
    assert set(timings) == {"inputs", "to_device", "network", "from_device", "curves"}
    for y, n, b, o in zip(clips, n_frames, batched, one_by_one, strict=True):
        engine = animate_neural(y, 16000, fps=fps, n_frames=n, track="happy")
        assert b.shape == engine.shape == (n, 61)
        np.testing.assert_allclose(o, engine, atol=1e-5)  # batch of one: no padding, the same curves
        tail = int(2.0 * fps)  # the network's receptive field reaches 1.8 s either side
        np.testing.assert_allclose(b[:-tail], engine[:-tail], atol=1e-4)
    # The longest clip is not padded; a shorter one's last 2 s hear the padding.
    np.testing.assert_allclose(batched[0], one_by_one[0], atol=1e-5)
    assert np.abs(batched[1][-tail:] - one_by_one[1][-tail:]).max() > 1e-4


def test_batch_refuses_mismatched_inputs_and_passes_empty_clips_through(clips):
    cfg = load().config
    f = speech_features(clips[2], sr=16000, settings=cfg.features)
    with pytest.raises(ValueError, match="2 feature arrays for 1 frame counts"):
        animate_neural_batch([f, f], [10], fps=30)
    out = animate_neural_batch([f, f], [0, 12], fps=30)
    assert out[0].shape == (0, 61) and out[1].shape == (12, 61)


def test_gpu_benchmarks_pipeline_on_cpu_gives_the_engines_features_and_all_the_audio(clips, tmp_path):
    """benchmarks/speed_gpu.py's end-to-end path (process pool, batched network), on CPU and two clips."""
    import soundfile as sf

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import speed_gpu

    paths = []
    for k, y in enumerate(clips[1:]):
        paths.append(tmp_path / f"clip{k}.wav")
        sf.write(paths[-1], y, 16000, subtype="FLOAT")
    report, features = speed_gpu.end_to_end(paths, device="cpu", batch=2, workers=1, repeat=2)
    assert report["clips"] == 4 and report["distinct_clips"] == 2
    assert report["audio_seconds"] == pytest.approx(2 * sum(y.size for y in clips[1:]) / 16000)
    assert set(report["stages"]) >= {"features (pool)", "network", "curves"}
    assert report["x_real_time"] > 0
    cfg = load().config
    for f, y in zip(features, clips[1:], strict=True):
        np.testing.assert_array_equal(f, speech_features(y, sr=16000, settings=cfg.features))


def test_a_lookahead_model_gives_each_clip_its_own_curves_in_any_batch(clips):
    """The look-ahead network is causal and holds a clip's last feature row past its end: the
    quiet fill :func:`network_inputs` ends every clip with, the batch's padding too."""
    model = load("multilingual")
    assert model.config.lookahead
    fps = 30.0
    n_frames = [int(np.ceil(y.size / 16000 * fps)) + 1 for y in clips]
    features = [speech_features(y, sr=16000, settings=model.config.features) for y in clips]
    kw = {"fps": fps, "track": "happy", "checkpoint": "multilingual"}
    batched = animate_neural_batch(features, n_frames, batch_size=3, **kw)
    for y, n, b in zip(clips, n_frames, batched, strict=True):
        engine = animate_neural(y, 16000, fps=fps, n_frames=n, track="happy", checkpoint="multilingual")
        np.testing.assert_allclose(b, engine, atol=1e-4)
