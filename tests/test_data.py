"""The data engine: text set, TTS timings, augmentation, shards, corpus, targets, import."""

from __future__ import annotations

import shutil
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
from conftest import missing, needs

from emote.animation import FaceAnimation
from emote.animation.channels import CHANNELS, INDEX
from emote.audio.phones import Phone
from emote.errors import EmoteError
from emote.eval import lip_gap_proxy
from emote.nn.features import FeatureSettings
from emote.performance.compose import apply_emotion
from emote.phonetics.labels import PHONE_CLASSES, PHONE_SET
from emote.training.data.augment import AugmentSettings, augment, room_impulse_response
from emote.training.data.corpus import CorpusSettings, generate_corpus
from emote.training.data.dataset import load_stream, prepare_targets, sample_batch, target_channels
from emote.training.data.importer import FACE_CHANNELS, Take, import_takes
from emote.training.data.shards import MEL_CODE, Item, read_manifest, read_shard, write_shard
from emote.training.data.text import sentences
from emote.training.data.tts import VOICES, Prosody, TTSError, available_voices, radio_to_arpabet, synthesize

ESPEAK = [v for v in available_voices() if v.engine == "espeak"]
needs_espeak = pytest.mark.skipif(
    len(ESPEAK) < 2, reason=missing("espeak-ng", "fewer than two espeak-ng voices")
)
TINY = CorpusSettings(
    minutes_per_voice=0.05,
    validation_minutes_per_voice=0.05,
    utterances_per_shard=4,
    voices=("espeak-en-us_m1", "espeak-en-gb-scotland_f5"),
    validation_voices=("espeak-en-gb-scotland_f5",),
)


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    if len(ESPEAK) < 2:
        needs("espeak-ng", "fewer than two espeak-ng voices")
    root = tmp_path_factory.mktemp("corpus")
    generate_corpus(root, TINY)
    return root


def test_text_stream_is_reproducible_and_varied():
    a = list(islice(sentences(7), 400))
    assert a == list(islice(sentences(7), 400))
    assert a != list(islice(sentences(8), 400))
    assert any(s.endswith("?") for s in a) and any(s.endswith("!") for s in a)
    assert any(ch.isdigit() for s in a for ch in s)
    assert any(len(s.split()) <= 3 for s in a) and any(len(s.split()) >= 15 for s in a)
    assert len(set(a)) > 250


def test_radio_phone_names_map_to_arpabet():
    assert [radio_to_arpabet(p) for p in ("ax", "pau", "aa", "hh", "dx")] == ["AH", "SIL", "AA", "HH", "T"]
    with pytest.raises(TTSError, match="unknown synthesiser phone"):
        radio_to_arpabet("qq")


@needs_espeak
def test_espeak_phone_timings_tile_the_clip_in_arpabet():
    (u,) = synthesize(ESPEAK[0], ["Bob bought a map, maybe?"], [Prosody(rate=1.2, pitch=1.1)])
    assert u.samples.dtype == np.float32 and u.samples.size > 0.5 * u.sr
    starts = np.array([p.start for p in u.phones])
    ends = np.array([p.end for p in u.phones])
    assert starts[0] == 0.0 and ends[-1] == pytest.approx(u.duration)
    np.testing.assert_allclose(starts[1:], ends[:-1])
    assert all(p.label in PHONE_SET for p in u.phones)
    assert [p.label for p in u.phones if p.label in ("B", "M", "P")][:4] == ["B", "B", "B", "M"]


@pytest.mark.parametrize("engine", ["flite", "festival"])
def test_flite_and_festival_report_timings_that_change_with_rate(engine):
    voice = next((v for v in available_voices() if v.engine == engine), None)
    if voice is None:
        needs(engine, "no voice found")
    slow, fast = synthesize(
        voice, ["Please pass the paper plates."] * 2, [Prosody(rate=0.8), Prosody(rate=1.25)]
    )
    for u in (slow, fast):
        assert u.phones[-1].end == pytest.approx(u.duration)
        assert [p.label for p in u.phones if p.label != "SIL"][:3] == ["P", "L", "IY"]
    assert slow.duration > 1.2 * fast.duration


def test_augmentation_keeps_length_and_reaches_the_requested_snr():
    rng = np.random.default_rng(0)
    t = np.arange(32000) / 16000
    y = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    s = AugmentSettings(p_clean=0, p_reverb=0, p_band=0, p_resample=0, p_noise=1, p_clip=0, snr_db=(10, 10),
                        gain_db=(0, 0), noise_kinds=("white",))  # fmt: skip
    out, applied = augment(y, 16000, rng, settings=s)
    assert out.shape == y.shape and applied["noise"] == "white"
    clean = y * (np.sqrt(np.mean(out**2)) / np.sqrt(np.mean(y**2) * (1 + 10**-1)))
    noise = out - clean
    snr = 10 * np.log10(np.mean(clean**2) / np.mean(noise**2))
    assert snr == pytest.approx(10, abs=0.5)


def test_room_impulse_response_keeps_the_direct_path_first():
    h = room_impulse_response(0.5, 16000, np.random.default_rng(1))
    assert h[0] == 1.0 and np.abs(h[1:]).max() < 1.0 and h.size == 8000


def test_shard_round_trip_quantises_features_within_half_a_step(tmp_path):
    rng = np.random.default_rng(0)
    items = [Item(mel=rng.uniform(-3, 2.0, (2 * n, 40)).astype(np.float32), curves=rng.random((n, 3)).astype(np.float32),
                  phones=[Phone(0.0, 0.1, "SIL"), Phone(0.1, n / 50, "B")], meta={"duration": n / 50, "k": k})
             for k, n in enumerate((7, 12))]  # fmt: skip
    path = write_shard(tmp_path / "s.npz", items, channels=("JawOpen", "MouthClose", "Custom"),
                       header={"fps": 50.0, "kind": "final"}, mel_dtype="uint8")  # fmt: skip
    shard = read_shard(path)
    assert len(shard) == 2 and shard.channels == ("JawOpen", "MouthClose", "Custom")
    back = shard.item(1)
    assert np.abs(back.mel - items[1].mel).max() <= MEL_CODE[1] / 2 + 1e-3
    np.testing.assert_allclose(back.curves, items[1].curves, atol=1e-3)
    assert [p.label for p in back.phones] == ["SIL", "B"] and back.meta["k"] == 1


def test_a_foreign_file_is_not_a_shard(tmp_path):
    bad = tmp_path / "x.npz"
    np.savez(bad, a=np.zeros(3))
    with pytest.raises(EmoteError, match=r"x\.npz: not an emote dataset shard"):
        read_shard(bad)


@needs_espeak
def test_corpus_is_deterministic_resumable_and_holds_out_whole_voices(tiny_corpus, tmp_path):
    manifest = read_manifest(tiny_corpus)
    splits = {e["voice"]: e["split"] for e in manifest["shards"]}
    assert splits == {"espeak-en-us_m1": "train", "espeak-en-gb-scotland_f5": "val"}
    assert manifest["counts"]["hours_total"] > 0 and sum(manifest["counts"]["emotions_items"].values()) >= 8
    again = tmp_path / "again"
    generate_corpus(again, TINY)
    first = manifest["shards"][0]["file"]
    (again / first).unlink()  # an interrupted run lost this shard: it is made again, identically
    generate_corpus(again, TINY)
    for entry in manifest["shards"]:
        a, b = np.load(tiny_corpus / entry["file"]), np.load(again / entry["file"])
        assert all(np.array_equal(a[k], b[k]) for k in a.files)


@needs_espeak
def test_targets_are_the_performance_layer_composition_and_bilabials_stay_closed(tiny_corpus):
    stream = load_stream(tiny_corpus, "train")
    channels = target_channels(stream)
    assert {"JawOpen", "MouthClose", "BrowInnerUp", "EyeWideLeft"} <= set(channels)
    targets = prepare_targets(stream, channels, variants=3, seed=0)
    speech = np.zeros((stream.n_frames, len(CHANNELS)), np.float32)
    for k, name in enumerate(stream.names):
        speech[:, INDEX[name]] = stream.curves[:, k]
    for v in range(3):
        face = apply_emotion(speech, targets.weights[v].astype(np.float32))
        np.testing.assert_allclose(targets.curves[v], face[:, [INDEX[c] for c in channels]], atol=2e-3)
    # Every frame under every condition: lips that close for /b m p/ when neutral close whatever the emotion.
    full = np.zeros((stream.n_frames, len(CHANNELS)), np.float32)
    surprised = np.zeros((stream.n_frames, 8), np.float32)
    surprised[:, 3] = 1.0
    full[:] = apply_emotion(speech, surprised)
    closed = lip_gap_proxy(speech)[stream.closure] < 1.5
    assert closed.mean() > 0.5 and (lip_gap_proxy(full)[stream.closure][closed] < 1.5).all()


@needs_espeak
def test_batches_pair_features_with_their_frames_and_exchange_only_composed_targets(tiny_corpus):
    stream = load_stream(tiny_corpus, "train")
    targets = prepare_targets(stream, target_channels(stream), variants=4, seed=0)
    b = sample_batch(stream, targets, np.random.default_rng(0), batch=5, window=40)
    width = FeatureSettings(phones=True).width
    assert b.mel.shape == (5, 80, width) and b.target.shape[:2] == (5, 40) and b.weights.shape == (5, 40, 8)
    np.testing.assert_allclose(b.weights.sum(axis=2), 1.0, atol=1e-2)
    assert b.mask2.all()  # TTS frames are all composable
    assert not np.allclose(b.weights, b.weights2)


def test_stored_features_carry_the_recognisers_phone_posteriors(tiny_corpus):
    manifest = read_manifest(tiny_corpus)
    shard = read_shard(tiny_corpus / manifest["shards"][0]["file"])
    fs = FeatureSettings(**shard.header["features"])
    assert fs.phones and shard.mel.shape[1] == fs.width == 40 + len(PHONE_CLASSES)
    silent, heard = 0, set()
    for k in range(len(shard)):
        item = shard.item(k)
        post = item.mel[::2, fs.n_mels :].astype(np.float64)
        total = np.exp(4.0 * post).sum(axis=1)  # log p / 4, clipped at log p = -8
        assert np.all((total > 0.85) & (total < 1.15))
        lead = item.phones[0]
        assert lead.label == "SIL"
        mid = int(0.5 * (lead.start + lead.end) * 50)
        silent += PHONE_CLASSES[int(np.argmax(post[mid]))] in ("SIL", "<blank>")
        heard |= {PHONE_CLASSES[i] for i in np.argmax(post, axis=1)}
    assert silent >= 0.8 * len(shard)
    assert {"M", "B", "P"} & heard and len(heard) > 15  # the spoken lines' phones, not noise


def _write_wav(path: Path, seconds: float, sr: int = 16000) -> None:
    import soundfile as sf

    t = np.arange(int(seconds * sr)) / sr
    sf.write(
        path, (0.2 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32), sr
    )


def test_import_live_link_takes_and_named_curves(tmp_path):
    _write_wav(tmp_path / "take.wav", 2.0)
    curves = np.zeros((121, len(CHANNELS)), np.float32)
    curves[:, INDEX["JawOpen"]] = np.linspace(0, 0.5, 121)
    FaceAnimation(60.0, curves, {}).save(tmp_path / "take.csv")
    manifest = import_takes([Take(str(tmp_path / "take.wav"), str(tmp_path / "take.csv"), emotion="happy")],
                            tmp_path / "ds", name="actor")  # fmt: skip
    shard = read_shard(tmp_path / "ds" / "shard-actor.npz")
    assert shard.channels == FACE_CHANNELS and shard.header["kind"] == "final"
    item = shard.item(0)
    assert item.curves.shape[0] == 101 and item.mel.shape[0] == 202
    jaw = item.curves[:, FACE_CHANNELS.index("JawOpen")]
    assert jaw[0] == pytest.approx(0.0, abs=1e-3) and jaw[-1] == pytest.approx(0.5, abs=1e-2)
    assert manifest["counts"]["emotions_items"] == {"happy": 1}

    np.save(tmp_path / "rig.npy", np.random.default_rng(0).random((50, 2)).astype(np.float32))
    (tmp_path / "names.txt").write_text("jaw_ctrl\nlip_ctrl\n")
    _write_wav(tmp_path / "rig.wav", 49 / 25)
    manifest = import_takes([Take(str(tmp_path / "rig.wav"), str(tmp_path / "rig.npy"), names=str(tmp_path / "names.txt"))],
                            tmp_path / "ds", fps=25.0, name="rig", split="val")  # fmt: skip
    assert read_shard(tmp_path / "ds" / "shard-rig.npz").channels == ("jaw_ctrl", "lip_ctrl")
    assert {e["split"] for e in manifest["shards"]} == {"train", "val"}


def test_import_refuses_a_take_whose_audio_and_curves_disagree(tmp_path):
    _write_wav(tmp_path / "a.wav", 5.0)
    FaceAnimation(30.0, np.zeros((31, len(CHANNELS)), np.float32), {}).save(tmp_path / "a.csv")
    with pytest.raises(EmoteError, match=r"a\.csv: lasts 1\.00 s but .*a\.wav lasts 5\.00 s"):
        import_takes([Take(str(tmp_path / "a.wav"), str(tmp_path / "a.csv"))], tmp_path / "ds")
    assert not (tmp_path / "ds" / "manifest.json").exists()


def test_known_voices_have_unique_ids():
    ids = [v.id for v in VOICES]
    assert len(ids) == len(set(ids)) and all(shutil.os.sep not in i for i in ids)


@needs_espeak
def test_generate_command_can_leave_the_posteriors_out(tmp_path):
    from emote.cli.main import main

    args = ["data", "generate", str(tmp_path / "ds"), "--voices", "espeak-en-us_m1", "--val-voices", "",
            "--minutes-per-voice", "0.05"]  # fmt: skip
    assert main([*args, "--no-phones"]) == 0
    manifest = read_manifest(tmp_path / "ds")
    shard = read_shard(tmp_path / "ds" / manifest["shards"][0]["file"])
    assert not manifest["settings"]["features"]["phones"] and shard.mel.shape[1] == 40
    assert main(args) != 0  # the same folder with other settings is refused, not mixed
