"""Property-based tests (hypothesis) for the parsers and FaceAnimation round trips.

Two kinds of property: what is written reads back the same (phone CSVs, TextGrids,
emotion tracks, every curve format), and *any* input makes a parser either succeed
or raise its one error class — never another exception.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from emote.animation import FaceAnimation
from emote.audio.phones import Alignment, Phone
from emote.audio.timings import read_phone_csv, read_textgrid, write_phone_csv, write_textgrid
from emote.batch import ManifestError
from emote.batch.manifest import _Bad, _output_name, read_manifest
from emote.errors import EmoteError, EmotionError, FormatError, TranscriptError
from emote.export import read, write
from emote.performance import EMOTIONS, EmotionTrack
from emote.phonetics.labels import ARPABET

pytestmark = pytest.mark.timeout(300)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def scratch() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="emote-prop-")


# -- phone timings -------------------------------------------------------------------------------------


@st.composite
def alignments(draw) -> Alignment:
    """Speech phones in time order, with gaps (silence) between some, times on a 1 ms grid."""
    n = draw(st.integers(1, 25))
    t = draw(st.integers(0, 500))
    phones = []
    for _ in range(n):
        t += draw(st.sampled_from([0, 0, 0, 40, 250]))
        length = draw(st.integers(10, 400))
        phones.append(Phone(t / 1000, (t + length) / 1000, draw(st.sampled_from(ARPABET))))
        t += length
    return Alignment(phones, [], "test")


def speech_of(alignment: Alignment) -> list[tuple[float, float, str]]:
    return [(round(p.start, 6), round(p.end, 6), p.label) for p in alignment.speech]


@SETTINGS
@given(alignments())
def test_phone_csv_round_trips(alignment):
    with scratch() as folder:
        path = write_phone_csv(alignment, Path(folder) / "phones.csv")
        assert speech_of(read_phone_csv(path)) == speech_of(alignment)


@SETTINGS
@given(alignments())
def test_textgrid_round_trips(alignment):
    with scratch() as folder:
        path = write_textgrid(alignment, Path(folder) / "phones.TextGrid")
        assert speech_of(read_textgrid(path)) == speech_of(alignment)


@SETTINGS
@given(st.text(max_size=400) | st.binary(max_size=400).map(lambda b: b.decode("latin-1")))
def test_any_text_as_a_phone_csv_reads_or_raises_a_transcript_error(text):
    with scratch() as folder:
        path = Path(folder) / "phones.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            read_phone_csv(path)
        except TranscriptError as err:
            assert "\n" not in str(err)


@SETTINGS
@given(st.binary(max_size=600))
def test_any_bytes_as_a_textgrid_read_or_raise_a_transcript_error(data):
    with scratch() as folder:
        path = Path(folder) / "x.TextGrid"
        path.write_bytes(b'File type = "ooTextFile"\nObject class = "TextGrid"\n' + data)
        with contextlib.suppress(TranscriptError):
            read_textgrid(path)


# -- emotion tracks ---------------------------------------------------------------------------------------


@st.composite
def tracks(draw) -> dict:
    n = draw(st.integers(1, 6))
    t, segments = 0.0, []
    for _ in range(n):
        t += draw(st.sampled_from([0.0, 0.5, 1.25]))
        segment = {"start": t, "emotion": draw(st.sampled_from(EMOTIONS)), "intensity": draw(st.floats(0, 1))}
        length = draw(st.sampled_from([None, 0.5, 2.0]))
        if length is not None:
            segment["end"] = t + length
            t += length
        else:
            t += 0.25
        if draw(st.booleans()):
            segment["blend"] = {"emotion": draw(st.sampled_from(EMOTIONS)), "weight": draw(st.floats(0, 1))}
        segments.append(segment)
    return {"segments": segments, "transition": draw(st.sampled_from([0.0, 0.1, 0.3, 2.0]))}


@SETTINGS
@given(tracks())
def test_emotion_tracks_round_trip_and_weights_are_convex(data):
    track = EmotionTrack.from_dict(data)
    again = EmotionTrack.from_dict(json.loads(json.dumps(track.to_dict())))
    assert again == track
    w = track.weights(np.linspace(0, 20, 97))
    assert w.shape == (97, len(EMOTIONS))
    assert (w >= 0).all() and (w <= 1).all() and np.allclose(w.sum(axis=1), 1, atol=1e-5)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
segment_like = st.fixed_dictionaries(
    {"start": json_values, "emotion": st.sampled_from([*EMOTIONS, "grumpy", 3, None])},
    optional={"end": json_values, "intensity": json_values, "blend": json_values},
)


@SETTINGS
@given(
    json_values
    | st.fixed_dictionaries(
        {"segments": st.lists(segment_like, max_size=4)}, optional={"transition": json_values}
    )
)
def test_any_json_as_a_track_builds_or_raises_an_emotion_error(data):
    try:
        track = EmotionTrack.from_dict(data)
    except EmotionError as err:
        assert "\n" not in str(err)
    else:
        assert np.isfinite(track.weights(np.linspace(0, 5, 11))).all()


# -- FaceAnimation round trips ------------------------------------------------------------------------------


@st.composite
def animations(draw) -> FaceAnimation:
    n = draw(st.integers(1, 90))
    fps = draw(st.sampled_from([24.0, 25.0, 30.0, 50.0, 60.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    curves = np.zeros((n, 61), np.float32)
    curves[:, :52] = rng.uniform(0, 1, (n, 52)) * (rng.uniform(0, 1, (1, 52)) > 0.3)
    curves[:, 52:] = rng.uniform(-0.6, 0.6, (n, 9))
    return FaceAnimation(fps, curves, {"engine": "hypothesis", "seed": seed})


@SETTINGS
@given(animations(), st.sampled_from(["take.json", "take.npz", "take.csv"]))
def test_face_animations_round_trip_through_every_lossless_format(anim, name):
    with scratch() as folder:
        path = Path(folder) / name
        write(anim, path)
        back = read(path, fps=anim.fps) if name.endswith(".csv") else read(path)
    assert back.fps == anim.fps and back.n_frames == anim.n_frames
    np.testing.assert_allclose(back.curves, anim.curves, atol=1e-9 if not name.endswith(".csv") else 5e-10)


@SETTINGS
@given(animations())
def test_live_link_takes_of_a_second_or_more_read_back_their_own_frame_rate(anim):
    assume(anim.n_frames >= anim.fps + 2)
    with scratch() as folder:
        write(anim, Path(folder) / "take.csv")
        assert read(Path(folder) / "take.csv").fps == anim.fps


@SETTINGS
@given(st.text(max_size=300), st.sampled_from([".csv", ".json", ".metahuman.csv"]))
def test_any_text_as_an_animation_file_reads_or_raises_a_format_error(text, suffix):
    with scratch() as folder:
        path = Path(folder) / f"x{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            read(path)
        except FormatError as err:
            assert "\n" not in str(err)


number_like = st.text(alphabet="0123456789.-eE", max_size=8) | st.sampled_from(
    ["nan", "inf", "1e999", "-0", "0.5", ""]
)
timecode_like = st.sampled_from(
    ["00:00:00:00.000", "00:00:00:01.000", "00:00:01:00.000", "23:59:59:29.999", "xx", ""]
)


@SETTINGS
@given(
    st.lists(
        st.tuples(timecode_like, st.lists(number_like, min_size=62, max_size=62)), min_size=1, max_size=6
    )
)
def test_live_link_rows_of_number_like_junk_read_or_raise_a_format_error(rows):
    from emote.export.livelink import HEADER

    with scratch() as folder:
        path = Path(folder) / "take.csv"
        lines = [",".join(HEADER), *(",".join([tc, *numbers]) for tc, numbers in rows)]
        path.write_text("\n".join(lines) + "\n")
        try:
            anim = read(path)
        except FormatError as err:
            assert "\n" not in str(err)
            return
        assert np.isfinite(anim.curves).all()


# -- manifests ------------------------------------------------------------------------------------------------


@SETTINGS
@given(st.binary(max_size=500), st.sampled_from(["m.csv", "m.jsonl", "m.txt"]))
def test_any_bytes_as_a_manifest_validate_or_raise_a_manifest_error(data, name):
    with scratch() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            read_manifest(path)
        except ManifestError as err:
            assert err.problems and "\n" not in str(err)
        except EmoteError:
            pass


@SETTINGS
@given(st.text(alphabet=st.sampled_from(list("ab./\\:~ -_é\x00")), max_size=30))
def test_an_accepted_output_name_never_leaves_the_output_folder(name):
    try:
        safe = _output_name(name)
    except _Bad:
        return
    with scratch() as folder:
        out = Path(folder).resolve()
        target = (out / safe).resolve()
        assert out in target.parents
        assert not any(part.startswith(".") for part in Path(safe).parts)
