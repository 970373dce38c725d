"""Issue 14, classes 5-7: no silent wrong output, clear messages before work, reproducible files.

Each input that used to give a plausible but wrong result with exit 0 is now an error or
an explicit, logged decision; inputs are checked before the work they would spoil; two
runs of ``emote animate`` write byte-identical files.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hostile import error_line, leftovers, random_take, run_emote, speech_wav

import emote
from emote.cli.main import main
from emote.errors import AudioError, TranscriptError
from emote.export import read, write
from emote.export.livelink import HEADER

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(sys.platform == "win32", reason="platform: POSIX signals and file system"),
]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return speech_wav(tmp_path_factory.mktemp("clip") / "line.wav")


@pytest.fixture(scope="module")
def take(tmp_path_factory) -> Path:
    return random_take(tmp_path_factory.mktemp("take") / "take.json", 90, seed=1)


# -- class 5: silent wrong outputs ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, ext, subtype", [("MP3", "mp3", "MPEG_LAYER_III"), ("FLAC", "flac", "PCM_16"),
                                               ("OGG", "ogg", "VORBIS")])  # fmt: skip
@pytest.mark.parametrize("keep", [0.15, 0.5])
def test_cut_compressed_audio_is_refused_not_padded_to_its_header(tmp_path, fmt, ext, subtype, keep):
    y, sr = sf.read(speech_wav(tmp_path / "whole.wav", seconds=6.0))
    whole = tmp_path / f"whole.{ext}"
    sf.write(whole, y, sr, format=fmt, subtype=subtype)
    data = whole.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(AudioError, match=r"cut\.\w+: (corrupt or )?truncated audio"):
        emote.animate(cut)


def test_an_mp3_cut_by_a_few_frames_still_animates(tmp_path):
    # Encoder delay and the last partial frame: within tolerance, not "truncated".
    y, sr = sf.read(speech_wav(tmp_path / "whole.wav", seconds=3.0))
    path = tmp_path / "whole.mp3"
    sf.write(path, y, sr, format="MP3", subtype="MPEG_LAYER_III")
    assert emote.animate(path).duration == pytest.approx(3.0, abs=0.1)


@pytest.mark.parametrize("peak", [1e30, 1e6, 5e3])
@pytest.mark.parametrize("engine", ["phonetic", "neural"])
def test_float_audio_far_beyond_full_scale_is_refused_for_both_engines(tmp_path, peak, engine):
    y, sr = sf.read(speech_wav(tmp_path / "ok.wav"), dtype="float32")
    y[100] = peak
    path = tmp_path / "loud.wav"
    sf.write(path, y, sr, subtype="FLOAT")
    with pytest.raises(AudioError, match=re.escape(f"loud.wav: holds samples of magnitude {peak:.3g}")):
        emote.animate(path, engine=engine)


def test_float_audio_a_little_over_full_scale_still_animates(tmp_path):
    y, sr = sf.read(speech_wav(tmp_path / "ok.wav"), dtype="float32")
    path = tmp_path / "hot.wav"
    sf.write(path, 4.0 * y, sr, subtype="FLOAT")
    anim = emote.animate(path)
    assert np.isfinite(anim.curves).all()


def _take_csv(path: Path, timecodes: list[str], value: str = "0.5") -> Path:
    rows = [",".join([tc, "61", *([value] * 61)]) for tc in timecodes]
    path.write_text(",".join(HEADER) + "\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("pattern", ["frozen", "mostly_frozen", "stuck_second"])
def test_takes_whose_timecodes_do_not_advance_are_refused_not_collapsed(tmp_path, capsys, pattern):
    timecodes = {
        "frozen": ["00:00:01:00.000"] * 204,
        "mostly_frozen": [f"00:00:01:{i:02d}.000" for i in range(20)] + ["00:00:01:20.000"] * 184,
        "stuck_second": ["00:00:05:00.000"] * 100 + ["00:00:05:01.000"] * 104,
    }[pattern]
    src = _take_csv(tmp_path / "take.csv", timecodes)
    assert main(["convert", str(src), str(tmp_path / "take.json")]) == 1
    err = capsys.readouterr().err
    assert "timecodes do not advance" in err and "--rows-fps" in err and err.count("\n") == 1
    assert not (tmp_path / "take.json").exists()
    # The way out the message names: the rows as frames at a given rate.
    assert main(["convert", str(src), str(tmp_path / "take.json"), "--rows-fps", "60"]) == 0
    assert read(tmp_path / "take.json").n_frames == 204


def test_a_take_with_a_few_repeated_timecodes_still_reads(tmp_path):
    timecodes = [f"00:00:01:{i:02d}.000" for i in range(30)]
    timecodes[10] = timecodes[9]
    anim = read(_take_csv(tmp_path / "take.csv", timecodes))
    assert anim.metadata["repeated_rows"] == 1


@pytest.mark.parametrize("cut", ["mid_header", "header_only"])
@pytest.mark.parametrize("kind", ["metahuman", "livelink"])
def test_takes_without_frames_are_refused_by_convert_and_render(tmp_path, take, capsys, cut, kind):
    name = "take.metahuman.csv" if kind == "metahuman" else "take.csv"
    write(read(take), tmp_path / name)
    header = (tmp_path / name).read_text().splitlines()[0]
    (tmp_path / name).write_text(header[: len(header) // 2] if cut == "mid_header" else header + "\n")
    for args in (["convert", str(tmp_path / name), str(tmp_path / "out.json")],
                 ["render", str(tmp_path / name), "-o", str(tmp_path / "video"), "-q"]):  # fmt: skip
        assert main(args) == 1
        assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "out.json").exists() and leftovers(tmp_path / "video") == []


@pytest.mark.parametrize("value", ["1e30", "-5", "100", "-1e30"])
def test_weights_far_outside_zero_to_one_are_refused_by_convert(tmp_path, capsys, value):
    src = _take_csv(tmp_path / "take.csv", [f"00:00:01:{i:02d}.000" for i in range(30)])
    text = src.read_text().splitlines()
    cells = text[5].split(",")
    cells[2 + 17] = value  # one weight of frame 3
    text[5] = ",".join(cells)
    src.write_text("\n".join(text) + "\n")
    assert main(["convert", str(src), str(tmp_path / "take.json")]) == 1
    assert "far outside the range [0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "take.json").exists()


def test_weights_slightly_outside_zero_to_one_are_clipped_and_said(tmp_path, caplog):
    src = _take_csv(tmp_path / "take.csv", [f"00:00:01:{i:02d}.000" for i in range(30)], value="1.03")
    assert main(["convert", str(src), str(tmp_path / "take.json")]) == 0
    assert read(tmp_path / "take.json").blendshapes.max() == 1.0
    assert any("clipped when read" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("suffix", [".csv", ".TextGrid"])
def test_timings_in_milliseconds_are_refused_naming_the_likely_unit(tmp_path, clip, suffix):
    from emote.audio.phones import Alignment, Phone
    from emote.audio.timings import write_phone_csv, write_textgrid

    ms = Alignment([Phone(100.0, 250.0, "B"), Phone(250.0, 600.0, "AA"), Phone(600.0, 800.0, "M")], [], "x")
    path = tmp_path / f"ms{suffix}"
    (write_phone_csv if suffix == ".csv" else write_textgrid)(ms, path)
    with pytest.raises(TranscriptError, match=r"3 of 3 phones start after the audio ends .*milliseconds"):
        emote.animate(clip, timings=path)
    error_line(
        run_emote("animate", str(clip), "--timings", str(path), "-o", str(tmp_path / "out"), "-q"), "ms"
    )
    assert leftovers(tmp_path / "out") == []


@pytest.mark.parametrize("audio", ["missing.wav", "picture.png", "empty.wav", "folder"])
def test_render_audio_is_checked_before_a_frame_is_drawn(tmp_path, take, audio):
    (tmp_path / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 2000)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    start = time.monotonic()
    res = run_emote("render", str(take), "--audio", str(tmp_path / audio), "-o", str(tmp_path / "out"), "-q")
    error_line(res, audio)
    assert time.monotonic() - start < 30  # the clip was never rendered
    assert leftovers(tmp_path / "out") == []


def test_render_without_the_takes_audio_says_the_video_is_silent(tmp_path, clip):
    assert main(["animate", str(clip), "-o", str(tmp_path), "-q", "--format", "json", "--name", "take"]) == 0
    moved = tmp_path / "gone.wav"
    audio = tmp_path / "line.wav"
    audio.write_bytes(clip.read_bytes())
    assert main(["animate", str(audio), "-o", str(tmp_path), "-q", "--format", "json", "--name", "take"]) == 0
    audio.rename(moved)
    res = run_emote(
        "render", str(tmp_path / "take.json"), "-o", str(tmp_path / "video"), "-q", "--size", "64x64"
    )
    assert res.returncode == 0
    assert b"the video has no sound" in res.stderr and (tmp_path / "video" / "take.mp4").exists()


def test_render_has_no_grid_and_animate_checks_its_grid_before_work(tmp_path, take, clip):
    res = run_emote("render", str(take), "--grid", "hapy", "-o", str(tmp_path / "out"))
    assert res.returncode == 2 and b"unrecognized arguments: --grid" in res.stderr
    start = time.monotonic()
    res = run_emote("animate", str(clip), "--grid", "happy,hapy", "-o", str(tmp_path / "out"), "-q")
    error_line(res, "hapy")
    assert time.monotonic() - start < 30 and leftovers(tmp_path / "out") == []


# -- class 6: clearer messages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [("xmin", "-0.100000"), ("xmax", "nan"), ("xmax", "inf"),
                                          ("xmin", "-inf"), ("xmax", "twelve")])  # fmt: skip
def test_textgrid_times_that_are_not_times_are_named_with_their_line(tmp_path, clip, field, value):
    from emote.audio.phones import Alignment, Phone
    from emote.audio.timings import write_textgrid

    good = tmp_path / "good.TextGrid"
    write_textgrid(
        Alignment([Phone(0.0, 0.1, "SIL"), Phone(0.1, 0.2, "B"), Phone(0.2, 0.4, "AA")], [], "x"), good
    )
    lines = good.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{field} = 0.1") or
                  line.strip().startswith(f"{field} = 0.2"))  # fmt: skip
    lines[number] = lines[number].split("=")[0] + f"= {value}"
    bad = tmp_path / "bad.TextGrid"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        TranscriptError, match=rf"bad\.TextGrid: .*line {number + 1}: {field} = {value} is not a"
    ):
        emote.animate(clip, timings=bad)


# -- class 7: reproducible outputs --------------------------------------------------------------------------------


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("engine", ["phonetic", "neural"])
def test_two_runs_of_animate_write_byte_identical_files(tmp_path, clip, engine):
    runs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        assert main(["animate", str(clip), "-o", str(out), "-q", "--engine", engine]) == 0
        runs.append(_digests(out))
        time.sleep(2.1 if k == 0 else 0)  # a zip member dated by the wall clock would now differ
    assert runs[0] == runs[1] and set(runs[0]) == {"line.csv", "line.json", "line.npz", "line.metahuman.csv"}


def test_stage_timings_go_into_the_files_only_when_asked(tmp_path, clip):
    assert main(["animate", str(clip), "-o", str(tmp_path / "a"), "-q", "--format", "json,npz"]) == 0
    assert "timings" not in read(tmp_path / "a" / "line.json").metadata
    assert "timings" not in read(tmp_path / "a" / "line.npz").metadata
    assert (
        main(["animate", str(clip), "-o", str(tmp_path / "b"), "-q", "--format", "json", "--stage-timings"])
        == 0
    )
    assert set(read(tmp_path / "b" / "line.json").metadata["timings"]) >= {"load", "features", "engine"}
    assert "timings" not in emote.animate(clip).metadata
    assert "engine" in emote.animate(clip, stage_timings=True).metadata["timings"]
