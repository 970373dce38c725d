"""``emote serve``: a WebSocket that animates streamed speech, and a page that uses it in the browser.

HTTP (same port):

- ``/`` the page: microphone or an uploaded file in, a GLB head animated with WebGL (three.js,
  served from this server: ``/vendor/three/`` is the copy ``setup.sh`` installs from npm, never
  a CDN); drop your own GLB head (ARKit-named morph targets) onto it.
- ``/head.glb`` the default head, written by emote's GLB exporter.
- ``/languages`` the languages ``language`` takes, for the page's menu: ``{"languages": [{"code":
  "auto", "name": ...}, {"code": "es", "name": "Spanish (Spain)"}, ...]}``
  (:func:`emote.audio.espeak.language_names`).

WebSocket ``/ws`` (JSON text messages, audio as binary):

1. client → ``{"type": "start", "sample_rate": 48000, "fps": 30, "engine": "phonetic",
   "emotion": "happy", "intensity": 0.8, "language": "es"}`` (all but ``sample_rate`` optional;
   ``language`` as ``emote.Stream`` takes it: another than English also moves the jaw with the
   opening heard); server → ``{"type": "ready", "channels": [61 names], "fps": .., "lookahead": ..,
   "language": ..}``.
2. client → binary messages: mono float32 little-endian PCM at ``sample_rate``;
   server → ``{"type": "frames", "first": i, "fps": f, "values": [[61 numbers], ...]}``.
3. client → ``{"type": "set", "emotion": .., "intensity": .., "blinks": .., "gaze": .., "head_motion": ..,
   "engine": .., "language": ..}`` at any time (the change glides in; a new engine crossfades from the old one);
   server → ``{"type": "updated", ..the keys sent.., "engine": .., "language": ..}``: the change is
   in, and the stream's engine and language now.
4. client → ``{"type": "end"}``; server sends the last frames, ``{"type": "end"}`` and closes.

Robustness, per connection, so one client never hurts the others:

- anything malformed (bad JSON, unknown type, audio before ``start``, a PCM length not a
  multiple of 4, NaN, a rate outside 8-192 kHz, bad settings) gets ``{"type": "error",
  "message": ...}`` and the connection is closed (code 1003 or 1008);
- nothing received for ``idle_timeout`` seconds: an error and close (1008);
- audio faster than real time is accepted but throttled to ``max_speed`` × real time, and the
  server reads the next message only when the last one is animated, so a fast client is
  slowed by TCP back-pressure (the library's incoming queue holds at most 16 messages of at
  most 1 MiB); a client that stops reading frames for ``send_timeout`` seconds is dropped;
- at most ``max_clients`` streams at once (more get HTTP 503);
- binds 127.0.0.1 unless told otherwise; SIGINT/SIGTERM stop it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
import os
import signal
import time
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import numpy as np

from emote.animation.channels import CHANNELS
from emote.errors import EmoteError

log = logging.getLogger("emote.serve")

WEB = Path(__file__).resolve().parent / "web"
THREE_VERSION = "0.170.0"


@dataclass
class ServeSettings:
    """Server limits (see the module docstring for what each protects against)."""

    host: str = "127.0.0.1"
    port: int = 8765
    max_clients: int = 8
    idle_timeout: float = 30.0
    send_timeout: float = 10.0
    max_speed: float = 8.0
    max_message: int = 1 << 20


class ClientError(Exception):
    """A client broke the protocol; the message goes back to it."""


def three_dir() -> Path | None:
    """three.js's npm package folder: ``EMOTE_THREE_DIR`` or the copy ``setup.sh`` installs."""
    for candidate in (os.environ.get("EMOTE_THREE_DIR"), WEB / "node_modules" / "three"):
        if candidate and (Path(candidate) / "build" / "three.module.js").is_file():
            return Path(candidate)
    return None


def default_head_glb() -> bytes:
    """The default head as GLB bytes: its mesh and every ARKit morph target, one still frame."""
    from emote.animation import FaceAnimation
    from emote.export.glb import glb_bytes
    from emote.rigs.registry import load_rig

    return glb_bytes(FaceAnimation(30.0, np.zeros((1, len(CHANNELS)), np.float32), {}), load_rig("default"))


class Server:
    """The HTTP + WebSocket server (``run()`` blocks; ``start()``/``stop()`` from asyncio)."""

    def __init__(self, settings: ServeSettings | None = None) -> None:
        self.settings = settings or ServeSettings()
        self._clients = 0
        self._head: bytes | None = None
        self._server = None

    # -- HTTP ----------------------------------------------------------------------------------
    def _http(self, connection, request):
        from websockets.datastructures import Headers
        from websockets.http11 import Response

        path = request.path.split("?", 1)[0]
        if path == "/ws":
            if self._clients >= self.settings.max_clients:
                return connection.respond(
                    HTTPStatus.SERVICE_UNAVAILABLE, "too many streams; try again later\n"
                )
            return None  # the WebSocket handshake goes on
        body, kind = self._file(path)
        if body is None:
            return connection.respond(HTTPStatus.NOT_FOUND, f"{path}: not found\n")
        headers = Headers([("Content-Type", kind), ("Content-Length", str(len(body))), ("Cache-Control", "no-cache"),
                           ("X-Content-Type-Options", "nosniff")])  # fmt: skip
        return Response(200, "OK", headers, body)

    def _file(self, path: str) -> tuple[bytes | None, str]:
        if path in ("/", "/index.html"):
            return (WEB / "index.html").read_bytes(), "text/html; charset=utf-8"
        if path == "/app.js":
            return (WEB / "app.js").read_bytes(), "text/javascript; charset=utf-8"
        if path == "/languages":
            from emote.audio.espeak import language_names

            menu = [{"code": code, "name": name} for code, name in language_names().items()]
            return json.dumps({"languages": menu}).encode(), "application/json"
        if path == "/head.glb":
            if self._head is None:
                self._head = default_head_glb()
            return self._head, "model/gltf-binary"
        if path.startswith("/vendor/three/"):
            root = three_dir()
            rel = path[len("/vendor/three/") :]
            if root is None or not rel.startswith(("build/", "examples/jsm/")):
                return None, ""
            target = (root / rel).resolve()
            if root.resolve() not in target.parents or not target.is_file():  # no ../ out of the package
                return None, ""
            return target.read_bytes(), mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return None, ""

    # -- WebSocket -----------------------------------------------------------------------------
    async def _session(self, ws) -> None:
        self._clients += 1
        try:
            await Session(ws, self.settings).run()
        finally:
            self._clients -= 1

    async def start(self):
        from websockets.asyncio.server import serve

        if three_dir() is None:
            log.warning("three.js not found: the page cannot draw the head (run ./setup.sh, or "
                        "npm install --prefix %s three@%s, or set EMOTE_THREE_DIR)", WEB, THREE_VERSION)  # fmt: skip
        s = self.settings
        try:
            self._server = await serve(self._session, s.host, s.port, process_request=self._http,
                                       max_size=s.max_message, max_queue=16, compression=None)  # fmt: skip
        except OSError as exc:
            raise EmoteError(f"cannot listen on {s.host}:{s.port}: {exc.strerror or exc}") from None
        return self._server

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    async def serve_forever(self, ready=None) -> None:
        await self.start()
        self._stop = stop = asyncio.Event()
        self._loop = loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
                loop.add_signal_handler(sig, stop.set)
        if ready is not None:
            ready(self)
        try:
            await stop.wait()
        finally:
            self._server.close()
            await self._server.wait_closed()

    def run(self, ready=None) -> None:
        asyncio.run(self.serve_forever(ready))

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` from another thread."""
        self._loop.call_soon_threadsafe(self._stop.set)


class Session:
    """One client's stream: the protocol of the module docstring."""

    def __init__(self, ws, settings: ServeSettings) -> None:
        self.ws = ws
        self.settings = settings
        self.stream = None
        self.sr = 0
        self.audio_seconds = 0.0
        self.started = 0.0

    async def run(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                try:
                    message = await asyncio.wait_for(self.ws.recv(), self.settings.idle_timeout)
                except TimeoutError:
                    raise ClientError(
                        f"idle timeout: nothing received for {self.settings.idle_timeout:g} s"
                    ) from None
                if not await self._handle(message):
                    break
        except (ClientError, EmoteError) as exc:
            await self._fail(str(exc))
        except ConnectionClosed:
            pass  # the client left; its stream is simply dropped
        except TimeoutError:
            await self.ws.close(1008, "client does not read its frames")

    async def _handle(self, message: str | bytes) -> bool:
        if isinstance(message, bytes):
            await self._audio(message)
            return True
        try:
            msg = json.loads(message)
        except ValueError:
            raise ClientError("text messages must be JSON") from None
        if not isinstance(msg, dict):
            raise ClientError("a message must be a JSON object with a 'type'")
        kind = msg.get("type")
        if kind == "start":
            await self._start(msg)
        elif kind == "set":
            self._need_stream()
            keys = {"emotion", "intensity", "blinks", "gaze", "head_motion", "engine", "language"}
            if set(msg) - keys - {"type"}:
                raise ClientError(f"set takes {', '.join(sorted(keys))}")
            changes = {k: v for k, v in msg.items() if k in keys}
            # Off the event loop: a first switch to the neural engine loads its model.
            await asyncio.to_thread(self.stream.set, **changes)
            s = self.stream.settings
            await self._send_json({"type": "updated", **changes, "engine": s.engine, "language": s.language})
        elif kind == "end":
            self._need_stream()
            await self._send(await asyncio.to_thread(self.stream.flush))
            await self._send_json({"type": "end"})
            await self.ws.close()
            return False
        else:
            raise ClientError(f"unknown message type {kind!r} (start, set, end; audio as binary)")
        return True

    async def _start(self, msg: dict) -> None:
        from emote.stream import Stream

        if self.stream is not None:
            raise ClientError("already started")
        sr = msg.get("sample_rate")
        if not isinstance(sr, int) or not 8000 <= sr <= 192_000:
            raise ClientError(f"sample_rate must be an integer in [8000, 192000] Hz, got {sr!r}")
        allowed = {
            "fps",
            "engine",
            "emotion",
            "intensity",
            "latency",
            "seed",
            "blinks",
            "gaze",
            "head_motion",
            "language",
        }
        extra = set(msg) - allowed - {"type", "sample_rate"}
        if extra:
            raise ClientError(f"unknown start settings: {', '.join(sorted(extra))}")
        options = {k: msg[k] for k in allowed if k in msg}
        self.stream = await asyncio.to_thread(Stream, **{"fps": 30.0, **options})
        self.sr = sr
        self.started = time.monotonic()
        s = self.stream.settings
        await self._send_json({"type": "ready", "channels": list(CHANNELS), "fps": s.fps, "engine": s.engine,
                               "lookahead": s.lookahead, "language": s.language})  # fmt: skip

    async def _audio(self, data: bytes) -> None:
        self._need_stream()
        if len(data) % 4:
            raise ClientError("audio must be float32 little-endian PCM (a multiple of 4 bytes)")
        y = np.frombuffer(data, "<f4")
        # Faster than real time is fine up to max_speed; beyond it the client waits (back-pressure).
        self.audio_seconds += y.size / self.sr
        ahead = self.audio_seconds / self.settings.max_speed - (time.monotonic() - self.started)
        if ahead > 0:
            await asyncio.sleep(ahead)
        frames = await asyncio.to_thread(self.stream.push, y, self.sr)
        await self._send(frames)

    def _need_stream(self) -> None:
        if self.stream is None:
            raise ClientError("send a start message first")

    async def _send(self, frames) -> None:
        if len(frames):
            await self._send_json({"type": "frames", "first": frames.first, "fps": frames.fps,
                                   "values": np.round(frames.curves, 4).tolist()})  # fmt: skip

    async def _send_json(self, obj: dict) -> None:
        await asyncio.wait_for(
            self.ws.send(json.dumps(obj, separators=(",", ":"))), self.settings.send_timeout
        )

    async def _fail(self, message: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self._send_json({"type": "error", "message": message})
            await self.ws.close(1008, message[:120])
        except (ConnectionClosed, TimeoutError):
            pass  # it left already
