"""The results manifest: one JSON line per finished job, appended and fsync'ed as it happens.

A killed run keeps every record written before the kill (at worst the last line is
cut, and :func:`read_results` skips a cut line). A re-run appends its own records;
for each manifest line the last record is the current state.

Record keys: ``line``, ``output``, ``status`` (``done``/``skipped``/``failed``), ``key``,
``outputs``, ``seconds``, ``audio_seconds``, ``error``, ``worker``, ``peak_rss_mb``,
``stages``, ``audio``, ``finished`` (UNIX time).
"""

from __future__ import annotations

import json
import os
import time
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["ResultsLog", "latest_results", "read_results"]


class ResultsLog:
    """Append-only JSONL writer; every record is on disk before :meth:`append` returns."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        # A line cut by an earlier kill would glue onto the first new record: end it first.
        if self._f.tell() > 0:
            with open(self.path, "rb") as r:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":
                    self._f.write("\n")

    def append(self, record: dict[str, Any]) -> None:
        record = {**record, "finished": round(time.time(), 3)}
        self._f.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> ResultsLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_results(path: str | PathLike[str]) -> list[dict[str, Any]]:
    """Every complete record in file order (a line cut by a kill is skipped)."""
    records = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def latest_results(path: str | PathLike[str]) -> dict[int, dict[str, Any]]:
    """The last record of each manifest line: the state a resumed run left."""
    return {int(r["line"]): r for r in read_results(path) if "line" in r}
