"""The neural engine with the shipped model, and the `emote eval`, `emote data`, `emote train` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emote.animation import FaceAnimation
from emote.animation.channels import INDEX, N_ARKIT, N_CHANNELS, POSE_NAMES, indices
from emote.audio.convert import n_frames_for
from emote.audio.io import load_audio
from emote.audio.timings import read_timings
from emote.engines.neural import (
    ClosureSettings,
    animate_neural,
    bilabial_lock,
    find_checkpoint,
    load,
    phone_lock,
)
from emote.errors import EmoteError
from emote.eval import evaluate, lip_gap_proxy
from emote.performance import PerformanceSettings
from emote.performance.compose import articulation_lock, close_lips

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


def test_shipped_model_reads_phone_posteriors_and_its_closure_pass_only_closes(bobby):
    y, sr, phones = bobby
    assert load(SHIPPED).config.features.phones
    n = n_frames_for(duration=y.size / sr, fps=30)
    network = animate_neural(y, sr, fps=30, n_frames=n, checkpoint=SHIPPED, closures=None)
    closed = animate_neural(y, sr, fps=30, n_frames=n, checkpoint=SHIPPED)
    assert np.all(lip_gap_proxy(closed) <= lip_gap_proxy(network) + 1e-4)
    changed = np.flatnonzero(np.abs(closed - network).max(axis=1) > 1e-6) / 30
    bilabials = [p for p in phones if p.label in ("B", "P", "M")]
    assert changed.size and all(any(p.start - 0.15 <= t <= p.end + 0.15 for p in bilabials) for t in changed)


def test_bilabial_lock_holds_each_confident_run_and_eases_out():
    post = np.zeros(100)
    post[40:43] = 0.9  # 0.80–0.86 s
    post[70] = 0.3  # under the threshold: no closure
    s = ClosureSettings(threshold=0.5, latency=0.03, half=0.035, ramp=0.04)
    times = np.arange(0, 2.0, 0.005)
    lock = bilabial_lock(post, times, s)
    centre = 0.5 * (40 + 42) * 0.02 - 0.03
    assert np.all(lock[np.abs(times - centre) <= 0.03] == 1.0)
    assert np.all(lock[np.abs(times - centre) >= 0.035 + 0.04 + 1e-6] == 0.0)
    assert lock[times > 1.2].max() == 0.0
    rising = lock[(times > centre - 0.08) & (times < centre)]
    assert np.all(np.diff(rising) >= 0) and 0 < rising[3] < 1


def test_the_same_audio_is_featurised_once_for_several_emotions(bobby, monkeypatch):
    import emote.nn.features as features

    y, sr, _ = bobby
    calls = []
    real = features.speech_features
    monkeypatch.setattr(features, "speech_features", lambda *a, **k: calls.append(1) or real(*a, **k))
    y = y + np.float32(1e-4)  # audio no earlier test has animated
    faces = [
        animate_neural(y, sr, fps=30, n_frames=20, track=e, checkpoint=SHIPPED) for e in ("happy", "sad")
    ]
    assert len(calls) == 1 and not np.allclose(faces[0], faces[1])
    animate_neural(y[::-1].copy(), sr, fps=30, n_frames=20, checkpoint=SHIPPED)
    assert len(calls) == 2  # other audio: featurised again


def test_phone_lock_holds_known_bilabials_and_ignores_the_rest():
    from emote.audio.phones import Phone

    phones = [Phone(0.0, 0.5, "AA"), Phone(0.5, 0.52, "B"), Phone(0.52, 1.0, "IY"), Phone(1.0, 1.2, "M")]
    times = np.arange(0, 1.5, 0.01)
    lock = phone_lock(phones, times, ClosureSettings(half=0.035, ramp=0.04))
    assert lock[51] == 1.0 and np.all(lock[(times > 1.0) & (times < 1.2)] == 1.0)  # a short /b/ still held
    assert lock[25] == 0.0 and lock[75] == 0.0 and lock[140] == 0.0
    # A chunk that starts just after a short /b/ still holds its widened closure at its first frame.
    short = [Phone(0.5, 0.505, "B")]  # held 0.4675–0.5375, eased out by 0.5775
    later = phone_lock(short, np.arange(0.55, 1.0, 0.01), ClosureSettings(half=0.035, ramp=0.04))
    assert later[0] > 0.5 and later[-1] == 0.0


def test_neural_engine_closes_the_lips_on_the_users_phone_timings(speech_dir, tmp_path):
    import emote

    phones = read_timings(speech_dir / "bobby_phones.TextGrid").phones
    vowel = next(p for p in phones if p.label == "AA")
    # Timings that put an /m/ where the speaker says "aa": only the timings can close the lips there.
    csv = tmp_path / "bobby.csv"
    csv.write_text("start,end,phone\n" + "".join(
        f"{p.start},{p.end},{'M' if p is vowel else p.label}\n" for p in phones))  # fmt: skip
    options = dict(
        engine="neural", fps=30, performance=PerformanceSettings(blinks=False, gaze=False, head=False)
    )
    told = lip_gap_proxy(emote.animate(speech_dir / "bobby.wav", timings=csv, **options).curves)
    heard = lip_gap_proxy(emote.animate(speech_dir / "bobby.wav", **options).curves)
    frames = np.arange(int(np.ceil(vowel.start * 30)), int(vowel.end * 30) + 1)
    assert told[frames].max() < 0.5 and heard[frames].max() > 3.0


def test_close_lips_shuts_the_mouth_where_locked_and_leaves_the_rest():
    curves = np.zeros((10, N_CHANNELS), np.float32)
    curves[:, INDEX["JawOpen"]] = 0.5
    curves[:, INDEX["MouthLowerDownLeft"]] = curves[:, INDEX["MouthLowerDownRight"]] = 0.3
    curves[:, INDEX["MouthSmileLeft"]] = 0.4
    lock = np.array([0, 0, 0.5, 1, 1, 1, 0.5, 0, 0, 0], np.float32)
    out = close_lips(curves, lock)
    gap = lip_gap_proxy(out)
    assert np.all(gap[lock == 1] < 0.5) and np.all(gap[lock == 0] == lip_gap_proxy(curves)[lock == 0])
    assert gap[2] < gap[0]
    np.testing.assert_array_equal(out[:, INDEX["MouthSmileLeft"]], curves[:, INDEX["MouthSmileLeft"]])
    assert np.all(articulation_lock(out)[lock == 1] == 1.0)  # an emotion added later keeps the closure


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


def test_a_shipped_model_is_found_by_name_and_a_typo_names_the_shipped_ones(monkeypatch):
    monkeypatch.delenv("EMOTE_CHECKPOINT", raising=False)
    assert find_checkpoint("multilingual").name == "emote_multilingual.pt"
    assert find_checkpoint("tts") == find_checkpoint()
    with pytest.raises(
        EmoteError, match=r"multilingal: model file not found \(shipped models: tts, multilingual\)"
    ):
        load("multilingal")


def test_animate_with_the_multilingual_model_reads_that_model(speech_dir, tmp_path):
    from emote.api import animate

    line = speech_dir / "bobby.wav"
    default = animate(
        line, engine="neural", performance=PerformanceSettings(blinks=False, gaze=False, head=False)
    )
    other = animate(
        line, engine="neural", model="multilingual",
        performance=PerformanceSettings(blinks=False, gaze=False, head=False),
    )  # fmt: skip
    assert default.curves.shape == other.curves.shape
    assert np.abs(default.curves - other.curves).max() > 0.05  # another network, other curves


def test_a_language_other_than_english_gets_the_multilingual_model_by_default(speech_dir, monkeypatch):
    from emote.api import animate

    monkeypatch.delenv("EMOTE_CHECKPOINT", raising=False)
    still = PerformanceSettings(blinks=False, gaze=False, head=False)
    line = speech_dir / "13697_11991_000000.opus"  # the Spanish clip
    spanish = animate(line, engine="neural", language="es", use_transcript_file=False, performance=still)
    told = animate(line, engine="neural", language="es", model="multilingual", use_transcript_file=False,
                   performance=still)  # fmt: skip
    unnamed = animate(line, engine="neural", use_transcript_file=False, performance=still)
    assert (
        spanish.metadata["model"] == "emote_multilingual.pt" and unnamed.metadata["model"] == "emote_tts.pt"
    )
    np.testing.assert_array_equal(spanish.curves, told.curves)
    assert np.abs(spanish.curves - unnamed.curves).max() > 0.05


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "phonetic", "--model", "multilingual"], "only read by the neural engine"),
        (["--engine", "neural", "--model", "nosuch"], "nosuch: model file not found"),
    ],
)
def test_animate_command_refuses_a_model_it_cannot_use_before_reading_audio(
    speech_dir, tmp_path, capsys, args, message
):
    from emote.cli.main import main

    assert main(["animate", str(speech_dir / "bobby.wav"), "--out", str(tmp_path / "out"), *args]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


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
