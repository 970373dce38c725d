"""A tqdm progress bar fed by the library's ``progress(fraction, stage)`` callbacks."""

from __future__ import annotations

import os
import sys
from types import TracebackType

from tqdm import tqdm


class ProgressBar:
    """Context manager turning ``progress(fraction, stage)`` calls into one tqdm bar.

    The bar shows percent and the current stage; it is hidden when ``disable`` is
    true or stderr is not a terminal (logs and CI stay clean), unless the
    environment sets ``EMOTE_PROGRESS=1`` (the Blender add-on reads the bar from a pipe).
    """

    def __init__(self, *, desc: str = "", disable: bool = False) -> None:
        self._bar = tqdm(
            total=100,
            desc=desc,
            unit="%",
            disable=disable or not (sys.stderr.isatty() or os.environ.get("EMOTE_PROGRESS") == "1"),
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix} [{elapsed}<{remaining}]",
            leave=False,
        )

    def update(self, fraction: float, stage: str = "") -> None:
        target = round(100 * min(max(fraction, 0.0), 1.0))
        if target > self._bar.n:
            self._bar.update(target - self._bar.n)
        if stage:
            self._bar.set_postfix_str(stage, refresh=False)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.close()
