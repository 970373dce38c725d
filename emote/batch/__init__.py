"""`emote batch`: a manifest of voice lines animated in parallel, locally or on Ray.

>>> from emote.batch import BatchSettings, run_batch                       # doctest: +SKIP
>>> summary = run_batch("lines.csv", "out/", settings=BatchSettings(workers=4))  # doctest: +SKIP
>>> summary.done, summary.skipped, summary.failed                          # doctest: +SKIP
(198, 0, 2)

Modules: :mod:`~emote.batch.manifest` (reading and validating manifests),
:mod:`~emote.batch.job` (job keys, stamps, running one job), :mod:`~emote.batch.local`
(the process pool), :mod:`~emote.batch.ray_runner` (Ray tasks),
:mod:`~emote.batch.results` (the results manifest), :mod:`~emote.batch.run` (``run_batch``).
"""

from emote.batch.job import JobResult, job_key, run_job
from emote.batch.manifest import (
    COLUMNS,
    CURVE_FORMATS,
    Job,
    JobDefaults,
    LineProblem,
    Manifest,
    ManifestError,
    output_files,
    read_manifest,
    stamp_path,
)
from emote.batch.results import latest_results, read_results
from emote.batch.run import RUNNERS, BatchSettings, BatchSummary, run_batch


def __getattr__(name: str):
    if name == "ENGINES":  # the old name of RUNNERS, kept for one release (warns)
        from emote.batch import run

        return run.ENGINES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "COLUMNS",
    "CURVE_FORMATS",
    "RUNNERS",
    "BatchSettings",
    "BatchSummary",
    "Job",
    "JobDefaults",
    "JobResult",
    "LineProblem",
    "Manifest",
    "ManifestError",
    "job_key",
    "latest_results",
    "output_files",
    "read_manifest",
    "read_results",
    "run_batch",
    "run_job",
    "stamp_path",
]
