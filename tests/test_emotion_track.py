"""Emotion tracks: constant or time-varying, smooth transitions, blends, strict validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emote.errors import EmotionError
from emote.performance import EMOTIONS, EmotionTrack
from emote.performance.track import as_track

HAPPY, SAD, SURPRISED = EMOTIONS.index("happy"), EMOTIONS.index("sad"), EMOTIONS.index("surprised")
EXAMPLE = {
    "segments": [
        {"start": 0, "end": 2.5, "emotion": "happy", "intensity": 0.8},
        {"start": 2.5, "emotion": "sad", "intensity": 0.6, "blend": {"emotion": "surprised", "weight": 0.3}},
    ],
    "transition": 0.4,
}


def test_constant_track_holds_one_emotion_from_the_first_frame():
    w = EmotionTrack.constant("angry", 0.8).weights(np.arange(0, 10, 0.5))
    assert np.allclose(w[:, EMOTIONS.index("angry")], 0.8)
    assert np.allclose(w.sum(axis=1), 1.0)
    assert np.allclose(w[:, 0], 0.2)  # neutral takes the rest


def test_time_varying_track_with_a_blend():
    track = EmotionTrack.from_dict(EXAMPLE)
    w = track.weights(np.array([0.0, 1.0, 2.5, 4.0, 100.0]))
    assert w[0, HAPPY] == pytest.approx(0.8) and w[1, HAPPY] == pytest.approx(0.8)
    assert w[2, HAPPY] == pytest.approx(0.4) and w[2, SAD] == pytest.approx(0.5 * 0.6 * 0.7)  # mid-crossfade
    assert w[3, SAD] == pytest.approx(0.6 * 0.7) and w[3, SURPRISED] == pytest.approx(0.6 * 0.3)
    assert w[4, SAD] == pytest.approx(0.42)  # the last segment runs on
    assert track.emotion_at(1.0) == "happy" and track.emotion_at(4.0) == "sad"


def test_transitions_are_smooth_at_any_frame_rate():
    track = EmotionTrack.from_dict(EXAMPLE)
    for fps in (24, 30, 60):
        w = track.weights(np.arange(0, 5, 1 / fps))
        # a 0.4 s raised cosine moves at most pi/2 * 0.8 / 0.4 per second
        assert np.abs(np.diff(w, axis=0)).max() <= np.pi / 2 * 0.8 / 0.4 / fps + 1e-6
        change = np.abs(np.diff(w[:, HAPPY]))
        moving = np.flatnonzero(change > 1e-6) / fps
        assert moving.min() >= 2.5 - 0.2 - 1 / fps and moving.max() <= 2.5 + 0.2  # only around the boundary


def test_zero_transition_cuts():
    track = EmotionTrack.from_dict({**EXAMPLE, "transition": 0})
    w = track.weights(np.array([2.49, 2.5]))
    assert w[0, HAPPY] == pytest.approx(0.8) and w[1, HAPPY] == 0.0


def test_gaps_are_neutral():
    track = EmotionTrack.from_dict([{"start": 1, "end": 2, "emotion": "fear", "intensity": 1},
                                    {"start": 4, "end": 5, "emotion": "angry", "intensity": 1}])  # fmt: skip
    w = track.weights(np.array([0.0, 1.5, 3.0, 4.5, 7.0]))
    assert w[0, 0] == 1.0 and w[2, 0] == 1.0 and w[4, 0] == 1.0
    assert w[1, EMOTIONS.index("fear")] == 1.0 and w[3, EMOTIONS.index("angry")] == 1.0


def test_short_segments_blend_without_overshoot():
    track = EmotionTrack.from_dict({"segments": [{"start": 0, "end": 0.1, "emotion": "happy"},
                                                 {"start": 0.1, "end": 0.2, "emotion": "sad"}],
                                    "transition": 0.5})  # fmt: skip
    w = track.weights(np.linspace(-1, 2, 301))
    assert w.min() >= 0 and w.max() <= 1
    assert np.allclose(w.sum(axis=1), 1.0, atol=1e-6)


def test_round_trip_through_dict_and_json(tmp_path):
    track = EmotionTrack.from_dict(EXAMPLE)
    assert EmotionTrack.from_dict(track.to_dict()) == track
    path = tmp_path / "track.json"
    path.write_text(json.dumps(track.to_dict()))
    assert EmotionTrack.from_json(path) == track
    assert json.loads(json.dumps(track.to_dict())) == track.to_dict()


def test_aliases_and_unordered_segments_are_accepted():
    track = EmotionTrack.from_dict(
        [{"start": 2, "emotion": "Anger"}, {"start": 0, "end": 2, "emotion": "joy"}]
    )
    assert [s.emotion for s in track.segments] == ["happy", "angry"]
    assert as_track("surprise").segments[0].emotion == "surprised"
    assert as_track(None).segments[0].emotion == "neutral"


@pytest.mark.parametrize(
    "data,message",
    [
        ([{"start": 0, "emotion": "grumpy"}], r"segment 1: unknown emotion 'grumpy'; choose one of neutral"),
        (
            [{"start": 0, "emotion": "happy", "intensity": 1.5}],
            r"segment 1: intensity 1.5 is outside \[0, 1\]",
        ),
        ([{"start": 0, "emotion": "happy", "intensity": -0.1}], r"intensity -0.1 is outside"),
        ([{"start": 3, "end": 1, "emotion": "happy"}], r"segment 1: end 1 is not after start 3"),
        (
            [{"start": 0, "end": 3, "emotion": "happy"}, {"start": 2, "emotion": "sad"}],
            r"segments 1 and 2 overlap \(1 ends at 3, 2 starts at 2\)",
        ),
        ([{"start": -1, "emotion": "happy"}], r"start -1 is negative"),
        ([{"start": 0, "emotion": "happy", "intesity": 0.5}], r"unknown key\(s\) 'intesity'"),
        ([{"emotion": "happy"}], r"segment 1: missing 'start'"),
        ([{"start": "0", "emotion": "happy"}], r"start must be a finite number"),
        (
            [{"start": 0, "emotion": "happy", "blend": {"emotion": "sad", "weight": 2}}],
            r"blend weight 2 is outside",
        ),
        ({"segments": [], "transition": 0.3}, r"no segments"),
        ({"segments": [{"start": 0, "emotion": "happy"}], "transition": -1}, r"transition must be >= 0"),
        ({"segs": []}, r"unknown key"),
        ("happy", r"must be an object"),
    ],
)
def test_invalid_tracks_name_the_problem(data, message):
    with pytest.raises(EmotionError, match=message):
        EmotionTrack.from_dict(data)


def test_constant_refuses_out_of_range_intensity():
    with pytest.raises(EmotionError, match="intensity 2 is outside"):
        EmotionTrack.constant("happy", 2)


def test_bad_files_name_the_file(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(EmotionError, match=r"nope\.json: no such file"):
        EmotionTrack.from_json(missing)
    broken = tmp_path / "broken.json"
    broken.write_text('{"segments": [')
    with pytest.raises(EmotionError, match=r"broken\.json: not valid JSON"):
        EmotionTrack.from_json(broken)
    binary = tmp_path / "track.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    with pytest.raises(EmotionError, match=r"track\.json: "):
        EmotionTrack.from_json(binary)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([{"start": 0, "emotion": "happy", "intensity": 3}]))
    with pytest.raises(EmotionError, match=r"wrong\.json: segment 1: intensity 3 is outside"):
        EmotionTrack.from_json(wrong)
