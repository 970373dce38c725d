"""Live Link Face CSV: the app's exact header, its timecode, and a tolerant reader."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import needs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from emote.animation import CHANNELS, FaceAnimation
from emote.errors import FormatError
from emote.export import livelink, read, write
from emote.export.livelink import HEADER, format_timecodes, parse_timecode

LLF_FILE = "llf_csv_header.txt"


def random_animation(n_frames: int = 40, fps: float = 30.0, seed: int = 0, **metadata) -> FaceAnimation:
    rng = np.random.default_rng(seed)
    curves = rng.random((n_frames, 61)).astype(np.float32)
    curves[:, 52:] = (curves[:, 52:] - 0.5) * 1.2  # radians, both signs
    return FaceAnimation(fps, curves, metadata)


def csv_text(header: list[str], rows: list[list[str]], eol: str = "\n") -> str:
    return eol.join(",".join(r) for r in [header, *rows]) + eol


def app_take(tmp_path, n_rows: int = 100, *, sample_rate: float = 30.005, drop: tuple[int, ...] = ()):
    """A take as the app writes it: a 60 fps timecode clock, samples at ~30 Hz, drifting sub-frames."""
    rng = np.random.default_rng(7)
    values = rng.random((n_rows, 61))
    t0 = 12 * 3600 + 27 * 60 + 47 + 47.169 / 60
    rows = []
    for i in range(n_rows):
        if i in drop:
            continue
        t = t0 + i / sample_rate
        sec = math.floor(t)
        pos = (t - sec) * 60
        frame, sub = int(pos), round((pos - int(pos)) * 1000)
        if sub == 1000:
            frame, sub = frame + 1, 0
        tc = f"{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}:{frame:02d}.{sub:03d}"
        rows.append([tc, "61", *(f"{v:.10f}" for v in values[i])])
    path = tmp_path / "take.csv"
    path.write_text(csv_text(list(HEADER), rows, "\r\n"))
    return path, values  # values in HEADER column order


# -- header and layout ---------------------------------------------------------------
def test_header_is_exactly_the_apps(tmp_path, reference_dir):
    reference = reference_dir / LLF_FILE
    if not reference.is_file():
        needs("test-material", f"{reference} not found")
    expected = ",".join(line.strip() for line in reference.read_text().splitlines() if line.strip())
    write(random_animation(3), tmp_path / "take.csv")
    first_line = (tmp_path / "take.csv").read_text().splitlines()[0]
    assert first_line == expected
    assert first_line.startswith("Timecode,BlendShapeCount,EyeBlinkLeft,")
    assert ",JawForward,JawRight,JawLeft,JawOpen," in first_line
    assert ",MouthPucker,MouthRight,MouthLeft,MouthSmileLeft," in first_line


def test_rows_hold_timecode_count_61_and_ten_decimal_values_mapped_by_name(tmp_path):
    anim = random_animation(5)
    write(anim, tmp_path / "take.csv")
    lines = (tmp_path / "take.csv").read_text().splitlines()
    assert len(lines) == 6
    cells = lines[3].split(",")
    assert cells[0] == "00:00:00:02.000" and cells[1] == "61" and len(cells) == 63
    assert all(len(c.split(".")[1]) == 10 for c in cells[2:])
    jaw_left = HEADER.index("JawLeft")
    assert float(cells[jaw_left]) == pytest.approx(float(anim.channel("JawLeft")[2]), abs=1e-10)
    assert float(cells[HEADER.index("RightEyeRoll")]) == pytest.approx(
        float(anim.channel("RightEyeRoll")[2]), abs=1e-10
    )


# -- timecode ------------------------------------------------------------------------
def epic_importer_times(lines: list[str]) -> np.ndarray:
    """Seconds at which Epic's Live Link Face importer keys each row of a CSV take.

    Written from the documented behaviour of Unreal's LiveLinkFaceImporter
    plugin (``ULiveLinkFaceImporterFactory``): ``InferFrameRate`` is documented
    as "when recording at 30 FPS the LLF app will not output timecodes with
    fractional frame values greater than 30", so it reads the clock as 60 fps
    when any row's frame field ``FF.mmm`` (parsed as one decimal number) is
    above 30, else 30; ``ParseTimecode`` splits ``hh:mm:ss:frame.zzz`` at
    ``:``; a row's sample time is ``hh*3600 + mm*60 + ss + frame / rate``,
    floored to the level sequence's tick resolution (24000 ticks/s).
    """
    fields = [line.split(",")[0].split(":") for line in lines[1:]]
    assert all(len(f) == 4 for f in fields), "the importer needs hh:mm:ss:frame.zzz"
    frames = np.array([float(f[3]) for f in fields])
    rate = 60.0 if (frames > 30.0).any() else 30.0
    whole = np.array([int(f[0]) * 3600 + int(f[1]) * 60 + int(f[2]) for f in fields], np.float64)
    return np.floor((whole + frames / rate) * 24000) / 24000


@pytest.mark.parametrize("fps", [24.0, 25.0, 23.976, 29.97, 30.0, 50.0, 60.0, 30000 / 1001])
@pytest.mark.parametrize(("n_frames", "start"), [(400, 0.0), (200, 3723.4), (7, 0.0), (12, 59.93), (1, 0.0)])
def test_epics_importer_places_every_frame_within_a_millisecond(tmp_path, fps, n_frames, start):
    write(random_animation(n_frames, fps, timecode_start=start), tmp_path / "take.csv")
    times = epic_importer_times((tmp_path / "take.csv").read_text().splitlines())
    expected = start + np.arange(n_frames) / fps
    assert np.abs(times - expected).max() < 1e-3
    # The sequence starts at the first row: relative times are right too.
    assert np.abs((times - times[0]) - (expected - expected[0])).max() < 1e-3


def test_timecodes_run_on_the_apps_60_fps_clock_with_sub_frames():
    codes = format_timecodes(49, 24)
    assert codes[:3] == ["00:00:00:00.000", "00:00:00:02.500", "00:00:00:05.000"]
    assert codes[23] == "00:00:00:57.500" and codes[24] == "00:00:01:00.000"
    assert all(parse_timecode(c)[1] < 60 for c in codes)
    assert format_timecodes(3, 25, start=0.96) == ["00:00:00:57.600", "00:00:01:00.000", "00:00:01:02.400"]
    # A take that never passes FF 30 on the 60 fps clock is written on the 30 fps clock,
    # the rate Epic's importer infers for it.
    assert livelink.clock_rate(12, 60) == 30 and format_timecodes(3, 60) == [
        "00:00:00:00.000", "00:00:00:00.500", "00:00:00:01.000",
    ]  # fmt: skip


def test_rollover_carries_into_minutes_and_hours_and_wraps_at_midnight():
    assert format_timecodes(2, 30, start=59 + 29 / 30) == ["00:00:59:58.000", "00:01:00:00.000"]
    assert format_timecodes(2, 30, start=3599 + 29 / 30) == ["00:59:59:58.000", "01:00:00:00.000"]
    assert format_timecodes(2, 30, start=86399 + 29 / 30) == ["23:59:59:58.000", "00:00:00:00.000"]


def test_29_97_keeps_the_wall_clock_with_sub_frames():
    fps = 29.97
    codes = format_timecodes(200, fps)
    for i, code in enumerate(codes):
        seconds, position = parse_timecode(code)
        assert position < 60
        assert seconds == math.floor(i / fps + 1e-9)  # HH:MM:SS is real elapsed time
        assert seconds + position / 60 == pytest.approx(i / fps, abs=0.0006 / 60)
    # Frame 30 lies just past the first second: 0.06 of a 60 fps frame into second 1.
    assert codes[30] == "00:00:01:00.060"


def test_parse_timecode_accepts_the_apps_forms_and_rejects_others():
    assert parse_timecode("12:27:47:47.169") == (12 * 3600 + 27 * 60 + 47, pytest.approx(47.169))
    assert parse_timecode("01:00:00;05") == (3600, 5.0)
    for bad in ("12:27:47", "12:61:00:00.000", "aa:bb:cc:dd", "12:00:00:00.x"):
        with pytest.raises(ValueError):
            parse_timecode(bad)


def test_start_timecode_from_metadata_and_it_survives_a_round_trip(tmp_path):
    anim = random_animation(40, timecode_start="01:02:03:04")
    write(anim, tmp_path / "a.csv")
    first = (tmp_path / "a.csv").read_text().splitlines()[1]
    assert first.startswith("01:02:03:08.000,61,")  # frame 4 at 30 fps is frame 8 on the 60 fps clock
    back = read(tmp_path / "a.csv")
    assert back.metadata["timecode_start"] == pytest.approx(3723 + 4 / 30)
    write(back, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_a_slice_is_written_at_its_place_in_the_source(tmp_path):
    part = random_animation(90).slice(2.0)
    write(part, tmp_path / "part.csv")
    assert (tmp_path / "part.csv").read_text().splitlines()[1].startswith("00:00:02:00.000,")


# -- round trips ---------------------------------------------------------------------
curves_strategy = st.integers(0, 70).flatmap(
    lambda n: hnp.arrays(np.float32, (n, 61), elements=st.floats(-10, 10, width=32))
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(curves=curves_strategy, fps=st.sampled_from([24.0, 25.0, 29.97, 30.0, 50.0, 60.0]))
def test_round_trip_within_the_apps_ten_decimals(tmp_path, curves, fps):
    anim = FaceAnimation(fps, curves)
    write(anim, tmp_path / "take.csv")
    # fps is recoverable from timecodes once a take crosses a second boundary.
    long_enough = anim.n_frames > math.ceil(fps)
    back = read(tmp_path / "take.csv", fps=None if long_enough else fps)
    assert back.fps == fps
    assert back.curves.shape == curves.shape
    err = np.abs(back.curves.astype(np.float64) - curves)
    assert err.max(initial=0) <= 1e-10
    # 10 decimals pin down every float32 of magnitude ≥ 2**-9 exactly.
    big = np.abs(curves) >= 2.0**-9
    assert np.array_equal(back.curves[big], curves[big])


def test_reading_a_written_take_gives_frames_in_canonical_order(tmp_path):
    anim = random_animation(31)
    write(anim, tmp_path / "t.csv")
    back = read(tmp_path / "t.csv")
    assert back.fps == 30 and back.n_frames == 31
    for name in ("JawLeft", "JawRight", "MouthLeft", "MouthRight", "HeadYaw"):
        np.testing.assert_allclose(back.channel(name), anim.channel(name), atol=1e-10)
    assert back.metadata["source_format"] == "livelink"


# -- reading real-app files ----------------------------------------------------------
def test_app_take_at_30_fps_on_a_60_fps_clock_is_read_at_30(tmp_path):
    path, values = app_take(tmp_path, 100)
    anim = read(path)
    assert anim.fps == 30 and anim.n_frames == 100
    assert anim.metadata["timecode_rate"] == 60
    assert anim.metadata["timecode_start"] == pytest.approx(12 * 3600 + 27 * 60 + 47 + 47.169 / 60, abs=1e-6)
    for name in ("JawRight", "JawLeft", "MouthRight", "EyeBlinkLeft", "RightEyeRoll"):
        np.testing.assert_allclose(anim.channel(name), values[:, HEADER.index(name) - 2], atol=1e-9)


def test_a_60_fps_take_measured_at_59_905_reads_at_60(tmp_path):
    # The app's 60 fps takes measure 59.905 fps against their own timecode clock.
    path, values = app_take(tmp_path, 600, sample_rate=59.905)
    anim = read(path)
    assert anim.fps == 60 and anim.n_frames == 600
    assert "filled_frames" not in anim.metadata and "repeated_rows" not in anim.metadata
    np.testing.assert_allclose(anim.channel("JawOpen"), values[:, HEADER.index("JawOpen") - 2], atol=1e-9)


@pytest.mark.parametrize(
    ("sample_rate", "expected"), [(29.97, 29.97), (24.0, 24.0), (37.3, 37.3), (30.02, 30.0)]
)
def test_odd_rates_on_the_60_fps_clock_keep_their_exact_rate(tmp_path, sample_rate, expected):
    path, _ = app_take(tmp_path, 300, sample_rate=sample_rate)
    assert read(path).fps == pytest.approx(expected, rel=1e-5)


def test_no_negative_zero_cells(tmp_path):
    anim = random_animation(4)
    anim.curves[:, :] = -1e-12
    anim.curves[0, 0] = -0.0
    write(anim, tmp_path / "take.csv")
    text = (tmp_path / "take.csv").read_text()
    assert "-0.0000000000" not in text and text.count(",0.0000000000") == 4 * 61


def test_frames_the_app_dropped_are_filled_by_interpolation(tmp_path):
    path, values = app_take(tmp_path, 60, drop=(10, 31, 32))
    anim = read(path)
    assert anim.n_frames == 60 and anim.metadata["filled_frames"] == 3
    col = HEADER.index("JawOpen") - 2
    np.testing.assert_allclose(anim.channel("JawOpen")[9], values[9, col], atol=1e-9)
    assert anim.channel("JawOpen")[10] == pytest.approx((values[9, col] + values[11, col]) / 2, abs=1e-6)
    np.testing.assert_allclose(anim.channel("JawOpen")[33], values[33, col], atol=1e-9)


def test_a_long_drifting_take_does_not_gain_or_lose_frames(tmp_path):
    # 30.005 Hz against the timecode clock: placing rows by absolute time would repeat one every ~3 min.
    path, _ = app_take(tmp_path, 9000)
    anim = read(path)
    assert anim.n_frames == 9000
    assert "filled_frames" not in anim.metadata and "repeated_rows" not in anim.metadata


def test_jaw_left_and_right_map_by_name_whatever_their_column_order(tmp_path):
    for order in (list(HEADER), [*HEADER[:17], "JawLeft", "JawRight", *HEADER[19:]]):
        assert order[17:19] in (["JawRight", "JawLeft"], ["JawLeft", "JawRight"])
        rows = []
        for i in range(3):
            cells = {name: "0" for name in order[2:]}
            cells["JawLeft"], cells["JawRight"] = "0.25", "0.75"
            rows.append([f"00:00:00:{i:02d}.000", "61", *(cells[n] for n in order[2:])])
        path = tmp_path / "swap.csv"
        path.write_text(csv_text(order, rows))
        anim = read(path, fps=30)
        assert anim.channel("JawLeft").tolist() == [0.25] * 3
        assert anim.channel("JawRight").tolist() == [0.75] * 3


def test_tolerates_bom_crlf_lowercase_names_extra_columns_and_missing_pose(tmp_path):
    names = [n.lower() for n in CHANNELS[:52]]
    header = ["timecode", "Notes", *names]
    rows = [[f"00:00:00:{i:02d}.000", "take 1", *(["0.5"] * 52)] for i in range(4)]
    path = tmp_path / "other_tool.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text(header, rows, "\r\n").encode())
    anim = read(path)
    assert anim.n_frames == 4 and np.all(anim.blendshapes == 0.5) and np.all(anim.pose == 0)
    assert anim.metadata["missing_channels"] == list(CHANNELS[52:])
    assert anim.metadata["ignored_columns"] == ["Notes"]


def test_fps_override_takes_rows_as_consecutive_frames(tmp_path):
    # A converter that writes one timecode second per row: the override is the way out.
    rows = [[f"00:00:{i:02d}:00.000", "61", *(["0"] * 61)] for i in range(5)]
    path = tmp_path / "seconds.csv"
    path.write_text(csv_text(list(HEADER), rows))
    anim = read(path, fps=25)
    assert anim.fps == 25 and anim.n_frames == 5


def test_header_only_file_is_an_empty_animation(tmp_path):
    path = tmp_path / "empty_take.csv"
    path.write_text(",".join(HEADER) + "\n")
    anim = read(path)
    assert anim.n_frames == 0


# -- errors ----------------------------------------------------------------------------
def write_bad(tmp_path, header, rows):
    path = tmp_path / "take.csv"
    path.write_text(csv_text(header, rows))
    return path


def good_row(i=0):
    return [f"00:00:00:{i:02d}.000", "61", *(["0.1"] * 61)]


def test_missing_blendshape_column_is_named(tmp_path):
    header = [h for h in HEADER if h != "JawOpen"]
    path = write_bad(tmp_path, header, [good_row()[:-1]])
    with pytest.raises(FormatError) as e:
        read(path)
    assert str(e.value) == f"{path}: column 'JawOpen' missing (expected Live Link Face header)"


@pytest.mark.parametrize(
    ("row_fix", "message"),
    [
        (lambda r: r[:40], "line 4: expected 63 fields, got 40"),
        (lambda r: [*r[:10], "abc", *r[11:]], "line 4: column 'EyeLookDownRight': 'abc' is not a number"),
        (lambda r: [*r[:10], "nan", *r[11:]], "line 4: column 'EyeLookDownRight': nan is not finite"),
        (lambda r: ["12:00", *r[1:]], "line 4: timecode '12:00' is not HH:MM:SS:FF.mmm"),
    ],
)
def test_bad_rows_are_reported_with_file_and_line(tmp_path, row_fix, message):
    rows = [good_row(0), good_row(1), row_fix(good_row(2)), good_row(3)]
    path = write_bad(tmp_path, list(HEADER), rows)
    with pytest.raises(FormatError) as e:
        read(path)
    assert str(e.value) == f"{path}: {message}"


def test_not_a_take_at_all(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(FormatError, match=r"empty\.csv: empty file"):
        read(empty)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(FormatError, match=r"binary\.csv: "):
        read(binary)
    with pytest.raises(FormatError, match=r"nope\.csv: no such file"):
        read(tmp_path / "nope.csv")


def test_timecodes_going_back_are_an_error(tmp_path):
    path = write_bad(tmp_path, list(HEADER), [good_row(5), good_row(6), good_row(2)])
    with pytest.raises(FormatError, match="line 4: timecode goes back in time"):
        read(path)


def test_bad_start_timecode_in_metadata_writes_nothing(tmp_path):
    anim = random_animation(3, timecode_start="00:00:00:45")  # frame 45 at 30 fps
    with pytest.raises(FormatError, match="timecode_start"):
        write(anim, tmp_path / "t.csv")
    assert list(tmp_path.iterdir()) == []


def test_module_follows_the_one_signature():
    assert livelink.EXTENSION == ".csv"
    assert callable(livelink.write) and callable(livelink.read)


def test_a_take_running_past_midnight_reads_as_one_take(tmp_path):
    anim = random_animation(60, timecode_start=86399.0)
    write(anim, tmp_path / "night.csv")
    lines = (tmp_path / "night.csv").read_text().splitlines()
    assert lines[1].startswith("23:59:59:00.000") and lines[-1].startswith("00:00:00:58.000")
    back = read(tmp_path / "night.csv")
    assert back.fps == 30 and back.n_frames == 60
