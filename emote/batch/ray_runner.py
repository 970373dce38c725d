"""The same jobs on a Ray cluster (https://docs.ray.io): one Ray task per manifest line.

Ray schedules the tasks on every node's CPUs; emote adds no scheduler of its own.
Each task runs :func:`emote.batch.job.run_job` in a Ray worker process, which Ray
reuses from task to task, so the phone models load once per worker process. The
driver (the ``emote batch`` process) keeps at most one task per CPU in flight,
writes the results manifest and shows progress.

Every node must see the manifest's files and OUTDIR at the same paths (a shared
file system: NFS, Lustre, a mounted bucket) and have the same emote installed.
A worker that dies costs only its line (recorded as failed); a task that outlives
``timeout`` is cancelled.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from emote.batch.job import JobResult
from emote.batch.manifest import Job
from emote.errors import EmoteError

__all__ = ["ray_available", "run_ray"]


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _task(job: Job, outdir: str, force: bool) -> JobResult:
    from emote.batch.job import run_job, warm_up

    warm_up()  # once per Ray worker process
    return run_job(job, outdir, force=force)


def run_ray(
    jobs: Sequence[Job],
    outdir: Path,
    *,
    on_result: Callable[[JobResult], None],
    address: str | None = None,
    workers: int | None = None,
    force: bool = False,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run ``jobs`` as Ray tasks; ``on_result`` is called in the driver for each.

    Parameters
    ----------
    jobs : sequence of Job
    outdir : Path
    on_result : callable
        Gets every :class:`JobResult`, in completion order.
    address : str, optional
        A running cluster (``"auto"``, ``"ray://head:10001"``, ``"head:6379"``). Without it
        an already initialised Ray is used, else a local instance with ``workers`` CPUs starts
        (and stops at the end).
    workers : int, optional
        Tasks in flight at once; default all CPUs of the cluster.
    force, timeout :
        As :func:`emote.batch.local.run_local`.

    Returns
    -------
    dict
        ``{"nodes": n, "cpus": c}`` of the cluster used.
    """
    try:
        import ray
    except ImportError:
        raise EmoteError("--runner ray needs Ray: pip install 'ray>=2.9' (or use the local runner)") from None
    owned = not ray.is_initialized()
    if owned:
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": "warning",
        }
        if address:
            options["address"] = address
        elif workers:
            options["num_cpus"] = workers
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise EmoteError(
                f"cannot start or reach Ray{f' at {address}' if address else ''}: {err}"
            ) from None
    try:
        resources = ray.cluster_resources()
        cpus = int(resources.get("CPU", 1))
        nodes = len([n for n in ray.nodes() if n.get("Alive")])
        capacity = max(1, workers or cpus)
        remote = ray.remote(num_cpus=1, max_retries=0)(_task)
        _drive(remote, jobs, str(outdir), force, capacity, timeout, on_result)
        return {"nodes": nodes, "cpus": cpus}
    finally:
        if owned:
            ray.shutdown()


def _drive(remote, jobs, outdir, force, capacity, timeout, on_result) -> None:
    import ray
    from ray.exceptions import GetTimeoutError, RayError, TaskCancelledError

    queue = deque(jobs)
    flight: dict[Any, tuple[Job, float]] = {}
    cancelled: set[Any] = set()
    while queue or flight:
        while queue and len(flight) < capacity:
            job = queue.popleft()
            flight[remote.remote(job, outdir, force)] = (job, time.monotonic())
        ready, _ = ray.wait(list(flight), num_returns=1, timeout=1.0)
        for ref in ready:
            job, _started = flight.pop(ref)
            try:
                result = ray.get(ref, timeout=60)
            except TaskCancelledError:
                result = _failed(job, f"timed out after {timeout:g} s (task cancelled)")
            except (RayError, GetTimeoutError) as err:
                message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                result = _failed(job, f"the Ray task failed ({type(err).__name__}: {message})")
            cancelled.discard(ref)
            on_result(result)
        if timeout is not None:
            now = time.monotonic()
            for ref, (_job, started) in flight.items():
                # The clock starts at submission; with one task per CPU in flight that is the start.
                if ref not in cancelled and now - started > timeout:
                    ray.cancel(ref, force=True)
                    cancelled.add(ref)


def _failed(job: Job, why: str) -> JobResult:
    return JobResult(line=job.line, output=job.output, status="failed", error=f"{job.audio.name}: {why}")
