"""The data engine in other languages: generated lines, multilingual voices, IPA shards, fine-tuning."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import needs

from emote.audio.phones import Phone
from emote.errors import EmoteError
from emote.nn.checkpoint import load_model
from emote.nn.config import ModelConfig, StageConfig, TrainConfig
from emote.phonetics.labels import ipa_label
from emote.training.data.corpus import CorpusSettings, generate_corpus, language_voice_ids
from emote.training.data.dataset import load_stream
from emote.training.data.lines import LANGUAGES, language_lines
from emote.training.data.shards import PHONE_LABELS, Item, read_shard, write_shard
from emote.training.data.tts import LANGUAGE_VOICES, TRAINING_LANGUAGE_VOICES, available_voices
from emote.training.train import Trainer

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "checkpoints" / "emote_tts.pt"
# The script each language's generated lines must be written in (Unicode character names).
SCRIPTS = {"ru": "CYRILLIC", "el": "GREEK", "hi": "DEVANAGARI", "ja": "HIRAGANA", "ko": "HANGUL"}


def _espeak() -> None:
    if not available_voices(TRAINING_LANGUAGE_VOICES):
        needs("espeak-ng", "the espeak-ng library is not installed")


@pytest.fixture(scope="module")
def languages_corpus(tmp_path_factory) -> Path:
    _espeak()
    root = tmp_path_factory.mktemp("languages")
    generate_corpus(root, CorpusSettings(minutes_per_voice=0.05, utterances_per_shard=3,
                                         voices=language_voice_ids(("es", "ru", "ko")), validation_voices=()))  # fmt: skip
    return root


def test_every_language_voice_has_generated_lines_and_two_training_variants():
    assert set(LANGUAGES) == {v.language for v in LANGUAGE_VOICES}
    assert len(LANGUAGES) >= 12
    for voice in LANGUAGE_VOICES:  # the benchmark's plain voices are never training voices
        variants = [v for v in TRAINING_LANGUAGE_VOICES if v.language == voice.language]
        assert len(variants) == 2 and voice.name not in {v.name for v in variants}


@pytest.mark.parametrize("language", LANGUAGES)
def test_generated_lines_are_reproducible_varied_and_in_the_languages_script(language):
    lines = list(islice(language_lines(language, 5), 200))
    assert lines == list(islice(language_lines(language, 5), 200))
    assert lines != list(islice(language_lines(language, 6), 200))
    assert len(set(lines)) == 200
    assert any(ch.isdigit() for line in lines for ch in line)  # numbers: the language's own words
    letters = [ch for line in lines for ch in line if ch.isalpha()]
    if language in SCRIPTS:
        share = np.mean([SCRIPTS[language] in unicodedata.name(ch, "") for ch in letters])
        assert share > 0.95
    else:
        assert all(unicodedata.name(ch).startswith("LATIN") for ch in letters)


def test_the_benchmarks_test_lines_are_not_generated():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import languages
    finally:
        sys.path.pop(0)
    for code, test_lines in languages.SENTENCES.items():
        generated = set(islice(language_lines(code, 0), 2000))
        assert generated.isdisjoint(test_lines)


def test_unknown_language_is_an_error_naming_the_known_ones():
    assert language_voice_ids(("all",)) == tuple(v.id for v in TRAINING_LANGUAGE_VOICES)
    assert language_voice_ids(("zh",)) == ("espeak-cmn-latn-pinyin_m3", "espeak-cmn-latn-pinyin_f2")
    with pytest.raises(EmoteError, match=r"language\(s\) xx; known: es, fr"):
        language_voice_ids(("es", "xx"))


def test_shards_keep_ipa_labels_and_english_shards_stay_arpabet(tmp_path):
    def item(labels: list[str]) -> Item:
        phones = [Phone(0.1 * k, 0.1 * (k + 1), lab) for k, lab in enumerate(labels)]
        return Item(mel=np.zeros((20, 3), np.float32), curves=np.zeros((10, 2), np.float32), phones=phones)

    ipa = [ipa_label(s) for s in ("m", "a", "ɲ", "ʂ")] + ["SIL"]
    write_shard(tmp_path / "ipa.npz", [item(ipa)], channels=("JawOpen", "MouthClose"), header={"fps": 50.0})
    write_shard(tmp_path / "en.npz", [item(["M", "AA", "SIL"])], channels=("JawOpen", "MouthClose"),
                header={"fps": 50.0})  # fmt: skip
    back = read_shard(tmp_path / "ipa.npz")
    assert [p.label for p in back.item(0).phones] == ipa
    english = read_shard(tmp_path / "en.npz")
    assert english.phone_names == PHONE_LABELS and english.phone_label.dtype == np.uint8
    assert [p.label for p in english.item(0).phones] == ["M", "AA", "SIL"]


def test_a_tiny_multilingual_build_yields_ipa_shards_in_the_named_languages(languages_corpus):
    manifest = json.loads((languages_corpus / "manifest.json").read_text())
    voices = {e["voice"] for e in manifest["shards"]}
    assert voices == set(language_voice_ids(("es", "ru", "ko")))
    assert {e["split"] for e in manifest["shards"]} == {"train"}
    seen: dict[str, set[str]] = {}
    for entry in manifest["shards"]:
        shard = read_shard(languages_corpus / entry["file"])
        for k in range(len(shard)):
            it = shard.item(k)
            assert it.meta["language"] in ("es", "ru", "ko")
            labels = {p.label for p in it.phones} - {"SIL"}
            assert labels and all(lab.startswith("/") and lab.endswith("/") for lab in labels)  # IPA
            seen.setdefault(it.meta["language"], set()).update(labels)
            assert it.curves[:, shard.channels.index("JawOpen")].max() > 0.1  # the teacher moved the jaw
    assert "/ɾ/" in seen["es"] or "/r/" in seen["es"]
    assert {"/ʌ/", "/ɭ/", "/ʑ/"} & seen["ru"]  # Russian's reduced vowels and consonants, not English phones
    assert "/ɯ/" in seen["ko"] or "/ʌ/" in seen["ko"]
    counts = manifest["counts"]["phones"]
    assert counts.get("/m/", 0) + counts.get("/b/", 0) + counts.get("/p/", 0) > 0
    stream = load_stream([str(languages_corpus)], "train")
    assert stream.closure.any()  # /p b m/ in IPA close the lips in the training targets


def test_generate_languages_on_the_command_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "emote", "data", "generate", str(tmp_path / "d"), "--languages", "es,xx"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode != 0
    assert "--languages: no training voices for language(s) xx; known: es" in run.stderr
    assert not (tmp_path / "d" / "manifest.json").exists()
    listed = subprocess.run([sys.executable, "-m", "emote", "data", "generate", str(tmp_path / "d"), "--list-voices"],
                            capture_output=True, text=True, timeout=120, check=True).stdout  # fmt: skip
    rows = {line.split()[0]: line.split()[1:] for line in listed.splitlines()}
    assert rows["espeak-ko_f2"][0] == "ko" and rows["flite-kal16"][0] == "en"  # every voice with its language


def test_fine_tuning_starts_from_a_model_file(languages_corpus, tmp_path):
    if not SHIPPED.is_file():
        pytest.fail(f"{SHIPPED}: the shipped model is missing")
    shipped = load_model(SHIPPED)
    stage = StageConfig(steps=2, batch=2, window=64, lr=1e-3, warmup=1)
    cfg = TrainConfig(data=str(languages_corpus), out=str(tmp_path / "run"), device="cpu", init=str(SHIPPED),
                      model=ModelConfig(**{k: v for k, v in shipped.config.to_dict().items()
                                           if k in ("latent_dim", "prior_widths", "prior_blocks", "speech_widths",
                                                    "speech_blocks", "emotion_dim", "classifier_width")}),
                      prior=StageConfig(steps=0), classifier=StageConfig(steps=0), main=stage, variants=2)  # fmt: skip
    trainer = Trainer(cfg)
    for name, value in shipped.net.state_dict().items():
        torch.testing.assert_close(trainer.net.state_dict()[name], value)
    torch.testing.assert_close(trainer.prior.decoder.state_dict(), shipped.net.decoder.state_dict())
    out = trainer.run()
    tuned = load_model(out)
    assert tuned.config.channels == shipped.config.channels
    moved = [n for n, v in tuned.net.state_dict().items() if not torch.equal(v, shipped.net.state_dict()[n])]
    assert moved and all(n.startswith(("speech.", "emotion.")) for n in moved)  # the decoder stays frozen

    bad = TrainConfig(**{**cfg.__dict__, "out": str(tmp_path / "bad"), "prior": StageConfig(steps=5)})
    with pytest.raises(EmoteError, match="no prior encoder"):
        Trainer(bad)


def test_stream_posteriors_are_the_recognisers_with_a_short_right_context(tmp_path):
    """``--stream-posteriors``: each utterance's posteriors as a stream hears it, same audio,
    same teacher; the whole clip's stay the default."""
    _espeak()
    kw = {"minutes_per_voice": 0.03, "utterances_per_shard": 2, "voices": language_voice_ids(("es",))[:1],
          "validation_voices": ()}  # fmt: skip
    generate_corpus(tmp_path / "whole", CorpusSettings(**kw))
    generate_corpus(tmp_path / "live", CorpusSettings(**kw, stream_posteriors=(0.04, 0.14)))
    whole, live = (read_shard(next((tmp_path / d).glob("shard-*.npz"))) for d in ("whole", "live"))
    cols = slice(CorpusSettings().features.n_mels, None)
    assert all(0.04 <= live.item(k).meta["augment"]["posterior_right_s"] <= 0.14 for k in range(len(live)))
    # The first utterance (the right context's draw shifts the later ones' randomness):
    a, b = whole.item(0), live.item(0)
    assert a.meta["text"] == b.meta["text"]
    np.testing.assert_array_equal(a.curves, b.curves)  # the same utterance and teacher ...
    assert "posterior_right_s" not in a.meta["augment"]
    np.testing.assert_array_equal(a.mel[:, : cols.start], b.mel[:, : cols.start])  # ... and log-mel
    # ... but not the posteriors (stored as log p / 4: 0.11 measured, 0.45 in log-probability)
    assert np.abs(a.mel[:, cols].astype(float) - b.mel[:, cols].astype(float)).mean() > 0.05
    run = subprocess.run([sys.executable, "-m", "emote", "data", "generate", str(tmp_path / "bad"),
                          "--stream-posteriors", "0.2,0.1"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode != 0 and "--stream-posteriors: need 0 <= LO <= HI <= 5 seconds" in run.stderr


def test_phone_posteriors_with_a_right_context_hear_only_that_much_ahead():
    from emote.audio.recognize import hama_network, phone_posteriors, phone_posteriors_of

    rng = np.random.default_rng(0)
    y = (rng.standard_normal(16000 * 2) * 0.1).astype(np.float32)
    live = phone_posteriors(y, chunk=0.1, context=0.5, right=0.04)
    assert live.shape == phone_posteriors(y).shape
    # The piece at 1.0 s (frames 50..54) comes from the network over 0.5 s before it to 0.04 s after.
    piece = phone_posteriors_of(hama_network().log_probs(y[8000 : 17600 + 640]))
    np.testing.assert_allclose(live[50:55], piece[25:30], atol=1e-5)
    changed = y.copy()
    changed[17600 + 640 :] = 0.0  # audio past that: nothing of the piece moves
    np.testing.assert_array_equal(
        phone_posteriors(changed, chunk=0.1, context=0.5, right=0.04)[50:55], live[50:55]
    )
    np.testing.assert_array_equal(
        phone_posteriors(y, context=0.5, right=None), phone_posteriors(y, context=0.5)
    )
