"""Is the motion prior a prior? Samples drawn from it against real teacher motion, on held-out voices.

Usage::

    python benchmarks/prior.py [--prior checkpoints/motion_prior.pt ...] [--name prior]

For each prior file (and, for comparison, the shipped model's frozen decoder, trained as
stage 1 of ``emote train`` with a KL weight of 1e-4), 4-second sequences are decoded
from latents drawn from the prior (the learned AR(1) of :class:`emote.nn.prior.LatentAR1`,
N(0, I) for the shipped decoder) and compared with teacher motion of the corpus' held-out
voices (:func:`emote.training.train_prior.teacher_split`, never seen by the priors):

- **range**: share of the decoder's raw blendshape values outside [-0.02, 1.02] (the curves' range
  is [0, 1]); the other measures take the samples clipped to [0, 1], as the neural engine delivers
  its curves;
- **spectra**: Welch power spectra of the mouth/jaw channels; share of power in 0–2,
  2–8 (syllables and phones) and 8–25 Hz, and the log-spectral distance (dB) to the teacher;
- **jitter**: RMS jerk of the mouth/jaw channels (weight/s³), as a ratio to the teacher's;
- **real vs sample**: two classifiers trained on the windows of half of the held-out clips and
  as many samples, tested on the other clips and as many new samples (chance: 50 %) — logistic regression on per-window statistics (mean,
  std, velocity and acceleration std, band powers per channel) and a small 1-D CNN on the raw
  windows; a prior passes when neither beats 75 % accuracy;
- **compression**: curve frames per latent frame and curve numbers per latent number;
- **KL per latent element** (nats) and **reconstruction** (posterior mean) MAE and lip-gap
  error (mm, ``emote.eval.lip_gap_proxy``) on the held-out windows.

``--split select`` compares with the clips of the *training* voices that training held out
(every 8th, :data:`emote.training.train_prior.SELECT_EVERY`) instead: that is where settings are
chosen, so the held-out voices stay a test the priors were not tuned on.

Prints a table and writes ``benchmarks/results/NAME.json`` (with commit and machine).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results  # noqa: E402

FPS = 50.0
WINDOW = 200  # 4 s
MOUTH_JAW = ("JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthRollLower", "MouthPressLeft",
             "MouthLowerDownLeft", "MouthUpperUpLeft", "MouthStretchLeft", "MouthSmileLeft")  # fmt: skip
BANDS = ((0.0, 2.0), (2.0, 8.0), (8.0, 25.0))


def spectra(x: np.ndarray, cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Mean Welch power spectrum (frequencies, power) over windows (N, T, C) and the chosen channels."""
    from scipy.signal import welch

    f, p = welch(x[:, :, cols], fs=FPS, nperseg=64, axis=1, detrend="constant")
    return f, p.mean(axis=(0, 2))


def band_shares(f: np.ndarray, p: np.ndarray) -> dict[str, float]:
    total = p[f > 0].sum()
    return {f"power_{lo:g}_{hi:g}_hz": float(p[(f > lo) & (f <= hi)].sum() / total) for lo, hi in BANDS}


def rms_jerk(x: np.ndarray, cols: list[int]) -> float:
    d3 = np.diff(x[:, :, cols].astype(np.float64), n=3, axis=1) * FPS**3
    return float(np.sqrt(np.mean(d3**2)))


def window_features(x: np.ndarray) -> np.ndarray:
    """Per-window statistics (N, F): per channel mean, std, velocity std, acceleration std, 3 band powers."""
    from scipy.signal import welch

    v, a = np.diff(x, axis=1), np.diff(x, n=2, axis=1)
    f, p = welch(x, fs=FPS, nperseg=64, axis=1, detrend="constant")
    bands = [np.log(p[:, (f > lo) & (f <= hi)].sum(axis=1) + 1e-10) for lo, hi in BANDS]
    return np.concatenate([x.mean(1), x.std(1), v.std(1), a.std(1), *bands], axis=1)


def logistic_accuracy(real_tr, fake_tr, real_te, fake_te, *, l2: float = 1e-3) -> float:
    """L2-regularised logistic regression on standardised :func:`window_features` (torch, L-BFGS)."""
    import torch

    xtr = np.concatenate([window_features(real_tr), window_features(fake_tr)]).astype(np.float64)
    mean, std = xtr.mean(0), xtr.std(0) + 1e-8
    x = torch.from_numpy((xtr - mean) / std).double()
    y = torch.from_numpy(np.r_[np.ones(len(real_tr)), np.zeros(len(fake_tr))])
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y) + l2 * w.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    xte = (
        np.concatenate([window_features(real_te), window_features(fake_te)]).astype(np.float64) - mean
    ) / std
    yte = np.r_[np.ones(len(real_te)), np.zeros(len(fake_te))]
    with torch.no_grad():
        pred = (torch.from_numpy(xte) @ w + b > 0).numpy()
    return float((pred == yte).mean())


def cnn_accuracy(real_tr, fake_tr, real_te, fake_te, *, epochs: int = 30, seed: int = 0) -> float:
    """A small 1-D CNN (3 strided convolutions, mean+max pooling) trained to tell real windows from samples."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    c = real_tr.shape[2]
    net = nn.Sequential(nn.Conv1d(c, 32, 5, padding=2), nn.GELU(), nn.Conv1d(32, 32, 5, stride=2, padding=2),
                        nn.GELU(), nn.Conv1d(32, 32, 5, stride=2, padding=2), nn.GELU())  # fmt: skip
    head = nn.Linear(64, 1)

    def logits(x: torch.Tensor) -> torch.Tensor:
        h = net(x.transpose(1, 2))
        return head(torch.cat([h.mean(2), h.amax(2)], 1))[:, 0]

    x = torch.from_numpy(np.concatenate([real_tr, fake_tr])).float()
    y = torch.from_numpy(np.r_[np.ones(len(real_tr)), np.zeros(len(fake_tr))]).float()
    opt = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=2e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(64):
            loss = nn.functional.binary_cross_entropy_with_logits(logits(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    xt = torch.from_numpy(np.concatenate([real_te, fake_te])).float()
    yt = np.r_[np.ones(len(real_te)), np.zeros(len(fake_te))]
    with torch.inference_mode():
        pred = (logits(xt) > 0).numpy()
    return float((pred == yt).mean())


def measure_samples(name: str, samples: np.ndarray, real_tr: np.ndarray, real_te: np.ndarray,
                    channels: tuple[str, ...], *, cnn: bool) -> dict[str, float]:  # fmt: skip
    """Range, spectra, jerk and the real-vs-sample classifiers; ``samples`` has as many windows as
    ``real_tr`` and ``real_te`` together (the classes are balanced: chance is 50 %)."""
    real = np.concatenate([real_tr, real_te])
    raw = samples
    # The neural engine clips its output to [0, 1] (emote.engines.neural); samples are judged as it would
    # deliver them, after the share outside the range is counted on the raw decoder output.
    samples = np.clip(raw, 0.0, 1.0)
    cols = [channels.index(c) for c in MOUTH_JAW if c in channels]
    f, p_real = spectra(real, cols)
    _, p_fake = spectra(samples, cols)
    lsd = float(
        np.sqrt(np.mean((10 * np.log10(p_fake[1:] + 1e-12) - 10 * np.log10(p_real[1:] + 1e-12)) ** 2))
    )
    out = {
        "out_of_range_share": float(((raw < -0.02) | (raw > 1.02)).mean()),
        "raw_min": float(raw.min()),
        "raw_max": float(raw.max()),
        **{f"sample_{k}": v for k, v in band_shares(f, p_fake).items()},
        "log_spectral_distance_db": lsd,
        "jerk_ratio_to_teacher": rms_jerk(samples, cols) / rms_jerk(real, cols),
    }
    fake_tr, fake_te = samples[: len(real_tr)], samples[len(real_tr) :]
    out["classifier_logistic_accuracy"] = logistic_accuracy(real_tr, fake_tr, real_te, fake_te)
    if cnn:
        out["classifier_cnn_accuracy"] = cnn_accuracy(real_tr, fake_tr, real_te, fake_te)
    out["classifier_max_accuracy"] = max(v for k, v in out.items() if k.startswith("classifier_"))
    out["passes_75"] = out["classifier_max_accuracy"] <= 0.75
    print(f"  measured {name}", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prior", type=Path, nargs="+", default=[REPO / "checkpoints" / "motion_prior.pt"])
    ap.add_argument("--shipped", type=Path, default=REPO / "checkpoints" / "emote_tts.pt",
                    help="model whose frozen decoder is sampled for comparison ('' to skip)")  # fmt: skip
    ap.add_argument("--cache", type=Path, default=REPO / ".emote_data" / "prior")
    ap.add_argument("--no-cnn", action="store_true", help="logistic regression only")
    ap.add_argument("--split", choices=("heldout", "select"), default="heldout",
                    help="real motion: the held-out voices (the test) or the training voices' held-out clips "
                         "(for choosing settings)")  # fmt: skip
    ap.add_argument("--name", default="prior", help="result file name (benchmarks/results/NAME.json)")
    args = ap.parse_args()

    import torch

    from emote.nn.checkpoint import load_model
    from emote.nn.prior import load_prior, sample_prior
    from emote.training.prior import validate, windows
    from emote.training.train_prior import SELECT_EVERY, teacher_split

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    priors = {p.stem: load_prior(p) for p in args.prior}
    channels = next(iter(priors.values())).channels
    train, valid, train_voices, held = teacher_split(args.cache, channels, minutes_per_voice=5.0)
    if args.split == "select":
        valid, held = train[::SELECT_EVERY], [f"every {SELECT_EVERY}th clip of {', '.join(train_voices)}"]
    # Classifier halves by clip (alternate clips: every voice in both), so no window of a test clip is trained on.
    real_tr, real_te = (
        windows(valid[0::2], WINDOW, hop=WINDOW // 2),
        windows(valid[1::2], WINDOW, hop=WINDOW // 2),
    )
    real = np.concatenate([real_tr, real_te])
    n_samples = len(real)
    report: dict = {"split": args.split, "heldout_voices": held, "real_windows": len(real), "classifier_train_windows": 2 * len(real_tr),
                    "classifier_test_windows": 2 * len(real_te), "window_s": WINDOW / FPS, "priors": {}}  # fmt: skip
    f, p_real = spectra(real, [channels.index(c) for c in MOUTH_JAW if c in channels])
    report["teacher"] = {**{f"teacher_{k}": v for k, v in band_shares(f, p_real).items()},
                         "jerk_rms": rms_jerk(real, [channels.index(c) for c in MOUTH_JAW if c in channels])}  # fmt: skip
    for name, lp in priors.items():
        if lp.channels != channels:
            raise SystemExit(f"error: {name} models other channels than {next(iter(priors))}")
        samples = sample_prior(lp.prior, WINDOW, n_samples, seed=1)
        cfg = lp.config
        row = {
            "file": str(args.prior[list(priors).index(name)]),
            "file_mb": round(args.prior[list(priors).index(name)].stat().st_size / 1e6, 2),
            "settings": lp.card.get("settings", {}),
            "time_compression": cfg.stride,
            "element_compression": cfg.stride * len(channels) / cfg.latent_dim,
            **validate(lp.prior, torch.from_numpy(real), channels),
            **measure_samples(name, samples, real_tr, real_te, channels, cnn=not args.no_cnn),
        }
        report["priors"][name] = row
    if str(args.shipped) and args.shipped.is_file():
        model = load_model(args.shipped)
        if model.config.channels == channels:
            samples = sample_prior(model.net, WINDOW, n_samples, seed=1)
            report["priors"]["shipped_decoder_kl_1e-4"] = {
                "file": str(args.shipped), "time_compression": model.config.stride,
                "element_compression": model.config.stride * len(channels) / model.config.latent_dim,
                **measure_samples("shipped decoder", samples, real_tr, real_te, channels, cnn=not args.no_cnn),
            }  # fmt: skip
    report["seconds"] = time.perf_counter() - t0

    keys = ["element_compression", "kl_per_element", "kl_per_element_ar1", "active_latent_channels", "recon_mae", "recon_gap_mae_mm",
            "out_of_range_share", "log_spectral_distance_db", "jerk_ratio_to_teacher", "classifier_logistic_accuracy",
            "classifier_cnn_accuracy"]  # fmt: skip
    t = report["teacher"]
    print(f"\nteacher motion, held-out voices ({', '.join(held)}): {len(real)} windows of {WINDOW / FPS:g} s; "
          f"mouth/jaw power 0-2/2-8/8-25 Hz = {t['teacher_power_0_2_hz']:.2f}/{t['teacher_power_2_8_hz']:.2f}/"
          f"{t['teacher_power_8_25_hz']:.2f}; time compression 4x for all")  # fmt: skip
    print(f"  {'prior':28s}" + "".join(f"{k[:16]:>17s}" for k in keys))
    for name, row in report["priors"].items():
        cells = [row.get(k, float("nan")) for k in keys]
        print(
            f"  {name:28s}"
            + "".join(f"{v:>17.4g}" if isinstance(v, (int, float)) else f"{'n/a':>17s}" for v in cells)
        )
    path = write_results(args.name, report)
    print(f"\nwrote {path.relative_to(REPO)} ({report['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
