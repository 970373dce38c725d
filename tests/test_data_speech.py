"""Recorded speech into training shards: clip discovery, speaker hold-out, confidence weights, compact shards."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from emote.audio.phones import Phone
from emote.errors import EmoteError
from emote.nn.features import FeatureSettings
from emote.phonetics.labels import PHONE_CLASSES
from emote.training.data.shards import Item, read_manifest, read_shard, write_shard
from emote.training.data.speech import (
    LIP_CLASSES,
    Clip,
    SpeechSettings,
    find_clips,
    frame_weights,
    generate_speech_shards,
    held_out,
    recognition_confidence,
)

TRAIN_SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "train-speech"


def _posteriors(frames: int, spikes: dict[int, dict[str, float]]) -> np.ndarray:
    """Log-posteriors (frames, classes): blank everywhere except the given spike frames."""
    p = np.full((frames, len(PHONE_CLASSES)), 1e-6)
    p[:, PHONE_CLASSES.index("<blank>")] = 1.0
    for f, probs in spikes.items():
        p[f, PHONE_CLASSES.index("<blank>")] = max(1.0 - sum(probs.values()), 1e-6)
        for c, v in probs.items():
            p[f, PHONE_CLASSES.index(c)] = v
    return np.log(p)


def test_confidence_is_the_recognisers_belief_in_the_phones_lip_class():
    # Spikes come `latency` (60 ms = 3 frames) after the recognised phone's start.
    post = _posteriors(40, {5: {"P": 0.5, "B": 0.4, "T": 0.1},  # /p/: lips closed either way -> 0.9
                            15: {"F": 0.3, "P": 0.7},  # recognised /f/, but mostly /p/ -> 0.3
                            25: {"T": 0.9, "K": 0.1}})  # fmt: skip
    phones = [Phone(0.0, 0.04, "SIL"), Phone(0.04, 0.2, "P"), Phone(0.2, 0.4, "F"), Phone(0.4, 0.6, "K"),
              Phone(0.6, 0.8, "M")]  # fmt: skip
    conf = recognition_confidence(phones, post, rate=50.0)
    np.testing.assert_allclose(conf, [1.0, 0.9, 0.3, 1.0, 0.0], atol=1e-4)  # /m/: no spike at all -> 0
    assert sum(len(c) for c in LIP_CLASSES) == len(PHONE_CLASSES) - 2  # every phone but SIL and blank


def test_frame_weights_spread_a_doubtful_phone_onto_its_neighbours():
    phones = [Phone(0.0, 0.2, "AA"), Phone(0.2, 0.3, "P"), Phone(0.3, 0.6, "AA")]
    w = frame_weights(phones, np.array([1.0, 0.2, 1.0]), n_frames=30, fps=50.0, smooth=0.04)
    assert w[:8].min() == 1.0 and w[18:].min() == 1.0
    assert (w[8:17] == np.float32(0.2)).all()  # the /p/'s frames 10-14, two frames either side


def test_speakers_are_held_out_stably_and_single_speaker_corpora_stay_in_training(tmp_path):
    clips = [Clip(f"/x/{s}-1-{k}.opus", "libri", str(s)) for s in range(300) for k in range(2)]
    out = [held_out(c, 0.1) for c in clips]
    assert out[0::2] == out[1::2]  # a speaker's clips go together
    assert 0.05 < np.mean(out) < 0.15
    assert held_out(clips[0], 0.1) == held_out(Clip("/elsewhere/0-9-9.wav", "libri", "0"), 0.1)
    from emote.training.data.speech import _splits

    assert set(_splits([Clip("/a.wav", "lj", "lj")] * 5, 0.99)) == {"train"}


def test_find_clips_reads_ljspeech_metadata_and_librispeech_names(tmp_path):
    lj = tmp_path / "lj"
    lj.mkdir()
    for name in ("LJ1", "LJ2"):
        (lj / f"{name}.wav").write_bytes(b"")
    (lj / "metadata.csv").write_text("LJ1|Dr. Smith|Doctor Smith\nLJ2|two|two\n", encoding="utf-8")
    clips = find_clips(lj)
    assert [(c.name, c.speaker, c.text) for c in clips] == [
        ("LJ1", "lj", "Doctor Smith"),
        ("LJ2", "lj", "two"),
    ]
    libri = tmp_path / "libri"
    libri.mkdir()
    (libri / "103-1240-0000.opus").write_bytes(b"")
    (libri / "noname.wav").write_bytes(b"")
    (libri / "noname.txt").write_text("hello there")
    assert [(c.speaker, c.text) for c in find_clips(libri)] == [("103", None), ("libri", "hello there")]
    (lj / "metadata.csv").write_text("LJ3|missing|missing\n", encoding="utf-8")
    with pytest.raises(EmoteError, match=r"metadata\.csv: line 1: no audio file 'LJ3'"):
        find_clips(lj)
    with pytest.raises(EmoteError, match="no audio files"):
        find_clips(tmp_path)


def test_compact_shards_read_back_the_same_features():
    rng = np.random.default_rng(0)
    fs = FeatureSettings(phones=True)
    items = []
    for n in (7, 12):
        feats = rng.uniform(-3, 0.5, (2 * n, fs.width)).astype(np.float32)
        feats[1::2, fs.n_mels :] = feats[0::2, fs.n_mels :]  # posteriors: one row per curve frame, repeated
        items.append(Item(feats, rng.random((n, 2)).astype(np.float32), [], {"duration": n / 50},
                          weight=rng.random(n).astype(np.float32)))  # fmt: skip
    header = {"fps": 50.0, "kind": "speech", "features": fs.to_dict()}
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        plain = read_shard(
            write_shard(Path(d) / "a.npz", items, channels=("A", "B"), header=header, mel_dtype="uint8")
        )
        small = read_shard(write_shard(Path(d) / "b.npz", items, channels=("A", "B"), header=header,
                                       mel_dtype="uint8", compact=True))  # fmt: skip
    np.testing.assert_array_equal(plain.mel, small.mel)  # lossless: the same uint8 codes
    np.testing.assert_allclose(small.weights, np.concatenate([it.weight for it in items]), atol=0.5 / 255)
    assert small.header["mel_layout"] == "compact" and "mel_layout" not in plain.header
    bad = [Item(items[0].mel.copy(), items[0].curves, [], {})]
    bad[0].mel[1, -1] += 1.0  # posterior rows no longer repeated
    with pytest.raises(ValueError, match="not repeated"), tempfile.TemporaryDirectory() as d:
        write_shard(
            Path(d) / "c.npz", bad, channels=("A", "B"), header=header, mel_dtype="uint8", compact=True
        )


@pytest.fixture(scope="module")
def speech_folders(tmp_path_factory) -> tuple[Path, Path]:
    if not (TRAIN_SPEECH / "ljspeech" / "metadata.csv").is_file():
        pytest.skip(f"training speech not found at {TRAIN_SPEECH}")
    root = tmp_path_factory.mktemp("speech")
    lj, libri = root / "ljspeech", root / "librispeech"
    lj.mkdir()
    libri.mkdir()
    lines = (TRAIN_SPEECH / "ljspeech" / "metadata.csv").read_text(encoding="utf-8").splitlines()
    short = [line for line in lines if len(line.split("|")[-1]) < 60][:2]
    for line in short:
        shutil.copy(TRAIN_SPEECH / "ljspeech" / f"{line.split('|')[0]}.opus", lj)
    (lj / "metadata.csv").write_text("\n".join(short) + "\n", encoding="utf-8")
    for p in sorted((TRAIN_SPEECH / "librispeech").glob("*.opus"))[:3]:
        shutil.copy(p, libri)
    return lj, libri


def test_recorded_speech_becomes_weighted_shards_with_speakers_held_out(speech_folders, tmp_path):
    lj, libri = speech_folders
    speakers = sorted({c.speaker for c in find_clips(libri)})
    # A share that holds out some speaker of these three, found rather than assumed.
    share = next(s for s in np.linspace(0.05, 0.95, 19)
                 if 0 < sum(held_out(Clip("", "librispeech", sp), s) for sp in speakers) < len(speakers))  # fmt: skip
    settings = SpeechSettings(val_share=float(share), utterances_per_shard=2)
    manifest = generate_speech_shards([lj, libri], tmp_path / "ds", settings)
    assert not manifest["skipped"]
    splits: dict[str, set[str]] = {"train": set(), "val": set()}
    for entry in manifest["shards"]:
        shard = read_shard(tmp_path / "ds" / entry["file"])
        assert shard.header["split"] == entry["split"] and shard.header["mel_layout"] == "compact"
        assert shard.frame_weight is not None and shard.frame_weight.shape == (shard.n_frames,)
        for k, meta in enumerate(shard.meta):
            splits[entry["split"]].add(meta["speaker"])
            item = shard.item(k)
            assert item.curves[:, shard.channels.index("JawOpen")].max() > 0.1  # the teacher moved the jaw
            if meta["voice"] == "ljspeech":
                assert meta["phones_from"] == "aligned" and (item.weight == 1.0).all() and meta["text"]
            else:
                assert (
                    meta["phones_from"] == "recognised"
                    and 0.0 <= item.weight.min() <= item.weight.max() <= 1.0
                )
    assert "ljspeech" in splits["train"] and splits["val"] and not splits["train"] & splits["val"]
    assert manifest["val_speakers"] == sorted(f"librispeech/{s}" for s in splits["val"])
    # An interrupted run resumes: finished shards are kept as they are.
    first = tmp_path / "ds" / manifest["shards"][0]["file"]
    stamp = first.stat().st_mtime_ns
    again = generate_speech_shards([lj, libri], tmp_path / "ds", settings)
    assert first.stat().st_mtime_ns == stamp and again["shards"] == manifest["shards"]
    with pytest.raises(EmoteError, match="other settings"):
        generate_speech_shards([lj, libri], tmp_path / "ds", SpeechSettings(seed=1))
    assert read_manifest(tmp_path / "ds")["counts"]["items"] == 5


def test_emote_data_speech_refuses_bad_input_in_one_line(tmp_path, capsys):
    from emote.cli.main import main

    assert main(["data", "speech", str(tmp_path / "out"), str(tmp_path / "nowhere")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere: not a folder of speech clips" in err[0]
    assert main(["data", "speech", str(tmp_path / "out"), str(tmp_path), "--val-share", "1.5"]) != 0
    assert "--val-share must be in [0, 1)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_stream_posteriors_change_only_the_posteriors_of_recorded_speech(speech_folders, tmp_path):
    """``emote data speech --stream-posteriors``: the same log-mel, teacher, weights and emotion
    tracks; the posteriors are a live stream's recogniser's (each clip's right context drawn)."""
    lj, _ = speech_folders
    base = SpeechSettings(utterances_per_shard=2)
    whole = generate_speech_shards([lj], tmp_path / "whole", base)
    live = generate_speech_shards([lj], tmp_path / "live", replace(base, stream_posteriors=(0.04, 0.14)))
    a, b = (read_shard(tmp_path / d / m["shards"][0]["file"]) for d, m in (("whole", whole), ("live", live)))
    n_mels = base.features.n_mels
    for k in range(len(a)):
        x, y = a.item(k), b.item(k)
        assert 0.04 <= y.meta["posterior_right_s"] <= 0.14 and "posterior_right_s" not in x.meta
        if k == 0:  # (the right context's draw shifts the later clips' randomness)
            assert x.meta["emotion_track"] == y.meta["emotion_track"]
        np.testing.assert_array_equal(x.curves, y.curves)
        np.testing.assert_array_equal(x.weight, y.weight)
        np.testing.assert_array_equal(x.mel[:, :n_mels], y.mel[:, :n_mels])
        assert np.abs(x.mel[:, n_mels:] - y.mel[:, n_mels:]).mean() > 0.02  # another view of the phones
