"""The motion prior as a temporal VAE: KL, training, sampling, its file, and the teacher motion it learns."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from emote.errors import EmoteError
from emote.nn.prior import LatentAR1, TemporalVAE, kl_per_element, load_prior, sample_prior, save_prior
from emote.training.prior import PriorSettings, teacher_motion, train_prior, validate, windows

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
    prior = _fresh()
    prior_path = save_prior(tmp_path / "prior.pt", prior, TINY.model_config(CHANNELS), {})
    stage = StageConfig(steps=3, batch=4, window=32, lr=1e-3, warmup=1)
    cfg = TrainConfig(data=str(data), out=str(tmp_path / "run"), device="cpu", log_every=1, eval_every=1000,
                      save_every=1000, variants=2, motion_prior=str(prior_path),
                      model=ModelConfig(channels=CHANNELS, latent_dim=64, speech_widths=(8, 8, 8), speech_blocks=(1, 1, 1),
                                        emotion_dim=8, classifier_width=8),
                      prior=replace_steps(stage, 50), classifier=stage, main=stage)  # fmt: skip
    model = load_model(train(cfg))
    assert model.config.latent_dim == TINY.latent_dim and model.config.prior_widths == TINY.widths
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert not [r for r in log if r.get("stage") == "prior" and "loss" in r]
    for k, v in prior.decoder.state_dict().items():
        torch.testing.assert_close(model.net.decoder.state_dict()[k], v.half().float())


def replace_steps(stage, steps):
    from dataclasses import replace

    return replace(stage, steps=steps)
