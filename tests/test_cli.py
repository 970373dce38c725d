"""The `emote` command: help that teaches, outputs in OUTDIR, one-line errors and nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emote.cli.main import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "hello.wav"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emote", *args], capture_output=True, text=True, cwd=REPO, check=False
    )


def test_help_teaches_with_examples():
    res = run_cli("--help")
    assert res.returncode == 0
    for word in ("animate", "emotions", "convert", "examples:", "--emotion"):
        assert word in res.stdout


def test_animate_help_lists_formats_and_phone_sources():
    res = run_cli("animate", "--help")
    assert res.returncode == 0
    for word in ("--text", "--timings", "--emotion-track", "metahuman", "Live Link Face"):
        assert word in res.stdout


def test_emotions_lists_the_eight(capsys):
    assert main(["emotions"]) == 0
    out = capsys.readouterr().out.lower()
    for name in ("neutral", "happy", "sad", "surprised", "fear", "disgusted", "angry", "contempt"):
        assert name in out


def test_animate_writes_every_requested_format(tmp_path):
    res = run_cli("animate", str(EXAMPLE), "--emotion", "sad", "--fps", "60", "-o", str(tmp_path), "-q")
    assert res.returncode == 0, res.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["hello.csv", "hello.json", "hello.metahuman.csv", "hello.npz"]
    data = json.loads((tmp_path / "hello.json").read_text())
    assert data["fps"] == 60
    assert data["metadata"]["emotion_track"]["segments"][0]["emotion"] == "sad"
    # the .txt beside the example was used: phones come from forced alignment
    assert data["metadata"]["phones_source"] == "alignment"


@pytest.mark.parametrize("engine", ["phonetic", "neural"])
def test_animate_runs_the_engine_asked_for(tmp_path, engine):
    assert (
        main(["animate", str(EXAMPLE), "--engine", engine, "--format", "json", "-o", str(tmp_path), "-q"])
        == 0
    )
    data = json.loads((tmp_path / "hello.json").read_text())
    assert data["metadata"]["engine"] == engine


def test_animate_with_user_timings_and_a_track(tmp_path, speech_dir):
    res = run_cli(
        "animate", str(speech_dir / "bobby.wav"),
        "--timings", str(speech_dir / "bobby_phones.TextGrid"),
        "--emotion-track", str(REPO / "examples" / "track.json"),
        "--format", "csv", "--name", "take", "-o", str(tmp_path), "-q",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["take.csv"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--emotion", "grumpy"], "grumpy"),
        (["--intensity", "1.7"], "intensity"),
        (["--format", "csv,fbx"], "fbx"),
        (["--fps", "0"], "fps"),
    ],
)
def test_bad_settings_fail_in_one_line_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "out"
    res = run_cli("animate", str(EXAMPLE), "-o", str(out), "-q", *args)
    assert res.returncode != 0
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "empty"), (b"this is not audio at all\n" * 10, "not"), (b"RIFF\x00\x00\x00\x00WAVEfmt ", "")],
)
def test_bad_audio_fails_naming_the_file(tmp_path, content, problem):
    bad = tmp_path / "line.wav"
    bad.write_bytes(content)
    out = tmp_path / "out"
    res = run_cli("animate", str(bad), "-o", str(out), "-q")
    assert res.returncode == 1
    assert "line.wav" in res.stderr and problem in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not out.exists()


def test_missing_audio_file(tmp_path):
    res = run_cli("animate", str(tmp_path / "nope.wav"), "-o", str(tmp_path / "o"), "-q")
    assert res.returncode == 1
    assert "nope.wav" in res.stderr


def test_silence_is_refused(tmp_path):
    import numpy as np
    import soundfile as sf

    silent = tmp_path / "quiet.wav"
    sf.write(silent, np.zeros(16000 * 2, np.float32), 16000)
    res = run_cli("animate", str(silent), "-o", str(tmp_path / "o"), "-q")
    assert res.returncode == 1
    assert "quiet.wav" in res.stderr and "silent" in res.stderr


def test_convert_round_trips_between_formats(tmp_path):
    from emote.animation import FaceAnimation

    anim = FaceAnimation.zeros(12, fps=30, engine="test")
    anim.curves[:, 17] = 0.5
    anim.save(tmp_path / "a.json")
    assert main(["convert", str(tmp_path / "a.json"), str(tmp_path / "a.npz")]) == 0
    back = FaceAnimation.load(tmp_path / "a.npz")
    assert back.channel("JawOpen").tolist() == [0.5] * 12
