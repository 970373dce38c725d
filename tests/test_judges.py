"""Judges independent of training: lip gap on the posed mesh, and the FACS rule emotion judge."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import RIGS_DATA

from emote.animation.channels import N_CHANNELS, index
from emote.eval import evaluate
from emote.eval.facs import judge_emotion
from emote.eval.mesh import MeshJudge
from emote.performance.compose import apply_emotion
from emote.performance.emotions import EMOTIONS
from emote.rigs.posing import lip_gap_mm, mouth_width_mm
from emote.rigs.registry import load_rig

ICT = RIGS_DATA / "ict-facekit"


@pytest.fixture(scope="module", params=["default", "ict-facekit"])
def rig(request):
    if request.param == "default":
        return load_rig("default")
    if not (ICT / "FaceXModel").is_dir():
        pytest.skip(f"test material not found at {ICT}")
    return load_rig("ict-facekit", rig_path=ICT)


def frames(**weights: float) -> np.ndarray:
    c = np.zeros((1, N_CHANNELS), np.float32)
    for name, w in weights.items():
        c[0, index(name)] = w
    return c


def test_mesh_judge_measures_what_full_posing_gives(rig):
    rng = np.random.default_rng(3)
    curves = rng.uniform(-0.2, 1.2, (12, N_CHANNELS)).astype(np.float32)
    curves[:, 52:] = 0.0
    posed = rig.pose(curves)
    judge = MeshJudge(rig)
    np.testing.assert_allclose(judge.lip_gap(curves), lip_gap_mm(rig, posed).numpy(), atol=1e-3)
    np.testing.assert_allclose(judge.mouth_width(curves), mouth_width_mm(rig, posed).numpy(), atol=1e-3)


def test_mesh_gap_is_closed_at_rest_open_with_the_jaw_and_closed_again_by_mouthclose(rig):
    judge = MeshJudge(rig)
    rest = judge.lip_gap(frames())[0]
    jaw = judge.lip_gap(frames(JawOpen=1.0))[0]
    sealed = judge.lip_gap(frames(JawOpen=1.0, MouthClose=1.0))[0]
    assert rest < 1.5 and sealed < 1.5
    assert 15.0 < jaw < 60.0
    assert judge.mouth_width(frames(MouthPucker=1.0))[0] < judge.mouth_width(frames())[0]


def test_mesh_closure_metric_counts_a_bilabial_only_when_the_mesh_lips_meet():
    judge = MeshJudge(load_rig("default"))
    fps, n = 50.0, 100
    curves = np.zeros((n, N_CHANNELS), np.float32)
    curves[:, index("JawOpen")] = 0.5
    curves[40:60, index("MouthClose")] = 0.5  # lips sealed over the /m/
    phones = [SimpleNamespace(start=0.0, end=0.8, label="aa"), SimpleNamespace(start=0.8, end=1.2, label="m"),
              SimpleNamespace(start=1.2, end=2.0, label="aa")]  # fmt: skip
    m = evaluate(curves, fps, phones, gap_fn=judge.lip_gap, width_fn=judge.mouth_width)
    assert m["bilabial_closure"] == 1.0
    assert m["open_closed_contrast"] > 10.0
    curves[40:60, index("MouthClose")] = 0.3  # not quite shut
    m = evaluate(curves, fps, phones, gap_fn=judge.lip_gap, width_fn=judge.mouth_width)
    assert m["bilabial_closure"] == 0.0


def test_mesh_judge_rejects_a_rig_without_lip_probes():
    rig = load_rig("default")
    rig.probes = {k: v for k, v in rig.probes.items() if k != "lower_lip"}
    with pytest.raises(ValueError, match="lower_lip"):
        MeshJudge(rig)


def speech_curves(n: int = 150) -> np.ndarray:
    """Talking-like mouth motion: jaw, lip lowering and stretching at syllable rate, a press now and then."""
    t = np.arange(n) / 50.0
    c = np.zeros((n, N_CHANNELS), np.float32)
    c[:, index("JawOpen")] = 0.25 * (1 + np.sin(2 * np.pi * 4 * t))
    for side in ("Left", "Right"):
        c[:, index("MouthLowerDown" + side)] = 0.2 * (1 + np.sin(2 * np.pi * 5 * t))
        c[:, index("MouthStretch" + side)] = 0.3 * (np.sin(2 * np.pi * 3 * t) > 0.6)
        c[:, index("MouthPress" + side)] = 0.5 * (np.sin(2 * np.pi * 2 * t) > 0.8)
    return c


@pytest.mark.parametrize("intensity", [1.0, 0.5])
def test_facs_judge_reads_every_emotion_over_speech(intensity):
    speech = speech_curves()
    for k, emotion in enumerate(EMOTIONS):
        w = np.zeros((len(speech), len(EMOTIONS)), np.float32)
        w[:, k] = intensity if k else 1.0
        assert judge_emotion(apply_emotion(speech, w)).label == emotion, emotion


def test_facs_judge_calls_speech_alone_neutral_and_tells_a_smirk_from_a_smile():
    speech = speech_curves()
    assert judge_emotion(speech).label == "neutral"
    smile = speech.copy()
    smile[:, [index("MouthSmileLeft"), index("MouthSmileRight")]] = 0.6
    smile[:, [index("CheekSquintLeft"), index("CheekSquintRight")]] = 0.4
    assert judge_emotion(smile).label == "happy"
    smirk = speech.copy()
    smirk[:, index("MouthSmileLeft")] = 0.4
    smirk[:, index("MouthDimpleLeft")] = 0.5
    assert judge_emotion(smirk).label == "contempt"


def test_facs_judge_needs_a_held_expression_not_a_flash():
    c = speech_curves()
    c[:10, [index("BrowDownLeft"), index("BrowDownRight")]] = 0.9  # a 0.2 s frown in a 3 s clip
    c[:10, [index("EyeSquintLeft"), index("EyeSquintRight")]] = 0.6
    assert judge_emotion(c).label == "neutral"
