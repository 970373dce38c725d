"""The neural engine's networks, losses, batches, training loop and model files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import needs

from emote.animation.channels import CHANNELS, INDEX
from emote.errors import EmoteError
from emote.eval import lip_gap_proxy
from emote.nn.checkpoint import load_model, save_model
from emote.nn.config import ModelConfig, StageConfig, TrainConfig, load_config
from emote.nn.features import FeatureSettings
from emote.nn.networks import EmoteNet, EmotionClassifier, MotionPrior
from emote.training.data.corpus import CorpusSettings, generate_corpus
from emote.training.data.dataset import compose_targets, load_stream, prepare_targets, target_channels
from emote.training.data.tts import available_voices
from emote.training.losses import GapModel
from emote.training.train import DeviceBatches, Trainer, _mel_positions, augment_features, loss_weights, train

TINY_MODEL = {"latent_dim": 8, "prior_widths": (16, 16, 24), "prior_blocks": (1, 1, 1), "speech_widths": (16, 16, 24),
              "speech_blocks": (1, 1, 1), "emotion_dim": 8, "classifier_width": 8}  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    if len([v for v in available_voices() if v.engine == "espeak"]) < 2:
        needs("espeak-ng", "fewer than two espeak-ng voices")
    root = tmp_path_factory.mktemp("corpus")
    generate_corpus(root, CorpusSettings(minutes_per_voice=0.15, validation_minutes_per_voice=0.05,
                                         utterances_per_shard=6, voices=("espeak-en-us_m1", "espeak-en-us_f2"),
                                         validation_voices=("espeak-en-us_f2",)))  # fmt: skip
    return root


def tiny_config(
    data: Path, out: Path, *, prior: int = 150, classifier: int = 20, main: int = 120
) -> TrainConfig:
    def stage(steps: int) -> StageConfig:
        return StageConfig(steps=steps, batch=8, window=48, lr=3e-3, warmup=5)

    return TrainConfig(data=str(data), out=str(out), device="cpu", log_every=10, eval_every=1000, save_every=5,
                       model=ModelConfig(**TINY_MODEL), prior=stage(prior), classifier=stage(classifier),
                       main=stage(main), variants=3)  # fmt: skip


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_networks_turn_features_and_emotion_into_curves():
    cfg = ModelConfig(channels=("JawOpen", "MouthClose", "BrowInnerUp"), **TINY_MODEL)
    net = EmoteNet(cfg)
    out = net(torch.randn(2, 96, 40), torch.softmax(torch.randn(2, 48, 8), dim=-1))
    assert out.shape == (2, 48, 3)
    recon, mu, logvar = MotionPrior(cfg, 3).eval()(torch.rand(2, 48, 3))
    assert recon.shape == (2, 48, 3) and mu.shape == logvar.shape == (2, cfg.latent_dim, 12)
    assert EmotionClassifier(3, 8)(torch.rand(5, 30, 3)).shape == (5, 8)


def test_gap_model_is_the_lip_gap_metric_in_torch():
    channels = tuple(c for c in CHANNELS[:52] if c.startswith(("Jaw", "Mouth")))
    curves = np.random.default_rng(0).random((200, len(channels))).astype(np.float32) * 0.4
    full = np.zeros((200, len(CHANNELS)), np.float32)
    full[:, [INDEX[c] for c in channels]] = curves
    np.testing.assert_allclose(
        GapModel(channels)(torch.from_numpy(curves)).numpy(), lip_gap_proxy(full), atol=1e-4
    )


def test_frequency_warp_is_the_identity_at_one_and_keeps_the_shape():
    fs = FeatureSettings()
    np.testing.assert_allclose(_mel_positions(fs, torch.ones(1))[0].numpy(), np.arange(fs.n_mels), atol=1e-3)
    assert augment_features(torch.randn(3, 64, fs.n_mels), fs).shape == (3, 64, fs.n_mels)


def test_device_batches_gather_the_composed_targets_of_their_windows(corpus):
    stream = load_stream(corpus, "train")
    channels = target_channels(stream)
    targets = prepare_targets(stream, channels, variants=3, seed=0)
    b = DeviceBatches(stream, targets, torch.device("cpu"), seed=0)(4, 32)
    width = FeatureSettings(phones=True).width
    assert b["mel"].shape == (4, 64, width) and b["target"].shape == (4, 32, len(channels))
    for k, start in enumerate(b["start"].tolist()):
        rows = np.arange(start, start + 32)
        for weights, target in ((b["weights"][k], b["target"][k]), (b["weights2"][k], b["target2"][k])):
            expected, _ = compose_targets(stream, rows, weights.numpy(), channels)
            np.testing.assert_allclose(target.numpy(), expected, atol=3e-3)
        np.testing.assert_array_equal(
            b["mel"][k].numpy(), stream.mel[2 * start : 2 * start + 64].astype(np.float32)
        )


def test_fast_windows_read_more_frames_resampled_to_the_window(corpus):
    stream = load_stream(corpus, "train")
    channels = target_channels(stream)
    targets = prepare_targets(stream, channels, variants=3, seed=0)
    batches = DeviceBatches(stream, targets, torch.device("cpu"), seed=1)
    b = batches(6, 32, stored_share=1.0, fast_share=1.0, max_speed=1.5)
    assert b["mel"].shape[:2] == (6, 64) and b["target"].shape == (6, 32, len(channels))
    speed = b["speed"].numpy()
    assert np.all((speed >= 1.0) & (speed <= 1.5)) and speed.std() > 0
    stored = targets.curves[0].astype(np.float64)
    for k, start in enumerate(b["start"].tolist()):
        pos = start + speed[k] * np.arange(32)
        expected = np.stack(
            [np.interp(pos, np.arange(len(stored)), stored[:, c]) for c in range(stored.shape[1])], 1
        )
        np.testing.assert_allclose(b["target"][k].numpy(), expected, atol=2e-3)
        mel = stream.mel.astype(np.float64)
        mpos = 2 * start + speed[k] * np.arange(64)
        np.testing.assert_allclose(
            b["mel"][k, :, 0].numpy(), np.interp(mpos, np.arange(len(mel)), mel[:, 0]), atol=2e-3
        )
    plain = batches(6, 32, stored_share=1.0)
    for k, start in enumerate(plain["start"].tolist()):
        np.testing.assert_allclose(
            plain["target"][k].numpy(), targets.curves[0][start : start + 32], atol=1e-3
        )


def test_mel_dropout_flattens_only_the_log_mel_columns():
    fs = FeatureSettings(phones=True)
    x = torch.randn(64, 40, fs.width)
    out = augment_features(x, fs, mel_dropout=1.0)
    mel = out[..., : fs.n_mels]
    assert torch.allclose(mel, mel[:, :1].expand_as(mel))  # constant in time
    post = out[..., fs.n_mels :]
    assert (post - x[..., fs.n_mels :]).abs().max() < 0.3  # posteriors: a little noise only
    assert (post - x[..., fs.n_mels :]).abs().mean() > 0.0
    kept = augment_features(x, fs, mel_dropout=0.0)[..., : fs.n_mels]
    assert kept.std(dim=1).mean() > 0.5


def test_phone_confusion_moves_bilabial_mass_to_partners_and_keeps_distributions():
    from emote.phonetics.labels import PHONE_CLASSES
    from emote.training.train import CONFUSABLE, confuse_posteriors

    fs = FeatureSettings(phones=True)
    p_idx = PHONE_CLASSES.index("P")
    probs = torch.full((256, 10, len(PHONE_CLASSES)), 1e-3)  # above the floor
    probs[..., p_idx] = 1.0
    probs /= probs.sum(-1, keepdim=True)
    post = probs.log().clamp_min(-fs.phone_floor) / 4.0
    out = torch.exp(4.0 * confuse_posteriors(post, fs, share=1.0))
    assert torch.allclose(out.sum(-1), torch.ones(256, 10), atol=1e-2)  # still distributions (bar the floor)
    p_left = out[:, 0, p_idx]
    moved = p_left < 0.7 * probs[0, 0, p_idx]  # at least 0.3 of /p/'s mass left in about half the windows
    assert 0.35 < moved.float().mean() < 0.65
    partners = [PHONE_CLASSES.index(c) for c in CONFUSABLE["P"]]
    gained = out[moved][:, 0, partners].sum(-1)
    before = probs[0, 0, partners].sum() + probs[0, 0, p_idx]
    assert torch.allclose(gained + p_left[moved], before.expand_as(gained), atol=6e-3)  # only to partners
    assert torch.allclose(out[:, 0], out[:, -1], atol=1e-5)  # one confusion per window
    assert torch.allclose(torch.exp(4.0 * confuse_posteriors(post, fs, share=0.0)), probs, atol=1e-4)


def test_phone_confusion_spares_windows_without_log_mel():
    fs = FeatureSettings(phones=True)
    x = torch.randn(128, 20, fs.width).clamp(-2, 0)
    out = augment_features(x, fs, mel_dropout=0.5, phone_confusion=0.5)
    flat = out[..., : fs.n_mels].std(dim=1).mean(-1) < 1e-5
    changed = (out[..., fs.n_mels :] - x[..., fs.n_mels :]).abs().amax(dim=(1, 2)) > 0.3
    assert flat.any() and changed.any()
    assert not (flat & changed).any()


def test_training_takes_the_datasets_features(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path, prior=2, classifier=0, main=2)
    model = load_model(train(replace(cfg, model=replace(cfg.model, features=FeatureSettings()))))
    assert model.config.features.phones and model.config.features.width == FeatureSettings(phones=True).width


def test_tiny_config_trains_on_cpu_and_its_losses_fall(corpus, tmp_path):
    model_path = train(tiny_config(corpus, tmp_path))
    log = _log(tmp_path)
    for stage, drop in (("prior", 0.8), ("main", 0.95)):
        losses = [r["loss"] for r in log if r.get("stage") == stage and "loss" in r]
        assert len(losses) >= 8
        assert np.mean(losses[-3:]) < drop * np.mean(losses[:3]), (stage, losses)
    model = load_model(model_path)
    assert model.config.channels and set(model.config.classifier_channels) <= set(model.config.channels)


def test_training_resumes_where_it_stopped(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path, prior=12, classifier=0, main=0)
    calls = []

    def stop_at_step_8(fraction: float) -> None:
        calls.append(fraction)
        if len(calls) == 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, progress=stop_at_step_8).run()
    with pytest.raises(EmoteError, match=r"already holds a run.*--resume"):
        Trainer(cfg)  # a folder with a run in it is not silently continued or overwritten
    resumed = Trainer(cfg, resume=True)
    assert (resumed.stage_index, resumed.step) == (0, 5)  # the last save before the interruption
    resumed.run()
    final = [r for r in _log(tmp_path) if "steps_this_run" in r and r["stage"] == "prior"]
    assert final[-1]["step"] == 12 and final[-1]["steps_this_run"] == 7
    with pytest.raises(EmoteError, match="nothing to resume"):
        Trainer(replace(cfg, out=str(tmp_path / "empty")), resume=True)


def test_a_killed_and_resumed_run_ends_where_an_unbroken_one_does(corpus, tmp_path):
    """Networks, optimiser, step and random state (batches, augmentation) all come back."""

    def cfg(out: Path) -> TrainConfig:
        return replace(tiny_config(corpus, out, prior=6, classifier=2, main=9), save_every=3, snapshots=3)

    whole = load_model(train(cfg(tmp_path / "whole")))
    calls = []

    def die_in_main_step_8(fraction: float) -> None:  # prior 6 + classifier 2 + main 8
        calls.append(fraction)
        if len(calls) == 16:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg(tmp_path / "broken"), progress=die_in_main_step_8).run()
    resumed = Trainer(cfg(tmp_path / "broken"), resume=True)
    assert (resumed.stage_index, resumed.step) == (2, 6)  # mid-stage: the optimiser state matters
    again = load_model(resumed.run())
    for (name, a), b in zip(whole.net.state_dict().items(), again.net.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    # The snapshots saved before the kill (main steps 3 and 6) stay as they were, not re-saved on resuming.
    for k in (1, 2):
        a, b = (load_model(tmp_path / run / f"model_{k}of3.pt") for run in ("whole", "broken"))
        for (name, x), y in zip(a.net.state_dict().items(), b.net.state_dict().values(), strict=True):
            assert torch.equal(x, y), (k, name)


def test_emote_train_stops_cleanly_and_resumes_from_the_command_line(corpus, tmp_path, capsys):
    from emote.cli.main import main

    model = ", ".join(f"{k} = {list(v) if isinstance(v, tuple) else v}" for k, v in TINY_MODEL.items())
    stage = "steps = {}\nbatch = 8\nwindow = 48\nwarmup = 2"
    (tmp_path / "run.toml").write_text(
        f'data = "{corpus}"\nout = "{tmp_path / "run"}"\ndevice = "cpu"\nvariants = 3\nsave_every = 1000\n'
        f"model = {{ {model} }}\n[prior]\n{stage.format(4)}\n[classifier]\n{stage.format(0)}\n"
        f"[main]\n{stage.format(3)}\n"
    )
    assert main(["train", str(tmp_path / "run.toml"), "-q", "--stop-after", "0"]) == 0
    assert "continue with --resume" in capsys.readouterr().out
    assert (tmp_path / "run" / "state.pt").exists() and not (tmp_path / "run" / "model.pt").exists()
    assert main(["train", str(tmp_path / "run.toml"), "-q", "--resume"]) == 0
    assert load_model(tmp_path / "run" / "model.pt").config.channels
    stops = [r for r in _log(tmp_path / "run") if "stopped" in r or "resumed" in r]
    assert stops == [{"stage": "prior", "step": 1, "stopped": "stop_after"}, {"resumed": "prior", "step": 1}]


def test_frames_weighted_out_do_not_reach_the_loss(corpus, tmp_path):
    trainer = Trainer(tiny_config(corpus, tmp_path, prior=0, classifier=0, main=1))
    torch.manual_seed(0)
    b = trainer.batches(4, 48)
    b["frame_weight"] = torch.ones_like(b["frame_weight"])
    b["frame_weight"][:, 20:30] = 0.0
    spoiled = {**b, "target": b["target"].clone(), "target2": b["target2"].clone()}
    spoiled["target"][:, 20:30] += 0.5
    spoiled["target2"][:, 20:30] -= 0.5
    trainer.cfg.augment_features = False  # the same forward pass for both

    def loss(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        torch.manual_seed(1)
        return trainer.main_loss(batch)[0]

    assert torch.allclose(loss(b), loss(spoiled))
    b["frame_weight"][:] = 1.0
    assert not torch.allclose(loss(b), loss({**spoiled, "frame_weight": b["frame_weight"]}))


def test_stored_weights_become_loss_weights_as_configured():
    w = np.array([0.0, 0.2, 0.5, 0.9, 1.0], np.float32)
    np.testing.assert_array_equal(loss_weights(w, "mask", 0.5), [0, 0, 1, 1, 1])
    np.testing.assert_allclose(loss_weights(w, "soft", 0.5), [0, 0, 0.5, 0.9, 1.0])
    np.testing.assert_array_equal(loss_weights(w, "off", 0.5), np.ones(5))


def test_a_neutral_only_model_is_run_neutral_and_the_performance_layer_adds_the_emotion(
    corpus, tmp_path, speech_dir
):
    from emote.audio.io import load_audio
    from emote.engines.neural import animate_neural
    from emote.performance.compose import apply_emotion
    from emote.performance.track import as_track

    cfg = tiny_config(corpus, tmp_path, prior=4, classifier=0, main=4)
    cfg = replace(cfg, model=replace(cfg.model, neutral_only=True))
    trainer = Trainer(cfg)
    assert (trainer.batches.weights[..., 0] == 1).all()  # every condition it ever sees is neutral
    path = trainer.run()
    assert load_model(path).config.neutral_only
    clip = sorted(speech_dir.glob("*.wav"))[0]
    audio = load_audio(clip)
    y = audio.samples[: 2 * audio.sr]
    neutral = animate_neural(y, audio.sr, fps=30, n_frames=60, checkpoint=path, closures=None)
    happy = animate_neural(y, audio.sr, fps=30, n_frames=60, track="happy", checkpoint=path, closures=None)
    expected = apply_emotion(neutral, as_track("happy").weights(np.arange(60) / 30))
    np.testing.assert_allclose(happy, expected, atol=1e-5)
    assert np.abs(happy - neutral).max() > 0.1


def test_several_datasets_train_as_one_stream(corpus):
    one = load_stream(corpus, "train")
    two = load_stream([corpus, corpus], "train")
    assert two.n_frames == 2 * one.n_frames and (two.frame_weight == 1).all()


def test_a_model_file_round_trips_in_half_precision(tmp_path):
    cfg = ModelConfig(channels=("JawOpen", "MouthClose"), classifier_channels=("MouthClose",), **TINY_MODEL)
    net, cls = EmoteNet(cfg).eval(), EmotionClassifier(1, cfg.classifier_width).eval()
    path = save_model(tmp_path / "m.pt", net, cls, card={"steps": 3})
    loaded = load_model(path)
    mel, w = torch.randn(1, 32, 40), torch.softmax(torch.randn(1, 16, 8), dim=-1)
    with torch.inference_mode():
        np.testing.assert_allclose(loaded.net(mel, w).numpy(), net(mel, w).numpy(), atol=2e-2)
    assert loaded.card == {"steps": 3} and loaded.config.channels == ("JawOpen", "MouthClose")
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(EmoteError, match=r"bad\.pt: not a usable emote model"):
        load_model(tmp_path / "bad.pt")


def test_the_real_speech_models_file_stays_under_25_mb_and_loads_offline(tmp_path, monkeypatch):
    import socket

    repo = Path(__file__).resolve().parents[1]
    for name in ("emote_real.toml", "emote_real_neutral.toml"):
        mc = load_config(repo / "configs" / name).model
        # As trained: 32 output channels (mouth + emotion), posteriors in the features.
        channels = tuple(c for c in CHANNELS[:52] if not c.startswith(("EyeBlink", "EyeLook")))[:32]
        mc = replace(mc, channels=channels, classifier_channels=channels[:10],
                     features=replace(mc.features, phones=True))  # fmt: skip
        path = save_model(tmp_path / f"{name}.pt", EmoteNet(mc), EmotionClassifier(10, mc.classifier_width))
        assert path.stat().st_size <= 25e6, (name, path.stat().st_size)

    def no_network(*args, **kwargs):
        raise AssertionError("a model file must load without the network")

    monkeypatch.setattr(socket, "socket", no_network)
    assert load_model(tmp_path / "emote_real_neutral.toml.pt").config.neutral_only
    assert load_model(repo / "checkpoints" / "emote_tts.pt").config.channels


def test_config_files_resolve_paths_and_reject_unknown_keys(tmp_path):
    (tmp_path / "ok.toml").write_text('data = "d"\nout = "o"\n[model]\nlatent_dim = 8\n[main]\nsteps = 3\n')
    cfg = load_config(tmp_path / "ok.toml")
    assert cfg.data == str(tmp_path / "d") and cfg.model.latent_dim == 8 and cfg.main.steps == 3
    assert cfg.prior == TrainConfig().prior
    (tmp_path / "bad.toml").write_text("[main]\nstep = 3\n")
    with pytest.raises(EmoteError, match=r"bad\.toml: \[main\]: unknown key\(s\) step"):
        load_config(tmp_path / "bad.toml")


def test_shipped_configs_load():
    repo = Path(__file__).resolve().parents[1]
    for name in (
        "tiny.toml",
        "emote_tts.toml",
        "emote_tts_finetune.toml",
        "emote_tts_motion_prior.toml",
        "emote_real.toml",
        "emote_real_neutral.toml",
    ):
        cfg = load_config(repo / "configs" / name)
        assert replace(cfg.model, channels=()).features == FeatureSettings()
    full, ablation = (
        load_config(repo / "configs" / f) for f in ("emote_real.toml", "emote_real_neutral.toml")
    )
    assert len(full.data) == 2 and full.data == ablation.data and ablation.model.neutral_only
    assert (
        replace(ablation.model, neutral_only=False) == full.model
    )  # the same network, only the condition differs
    total = sum(s.max_seconds for s in (full.prior, full.classifier, full.main) if s.steps)
    assert (
        total == sum(s.max_seconds for s in (ablation.prior, ablation.classifier, ablation.main)) <= 30 * 60
    )


def _randomised(net: torch.nn.Module) -> torch.nn.Module:
    """The network with every parameter drawn at random (zero-initialised blocks would hide a path)."""
    torch.manual_seed(0)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.2)
    return net.eval()


@pytest.mark.parametrize("lookahead", [0, 5, 8])
def test_a_lookahead_model_reads_no_further_than_its_lookahead(lookahead):
    cfg = ModelConfig(channels=("JawOpen", "MouthClose", "BrowInnerUp"), lookahead=lookahead, **TINY_MODEL)
    net = _randomised(EmoteNet(cfg))
    frames = 48
    mel, w = torch.randn(1, 2 * frames, 40), torch.softmax(torch.randn(1, frames, 8), dim=-1)
    with torch.inference_mode():
        base = net(mel, w)
        for t in (7, 20, 31):
            later = mel.clone()
            later[:, 2 * (t + lookahead) + 1 :] += torch.randn_like(later[:, 2 * (t + lookahead) + 1 :])
            moved = (net(later, w) - base).abs().amax(dim=2)[0]
            assert moved[: t + 1].max() == 0, (t, moved)  # nothing past t + D reaches frames <= t
            assert moved[t + 4 :].max() > 0  # ... but it does reach the frames that may read it


def test_a_lookahead_model_uses_its_lookahead_and_a_centred_model_reads_far_ahead():
    frames = 48
    mel, w = torch.randn(1, 2 * frames, 40), torch.softmax(torch.randn(1, frames, 8), dim=-1)
    later = mel.clone()
    later[:, 2 * 28 :] += 1.0  # features from frame 28 on
    for lookahead, reached in ((5, 23), (None, 12)):
        cfg = ModelConfig(channels=("JawOpen", "MouthClose"), lookahead=lookahead, **TINY_MODEL)
        net = _randomised(EmoteNet(cfg))
        with torch.inference_mode():
            moved = (net(later, w) - net(mel, w)).abs().amax(dim=2)[0]
        assert moved[reached] > 0, (lookahead, moved)  # frame 23 reads frame 28; the centred model, far more


def test_a_lookahead_model_keeps_the_centred_models_parameter_names():
    centred = EmoteNet(ModelConfig(channels=("JawOpen",), **TINY_MODEL)).state_dict()
    causal = EmoteNet(ModelConfig(channels=("JawOpen",), lookahead=4, **TINY_MODEL)).state_dict()
    assert {k: v.shape for k, v in centred.items()} == {k: v.shape for k, v in causal.items()}
    assert ModelConfig(lookahead=5).lookahead_seconds == 0.1 and ModelConfig().lookahead_seconds is None
    for bad in (-1, 51, 2.5, True):
        with pytest.raises(EmoteError, match="lookahead must be a whole number"):
            ModelConfig(lookahead=bad)


def test_a_lookahead_model_trains_and_its_file_keeps_the_lookahead(corpus, tmp_path, speech_dir):
    from emote.audio.io import load_audio
    from emote.engines.neural import animate_neural

    cfg = tiny_config(corpus, tmp_path, prior=4, classifier=2, main=6)
    cfg = replace(cfg, model=replace(cfg.model, lookahead=5))
    path = train(cfg)
    model = load_model(path)
    assert model.config.lookahead == 5 and model.config.causal
    audio = load_audio(sorted(speech_dir.glob("*.wav"))[0])
    curves = animate_neural(audio.samples[: 2 * audio.sr], audio.sr, fps=30, n_frames=60, checkpoint=path)
    assert curves.shape == (60, len(CHANNELS)) and np.isfinite(curves).all()
    # a look-ahead model cannot start from a centred one: its decoder would compute something else
    shipped = tiny_config(corpus, tmp_path / "centred", prior=2, classifier=0, main=2)
    centred = train(shipped)
    with pytest.raises(EmoteError, match="look-ahead"):
        Trainer(
            replace(cfg, out=str(tmp_path / "again"), init=str(centred), prior=replace(cfg.prior, steps=0))
        )


def test_the_lookahead_configs_load_with_their_lookahead_and_fit_two_device_commands():
    repo = Path(__file__).resolve().parents[1]
    expected = {"emote_stream.toml": 5, "emote_stream_la8.toml": 8, "emote_lookahead_ablation.toml": 5,
                "emote_multilingual_gpu.toml": None}  # fmt: skip
    for name, lookahead in expected.items():
        cfg = load_config(repo / "configs" / name)
        assert cfg.model.lookahead == lookahead, name
        stages = sum(s.max_seconds for s in (cfg.prior, cfg.classifier, cfg.main) if s.steps)
        assert 0 < stages <= 2 * 430, name  # two device commands of --stop-after 515 + 430 s, loading aside
    shipped = load_model(repo / "checkpoints" / "emote_multilingual.pt")
    assert shipped.config.lookahead == 5  # the shipped multilingual model is the look-ahead one


def test_a_model_files_card_names_no_folder_of_the_training_machine(corpus, tmp_path, monkeypatch):
    """Paths under the working directory are written relative to it (a shipped card shows
    ``.emote_data/...``, not the trainer's home); others stay as they were given."""
    monkeypatch.chdir(corpus.parent)
    path = train(tiny_config(corpus.resolve(), tmp_path / "run", prior=2, classifier=0, main=2))
    card = load_model(path).card
    assert card["data"] == corpus.name and card["train_config"]["data"] == corpus.name
    from emote.training.train import _relative

    assert _relative({"init": ["/nowhere/else.pt", 3]}) == {"init": ["/nowhere/else.pt", 3]}  # not under it
