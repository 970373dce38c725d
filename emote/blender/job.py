"""Running ``emote animate`` in the background for the "Animate from audio" panel.

Blender's UI must not freeze while a long clip is animated, and emote's engines
(torch, pocketsphinx) live in the user's own Python, not in Blender's. So the
add-on runs the ``emote`` command line in a subprocess and polls it from a
timer: :class:`AnimateJob` starts it, reports progress from the tqdm bar the
CLI prints on stderr, and hands back the JSON it wrote. No ``bpy`` here.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from emote.errors import EmoteError

#: tqdm's "45%|" (and a bare "45%" at the end of a line).
_PERCENT = re.compile(r"(\d{1,3})%(?:\||\s*$)")


class EmoteNotFoundError(EmoteError):
    """Neither the configured Python nor the ``emote`` executable can be run."""


@dataclass
class AnimateRequest:
    """What the panel asks emote for (the flags of ``emote animate``).

    Attributes
    ----------
    audio : Path
        Speech audio file.
    emotion : str
        Emotion name (``neutral``, ``happy``, ...), used unless ``emotion_track`` is set.
    intensity : float
        0..1.
    emotion_track : Path | None
        Time-varying emotion track (JSON), passed as ``--emotion-track``.
    engine : str | None
        ``neural``, or None for emote's default (the phonetic engine).
    text : str | None
        Transcript, for forced alignment.
    fps : float | None
        Output frame rate; None leaves emote's default.
    seed : int | None
    """

    audio: Path
    emotion: str = "neutral"
    intensity: float = 1.0
    emotion_track: Path | None = None
    engine: str | None = None
    text: str | None = None
    fps: float | None = None
    seed: int | None = None


def emote_command(*, executable: str = "emote", python: str = "") -> list[str]:
    """The argv prefix that runs emote's command line.

    Parameters
    ----------
    executable : str
        ``emote`` executable: a name looked up on PATH or a path.
    python : str
        A Python interpreter with emote installed; when set it wins, and emote
        runs as ``python -m emote``.

    Raises
    ------
    EmoteNotFoundError
        With a message that says what to install or configure.
    """
    if python:
        path = shutil.which(python) or (python if Path(python).is_file() else None)
        if path is None:
            raise EmoteNotFoundError(
                f"{python}: Python interpreter not found (set it in the emote add-on preferences)"
            )
        return [path, "-m", "emote"]
    path = shutil.which(executable) if executable else None
    if path is None:
        raise EmoteNotFoundError(
            f"{executable or 'emote'}: emote command not found; install emote (pip install emote) "
            "or set its executable or Python in the emote add-on preferences"
        )
    return [path]


def animate_argv(prefix: list[str], request: AnimateRequest, out_dir: Path) -> list[str]:
    """The full ``emote animate ... --format json -o OUT_DIR`` command line."""
    argv = [*prefix, "animate", str(request.audio), "--format", "json", "-o", str(out_dir)]
    if request.emotion_track is not None:
        argv += ["--emotion-track", str(request.emotion_track)]
    else:
        argv += ["--emotion", request.emotion]
    argv += ["--intensity", f"{request.intensity:g}"]
    if request.engine:
        argv += ["--engine", request.engine]
    if request.text:
        argv += ["--text", request.text]
    if request.fps:
        argv += ["--fps", f"{request.fps:g}"]
    if request.seed is not None:
        argv += ["--seed", str(request.seed)]
    return argv


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of a job.

    Attributes
    ----------
    state : str
        ``running``, ``done``, ``failed`` or ``cancelled``.
    progress : float
        0..1, from the CLI's progress bar (0 until it prints one).
    message : str
        For ``failed``: the CLI's last line (its one-line error).
    result : Path | None
        For ``done``: the JSON emote wrote.
    """

    state: str
    progress: float = 0.0
    message: str = ""
    result: Path | None = None


class AnimateJob:
    """``emote animate`` running in a subprocess, polled without blocking.

    Parameters
    ----------
    argv : list[str]
        Command line whose output folder is ``out_dir`` (see :func:`animate_argv`).
    out_dir : Path
        Where the command writes its JSON; :meth:`cleanup` removes it.

    Examples
    --------
    >>> out = Path(tempfile.mkdtemp())                                     # doctest: +SKIP
    >>> job = AnimateJob(animate_argv(emote_command(), request, out), out)  # doctest: +SKIP
    >>> while job.poll().state == "running": time.sleep(0.1)              # doctest: +SKIP
    """

    def __init__(self, argv: list[str], out_dir: Path) -> None:
        self.argv = argv
        self.out_dir = Path(out_dir)
        self._progress = 0.0
        self._lines: list[str] = []
        self._cancelled = False
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0
        # emote shows its progress bar only on a terminal, unless asked for it.
        env = {**os.environ, "EMOTE_PROGRESS": "1"}
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                creationflags=flags,
                env=env,
            )
        except OSError as exc:
            raise EmoteNotFoundError(f"{argv[0]}: cannot run emote ({exc.strerror or exc})") from None
        # A thread drains stderr: a full pipe would stall emote, and reads block.
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    @classmethod
    def start(cls, prefix: list[str], request: AnimateRequest) -> AnimateJob:
        """Run emote on ``request`` into a fresh temporary folder."""
        out_dir = Path(tempfile.mkdtemp(prefix="emote-blender-"))
        try:
            return cls(animate_argv(prefix, request, out_dir), out_dir)
        except BaseException:
            shutil.rmtree(out_dir, ignore_errors=True)
            raise

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        buf = b""
        while chunk := self._proc.stderr.read1(4096):
            buf += chunk
            # tqdm rewrites its line with "\r"; both end a line for us.
            *done, buf = re.split(rb"[\r\n]", buf)
            for raw in done:
                self._line(raw.decode("utf-8", "replace"))
        if buf:
            self._line(buf.decode("utf-8", "replace"))

    def _line(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        hit = _PERCENT.findall(line)
        if hit:
            self._progress = min(max(self._progress, int(hit[-1]) / 100.0), 1.0)
        else:
            self._lines = [*self._lines[-19:], line]

    def poll(self) -> JobStatus:
        """The job's state now; never blocks for long."""
        rc = self._proc.poll()
        if rc is None:
            return JobStatus("running", self._progress)
        self._reader.join(timeout=5)
        if self._cancelled:
            return JobStatus("cancelled", self._progress, "emote: cancelled")
        if rc != 0:
            last = self._lines[-1] if self._lines else f"exit status {rc}"
            return JobStatus("failed", self._progress, f"emote failed: {last}")
        found = sorted(self.out_dir.glob("*.json"))
        if not found:
            return JobStatus("failed", 1.0, f"emote failed: no JSON written to {self.out_dir}")
        return JobStatus("done", 1.0, result=found[0])

    def wait(self, timeout: float | None = None) -> JobStatus:
        """Block until the job ends (for scripts and background mode)."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout)
        return self.poll()

    def cancel(self) -> None:
        """Stop emote (its partial output is discarded by :meth:`cleanup`)."""
        if self._proc.poll() is None:
            self._cancelled = True
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def cleanup(self) -> None:
        """Remove the temporary output folder."""
        self.cancel()
        shutil.rmtree(self.out_dir, ignore_errors=True)

    @property
    def pid(self) -> int:
        return self._proc.pid
