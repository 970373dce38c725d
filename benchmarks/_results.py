"""Result files of the benchmarks: ``benchmarks/results/NAME.json``, committed with the code.

Every figure in the README or a model card comes from one of these files. Each
records what produced it, so anyone can re-run it and compare::

    {"name": ..., "date": start, ISO-8601 UTC, "commit": git HEAD at the start, "dirty": uncommitted
     changes at the start?, "command": argv, "machine": {cpu, cores, platform, python, torch, gpu},
     "finished": ISO-8601 UTC, "results": {...}}

Usage in a benchmark::

    from _results import write_results
    write_results("prior", report)          # -> benchmarks/results/prior.json
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"

__all__ = ["RESULTS", "STARTED", "machine", "provenance", "write_results"]


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """The machine a result was measured on: CPU model, cores usable, OS, Python, torch, GPU."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    # torch is read only if the benchmark imported it: importing it here would put ~140 MiB into
    # this process, which children forked from it inherit in their ru_maxrss on Linux.
    try:
        info["torch"] = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        info["torch"] = None
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


def provenance() -> dict[str, Any]:
    """Commit, dirty flag, date and command line of this run."""
    # Result files themselves do not make a run dirty: they are what the run writes.
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)benchmarks/results")
    return {
        "commit": _git("rev-parse", "HEAD") or None,
        "dirty": bool(status),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "machine": machine(),
    }


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/inf become null, numpy scalars and arrays plain Python."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "tolist"):  # numpy scalars and arrays
        return _clean(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# Taken when a benchmark imports this module, i.e. when it starts: a long run must record the code it
# ran, not whatever the checkout holds when it ends.
STARTED = provenance()


def write_results(name: str, results: dict[str, Any], *, folder: Path | None = None) -> Path:
    """Write ``results`` with the provenance of this run's start to ``folder/NAME.json`` atomically."""
    folder = folder or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    blob = {"name": name, **STARTED, "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "results": _clean(results)}  # fmt: skip
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(blob, f, indent=1)
            f.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a result file is for everyone
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
