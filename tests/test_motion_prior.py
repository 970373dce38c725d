"""The motion prior as a temporal VAE: KL, training, sampling, its file, and the teacher motion it learns."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from emote.errors import EmoteError
from emote.nn.prior import (
    LatentAR1,
    LatentMDN,
    TemporalVAE,
    kl_per_element,
    load_prior,
    sample_prior,
    save_prior,
)
from emote.training.prior import (
    PriorSettings,
    fit_latent_prior,
    teacher_motion,
    train_prior,
    validate,
    windows,
)

CHANNELS = ("JawOpen", "MouthClose", "MouthFunnel", "BrowInnerUp")
TINY = PriorSettings(latent_dim=4, widths=(8, 8, 8), blocks=(0, 0, 1), steps=150, batch=8, window=32, lr=3e-3,
                     beta=0.01, free_bits=0.0, kl_warmup=0.2)  # fmt: skip


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine two threads spin against each other (15x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def toy_clips(n: int, seed: int) -> list[np.ndarray]:
    """Smooth 'motion' in [0, 1]: jaw at syllable rate, lips following, a slow brow."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        t = np.arange(200) / 50.0
        f, ph = rng.uniform(3, 6), rng.uniform(0, 6.3)
        jaw = 0.3 * (1 + np.sin(2 * np.pi * f * t + ph))
        out.append(
            np.stack([jaw, 0.5 * jaw, 0.2 * (1 - jaw), 0.3 * (1 + np.sin(t + ph)) / 2], 1).astype(np.float32)
        )
    return out


def test_kl_per_element_is_the_gaussian_kl_to_the_standard_normal():
    mu, logvar = torch.randn(2, 3, 5), torch.randn(2, 3, 5)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    expected = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0))
    torch.testing.assert_close(kl_per_element(mu, logvar), expected)
    assert float(kl_per_element(torch.zeros(3), torch.zeros(3)).abs().max()) == 0.0


def test_ar1_prior_kl_is_the_exact_kl_to_the_stationary_ar1_gaussian_and_its_samples_follow_it():
    prior = LatentAR1(1)
    with torch.no_grad():
        prior.logit_rho[:] = 1.5
    rho, length = float(prior.rho.detach()), 6
    mu, logvar = (
        torch.randn(1, 1, length, dtype=torch.float64),
        0.3 * torch.randn(1, 1, length, dtype=torch.float64),
    )
    cov = torch.tensor(
        [[rho ** abs(i - j) for j in range(length)] for i in range(length)], dtype=torch.float64
    )
    q = torch.distributions.MultivariateNormal(mu[0, 0], torch.diag(logvar[0, 0].exp()))
    p = torch.distributions.MultivariateNormal(torch.zeros(length, dtype=torch.float64), cov)
    exact = float(torch.distributions.kl_divergence(q, p))
    assert float(prior.kl(mu, logvar).sum().detach()) == pytest.approx(exact, rel=1e-5)
    z = prior.sample(4000, 50, generator=torch.Generator().manual_seed(0))
    assert float(z.var()) == pytest.approx(1.0, abs=0.05)
    assert float((z[..., 1:] * z[..., :-1]).mean()) == pytest.approx(rho, abs=0.03)
    iid = LatentAR1(3, learn=False)
    torch.testing.assert_close(iid.kl(mu.float().expand(1, 3, -1), logvar.float().expand(1, 3, -1)),
                               kl_per_element(mu.float().expand(1, 3, -1), logvar.float().expand(1, 3, -1)))  # fmt: skip


def test_training_reconstructs_held_out_motion_and_keeps_the_latent_informative():
    train, valid = toy_clips(24, 0), toy_clips(6, 1)
    val = torch.from_numpy(windows(valid, 32))
    untrained = validate(torch.nn.Module.eval(_fresh()), val, CHANNELS)
    _, figures = train_prior(train, valid, CHANNELS, TINY)
    assert figures["steps"] == TINY.steps
    assert figures["recon_mae"] < 0.5 * untrained["recon_mae"]
    assert figures["kl_per_element"] > 0.01  # the latent carries information: not collapsed to the prior
    assert figures["active_latent_channels"] >= 1


def _fresh(temporal: bool = True) -> TemporalVAE:
    torch.manual_seed(0)
    return TemporalVAE(TINY.model_config(CHANNELS), len(CHANNELS), temporal=temporal)


def test_samples_have_the_asked_length_and_the_latent_runs_four_times_slower():
    prior = _fresh().eval()
    s = sample_prior(prior, 50, 3, seed=2)
    assert s.shape == (3, 50, len(CHANNELS))
    mu, _ = prior.encoder(torch.zeros(1, 64, len(CHANNELS)))
    assert mu.shape == (1, TINY.latent_dim, 16)
    np.testing.assert_array_equal(s, sample_prior(prior, 50, 3, seed=2))
    assert not np.array_equal(s, sample_prior(prior, 50, 3, seed=3))


def test_prior_file_round_trips_and_a_foreign_file_is_named_in_the_error(tmp_path):
    prior = _fresh().eval()
    path = save_prior(tmp_path / "p.pt", prior, TINY.model_config(CHANNELS), {"note": "test"})
    loaded = load_prior(path)
    assert loaded.channels == CHANNELS and loaded.card == {"note": "test"}
    assert loaded.prior.latent.learn
    np.testing.assert_allclose(sample_prior(loaded.prior, 40, seed=1), sample_prior(prior.half().float(), 40, seed=1),
                               atol=1e-5)  # fmt: skip
    iid = load_prior(save_prior(tmp_path / "iid.pt", _fresh(temporal=False), TINY.model_config(CHANNELS), {}))
    assert not iid.prior.latent.learn and float(iid.prior.latent.rho.abs().max()) == 0.0
    bad = tmp_path / "bad.pt"
    torch.save({"format": "something-else"}, bad)
    with pytest.raises(EmoteError, match=r"bad\.pt"):
        load_prior(bad)
    with pytest.raises(EmoteError, match=r"missing\.pt"):
        load_prior(tmp_path / "missing.pt")


def test_teacher_motion_is_the_phonetic_engine_with_emotion_in_range():
    from emote.training.data.tts import available_voices

    voices = [v.id for v in available_voices() if v.id.startswith("espeak-")][:1]
    if not voices:
        pytest.skip("espeak-ng is not installed")
    clips = teacher_motion(voices, seconds_per_voice=4.0, channels=("JawOpen", "MouthClose", "BrowInnerUp"))
    assert clips and sum(c.shape[0] for c in clips) >= 4.0 * 50
    cat = np.concatenate(clips)
    assert cat.min() >= 0.0 and cat.max() <= 1.0
    assert cat[:, 0].std() > 0.02  # the jaw moves with the speech


def test_result_files_carry_commit_dirty_flag_and_machine(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from _results import write_results

    path = write_results("t", {"x": float("nan"), "a": np.float32(1.5), "arr": np.arange(2)}, folder=tmp_path)
    blob = json.loads(path.read_text())
    assert blob["results"] == {"x": None, "a": 1.5, "arr": [0, 1]}
    assert len(blob["commit"]) == 40 and isinstance(blob["dirty"], bool)
    assert blob["machine"]["cores"] >= 1 and blob["machine"]["python"] and blob["machine"]["torch"]
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_a_training_run_freezes_a_given_motion_prior_under_the_speech_network(tmp_path):
    """``TrainConfig.motion_prior``: stage 1 is skipped, the model takes the prior's latent shape and decoder."""
    from emote.nn.checkpoint import load_model
    from emote.nn.config import ModelConfig, StageConfig, TrainConfig
    from emote.nn.features import FeatureSettings
    from emote.training.data.corpus import CorpusSettings, generate_corpus
    from emote.training.data.tts import available_voices
    from emote.training.train import train

    if len([v for v in available_voices() if v.engine == "espeak"]) < 2:
        pytest.skip("espeak-ng library not available")
    data = tmp_path / "corpus"
    generate_corpus(data, CorpusSettings(minutes_per_voice=0.1, validation_minutes_per_voice=0.05,
                                         utterances_per_shard=4, voices=("espeak-en-us_m1", "espeak-en-us_f2"),
                                         validation_voices=("espeak-en-us_f2",), features=FeatureSettings()))  # fmt: skip
    torch.manual_seed(0)
    bounded = replace(TINY, bounded=True)
    prior = TemporalVAE(bounded.model_config(CHANNELS), len(CHANNELS))
    prior_path = save_prior(tmp_path / "prior.pt", prior, bounded.model_config(CHANNELS), {})
    stage = StageConfig(steps=3, batch=4, window=32, lr=1e-3, warmup=1)
    cfg = TrainConfig(data=str(data), out=str(tmp_path / "run"), device="cpu", log_every=1, eval_every=1000,
                      save_every=1000, variants=2, motion_prior=str(prior_path),
                      model=ModelConfig(channels=CHANNELS, latent_dim=64, speech_widths=(8, 8, 8), speech_blocks=(1, 1, 1),
                                        emotion_dim=8, classifier_width=8),
                      prior=replace_steps(stage, 50), classifier=stage, main=stage)  # fmt: skip
    model = load_model(train(cfg))
    assert model.config.latent_dim == TINY.latent_dim and model.config.prior_widths == TINY.widths
    assert model.config.bounded_output  # the speech network decodes through the same clamp
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert not [r for r in log if r.get("stage") == "prior" and "loss" in r]
    for k, v in prior.decoder.state_dict().items():
        torch.testing.assert_close(model.net.decoder.state_dict()[k], v.half().float())


def replace_steps(stage, steps):
    return replace(stage, steps=steps)


def switching(n: int, length: int, seed: int) -> torch.Tensor:
    """Latent-like sequences (n, 1, length) that hold ±1 and switch sign about once per 20 frames."""
    rng = np.random.default_rng(seed)
    flips = rng.random((n, length)) < 0.05
    sign = np.where(rng.random((n, 1)) < 0.5, -1.0, 1.0) * np.cumprod(np.where(flips, -1.0, 1.0), axis=1)
    return torch.from_numpy(sign + 0.05 * rng.standard_normal((n, length))).float()[:, None, :]


def test_learned_latent_prior_learns_to_hold_and_switch_where_a_gaussian_ar1_cannot():
    torch.manual_seed(0)
    data = switching(256, 40, 0)
    mdn = LatentMDN(1, hidden=16, components=3)
    opt = torch.optim.Adam(mdn.parameters(), lr=1e-2)
    for _ in range(150):
        idx = torch.randint(0, len(data), (32,))
        loss = -mdn.log_prob(data[idx]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    test = switching(64, 40, 1)
    with torch.no_grad():
        nll = float(-mdn.log_prob(test).mean())
    # the best stationary Gaussian AR(1) for these data (rho = their lag-1 correlation, unit variance)
    rho = float((test[..., 1:] * test[..., :-1]).mean() / test.pow(2).mean())
    normal = torch.distributions.Normal
    first = -normal(0.0, 1.0).log_prob(test[..., :1])
    rest = -normal(rho * test[..., :-1], (1 - rho**2) ** 0.5).log_prob(test[..., 1:])
    ar1_nll = float(torch.cat([first, rest], -1).mean())
    assert nll < ar1_nll - 1.0  # nats per frame: the mixture models the switching, the Gaussian cannot
    z = mdn.sample(200, 40, generator=torch.Generator().manual_seed(0))
    assert float((z.abs() - 1).abs().median()) < 0.2  # values near ±1, not spread between
    assert float((z[..., 1:] * z[..., :-1] < 0).float().mean()) < 0.15  # held between switches, not jittering


def test_two_stage_prior_is_saved_and_sampled_from_its_learned_prior(tmp_path):
    train, valid = toy_clips(24, 0), toy_clips(6, 1)
    settings = replace(TINY, mdn_steps=60, mdn_hidden=16, mdn_components=2, mdn_window=32)
    prior, figures = train_prior(train, valid, CHANNELS, settings)
    assert isinstance(prior.sequence, LatentMDN)
    assert np.isfinite(figures["kl_per_element"]) and figures["kl_per_element"] > 0.0
    path = save_prior(tmp_path / "p.pt", prior, settings.model_config(CHANNELS), {})
    loaded = load_prior(path).prior
    assert isinstance(loaded.sequence, LatentMDN) and loaded.sequence.components == 2
    s = sample_prior(loaded, 48, 4, seed=3)
    assert s.shape == (4, 48, len(CHANNELS)) and np.isfinite(s).all()
    # refitting the second stage changes the samples, not the VAE
    before = {k: v.clone() for k, v in loaded.state_dict().items() if not k.startswith("sequence.")}
    fit_latent_prior(loaded, train, replace(settings, mdn_steps=5, seed=9))
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in before.items())


def test_bounded_decoder_stays_in_range_and_still_passes_gradient_through_clamped_values():
    torch.manual_seed(0)
    cfg = replace(TINY, bounded=True).model_config(CHANNELS)
    prior = TemporalVAE(cfg, len(CHANNELS))
    z = (5.0 * torch.randn(2, TINY.latent_dim, 8)).requires_grad_()
    y = prior.decoder(z)
    assert float(y.detach().min()) >= 0.0 and float(y.detach().max()) <= 1.0
    clamped = (y == 0.0) | (y == 1.0)
    assert bool(clamped.any())
    (y - 0.5).abs().sum().backward()  # a target inside the range: clamped outputs must be pulled back
    assert float(z.grad.abs().sum()) > 0.0
    unbounded = TemporalVAE(TINY.model_config(CHANNELS), len(CHANNELS))
    unbounded.load_state_dict(prior.state_dict())
    torch.testing.assert_close(y.detach(), unbounded.decoder(z.detach()).clamp(0.0, 1.0))


def test_a_copied_teacher_cache_trains_without_the_tts_voices(tmp_path, monkeypatch):
    """The GPU box has no TTS voices: a cache made with the same channels/minutes/seed is used as it is."""
    from emote.training import train_prior as tp
    from emote.training.data import tts
    from emote.training.data.corpus import CorpusSettings

    held = list(CorpusSettings().validation_voices)
    clips = toy_clips(3, 0)
    for name, voices, seed in (("train.npz", ["v1", "v2"], 0), ("valid.npz", held, 1)):
        key = json.dumps({"voices": voices, "seconds": 6.0, "channels": list(CHANNELS), "seed": seed})
        np.savez(tmp_path / name, key=key, n=len(clips), **{f"c{i}": c for i, c in enumerate(clips)})
    monkeypatch.setattr(tts, "available_voices", lambda: [])
    train, valid, voices, got_held = tp.teacher_split(tmp_path, CHANNELS, minutes_per_voice=0.1)
    assert voices == ["v1", "v2"] and got_held == held and len(train) == len(valid) == 3
    with pytest.raises(
        EmoteError, match="not installed"
    ):  # other minutes: not this cache, and no voices to make it
        tp.teacher_split(tmp_path, CHANNELS, minutes_per_voice=0.2)
