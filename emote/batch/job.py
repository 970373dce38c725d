"""Running one job where a worker runs it: hash the inputs, skip if done, animate, write, stamp.

Idempotence rests on two things:

- the **job key**, a SHA-256 over everything that decides the outputs: the audio's
  bytes, the transcript (text, file content, or the ``.txt``/``.lab`` beside the
  audio), the phone-timings file's bytes, the emotion (or the parsed track), every
  setting, the output name and emote's version;
- the **stamp** ``OUTDIR/.emote-batch/<output>.done.json``, written atomically
  *after* every output, holding the key and each output's SHA-256.

A job whose stamp has the same key and whose outputs all exist with the stamped
hashes is skipped. Outputs are written atomically (temporary file + rename), so
a killed worker leaves at most a hidden ``.emote-<pid>-<tag>.tmp<suffix>`` file, which
the job's next run removes once that pid is gone; nothing under a final name is ever
half-written. A symbolic link inside OUTDIR is never written through. The
outputs themselves are deterministic: the wall-clock stage timings go to the
results manifest, not into the files, so a re-run rewrites identical bytes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import resource
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from emote.batch.manifest import Job, output_files, stamp_path
from emote.errors import EmoteError

__all__ = ["JobResult", "job_key", "load_rig_cached", "peak_rss_mb", "run_job", "warm_up"]

KEY_SCHEMA = 1
"""Bumped when the key's recipe changes (every job then re-runs once)."""

_VOLATILE_METADATA = ("timings",)
"""Metadata that differs run to run (wall-clock seconds): kept out of the files."""


@dataclass
class JobResult:
    """What happened to one job (one record of the results manifest).

    Attributes
    ----------
    line : int
        The manifest line.
    output : str
        The job's output name.
    status : {"done", "skipped", "failed"}
    key : str or None
        The job key (None when the inputs could not be read).
    outputs : list[str]
        Files written (or found, when skipped), relative to OUTDIR.
    seconds : float
        Wall time of the job in the worker.
    audio_seconds : float
        Length of the line's audio (0 when unknown).
    error : str or None
        One line naming the problem, for failed jobs.
    worker : int
        Process id of the worker.
    peak_rss_mb : float
        The worker's peak resident memory so far, MiB.
    stages : dict[str, float]
        Seconds per pipeline stage (load, features, phones, engine, performance, write, render).
    """

    line: int
    output: str
    status: str
    key: str | None = None
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    audio_seconds: float = 0.0
    error: str | None = None
    worker: int = 0
    peak_rss_mb: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB.

    Linux's ``VmHWM`` first: ``ru_maxrss`` of a process started by fork + exec begins at the
    parent's resident size at the fork, so a small child of a large parent reports the parent's
    size (ru_maxrss is KiB on Linux, bytes on macOS).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


# -- hashing -------------------------------------------------------------------------------------


def _file_sha256(path: str | PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _transcript(job: Job) -> str | None:
    """The transcript text the job will use, as the API would find it."""
    if job.text is not None:
        return job.text
    if job.text_file is not None:
        from emote.audio.timings import read_text_file

        return " ".join(read_text_file(job.text_file).split())
    if job.timings is None and job.use_transcript_file:
        from emote.audio.timings import find_transcript

        return find_transcript(job.audio)
    return None


def job_key(job: Job) -> str:
    """SHA-256 (hex) of everything that decides the job's outputs.

    Paths are not part of it (moving the data keeps the key); contents are.
    """
    from emote import __version__

    recipe: dict[str, Any] = {
        "schema": KEY_SCHEMA,
        "emote": __version__,
        "audio": _file_sha256(job.audio),
        "transcript": _transcript(job),
        "timings": _file_sha256(job.timings) if job.timings is not None else None,
        "emotion": job.emotion,
        "intensity": job.intensity if job.emotion_track is None else None,
        "track": _track_dict(job.emotion_track) if job.emotion_track is not None else None,
        "output": job.output,
        "fps": job.fps,
        "formats": sorted(job.formats),
        "seed": job.seed,
        "engine": job.engine,
        "performance": [job.blinks, job.gaze, job.head_motion],
        "render": _rig_identity(job.rig) if job.render else None,
    }
    blob = json.dumps(recipe, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode("ascii")).hexdigest()


def _track_dict(path: Path) -> dict[str, Any]:
    # The parsed track, not the bytes: re-indenting the JSON does not re-run the line.
    from emote.performance import EmotionTrack

    return EmotionTrack.from_json(path).to_dict()


def _rig_identity(rig: str) -> str:
    path = Path(rig)
    return _file_sha256(path) if path.is_absolute() and path.is_file() else rig


# -- stamps ----------------------------------------------------------------------------------------


def _relative(path: Path, outdir: Path) -> str:
    return path.relative_to(outdir).as_posix()


def stamp_matches(job: Job, outdir: Path, key: str) -> list[str] | None:
    """The job's outputs (relative) when its stamp has ``key`` and every output is intact, else None."""
    try:
        stamp = json.loads(stamp_path(job, outdir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("key") != key or not isinstance(stamp.get("outputs"), dict):
        return None
    expected = {_relative(p, outdir) for p in output_files(job, outdir).values()}
    if set(stamp["outputs"]) != expected:
        return None
    for rel, digest in stamp["outputs"].items():
        path = outdir / rel
        try:
            if path.stat().st_size != digest.get("bytes") or _file_sha256(path) != digest.get("sha256"):
                return None
        except (OSError, AttributeError):
            return None
    return sorted(expected)


def _write_stamp(job: Job, outdir: Path, key: str, files: dict[str, Path]) -> None:
    from emote import __version__
    from emote.io.atomic import atomic_write

    outputs = {
        _relative(p, outdir): {"bytes": p.stat().st_size, "sha256": _file_sha256(p)} for p in files.values()
    }
    stamp = {"key": key, "output": job.output, "emote": __version__, "outputs": outputs}
    with atomic_write(stamp_path(job, outdir), "w") as f:
        json.dump(stamp, f, indent=1, sort_keys=True)


def _remove_stale_temporaries(files: list[Path]) -> None:
    """Delete the temporary files that killed runs left in these outputs' folders.

    Only temporaries whose writing process is gone (the pid in their name) are
    removed; the output folder's lock (:func:`emote.batch.run.run_batch`) keeps a
    second batch out of the folder as well.
    """
    from emote.io.atomic import sweep_stale_temporaries

    for folder in {final.parent for final in files}:
        sweep_stale_temporaries(folder)


def _check_inside(files: list[Path], out: Path) -> None:
    """Refuse to write through a symbolic link inside OUTDIR: it would redirect outputs elsewhere."""
    for final in files:
        folder = final.parent
        while folder != out and out in folder.parents:
            if folder.is_symlink():
                raise EmoteError(
                    f"{folder}: is a symbolic link inside the output folder; refusing to write through it "
                    f"(it could point anywhere; make it a real folder)"
                )
            folder = folder.parent
        if final.is_symlink():
            raise EmoteError(f"{final}: is a symbolic link; refusing to replace it")


# -- models, loaded once per worker process -----------------------------------------------------------


@functools.lru_cache(maxsize=8)
def load_rig_cached(rig: str) -> Any:
    """Load a rig once per process (``emote.rigs.registry.load_rig``); the mesh a render needs."""
    from emote.rigs.registry import load_rig

    loaded = load_rig(rig)
    preview = getattr(loaded, "preview", None)
    if preview is not None and not hasattr(loaded, "pose"):
        loaded = load_rig(preview)  # a curve rig (metahuman, arkit) previews on its mesh
    return loaded


_warm = False


def warm_up() -> None:
    """Import the pipeline and load the phone models once in this process (a worker's first act).

    Failures are ignored here: a job that needs the missing piece reports it itself.
    """
    global _warm
    if _warm:
        return
    _warm = True
    import numpy as np

    import emote.api
    import emote.export
    import emote.performance  # noqa: F401

    t = np.arange(8000, dtype=np.float32) / 16000.0
    y = (0.3 * np.sin(2 * np.pi * 180.0 * t) * (np.sin(2 * np.pi * 3.0 * t) > 0)).astype(np.float32)
    try:
        from emote.audio.align import align
        from emote.audio.recognize import recognize

        align(y=y, sr=16000, text="hello")
        recognize(y=y, sr=16000)
    except Exception:  # the warm-up must never be what fails a batch
        pass


# -- the job ---------------------------------------------------------------------------------------------


def run_job(job: Job, outdir: str | PathLike[str], *, force: bool = False) -> JobResult:
    """Run one job: skip it if its stamp matches, otherwise animate, write, render, stamp.

    Never raises for a bad input: the problem goes into the result (``status="failed"``).

    Parameters
    ----------
    job : Job
    outdir : path
        The batch's output folder.
    force : bool
        Run even when a matching stamp exists.

    Returns
    -------
    JobResult
    """
    out = Path(outdir).resolve()
    start = time.perf_counter()
    result = JobResult(line=job.line, output=job.output, status="failed", worker=os.getpid())
    try:
        result.key = job_key(job)
        done = None if force else stamp_matches(job, out, result.key)
        if done is not None:
            result.status, result.outputs = "skipped", done
            result.audio_seconds = _duration(job)
        else:
            _animate_and_write(job, out, result)
            result.status = "done"
    except EmoteError as err:
        result.error = str(err)
    except OSError as err:
        from emote.errors import describe_os_error

        result.error = describe_os_error(err)
    except (ValueError, RuntimeError) as err:
        result.error = f"{job.audio.name}: {err.__class__.__name__}: {err}"
    except MemoryError:
        result.error = f"{job.audio.name}: out of memory"
    except Exception as err:  # a bug: keep the batch going, keep the evidence
        where = traceback.extract_tb(err.__traceback__)[-1]
        result.error = (
            f"internal error {err.__class__.__name__}: {err} (at {Path(where.filename).name}:{where.lineno})"
        )
    result.seconds = time.perf_counter() - start
    result.peak_rss_mb = round(peak_rss_mb(), 1)
    return result


def _duration(job: Job) -> float:
    try:
        from emote.audio.io import audio_info

        return audio_info(job.audio).duration
    except EmoteError:
        return 0.0


def _animate_and_write(job: Job, out: Path, result: JobResult) -> None:
    from emote.api import animate
    from emote.export import write
    from emote.performance import PerformanceSettings

    files = output_files(job, out)
    stamp = stamp_path(job, out)
    _check_inside([*files.values(), stamp], out)
    _remove_stale_temporaries([*files.values(), stamp])
    # A stale stamp must not vouch for outputs this run is about to replace.
    stamp.unlink(missing_ok=True)
    anim = animate(
        job.audio,
        text=job.text if job.text_file is None else _transcript(job),
        timings=job.timings,
        use_transcript_file=job.use_transcript_file,
        emotion=job.emotion,
        intensity=job.intensity,
        emotion_track=job.emotion_track,
        fps=job.fps,
        engine=job.engine,
        performance=PerformanceSettings(
            seed=job.seed, blinks=job.blinks, gaze=job.gaze, head=job.head_motion
        ),
        stage_timings=True,
    )
    result.audio_seconds = float(anim.metadata.get("audio_duration", anim.duration))
    result.stages = {k: round(v, 4) for k, v in anim.metadata.get("timings", {}).items()}
    for key in _VOLATILE_METADATA:
        anim.metadata.pop(key, None)
    anim.metadata["job_key"] = result.key
    t0 = time.perf_counter()
    for fmt, path in files.items():
        if fmt != "mp4":
            write(anim, path, format=fmt)
    result.stages["write"] = round(time.perf_counter() - t0, 4)
    if job.render:
        from emote.render import render_animation

        t0 = time.perf_counter()
        render_animation(load_rig_cached(job.rig), anim, files["mp4"], audio=job.audio)
        result.stages["render"] = round(time.perf_counter() - t0, 4)
    _write_stamp(job, out, result.key, files)
    result.outputs = sorted(_relative(p, out) for p in files.values())
