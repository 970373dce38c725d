"""`run_batch`: a validated manifest through the local pool or Ray, with a results manifest."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import InitVar, dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from emote.batch.job import JobResult
from emote.batch.local import default_workers, run_local
from emote.batch.manifest import Job, JobDefaults, Manifest, read_manifest
from emote.batch.results import ResultsLog
from emote.errors import EmoteError, file_error
from emote.limits import check_output_folder

__all__ = ["RUNNERS", "BatchSettings", "BatchSummary", "folder_lock", "run_batch"]

RUNNERS = ("local", "ray")
"""Where a batch's jobs run: worker processes on this machine, or Ray tasks. (The *engine* is
what animates a line: ``phonetic`` or ``neural``, :data:`emote.engines.ENGINES`.)"""


def __getattr__(name: str) -> Any:
    if name == "ENGINES":  # the old name of RUNNERS, kept for one release
        warnings.warn("emote.batch.ENGINES is deprecated; use RUNNERS", DeprecationWarning, stacklevel=2)
        return RUNNERS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class BatchSettings:
    """How a batch runs (what each job does is in the manifest and :class:`JobDefaults`).

    Attributes
    ----------
    workers : int or None
        Parallel jobs; default one per CPU here (``local``) or every CPU of the cluster (``ray``).
    runner : {"local", "ray"}
        Worker processes on this machine, or Ray tasks. (``engine=`` is its deprecated old
        name, accepted with a ``DeprecationWarning`` for one release.)
    ray_address : str or None
        A Ray cluster to join (``"auto"``, ``"ray://head:10001"``); None starts a local one.
    force : bool
        Run every job even when its outputs are up to date.
    timeout : float or None
        Seconds one job may run before it is stopped and recorded as failed.
    results : path or None
        The results manifest; default ``OUTDIR/results.jsonl``.
    warm : bool
        Load the phone models in each local worker before its first job.
    """

    workers: int | None = None
    runner: str = "local"
    ray_address: str | None = None
    force: bool = False
    timeout: float | None = None
    results: str | PathLike[str] | None = None
    warm: bool = True
    engine: InitVar[str | None] = None

    def __post_init__(self, engine: str | None) -> None:
        if engine is not None:
            warnings.warn(
                "BatchSettings(engine=...) is deprecated; use runner=", DeprecationWarning, stacklevel=3
            )
            object.__setattr__(self, "runner", engine)
        if self.runner not in RUNNERS:
            raise EmoteError(f"unknown batch runner {self.runner!r}; runners are {', '.join(RUNNERS)}")
        if self.workers is not None and not (isinstance(self.workers, int) and self.workers >= 1):
            raise EmoteError(f"workers must be a whole number >= 1, got {self.workers!r}")
        if self.timeout is not None and not self.timeout > 0:
            raise EmoteError(f"timeout must be a positive number of seconds, got {self.timeout!r}")


@dataclass
class BatchSummary:
    """What a batch did.

    Attributes
    ----------
    total, done, skipped, failed : int
        Jobs in the manifest, run now, up to date already, failed.
    seconds : float
        Wall time of the run (after validation).
    audio_seconds : float
        Audio animated by the jobs run now.
    results : Path
        The results manifest.
    peak_rss_mb : dict[int, float]
        Peak resident memory per worker process (pid → MiB).
    failures : list[JobResult]
    cluster : dict
        Ray only: nodes and CPUs used.
    """

    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    audio_seconds: float = 0.0
    results: Path = Path("results.jsonl")
    peak_rss_mb: dict[int, float] = field(default_factory=dict)
    failures: list[JobResult] = field(default_factory=list)
    cluster: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    @property
    def jobs_per_second(self) -> float:
        return (self.done + self.skipped + self.failed) / self.seconds if self.seconds > 0 else 0.0

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio animated per wall second (× real time), over the jobs run now."""
        return self.audio_seconds / self.seconds if self.seconds > 0 else 0.0

    def add(self, result: JobResult) -> None:
        if result.status == "done":
            self.done += 1
            self.audio_seconds += result.audio_seconds
        elif result.status == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
            self.failures.append(result)
        if result.worker:
            self.peak_rss_mb[result.worker] = max(
                self.peak_rss_mb.get(result.worker, 0.0), result.peak_rss_mb
            )


def run_batch(
    manifest: str | PathLike[str] | Manifest,
    outdir: str | PathLike[str],
    *,
    settings: BatchSettings | None = None,
    defaults: JobDefaults | None = None,
    on_result: Callable[[JobResult], None] | None = None,
) -> BatchSummary:
    """Animate every line of a manifest into ``outdir``; resumable, idempotent, one bad line never stops it.

    Parameters
    ----------
    manifest : path or Manifest
        A CSV/JSONL manifest (validated whole first), or one already read.
    outdir : path
        Where outputs go (``OUTDIR/<output>.<ext>``); created if missing.
    settings : BatchSettings, optional
        Workers, engine, resume behaviour.
    defaults : JobDefaults, optional
        Settings for lines that do not set their own (ignored for a Manifest object).
    on_result : callable, optional
        Called with each :class:`JobResult` as it finishes (progress bars).

    Returns
    -------
    BatchSummary

    Raises
    ------
    ManifestError
        Bad lines, all listed; nothing ran.
    EmoteError
        Ray was asked for and cannot be used.

    Examples
    --------
    >>> summary = run_batch("examples/manifest.csv", "out/", settings=BatchSettings(workers=2))  # doctest: +SKIP
    >>> summary.ok, summary.done                                                               # doctest: +SKIP
    (True, 3)
    """
    settings = settings or BatchSettings()
    if not isinstance(manifest, Manifest):
        manifest = read_manifest(manifest, defaults=defaults)
    check_output_folder(outdir)
    out = Path(outdir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results = Path(settings.results) if settings.results is not None else out / "results.jsonl"
    _check_results_path(results)
    summary = BatchSummary(total=len(manifest.jobs), results=results)
    jobs_by_line = {job.line: job for job in manifest.jobs}
    start = time.perf_counter()
    with folder_lock(out), ResultsLog(results) as log:

        def record(result: JobResult) -> None:
            job: Job = jobs_by_line[result.line]
            log.append({**result.to_record(), "audio": str(job.audio)})
            summary.add(result)
            if on_result is not None:
                on_result(result)

        if settings.runner == "ray":
            from emote.batch.ray_runner import run_ray

            summary.cluster = run_ray(manifest.jobs, out, on_result=record, address=settings.ray_address,
                                      workers=settings.workers, force=settings.force, timeout=settings.timeout)  # fmt: skip
        else:
            run_local(manifest.jobs, out, workers=settings.workers or default_workers(), on_result=record,
                      force=settings.force, timeout=settings.timeout, warm=settings.warm)  # fmt: skip
    summary.seconds = time.perf_counter() - start
    return summary


LOCK_NAME = "lock"
"""``OUTDIR/.emote-batch/lock``: held (``flock``) by the batch writing into OUTDIR."""


@contextlib.contextmanager
def folder_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder for the whole batch.

    Two batches writing into one folder would overwrite each other's outputs and
    stamps; the second one is refused at once, naming the first one's pid. The lock
    is the kernel's (``flock``): a killed batch never leaves it held.
    """
    from emote.batch.manifest import STATE_DIR

    state = out / STATE_DIR
    if state.is_symlink():
        raise file_error(EmoteError, state, "is a symbolic link; refusing to keep batch state through it")
    state.mkdir(parents=True, exist_ok=True)
    fd = os.open(state / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise file_error(
                EmoteError, out, f"another emote batch (pid {holder}) is writing into this folder; "
                "wait for it to finish or give another -o",
            ) from None  # fmt: skip
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # the holder's pid is only for the message while it runs
    finally:
        os.close(fd)  # releases the lock


def _check_results_path(results: Path) -> None:
    """The results manifest must be a regular file we can append to (not /dev/full, a FIFO, a folder)."""
    if results.is_dir():
        raise file_error(EmoteError, results, "is a folder; --results needs a file name")
    if results.exists() and not results.is_file():
        raise file_error(
            EmoteError, results, "is not a regular file (a device, FIFO or pipe); --results needs a file"
        )
    check_output_folder(results.parent)
