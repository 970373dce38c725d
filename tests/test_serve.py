"""`emote serve`: the WebSocket protocol, its defences against bad clients, and the page in a real browser."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import missing, needs
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from emote.animation.channels import INDEX
from emote.audio.convert import n_frames_for
from emote.audio.io import load_audio
from emote.stream.server import Server, ServeSettings, three_dir

REPO = Path(__file__).resolve().parents[1]
needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason=missing("espeak-ng", "not installed")
)


class Running:
    """A server on a free localhost port, in a thread."""

    def __init__(self, **settings) -> None:
        self.server = Server(ServeSettings(port=0, **settings))
        ready = threading.Event()
        self.thread = threading.Thread(target=self.server.run, args=(lambda s: ready.set(),), daemon=True)
        self.thread.start()
        assert ready.wait(30), "server did not start"
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.ws = f"ws://127.0.0.1:{self.server.port}/ws"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)


@pytest.fixture(scope="module")
def server():
    s = Running(idle_timeout=2.0, max_clients=3, max_speed=50.0)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def speech48k(speech_dir) -> np.ndarray:
    import soxr

    return soxr.resample(load_audio(speech_dir / "bobby.wav").samples, 16000, 48000).astype("<f4")


def _messages(ws) -> list[dict]:
    out = []
    try:
        while True:
            out.append(json.loads(ws.recv(timeout=30)))
            if out[-1]["type"] in ("end", "error"):
                return out
    except ConnectionClosed:
        return out


def _stream(url: str, y: np.ndarray, **start) -> list[dict]:
    with connect(url, max_size=None) as ws:
        ws.send(json.dumps({"type": "start", "sample_rate": 48000, **start}))
        ready = json.loads(ws.recv(timeout=30))
        assert ready["type"] == "ready" and len(ready["channels"]) == 61
        for a in range(0, y.size, 4800):
            ws.send(y[a : a + 4800].tobytes())
        ws.send(json.dumps({"type": "end"}))
        return _messages(ws)


def test_a_session_streams_every_frame_and_ends(server, speech48k):
    msgs = _stream(server.ws, speech48k, fps=30, emotion="happy")
    frames = [row for m in msgs if m["type"] == "frames" for row in m["values"]]
    firsts = [m["first"] for m in msgs if m["type"] == "frames"]
    assert msgs[-1] == {"type": "end"}
    assert len(frames) == n_frames_for(duration=speech48k.size / 48000, fps=30)
    assert firsts == sorted(firsts) and firsts[0] == 0
    jaw = np.array(frames)[:, INDEX["JawOpen"]]
    assert jaw.max() > 0.2 and jaw.min() < 0.1


def test_a_client_switches_the_engine_mid_stream_and_frames_keep_coming(server, speech48k):
    y = np.concatenate([speech48k, speech48k])
    with connect(server.ws, max_size=None) as ws:
        ws.send(json.dumps({"type": "start", "sample_rate": 48000, "fps": 30}))
        assert json.loads(ws.recv(timeout=30))["type"] == "ready"
        half = y.size // 2 // 4800 * 4800
        for a in range(0, y.size, 4800):
            if a == half:
                ws.send(json.dumps({"type": "set", "engine": "neural"}))
            ws.send(y[a : a + 4800].tobytes())
        ws.send(json.dumps({"type": "end"}))
        msgs = _messages(ws)
    assert msgs[-1] == {"type": "end"}
    frames = [row for m in msgs if m["type"] == "frames" for row in m["values"]]
    assert len(frames) == n_frames_for(duration=y.size / 48000, fps=30)
    # Frames after the switch, from the neural engine: the jaw still follows the speech (0.11-0.35 measured).
    jaw = np.array(frames)[len(frames) // 2 + 15 :, INDEX["JawOpen"]]
    assert jaw.max() > 0.2 and jaw.max() - jaw.min() > 0.15


@pytest.mark.parametrize(("key", "value", "message"), [("engine", "rules", "unknown engine"),
                                                      ("language", "klingon", "unknown language 'klingon'; supported: auto, ")])  # fmt: skip
def test_an_unknown_engine_or_language_in_set_is_a_clear_error(server, key, value, message):
    with connect(server.ws) as ws:
        ws.send(json.dumps({"type": "start", "sample_rate": 16000}))
        assert json.loads(ws.recv(timeout=30))["type"] == "ready"
        ws.send(json.dumps({"type": "set", key: value}))
        msgs = _messages(ws)
    assert msgs[-1]["type"] == "error" and message in msgs[-1]["message"]


@needs_espeak
def test_the_language_menu_lists_every_language_a_stream_takes_and_only_those(server):
    from emote.audio.espeak import languages
    from emote.stream.core import StreamSettings

    menu = json.load(urllib.request.urlopen(server.url + "/languages"))["languages"]
    codes = [item["code"] for item in menu]
    assert codes[0] == "auto" and len(set(codes)) == len(codes)
    assert {"en", "es", "fr", "de", "it", "pt", "ru", "ja", "ko", "zh", "nl", "pl"} <= set(codes)
    assert all(item["name"] and "_" not in item["name"] for item in menu)
    # Each of espeak-ng's voices once: every code is one a stream takes, and no voice is missing.
    for code in codes:
        StreamSettings(language=code).checked()
    assert {languages()[c] for c in codes[1:]} == set(languages().values())
    assert {i["code"]: i["name"] for i in menu}["es"] == "Spanish (Spain)"


def test_without_espeak_ng_the_menu_offers_auto_and_english_which_need_none(monkeypatch):
    from emote.audio import espeak
    from emote.errors import EmoteError
    from emote.stream.core import StreamSettings

    def absent() -> dict[str, str]:
        raise EmoteError("espeak-ng is not installed")

    monkeypatch.setattr(espeak, "languages", absent)
    assert list(espeak.language_names()) == ["auto", "en"]
    for code in espeak.language_names():
        StreamSettings(language=code).checked()  # English and auto need no espeak-ng


@needs_espeak
def test_a_stream_starts_in_a_language_and_changes_it_mid_stream(server, speech48k):
    with connect(server.ws, max_size=None) as ws:
        ws.send(json.dumps({"type": "start", "sample_rate": 48000, "language": "es"}))
        assert json.loads(ws.recv(timeout=30))["language"] == "es"
        ws.send(speech48k[:24000].tobytes())
        ws.send(json.dumps({"type": "set", "language": "fr", "emotion": "happy"}))
        ws.send(speech48k[24000:48000].tobytes())
        ws.send(json.dumps({"type": "end"}))
        msgs = _messages(ws)
    assert msgs[-1] == {"type": "end"}
    updated = [m for m in msgs if m["type"] == "updated"]
    assert updated == [{"type": "updated", "language": "fr", "emotion": "happy", "engine": "phonetic"}]
    frames = [row for m in msgs if m["type"] == "frames" for row in m["values"]]
    assert len(frames) == n_frames_for(duration=1.0, fps=30)


@pytest.mark.parametrize(
    ("first", "then", "message"),
    [("not json", None, "JSON"),
     (json.dumps([1, 2]), None, "JSON object"),
     (json.dumps({"type": "dance"}), None, "unknown message type"),
     (b"\0\0\0\0", None, "start message first"),
     (json.dumps({"type": "start", "sample_rate": 100}), None, "sample_rate"),
     (json.dumps({"type": "start", "sample_rate": 16000, "emotion": "grumpy"}), None, "emotion"),
     (json.dumps({"type": "start", "sample_rate": 16000, "volume": 11}), None, "unknown start settings"),
     (json.dumps({"type": "start", "sample_rate": 16000, "language": "klingon"}), None, "unknown language 'klingon'"),
     (json.dumps({"type": "start", "sample_rate": 16000, "language": 7}), None, "language must be a string"),
     (json.dumps({"type": "start", "sample_rate": 16000}), b"\0\0\0", "multiple of 4"),
     (json.dumps({"type": "start", "sample_rate": 16000}), np.full(4, np.nan, "<f4").tobytes(), "NaN")],
)  # fmt: skip
def test_a_bad_client_gets_a_clear_error_and_is_closed(server, first, then, message):
    with connect(server.ws) as ws:
        ws.send(first)
        if then is not None:
            assert json.loads(ws.recv(timeout=30))["type"] == "ready"
            ws.send(then)
        msgs = _messages(ws)
    assert msgs[-1]["type"] == "error" and message in msgs[-1]["message"]


def test_a_silent_client_times_out(server):
    with connect(server.ws) as ws:
        ws.send(json.dumps({"type": "start", "sample_rate": 16000}))
        start = time.monotonic()
        msgs = _messages(ws)
    assert "idle timeout" in msgs[-1]["message"]
    assert 1.5 < time.monotonic() - start < 10


def test_clients_that_vanish_do_not_stop_the_others(server, speech48k):
    for _ in range(3):
        with connect(server.ws) as ws:
            ws.send(json.dumps({"type": "start", "sample_rate": 48000}))
            ws.recv(timeout=30)
            ws.send(speech48k[:9600].tobytes())
        # ...gone mid-stream
    for _ in range(100):  # each one's slot frees once the server has noticed
        if server.server._clients == 0:
            break
        time.sleep(0.1)
    assert server.server._clients == 0
    msgs = _stream(server.ws, speech48k)
    assert msgs[-1] == {"type": "end"}


def test_more_clients_than_allowed_are_turned_away(server):
    with contextlib.ExitStack() as held:
        for _ in range(3):
            held.enter_context(connect(server.ws))
        with pytest.raises(InvalidStatus) as err:
            connect(server.ws)
        assert err.value.response.status_code == 503


def test_audio_faster_than_real_time_is_throttled(speech_dir):
    slow = Running(max_speed=2.0)
    try:
        y = np.zeros(48000 * 2, "<f4")  # two seconds sent at once
        start = time.monotonic()
        msgs = _stream(slow.ws, y)
        assert msgs[-1] == {"type": "end"}
        assert time.monotonic() - start >= 0.9  # two seconds at 2x real time take one
    finally:
        slow.stop()


def test_the_page_head_and_three_js_are_served_locally_and_nothing_else(server):
    page = urllib.request.urlopen(server.url + "/").read().decode()
    assert "/vendor/three/build/three.module.js" in page and "https://" not in page
    head = urllib.request.urlopen(server.url + "/head.glb").read()
    assert head[:4] == b"glTF"
    for bad in (
        "/vendor/three/build/../../../../../etc/passwd",
        "/vendor/three/package.json",
        "/../README.md",
    ):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server.url + bad)
        assert err.value.code == 404


def test_serve_binds_localhost_and_stops_cleanly_on_sigint():
    if three_dir() is None:
        needs(
            "three.js",
            "not installed (setup.sh installs it from npm); emote serve refuses to start without it",
        )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "emote", "serve", "--port", "0"], env=env,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = proc.stderr.readline()
        assert "serving http://127.0.0.1:" in line
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


# -- the page in headless Chromium, its microphone a WAV file -----------------------------------------


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        needs("chromium", "no chromium on PATH (setup.sh installs it)")
    if three_dir() is None:
        needs("three.js", "not installed (setup.sh installs it from npm)")
    return exe


STRIP_JS = """(() => {
  const c = document.getElementById("view"), w = 0.5 * c.width, h = 0.62 * c.height, n = 6;
  if (!window.emoteStrip) {
    window.emoteStrip = document.createElement("canvas");
    window.emoteStrip.width = Math.round(n * w / 2); window.emoteStrip.height = Math.round(h / 2); window.emoteShots = 0;
  }
  window.emoteStrip.getContext("2d").drawImage(c, 0.25 * c.width, 0.2 * c.height, w, h,
    window.emoteShots * w / 2, 0, w / 2, h / 2);
  return ++window.emoteShots;
})()"""


STRIP_DONE_JS = """(() => {
  const s = window.emoteStrip;
  if (!s) return "";
  const c = document.createElement("canvas");
  c.width = Math.round(window.emoteShots * s.width / 6); c.height = s.height;
  c.getContext("2d").drawImage(s, 0, 0);
  return c.toDataURL("image/png");
})()"""


class DevTools:
    """The Chrome DevTools Protocol over the browser's own WebSocket: evaluate, screenshot."""

    def __init__(self, profile: Path) -> None:
        port_file = profile / "DevToolsActivePort"
        for _ in range(150):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        self.url = next(p for p in pages if p["type"] == "page")["webSocketDebuggerUrl"]
        self.ws = None  # the test opens it: with connect(tools.url) as tools.ws
        self.n = 0

    def call(self, method: str, **params) -> dict:
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == self.n:
                return msg["result"]

    def eval(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")


CHOOSE_JS = """(() => { const m = document.getElementById("language"); m.value = "%s";
  m.dispatchEvent(new Event("change")); })();"""


def _until(tools: DevTools, expression: str, value, seconds: float = 30.0):
    """``expression``'s value in the page once it equals ``value``, or its last value after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (got := tools.eval(expression)) != value and time.monotonic() < deadline:
        time.sleep(0.25)
    return got


def test_the_page_animates_the_head_from_the_microphone_in_chromium(server, speech_dir, tmp_path):
    import base64

    import soundfile as sf
    import soxr

    exe = _chromium()
    y = load_audio(speech_dir / "bobby.wav").samples
    quiet = np.zeros(16000, np.float32)
    clip = np.concatenate([quiet, y, quiet, y, quiet])  # speech and silence: the jaw must follow
    sf.write(tmp_path / "mic.wav", (soxr.resample(clip, 16000, 48000) * 32767).astype(np.int16), 48000)
    profile = tmp_path / "profile"
    browser = subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
         "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={tmp_path / 'mic.wav'}",
         "--enable-unsafe-swiftshader", "--remote-debugging-port=0", f"--user-data-dir={profile}",
         "--window-size=480,480", f"{server.url}/?autostart=mic"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        tools = DevTools(profile)
        with connect(tools.url, max_size=None) as tools.ws:
            shots = 0
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                time.sleep(1.0)
                state = tools.eval(
                    "JSON.stringify({f: emoteState.frames, e: emoteState.error, s: emoteState.sentSeconds,"
                    " t: emoteState.trace.length})"
                )
                state = json.loads(state)
                assert state["e"] is None, state["e"]
                if state["f"] > 0 and shots < 6:
                    tools.eval(STRIP_JS)  # the README's strip: the canvas as drawn, one crop per second
                    shots += 1
                if state["s"] > 7.0 and state["f"] > 150 and state["t"] >= 8:  # software WebGL draws slowly
                    break
            strip = tools.eval(STRIP_DONE_JS)
            result = json.loads(tools.eval(
                "JSON.stringify({received: emoteState.received, level: emoteState.level, trace: emoteState.trace,"
                " targets: emoteState.morphTargets})"))  # fmt: skip
            # The language menu, filled from the server's /languages. The stream started in "auto"; a
            # language chosen mid-stream reaches the server's stream ("updated" echoes the stream's language)...
            menu = tools.eval("emoteState.languages")
            started_in = tools.eval("emoteState.language")
            tools.eval(CHOOSE_JS % "es")
            switched_to = _until(tools, "emoteState.language", "es")
            # ...and one chosen between streams goes in the next start message ("ready" echoes it).
            restart = 'document.getElementById("stop").click();' + CHOOSE_JS % "de"
            tools.eval(restart + 'document.getElementById("mic").click()')
            restarted_in = _until(tools, "emoteState.language", "de")
    finally:
        browser.terminate()
        browser.wait(10)
    assert {"auto", "en", "es", "de", "zh"} <= set(menu)
    assert (started_in, switched_to, restarted_in) == ("auto", "es", "de")
    assert result["targets"] >= 52  # the default head's ARKit morph targets were found
    # The mesh itself moved: three.js's jawOpen influence took many values.
    mesh_jaw = [t[2] for t in result["trace"] if t[2] is not None]
    assert len(mesh_jaw) >= 5 and max(mesh_jaw) - min(mesh_jaw) > 0.1
    # And it moved with the speech: received JawOpen against the loudness of the audio sent at that time.
    frames = np.array(result["received"], np.float64)
    level = np.array(result["level"], np.float64)
    at = np.searchsorted(level[:, 0], frames[:, 0] / 30.0).clip(0, len(level) - 1)
    # Speech against silence: frames whose audio was loud, and those whose audio was near silent
    # (not merely quieter speech, whose jaw may still move: under load that made the contrast flaky).
    loud = level[at, 1] > 0.3 * level[:, 1].max()
    silent = level[at, 1] < 0.05 * level[:, 1].max()
    assert loud.any() and silent.any()
    assert frames[loud, 1].mean() > 2 * frames[silent, 1].mean() + 0.02
    if os.environ.get("EMOTE_SCREENSHOTS") and strip:  # docs/images/live_strip.png comes from here
        out = Path(os.environ["EMOTE_SCREENSHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        (out / "live_strip.png").write_bytes(base64.b64decode(strip.split(",", 1)[1]))
