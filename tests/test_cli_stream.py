"""`emote stream`: files, stdin (WAV and raw PCM) and the microphone in; JSON lines, Live Link and VMC out."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from emote.animation.channels import INDEX
from emote.audio.convert import n_frames_for
from emote.audio.io import audio_info, load_audio
from emote.stream.outputs import osc
from emote.stream.outputs.livelink import decode

REPO = Path(__file__).resolve().parents[1]


def _emote(*args: str, stdin: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "emote", "stream", *args], input=stdin, capture_output=True,
                          env=env, timeout=timeout)  # fmt: skip


@pytest.fixture(scope="module")
def bobby(speech_dir) -> Path:
    return speech_dir / "bobby.wav"


def _expected_frames(path: Path, fps: float = 60) -> int:
    return n_frames_for(duration=audio_info(path).duration, fps=fps)


def test_a_file_streams_as_json_lines_by_default(bobby):
    run = _emote(str(bobby))
    assert run.returncode == 0, run.stderr.decode()
    rows = [json.loads(line) for line in run.stdout.decode().splitlines()]
    assert [r["frame"] for r in rows] == list(range(_expected_frames(bobby)))
    assert max(r["curves"]["JawOpen"] for r in rows) > 0.2  # the mouth moves
    assert b"streamed" in run.stderr


def test_a_wav_stream_on_stdin_gives_the_same_frames_as_the_file(bobby):
    from_file = _emote(str(bobby), "--fps", "30")
    piped = _emote("-", "--fps", "30", stdin=bobby.read_bytes())
    assert piped.returncode == 0, piped.stderr.decode()
    assert len(piped.stdout.splitlines()) == len(from_file.stdout.splitlines()) == _expected_frames(bobby, 30)


def test_a_files_transcript_closes_the_lips_on_its_bilabials(bobby):
    run = _emote(
        str(bobby),
        "--fps",
        "30",
        "--no-blinks",
        "--no-gaze",
        "--no-head",
        "--text",
        "Bobby ripped the ledger",
    )
    assert run.returncode == 0, run.stderr.decode()
    rows = [json.loads(line)["curves"] for line in run.stdout.decode().splitlines()]
    gap = [r["JawOpen"] - r["MouthClose"] for r in rows]
    # The aligned /b/ of "Bobby" (~0.1 s) and /p/ of "ripped" (~0.5 s) shut the lips.
    assert min(gap[1:6]) < 0.05 and min(gap[12:19]) < 0.05
    assert max(gap) > 0.15


def test_raw_pcm_on_stdin(bobby):
    y = load_audio(bobby).samples
    pcm = (y * 32767).astype("<i2").tobytes()
    run = _emote("-", "--raw-rate", "16000", "--fps", "30", stdin=pcm)
    assert run.returncode == 0, run.stderr.decode()
    assert len(run.stdout.splitlines()) == n_frames_for(duration=y.size / 16000, fps=30)


class _Receiver(threading.Thread):
    """A UDP receiver on localhost collecting datagrams while the command runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.packets: list[bytes] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.packets.append(self.sock.recv(65536))
            except TimeoutError:
                continue

    def stop(self) -> list[bytes]:
        self.done.set()
        self.join()
        self.sock.close()
        return self.packets


def test_livelink_and_vmc_receivers_get_every_frame(bobby):
    ll, vmc = _Receiver(), _Receiver()
    ll.start()
    vmc.start()
    try:
        run = _emote(str(bobby), "--realtime", "--livelink", f"127.0.0.1:{ll.port}", "--subject", "Hero",
                     "--vmc", f"127.0.0.1:{vmc.port}")  # fmt: skip
    finally:
        time.sleep(0.3)
        ll_packets, vmc_packets = ll.stop(), vmc.stop()
    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout == b""  # no --jsonl when another output is chosen
    n = _expected_frames(bobby)
    packets = [decode(p) for p in ll_packets]
    assert [p.frame for p in packets] == list(range(n))
    assert {p.subject for p in packets} == {"Hero"}
    assert max(float(p.values[INDEX["JawOpen"]]) for p in packets) > 0.2
    bundles = [osc.decode(p) for p in vmc_packets]
    assert len(bundles) == n
    assert all(b[-1][0] == "/VMC/Ext/Blend/Apply" and len(b) == 53 for b in bundles)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [(["nope.wav"], None, "nope.wav: no such audio file"),
     (["-"], b"this is not audio", "not a WAV stream"),
     (["-"], b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x02\x00\x01\x00", "WAV"),
     (["mic"], None, "microphone"),
     (["x.wav", "--livelink", "host:port"], None, "port"),
     (["-", "--raw-rate", "5"], b"\0\0", "sample rate")],
)  # fmt: skip
def test_bad_sources_and_settings_fail_with_one_clear_line(args, stdin, message, tmp_path):
    if args[0] == "x.wav":
        import soundfile as sf

        sf.write(tmp_path / "x.wav", np.zeros(1600, np.float32), 16000)
        args = [str(tmp_path / "x.wav"), *args[1:]]
    run = _emote(*args, stdin=stdin if stdin is not None else b"")
    assert run.returncode == 1
    err = run.stderr.decode().strip().splitlines()
    assert err[-1].startswith("emote: error:") and message in err[-1]
    assert "Traceback" not in run.stderr.decode()


def test_the_neural_engine_streams_the_model_named_and_refuses_a_missing_one(bobby, tmp_path):
    centred = _emote(str(bobby), "--fps", "30", "--engine", "neural", "--model", "tts")
    default = _emote(str(bobby), "--fps", "30", "--engine", "neural")
    assert centred.returncode == default.returncode == 0, (centred.stderr.decode(), default.stderr.decode())
    jaw = [
        [json.loads(line)["curves"]["JawOpen"] for line in run.stdout.splitlines()]
        for run in (centred, default)
    ]
    assert len(jaw[0]) == len(jaw[1]) == _expected_frames(bobby, 30)
    assert np.abs(np.subtract(*jaw)).max() > 0.01  # two networks, two faces
    missing = _emote(str(bobby), "--engine", "neural", "--model", str(tmp_path / "nope.pt"))
    assert missing.returncode != 0 and not missing.stdout
    lines = missing.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "nope.pt: model file not found" in lines[0]
