"""Jobs in parallel on this machine: a small pool of worker processes the parent watches.

Each worker is started with ``forkserver`` (``spawn`` where that is missing), loads the
models once (:func:`emote.batch.job.warm_up`) and then runs one job at a time from its
own pipe. Because the parent knows which job each worker holds, a worker that dies
(a crashing decoder, the OOM killer, a ``kill -9``) or outlives ``timeout`` costs only
that job, recorded as failed with the reason, and is replaced; the other workers go on.

Workers die with the batch: on Linux each asks the kernel for SIGTERM when its
parent dies (``PR_SET_PDEATHSIG``), and because with ``forkserver`` that parent is
the fork server, not the batch, each also runs a watchdog thread that sees the batch
process go (``kill -9`` included) within a fraction of a second and stops the worker
the way ``SIGTERM`` does: the job in hand unwinds, its temporary files are removed,
no output or done-stamp is written after the batch is gone. A batch stopped by
Ctrl-C or ``SIGTERM`` stops its busy workers the same way (``SIGKILL`` only for one
that does not stop within a few seconds).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path

from emote.batch.job import JobResult, run_job
from emote.batch.manifest import Job

__all__ = ["run_local", "start_method"]


def start_method() -> str:
    """``forkserver`` where available (fast starts, no inherited state), else ``spawn``."""
    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        # PR_SET_PDEATHSIG: a signal when the parent goes. SIGTERM, not SIGKILL: under forkserver the
        # parent is the fork server, which a signal to the process group (`timeout`, Ctrl-C's
        # neighbours) kills at once; the worker must still unwind and remove its temporaries.
        libc.prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _raise_exit(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one unwinding is enough
    raise SystemExit(128 + signum)  # unwinds: atomic writes remove their temporary files


STOP_SECONDS = 20.0
"""How long a stopping worker may take to unwind before it is killed (SIGKILL leaves temporaries)."""

WATCH_SECONDS = 0.2
"""How often a worker checks that the batch process is still there."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _watch_parent(batch_pid: int) -> None:
    """Stop this worker (as SIGTERM does) once the batch process ``batch_pid`` is gone."""
    while _alive(batch_pid) and os.getppid() != 1:
        time.sleep(WATCH_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10.0)  # the main thread is stuck in native code: do not outlive the batch by more
    os._exit(128 + signal.SIGTERM)


def _worker_main(conn: Connection, outdir: str, force: bool, warm: bool, batch_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, _raise_exit)
    _die_with_parent()
    threading.Thread(target=_watch_parent, args=(batch_pid,), daemon=True, name="watch-batch").start()
    if warm:
        from emote.batch.job import warm_up

        warm_up()
    try:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return
            if job is None:
                return
            conn.send(("started", None))
            conn.send(("result", run_job(job, outdir, force=force)))
    except (BrokenPipeError, ConnectionResetError):
        return  # the batch is gone: nobody to report to, and nothing to print


class _Worker:
    def __init__(self, ctx, outdir: Path, force: bool, warm: bool) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_worker_main, args=(child, str(outdir), force, warm, os.getpid()), daemon=True
        )
        self.proc.start()
        child.close()
        self.job: Job | None = None
        self.started: float | None = None

    def give(self, job: Job) -> None:
        self.job, self.started = job, None
        self.conn.send(job)

    def stop(self, *, kill: bool = False, interrupt: bool = False) -> None:
        """End the worker: idle ones by asking; ``interrupt`` (busy, batch stopping): SIGTERM,
        so the job unwinds and removes its temporaries; ``kill`` (dead or timed out): SIGKILL."""
        if self.proc.is_alive():
            if kill:
                self.proc.kill()
            elif interrupt:
                self.proc.terminate()
            else:
                with contextlib.suppress(OSError):
                    self.conn.send(None)
        # An interrupted worker may be inside a chunk of native rendering: give it time to unwind.
        self.proc.join(timeout=None if kill else STOP_SECONDS)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def _died(job: Job, proc: mp.Process) -> JobResult:
    code = proc.exitcode
    how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    return JobResult(line=job.line, output=job.output, status="failed", worker=proc.pid or 0,
                     error=f"{job.audio.name}: the worker process died ({how}) while running this line")  # fmt: skip


def run_local(
    jobs: Sequence[Job],
    outdir: Path,
    *,
    workers: int,
    on_result: Callable[[JobResult], None],
    force: bool = False,
    timeout: float | None = None,
    warm: bool = True,
) -> None:
    """Run ``jobs`` on ``workers`` processes; ``on_result`` is called in the parent for each.

    Parameters
    ----------
    jobs : sequence of Job
    outdir : Path
    workers : int
        Number of processes (at most one per job).
    on_result : callable
        Gets every :class:`JobResult`, in completion order.
    force : bool
        Ignore done-stamps.
    timeout : float, optional
        Seconds a job may run before its worker is killed and the job recorded as failed.
    warm : bool
        Load the phone models in each worker before its first job.
    """
    if not jobs:
        return
    ctx = mp.get_context(start_method())
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["emote.batch.job"])
    queue = deque(jobs)
    pool: list[_Worker] = []
    try:
        pool = [_Worker(ctx, outdir, force, warm) for _ in range(max(1, min(workers, len(jobs))))]
        while queue or any(w.job is not None for w in pool):
            for k, w in enumerate(pool):
                if w.job is not None or not queue:
                    continue
                if not w.proc.is_alive():  # died between jobs: nothing lost, replace it
                    w.stop(kill=True)
                    pool[k] = w = _Worker(ctx, outdir, force, warm)
                job = queue.popleft()
                try:
                    w.give(job)
                except OSError:  # died just now: the job goes back, the next pass replaces the worker
                    w.job = None
                    queue.appendleft(job)
            busy = [w for w in pool if w.job is not None]
            if not busy:
                continue
            wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=_wait_time(busy, timeout))
            for k, w in enumerate(pool):
                if w.job is None:
                    continue
                replaced = _service(w, on_result, timeout)
                if replaced:
                    w.stop(kill=True)
                    pool[k] = _Worker(ctx, outdir, force, warm)
    finally:
        for w in pool:
            w.stop(interrupt=w.job is not None)


def _wait_time(busy: list[_Worker], timeout: float | None) -> float | None:
    if timeout is None:
        return None
    now = time.monotonic()
    started = [w.started for w in busy if w.started is not None]
    return max(0.05, min((s + timeout - now for s in started), default=1.0))


def _service(w: _Worker, on_result: Callable[[JobResult], None], timeout: float | None) -> bool:
    """Take what worker ``w`` sent; True when it has to be replaced (died or timed out)."""
    assert w.job is not None
    try:
        while w.conn.poll():
            kind, payload = w.conn.recv()
            if kind == "started":
                w.started = time.monotonic()
            else:
                w.job, w.started = None, None
                on_result(payload)
                return False
    except (EOFError, OSError):
        pass
    if not w.proc.is_alive():
        w.proc.join()
        on_result(_died(w.job, w.proc))
        w.job = None
        return True
    if timeout is not None and w.started is not None and time.monotonic() - w.started > timeout:
        job = w.job
        w.job = None
        on_result(JobResult(line=job.line, output=job.output, status="failed", worker=w.proc.pid or 0,
                            seconds=timeout, error=f"{job.audio.name}: timed out after {timeout:g} s (worker killed)"))  # fmt: skip
        return True
    return False


def default_workers() -> int:
    """One worker per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
