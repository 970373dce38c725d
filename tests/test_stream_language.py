"""emote.Stream(language=...): a stream does for a language what emote.animate does offline.

For a language other than English the jaw also follows the opening heard in the audio
(scaled to the speech of the last 30 s, not each window's own), and text pushed beside
the audio is phonemised by espeak-ng and CTC-aligned; English and "auto" are untouched.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import missing

import emote
from emote.animation.channels import INDEX, MOUTH_NAMES
from emote.audio.io import load_audio
from emote.errors import EmoteError
from emote.performance import PerformanceSettings
from emote.stream import Stream

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason=missing("espeak-ng", "not installed")
)

SPANISH = "13697_11991_000000"  # LibriSpeech-style Spanish clip (14.9 s) and its .lab transcript
MOUTH = [INDEX[n] for n in MOUTH_NAMES]
JAW, CLOSE = INDEX["JawOpen"], INDEX["MouthClose"]
STILL = PerformanceSettings(blinks=False, gaze=False, head=False)  # offline: speech and emotion only
QUIET = {"blinks": False, "gaze": False, "head_motion": False}


def _streamed(stream: Stream, y: np.ndarray, chunk: int = 1600) -> np.ndarray:
    parts = [stream.push(y[a : a + chunk], 16000).curves for a in range(0, y.size, chunk)]
    parts.append(stream.flush().curves)
    return np.concatenate(parts)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a[:, JAW], b[:, JAW])[0, 1])


@pytest.fixture(scope="module")
def spanish(speech_dir, tmp_path_factory):
    """The first `seconds` of the Spanish clip, as a file without a transcript beside it and as samples."""
    import soundfile as sf

    y = load_audio(speech_dir / f"{SPANISH}.opus").samples
    folder = tmp_path_factory.mktemp("es")

    def cut(seconds: float):
        part = y[: round(seconds * 16000)]
        path = folder / f"es{seconds:g}.wav"
        sf.write(path, part, 16000)
        return path, part

    return cut


def test_a_spanish_phonetic_stream_follows_the_heard_jaw_as_offline(spanish):
    path, y = spanish(8)
    offline = emote.animate(path, language="es", performance=STILL).curves
    live = _streamed(Stream(fps=30, language="es", **QUIET), y)
    auto = _streamed(Stream(fps=30, **QUIET), y)
    assert live.shape == offline.shape
    assert np.abs(live[:, JAW] - auto[:, JAW]).mean() > 0.05  # 0.109 measured: the heard jaw moves it
    # Measured 0.83 against offline Spanish, where the same stream without the language has 0.75.
    assert _corr(live, offline) > 0.78
    assert _corr(live, offline) > _corr(auto, offline) + 0.04
    assert np.abs(live[:, MOUTH] - offline[:, MOUTH]).mean() < 0.03


def test_a_spanish_neural_stream_follows_the_heard_jaw_as_offline(spanish):
    path, y = spanish(3)
    # Offline, a language other than English runs the multilingual model, as a stream does.
    offline = emote.animate(path, language="es", engine="neural", performance=STILL).curves
    live = _streamed(Stream(fps=30, engine="neural", language="es", **QUIET), y)
    auto = _streamed(Stream(fps=30, engine="neural", **QUIET), y)
    assert np.abs(live[:, JAW] - auto[:, JAW]).mean() > 0.01
    assert _corr(live, offline) > 0.9
    assert (
        np.abs(live[:, MOUTH] - offline[:, MOUTH]).mean() < np.abs(auto[:, MOUTH] - offline[:, MOUTH]).mean()
    )


def test_a_stream_recognises_phones_as_offline_does_for_its_language(speech_dir):
    """As ``emote.animate``: English said recognises ARPAbet; ``auto`` and any other language IPA,
    with the bilabial closures heard by the detector written in."""
    y = load_audio(speech_dir / "bobby.wav").samples

    def heard(language: str) -> tuple[np.ndarray, set[str]]:
        stream, labels = Stream(fps=30, language=language), set()
        recognise = stream._heard

        def recorded(window):
            phones = recognise(window)
            labels.update(p.label for p in phones)
            return phones

        stream._heard = recorded
        return _streamed(stream, y), labels

    (en, en_labels), (en_us, _), (auto, auto_labels) = heard("en"), heard("EN-US"), heard("auto")
    assert np.array_equal(en, en_us)  # one language, however spelt
    assert en_labels and not any(label.startswith("/") for label in en_labels)
    assert any(label.startswith("/") for label in auto_labels)
    assert np.array_equal(_streamed(Stream(fps=30), y), auto)  # auto is the default


@pytest.mark.parametrize("language", ["klingon", "xx", ""])
def test_an_unknown_language_is_a_one_line_error_naming_the_known_ones(language):
    with pytest.raises(EmoteError, match=r"unknown language .*; supported: auto, .*\bes\b.*\bzh\b") as err:
        Stream(language=language)
    assert "\n" not in str(err.value)
    stream = Stream()
    with pytest.raises(EmoteError, match="unknown language"):
        stream.set(language=language)
    assert stream.settings.language == "auto"  # refused: the stream keeps its language


def test_a_language_that_is_not_a_string_is_refused():
    with pytest.raises(EmoteError, match="language must be a string"):
        Stream(language=7)


def test_spanish_text_pushed_beside_the_audio_is_ctc_aligned(speech_dir, monkeypatch):
    import importlib

    # emote.audio re-exports align() under its module's name: reach the modules themselves.
    ctc_module, english_module = (importlib.import_module(f"emote.audio.{m}") for m in ("ctc_align", "align"))
    aligned = []  # (aligner, language) of every call: the spies pass each call on
    ctc, english = ctc_module.ctc_align, english_module.align
    monkeypatch.setattr(
        ctc_module, "ctc_align", lambda **kw: aligned.append(("ctc", kw["language"])) or ctc(**kw)
    )
    monkeypatch.setattr(
        english_module, "align", lambda **kw: aligned.append(("english", None)) or english(**kw)
    )

    path = speech_dir / f"{SPANISH}.opus"
    y = load_audio(path).samples
    text = path.with_suffix(".lab").read_text().strip()
    stream = Stream(fps=30, language="es", **QUIET)
    live = np.concatenate([stream.push(y, 16000, text=text).curves, stream.flush().curves])
    assert aligned == [("ctc", "es")]
    offline = emote.animate(path, language="es", performance=STILL).curves  # the .lab beside it: CTC-aligned
    assert np.abs(live[:, MOUTH] - offline[:, MOUTH]).mean() < 0.02
    # espeak-ng's bilabial stops of the transcript (sorpresa, por, fisonomía, manifestó, asombro...) close the lips.
    stops = [
        p for p in ctc(y=y, sr=16000, text=text, language="es").phones if p.label in ("/p/", "/b/", "/m/")
    ]
    assert len(stops) >= 10
    for p in stops:
        k = round((p.start + p.end) / 2 * 30)
        assert live[k, JAW] - live[k, CLOSE] < 0.05, p
    # English text in an English (or unnamed) stream keeps the English aligner.
    bobby = load_audio(speech_dir / "bobby.wav").samples
    for language in ("auto", "en"):
        aligned.clear()
        Stream(language=language).push(bobby, 16000, text="Bobby ripped the ledger")
        assert aligned == [("english", None)], language


def test_a_language_set_mid_stream_turns_the_heard_jaw_on(spanish):
    _, y = spanish(4)
    half = y.size // 2
    plain = Stream(fps=30, **QUIET)
    switched = Stream(fps=30, **QUIET)
    a = [plain.push(y[:half], 16000).curves, plain.push(y[half:], 16000).curves, plain.flush().curves]
    b = [switched.push(y[:half], 16000).curves]
    switched.set(language="es")
    b += [switched.push(y[half:], 16000).curves, switched.flush().curves]
    assert np.array_equal(a[0], b[0])
    assert np.abs(np.concatenate(a[1:])[:, JAW] - np.concatenate(b[1:])[:, JAW]).mean() > 0.03


def _heard_in_windows(y: np.ndarray, fps: float, opening) -> np.ndarray:
    """The heard opening of each frame as a stream sends it: 1 s windows every 50 ms, 50 ms look-ahead."""
    from emote.stream.engines import Loudness, Window

    loudness, out, sent, hop = Loudness(fps), [], 0, 800
    for end in range(hop, y.size + 1, hop):
        stop = math.floor((end / 16000 - 0.05) * fps) + 1
        first = max(sent - round(fps), 0)
        window = Window(
            first, math.floor(end / 16000 * fps) + 1 - first, fps, y[round(first / fps * 16000) : end], []
        )
        out.append(opening(window, loudness.energy(window))[sent - first : stop - first])
        sent = stop
    return np.concatenate(out)


def test_a_stream_scales_the_heard_jaw_to_its_recent_speech_not_each_window(speech_dir):
    from emote.audio.formants import jaw_opening
    from emote.stream.engines import HeardJaw

    y = load_audio(speech_dir / f"{SPANISH}.opus").samples
    fps = 30.0
    offline = jaw_opening(y=y, sr=16000, fps=fps)
    live = _heard_in_windows(y, fps, HeardJaw(fps).opening)
    alone = _heard_in_windows(
        y, fps, lambda w, energy: jaw_opening(y=w._padded(), sr=16000, fps=fps, n_frames=w.n_frames)
    )
    n = live.size
    # Measured: correlation 0.87 and MAE 0.094 against offline; each window scaled alone 0.81 and 0.132.
    assert np.corrcoef(live, offline[:n])[0, 1] > 0.85
    assert np.abs(live - offline[:n]).mean() < 0.8 * np.abs(alone - offline[:n]).mean()
    late = slice(n // 2, n)  # once seconds of speech are heard, the scale is the clip's
    assert abs(live[late].mean() / offline[late].mean() - 1) < 0.1


def _emote_stream(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run(
        [sys.executable, "-m", "emote", "stream", *args], capture_output=True, env=env, timeout=300
    )


def test_emote_stream_language_aligns_a_spanish_transcript(speech_dir):
    from emote.audio.ctc_align import ctc_align

    path = speech_dir / f"{SPANISH}.opus"
    text = path.with_suffix(".lab").read_text().strip()
    run = _emote_stream(
        str(path), "--fps", "30", "--language", "es", "--text", text, "--no-blinks", "--no-gaze", "--no-head"
    )
    assert run.returncode == 0, run.stderr.decode()
    rows = [json.loads(line)["curves"] for line in run.stdout.decode().splitlines()]
    sound = load_audio(path)
    stops = [
        p
        for p in ctc_align(y=sound.samples, sr=16000, text=text, language="es").phones
        if p.label in ("/p/", "/b/", "/m/")
    ]
    gaps = [rows[round((p.start + p.end) / 2 * 30)] for p in stops]
    assert all(r["JawOpen"] - r["MouthClose"] < 0.05 for r in gaps)


def test_emote_stream_names_the_known_languages_for_an_unknown_one(speech_dir):
    run = _emote_stream(str(speech_dir / "bobby.wav"), "--language", "klingon")
    assert run.returncode == 1
    err = run.stderr.decode().strip().splitlines()
    assert len(err) == 1 and err[0].startswith("emote: error: unknown language 'klingon'; supported: auto,")


def test_the_server_takes_a_language_at_start_and_in_set(speech_dir):
    from test_serve import Running, _messages
    from websockets.sync.client import connect

    y = load_audio(speech_dir / f"{SPANISH}.opus").samples[: 16000 * 2].astype("<f4")
    server = Running(idle_timeout=5.0, max_speed=50.0)
    try:
        with connect(server.ws, max_size=None) as ws:
            ws.send(json.dumps({"type": "start", "sample_rate": 16000, "fps": 30, "language": "es"}))
            ready = json.loads(ws.recv(timeout=30))
            assert ready["type"] == "ready" and ready["language"] == "es"
            ws.send(y[:16000].tobytes())
            ws.send(json.dumps({"type": "set", "language": "auto"}))
            ws.send(y[16000:].tobytes())
            ws.send(json.dumps({"type": "end"}))
            msgs = _messages(ws)
        assert msgs[-1] == {"type": "end"}
        assert sum(len(m["values"]) for m in msgs if m["type"] == "frames") == 61  # 2 s at 30 fps
        for message in ({"type": "start", "sample_rate": 16000, "language": "klingon"},
                        {"type": "set", "language": "klingon"}):  # fmt: skip
            with connect(server.ws, max_size=None) as ws:
                if message["type"] == "set":
                    ws.send(json.dumps({"type": "start", "sample_rate": 16000}))
                    assert json.loads(ws.recv(timeout=30))["type"] == "ready"
                ws.send(json.dumps(message))
                error = _messages(ws)[-1]
            assert error["type"] == "error" and error["message"].startswith(
                "unknown language 'klingon'; supported:"
            )
    finally:
        server.stop()


def test_the_heard_jaw_keeps_bounded_state(speech_dir):
    y = load_audio(speech_dir / f"{SPANISH}.opus").samples
    stream = Stream(fps=30, language="es", **QUIET)
    heard = stream._heard_jaw
    for _ in range(3):  # 45 s of speech: more than the 30 s whose drive is kept
        for a in range(0, y.size, 8000):
            stream.push(y[a : a + 8000], 16000)
    assert len(heard._drive) == heard._drive.maxlen == 900  # full, and no longer
    window = round(30 * (stream.settings.context + stream.settings.lookahead)) + 16  # frames, one push more
    assert heard._f1.size <= window  # F1 is kept only for the frames a window re-reads
