"""The neural engine with the shipped model, and the `emote eval`, `emote data`, `emote train` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emote.animation import FaceAnimation
from emote.animation.channels import INDEX, N_ARKIT, POSE_NAMES, indices
from emote.audio.convert import n_frames_for
from emote.audio.io import load_audio
from emote.audio.timings import read_timings
from emote.engines.neural import animate_neural, find_checkpoint, load
from emote.errors import EmoteError
from emote.eval import evaluate

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "emote_tts.pt"


@pytest.fixture(scope="module")
def bobby(speech_dir):
    audio = load_audio(speech_dir / "bobby.wav")
    phones = read_timings(speech_dir / "bobby_phones.TextGrid").phones
    return audio.samples, audio.sr, phones


def test_shipped_model_loads_and_closes_the_lips_on_bobbys_bilabials(bobby):
    y, sr, phones = bobby
    n = n_frames_for(duration=y.size / sr, fps=30)
    curves = animate_neural(y, sr, fps=30, n_frames=n, checkpoint=SHIPPED)
    m = evaluate(curves, 30, phones)
    assert m["bilabial_closure"] == 1.0
    assert m["open_closed_contrast"] > 3.0


def test_neural_curves_have_the_asked_frames_valid_ranges_and_no_procedural_parts(bobby):
    y, sr, _ = bobby
    for fps in (24.0, 60.0):
        n = n_frames_for(duration=y.size / sr, fps=fps)
        c = animate_neural(y, sr, fps=fps, n_frames=n, track="surprised", checkpoint=SHIPPED)
        assert c.shape == (n, 61) and c.dtype == np.float32
        assert c[:, :N_ARKIT].min() >= 0 and c[:, :N_ARKIT].max() <= 1
        assert (c[:, INDEX["MouthClose"]] <= c[:, INDEX["JawOpen"]] + 1e-6).all()
        # Blinks, gaze and head motion are the performance layer's, not the network's.
        assert not c[:, indices(["EyeBlinkLeft", "EyeLookUpLeft", *POSE_NAMES])].any()


def test_the_emotion_condition_reaches_the_upper_face(bobby):
    y, sr, _ = bobby
    n = n_frames_for(duration=y.size / sr, fps=30)
    face = {e: animate_neural(y, sr, fps=30, n_frames=n, track=e, checkpoint=SHIPPED).mean(axis=0)
            for e in ("neutral", "sad", "surprised", "angry")}  # fmt: skip
    assert face["sad"][INDEX["BrowInnerUp"]] > face["neutral"][INDEX["BrowInnerUp"]] + 0.3
    assert face["surprised"][INDEX["EyeWideLeft"]] > face["neutral"][INDEX["EyeWideLeft"]] + 0.3
    assert face["angry"][INDEX["BrowDownLeft"]] > face["neutral"][INDEX["BrowDownLeft"]] + 0.3


def test_an_emotion_track_changes_the_face_mid_clip(bobby):
    y, sr, _ = bobby
    n = n_frames_for(duration=y.size / sr, fps=30)
    track = {
        "segments": [{"start": 0, "emotion": "neutral"}, {"start": 0.6, "emotion": "sad"}],
        "transition": 0.1,
    }
    brow = animate_neural(y, sr, fps=30, n_frames=n, track=track, checkpoint=SHIPPED)[:, INDEX["BrowInnerUp"]]
    assert brow[:12].mean() < 0.2 < 0.5 < brow[-8:].mean()


def test_a_missing_model_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTE_CHECKPOINT", str(tmp_path / "none.pt"))
    assert find_checkpoint() == tmp_path / "none.pt"
    with pytest.raises(EmoteError, match=r"none\.pt: model file not found"):
        load()


def test_eval_command_measures_an_animation_against_a_textgrid(bobby, speech_dir, tmp_path, capsys):
    from emote.cli.main import main

    y, sr, _ = bobby
    n = n_frames_for(duration=y.size / sr, fps=30)
    FaceAnimation(30.0, animate_neural(y, sr, fps=30, n_frames=n, checkpoint=SHIPPED), {}).save(
        tmp_path / "b.json"
    )
    assert (
        main(
            [
                "eval",
                str(tmp_path / "b.json"),
                "--phones",
                str(speech_dir / "bobby_phones.TextGrid"),
                "--json",
            ]
        )
        == 0
    )
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["bilabial_closure"] == 1.0 and metrics["blinks"] == 0


def test_data_and_train_commands_are_registered(capsys):
    from emote.cli.main import build_parser

    help_text = build_parser().format_help()
    assert "data" in help_text and "train" in help_text and "eval" in help_text
