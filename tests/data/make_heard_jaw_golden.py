"""Record the offline heard jaw, the reference that ``tests/test_stream_language.py`` compares to.

Recorded from the commit *before* streams heard the jaw (``04756a0``), so the file holds what
:func:`emote.audio.formants.jaw_opening` gave before it was split for streams (the stream
scales the same drive against its own recent speech; offline must not change)::

    PYTHONPATH=CHECKOUT_OF_04756a0 python tests/data/make_heard_jaw_golden.py

It writes the opening of the Spanish clip and of bobby in ``shared/data/speech`` at 30 and
60 fps to ``tests/data/heard_jaw_golden.npz``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPEECH = HERE.parents[2] / "shared" / "data" / "speech"
CLIPS = ("13697_11991_000000.opus", "bobby.wav")
RATES = (30.0, 60.0)


def golden_openings(speech: Path = SPEECH) -> dict[str, np.ndarray]:
    """The heard opening per ``<clip>/<fps>`` from the code importable now."""
    import emote.audio.formants
    from emote.audio import load_audio
    from emote.audio.formants import jaw_opening

    print(f"emote from {Path(emote.audio.formants.__file__).parents[2]}", file=sys.stderr)
    out: dict[str, np.ndarray] = {}
    for clip in CLIPS:
        sound = load_audio(speech / clip)
        for fps in RATES:
            out[f"{Path(clip).stem}/{fps:g}"] = jaw_opening(y=sound.samples, sr=sound.sr, fps=fps)
    return out


if __name__ == "__main__":
    import emote

    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(emote.__file__).parent
    ).stdout.strip()
    openings = golden_openings(Path(sys.argv[1]) if len(sys.argv) > 1 else SPEECH)
    np.savez_compressed(HERE / "heard_jaw_golden.npz", commit=np.array(commit), **openings)
    print(f"{len(openings)} arrays from {commit}")
