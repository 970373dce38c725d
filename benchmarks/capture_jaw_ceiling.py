"""How much of the captured Mandarin jaw the signals emote hears can explain: a ceiling, not a score.

Usage::

    python benchmarks/capture_jaw_ceiling.py [--capture ../shared/data/capture/facegood]

``benchmarks/languages.py`` scores the jaw a user gets for Mandarin against real face capture
(three takes, column 74 of ``capture/facegood``: the captured jaw). This script asks why the
score stops where it does. Per take, the Pearson correlation with the captured jaw at the lag
(±5 frames) where it peaks, of every jaw signal emote has, each computed as ``emote animate
--language zh`` computes it (the engines as ``languages.py`` and ``languages_neural.py`` run
them), with nothing chosen on the capture:

- ``loudness``: the audio's loudness envelope (``emote.audio.features.frame_energy``);
- ``f1_band`` and ``f2_f3_band``: the square-rooted RMS envelope of the 100-800 Hz band and of the
  1-3 kHz band, where the acoustic envelope follows the mouth's opening best (Grant & Seitz
  2000, JASA 108(3); Chandrasekaran, Trubanova, Stillittano, Caplier & Ghazanfar 2009, PLoS
  Comput Biol 5(7));
- ``heard_jaw``: the opening heard from the first formant (``emote.audio.formants.jaw_opening``);
- ``phonetic_phones_only``, ``phonetic``: the phonetic engine on the phones recognised in IPA,
  without and with the heard jaw (``PhoneticSettings.heard_jaw``);
- ``network``, ``neural``: the same with the neural engine (its default model for Mandarin),
  without and with the heard jaw.

Then two diagnostics of the ceiling:

- ``agreement``: the correlation of the phonetic and the neural engine's jaw with each other:
  two engines built differently that agree far more with each other than either does with the
  capture share their errors, so blending them cannot close the gap;
- ``fitted_mix``: a least-squares mix of *all* the signals above, each at five lags (-4, -2, 0,
  +2, +4 frames), ridge-regularised, **fitted on the other two takes** and scored on the third. It is fitted on the
  test capture, so it is never shipped: it bounds what any linear use of these signals could
  reach, tuned where emote may not tune.

It prints a table and writes ``benchmarks/results/capture_jaw_ceiling.json``. About 3 minutes
on one core.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE)]

import languages  # noqa: E402  (the capture's jaw column and the peak correlation)
from _results import write_results  # noqa: E402  (its provenance is taken at import: the start)

FPS = languages.FPS
BANDS = {"f1_band": (100.0, 800.0), "f2_f3_band": (1000.0, 3000.0)}
MIX_LAGS = (-4, -2, 0, 2, 4)
RIDGE = 1e-3  # the mix's ridge penalty per frame, on standardised inputs


def band_envelope(y: np.ndarray, sr: int, n: int, band: tuple[float, float]) -> np.ndarray:
    """Square-rooted RMS over 40 ms of ``y`` band-passed (zero phase) to ``band``, per frame."""
    from scipy.signal import butter, sosfiltfilt

    b = sosfiltfilt(butter(4, band, btype="band", fs=sr, output="sos"), y.astype(np.float64))
    hop, width = sr / FPS, round(0.04 * sr)
    rms = np.array([np.sqrt(np.mean(b[round(i * hop) : round(i * hop) + width] ** 2)) for i in range(n)])
    return np.sqrt(rms / max(float(rms.max()), 1e-12))


def signals(wav: Path, n: int) -> dict[str, np.ndarray]:
    """Every jaw signal of one take, ``n`` frames each; the engines' as ``benchmarks/languages.py``
    and ``languages_neural.py`` score them (the phones recognised once, in IPA)."""
    import languages_neural

    from emote.animation.channels import index
    from emote.audio.features import frame_energy
    from emote.audio.formants import jaw_opening
    from emote.audio.io import load_audio
    from emote.audio.recognize import RecognizeSettings, recognize
    from emote.engines.neural import MODELS

    y, sr = (sound := load_audio(wav)).samples, sound.sr
    jaw, model = index("JawOpen"), REPO / "checkpoints" / MODELS["multilingual"]  # the neural default for zh
    heard = jaw_opening(y=y, sr=sr, fps=FPS, n_frames=n)
    phones = recognize(y=y, sr=sr, settings=RecognizeSettings(ipa=True)).phones
    return {
        "loudness": frame_energy(y=y, sr=sr, fps=FPS, n_frames=n),
        **{name: band_envelope(y, sr, n, band) for name, band in BANDS.items()},
        "heard_jaw": heard,
        "phonetic_phones_only": languages._face(phones, y, sr, n, heard=False)[:, jaw],
        "phonetic": languages._face(phones, y, sr, n)[:, jaw],
        "network": languages_neural.neural(y, sr, n, model, closure_pass=True)[:, jaw],
        "neural": languages_neural.neural(y, sr, n, model, closure_pass=True, jaw=heard)[:, jaw],
    }


def lagged(columns: dict[str, np.ndarray]) -> np.ndarray:
    """Every signal at every lag of :data:`MIX_LAGS` (edges held): the mix's inputs."""
    x = np.stack(list(columns.values()), axis=1)
    n = len(x)
    return np.hstack([x[np.clip(np.arange(n) - lag, 0, n - 1)] for lag in MIX_LAGS])


def fitted_mix(takes: dict[str, tuple[dict[str, np.ndarray], np.ndarray]]) -> dict[str, float]:
    """Per take, the correlation of the least-squares mix fitted on the *other* takes.

    Inputs are standardised on the takes fitted and the fit is ridge-regularised
    (:data:`RIDGE` times the frames): the engines' jaws are nearly linear in one another
    (the neural jaw is mostly the network's plus a share of the heard jaw), and an
    unregularised fit gives them huge opposite weights that do not carry over to another take.
    """
    out = {}
    for held in takes:
        a = np.vstack([lagged(s) for t, (s, _) in takes.items() if t != held])
        b = np.concatenate([c for t, (_, c) in takes.items() if t != held])
        mean, std = a.mean(axis=0), np.maximum(a.std(axis=0), 1e-9)
        z = (a - mean) / std
        w = np.linalg.solve(z.T @ z + RIDGE * len(z) * np.eye(z.shape[1]), z.T @ (b - b.mean()))
        signals_held, captured = takes[held]
        out[held] = float(np.corrcoef(((lagged(signals_held) - mean) / std) @ w, captured)[0, 1])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--capture", type=Path, default=REPO.parent / "shared" / "data" / "capture" / "facegood"
    )
    args = parser.parse_args()
    wavs = sorted(args.capture.glob("*.wav"))
    if not wavs:
        sys.exit(f"{args.capture}: no capture takes (*.wav) found")

    takes: dict[str, tuple[dict[str, np.ndarray], np.ndarray]] = {}
    rows = []
    for wav in wavs:
        t0 = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the capture's .npy was written by Python 2
            captured = np.load(wav.with_name(f"bs_value_{wav.stem}.npy"), allow_pickle=True)
        captured = captured[:, languages.CAPTURE_JAW_COLUMN].astype(np.float64)
        found = signals(wav, len(captured))
        takes[wav.stem] = (found, captured)
        row: dict = {"take": wav.stem}
        for name, x in found.items():
            row[name], row[f"{name}_lag_frames"] = languages.peak_correlation(x, captured)
        row["agreement"] = float(np.corrcoef(found["phonetic"], found["neural"])[0, 1])
        row["seconds"] = round(time.process_time() - t0, 1)
        rows.append(row)
        print(f"  {wav.stem}: neural {row['neural']:.3f}, phonetic {row['phonetic']:.3f}, "
              f"agreement {row['agreement']:.3f}", flush=True)  # fmt: skip
    mixed = fitted_mix(takes)
    for row in rows:
        row["fitted_mix"] = mixed[row["take"]]
    path = write_results("capture_jaw_ceiling", {"signals": list(takes[wavs[0].stem][0]), "mix_lags": list(MIX_LAGS),
                                                 "target": 0.85, "takes": rows})  # fmt: skip
    _table(rows)
    print(f"wrote {path}")
    return 0


def _table(rows: list[dict]) -> None:
    names = [k for k in rows[0] if k not in ("take", "seconds") and not k.endswith("_lag_frames")]
    print("\nMandarin capture: correlation with the captured jaw (target 0.85 on every take)")
    print(f"{'signal':<22}" + "".join(f"{r['take']:>12}" for r in rows))
    for name in names:
        print(f"{name:<22}" + "".join(f"{r[name]:>12.3f}" for r in rows))
    print("fitted_mix is fitted on the other two takes (test material): a bound, never shipped.")


if __name__ == "__main__":
    raise SystemExit(main())
