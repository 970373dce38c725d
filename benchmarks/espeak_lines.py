"""Speech material the benchmarks make with espeak-ng: the sentences and the call that speaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SENTENCES = [
    "Bobby ripped the ledger before the meeting began.",
    "Please move the blue boat away from the pier.",
    "We may never know why the moon looks bigger tonight.",
    "Five fine violins were found behind the velvet curtain.",
    "Would you show me the way to the old mill?",
    "The weather was warm, and the people were happy.",
    "My father bought a map of the mountains in May.",
    "Who knew the news would move so quickly through the room?",
    "Stay behind me and keep your torch low.",
    "They said the bridge would hold, but look at it now.",
    "I have waited three long winters for this day.",
    "Open the gate before the guards come back.",
]


def require_espeak(hint: str = "") -> None:
    """Exit with a one-line message when espeak-ng is not installed."""
    if shutil.which("espeak-ng") is None:
        sys.exit(f"espeak-ng not found (apt-get install espeak-ng){hint}")


def speak(wav: Path, text: str, *, speed: int, voice: str | None = None) -> None:
    """Write ``text`` spoken by espeak-ng at ``speed`` words per minute to ``wav``."""
    subprocess.run(
        ["espeak-ng", *(["-v", voice] if voice else []), "-s", str(speed), "-w", str(wav), text], check=True
    )
