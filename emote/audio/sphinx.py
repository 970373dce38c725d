"""PocketSphinx plumbing: the decoders, the audio format they take, the pronunciations.

PocketSphinx 5 ships the CMU en-US continuous acoustic model (a phonetically
tied mixture model over 39 ARPAbet phones, 100 frames a second), the CMU
dictionary (134k words) and a phone bigram model inside its wheel, so nothing
is downloaded. The decoders get no word dictionary (grammars are written over
phones, and allphone search needs none), which makes them quick to build
(under 0.01 s instead of 0.1 s); pronunciations are looked up in the dictionary
file, read once per process (0.02 s). One decoder of each kind is kept per
process; they are not thread-safe (use processes for parallel work, as
``emote batch`` does).

Words missing from the dictionary get a pronunciation from espeak-ng
(``espeak-ng -q --ipa``, its IPA mapped to ARPAbet) when the ``espeak-ng``
program is installed, else from a crude letter-to-sound table; either way the
:class:`emote.audio.phones.Alignment` carries a warning naming the words.
"""

from __future__ import annotations

import bisect
import functools
import os
import shutil
import subprocess
import unicodedata
import warnings

import numpy as np

from emote.audio.convert import SAMPLE_RATE
from emote.phonetics.ipa import ipa_to_arpabet

__all__ = [
    "FRAME_RATE",
    "align_decoder",
    "allphone_decoder",
    "decode",
    "pad",
    "pcm16",
    "phone_word",
    "pronounce",
    "pronunciations",
    "reset",
]

FRAME_RATE = 100.0
"""Frames per second of PocketSphinx's features (10 ms hop)."""


def _model_dir() -> str:
    from pocketsphinx import get_model_path

    return os.path.join(get_model_path(), "en-us")


def _base_config() -> dict:
    # logfn: the library never prints; PocketSphinx otherwise logs to stderr.
    # cmn batch: each utterance is normalised by its own cepstral mean, not by one
    # carried over from whatever the process decoded before, so a clip gets the
    # same phones every time (see pcm16 for the dither, kept deterministic too).
    # dict: no words (see the module notes).
    return {
        "samprate": SAMPLE_RATE, "loglevel": "FATAL", "logfn": os.devnull, "cmn": "batch", "dict": os.devnull,
    }  # fmt: skip


@functools.lru_cache(maxsize=2)
def align_decoder(*, ds: int = 2, topn: int = 10):
    """The shared decoder for alignment: no language model, fillers off, one entry per phone.

    ``ds`` and ``topn`` set how the Gaussians are scored (PocketSphinx's options of
    those names; see :class:`emote.audio.align.AlignSettings` for what they cost
    and gain); one decoder is kept per pair.

    Alignment grammars are written over phones (``_aa``, ``_b``...), not words,
    so the word pass itself yields phone boundaries; silence between words is
    spelled out in the grammar instead of being inserted by the search
    (``fsgusefiller``), which, measured on ``shared/data/speech``, loses fewer
    short function words. Because every phone is a "word" of these grammars,
    the word insertion penalty is neutral (``wip=1``; the default 0.65 taxes
    long words), and ``bestpath`` is off: its lattice rescoring costs 3x the
    decode and a grammar has nothing to rescore.
    """
    from pocketsphinx import Decoder

    from emote.phonetics.labels import ARPABET

    decoder = Decoder(
        lm=None, fsgusefiller=False, bestpath=False, wip=1.0, ds=ds, topn=topn, **_base_config()
    )
    for i, phone in enumerate(ARPABET):
        decoder.add_word(phone_word(phone), phone, i == len(ARPABET) - 1)
    return decoder


def phone_word(phone: str) -> str:
    """The dictionary entry that stands for one phone in alignment grammars (``AA`` -> ``_aa``)."""
    return "_" + phone.lower()


@functools.lru_cache(maxsize=1)
def _dictionary() -> list[str]:
    """The lines (``word ARPABET...``, ``word(2) ...``) of the CMU dictionary in PocketSphinx's wheel, sorted.

    Sorted lines and a binary search per word cost a third of building a dict
    of its 135k entries (0.02 s instead of 0.05 s), and find the same entries.
    """
    with open(os.path.join(_model_dir(), "cmudict-en-us.dict"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    lines.sort()  # the file is nearly sorted already: timsort takes 2 ms
    return lines


def _lookup(entry: str) -> str | None:
    """The ARPAbet string of a dictionary entry (``word`` or ``word(2)``...), None if absent."""
    lines, key = _dictionary(), entry + " "
    i = bisect.bisect_left(lines, key)
    return lines[i][len(key) :] if i < len(lines) and lines[i].startswith(key) else None


def pronunciations(word: str) -> list[list[str]]:
    """Every pronunciation of ``word``: the dictionary's (``word``, ``word(2)``, ...) or the guessed one."""
    if word in _ADDED:
        return [_ADDED[word][0]]
    out = []
    for k in range(1, 10):
        entry = _lookup(word if k == 1 else f"{word}({k})")
        if entry is None:
            break
        out.append(entry.split())
    return out


@functools.lru_cache(maxsize=1)
def allphone_decoder():
    """The shared decoder for phone recognition: allphone search with the shipped phone bigram.

    Language weight 1 (default 6.5): on ``shared/data/speech`` it lowers the
    phone error rate from 76% to 70% and puts 65% of boundaries within 20 ms
    (48% at the default); ``bestpath`` off, as it changes nothing here but time.
    Gaussians scored as for alignment with ``ds=2, topn=8`` (see
    :class:`emote.audio.align.AlignSettings`): 33x real time instead of 27x,
    phone error rate 72.2% instead of 72.7%.
    """
    from pocketsphinx import Decoder

    lm = os.path.join(_model_dir(), "en-us-phone.lm.bin")
    return Decoder(lm=None, allphone=lm, lw=1.0, bestpath=False, ds=2, topn=8, **_base_config())


# Words missing from the dictionary that this process pronounced, and how (phones, by
# what): they are reused, and reported as guesses every time they are used.
_ADDED: dict[str, tuple[list[str], str]] = {}


def reset() -> None:
    """Forget the shared decoders (after a decoder error, so the next call starts clean)."""
    _ADDED.clear()
    align_decoder.cache_clear()
    allphone_decoder.cache_clear()


PAD_SECONDS = 0.2
"""Silence added before and after each utterance (see :func:`pad`)."""


def pad(y: np.ndarray) -> np.ndarray:
    """``y`` with :data:`PAD_SECONDS` of background noise on both sides.

    Speech that runs to the very edge of a clip loses its last phones otherwise:
    the feature deltas need frames on both sides and the search must get back to
    silence before the utterance ends. The padding is white noise at the level of
    the clip's quietest tenth (its room tone), not digital zeros, whose log energy
    would be an outlier for the cepstral mean.
    """
    y = np.asarray(y, dtype=np.float32)
    n = round(PAD_SECONDS * SAMPLE_RATE)
    hop = SAMPLE_RATE // 100
    frames = y[: y.size // hop * hop].reshape(-1, hop)
    level = float(np.percentile(np.sqrt((frames**2).mean(axis=1)), 10)) if frames.size else 0.0
    noise = _noise("normal", n)[:n].astype(np.float32) * max(level, 1e-5)
    return np.concatenate([noise, y, noise])


@functools.lru_cache(maxsize=4)
def _noise(kind: str, size: int) -> np.ndarray:
    """The first ``size`` draws (or more) of seed 0's ``"normal"`` or ``"uniform"`` (-1..1) stream.

    Drawing is a measurable part of each decode's preparation, so the draws are
    kept; any prefix equals a fresh draw of that length, so results stay the same.
    Sizes are rounded up to a power of two so that few buffers are ever drawn.
    """
    size = 1 << max(16, (size - 1).bit_length())
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(size) if kind == "normal" else rng.uniform(-1.0, 1.0, size)
    noise.flags.writeable = False
    return noise


def decode(decoder, y: np.ndarray) -> list[tuple[float, float, str]]:
    """Decode one utterance ``y`` [shape=(n,)] at 16 kHz with the active search.

    The utterance is padded (:func:`pad`), dithered (:func:`pcm16`) and decoded
    as a whole (batch cepstral mean). The noise statistics are reset first
    (``start_stream``): the model's feature set subtracts an estimated noise
    spectrum that would otherwise carry over from the previous call, so the
    same audio gives the same result whatever was decoded before.

    Returns
    -------
    list of (start, end, name)
        The best path's entries (phones, words, silences) in seconds relative to
        ``y``, clipped to ``[0, len(y) / 16000]``; empty if the search found none.
    """
    with warnings.catch_warnings():
        # Deprecated "and unnecessary" says PocketSphinx 5.1, but without it the
        # first call of a process decodes differently from the later ones (measured).
        warnings.simplefilter("ignore", DeprecationWarning)
        decoder.start_stream()
    decoder.start_utt()
    decoder.process_raw(pcm16(pad(y)), full_utt=True)
    decoder.end_utt()
    if decoder.hyp() is None:
        return []
    length = y.size / SAMPLE_RATE
    return [
        (
            min(max(s.start_frame / FRAME_RATE - PAD_SECONDS, 0.0), length),
            min(max((s.end_frame + 1) / FRAME_RATE - PAD_SECONDS, 0.0), length),
            s.word,
        )
        for s in decoder.seg()
    ]


def pcm16(y: np.ndarray) -> bytes:
    """16-bit little-endian PCM bytes of ``y`` [shape=(n,)] float in [-1, 1] (clipped), dithered.

    Digital silence (an MP3's encoder delay is exact zeros) has a log energy of
    minus infinity, which wrecks the cepstral mean: on a Common Voice clip "no"
    decoded as silence. One least significant bit of noise, from a generator
    seeded the same for every call, removes the zeros and keeps results
    reproducible (PocketSphinx's own ``dither`` draws from one stream per process).
    """
    scaled = np.clip(y, -1.0, 1.0) * 32767.0 + _noise("uniform", y.size)[: y.size]
    return np.rint(scaled, out=scaled).clip(-32768, 32767, out=scaled).astype("<i2").tobytes()


# -- pronunciations --------------------------------------------------------------------------

_LETTERS = {
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH", "i": "IH",
    "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P", "q": "K", "r": "R",
    "s": "S", "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S", "y": "IY", "z": "Z",
    "th": "TH", "sh": "SH", "ch": "CH", "ph": "F", "ng": "NG", "ck": "K", "ee": "IY", "ea": "IY",
    "oo": "UW", "ou": "AW", "ow": "OW", "ai": "EY", "ay": "EY", "oi": "OY", "qu": "K W", "wh": "W",
}  # fmt: skip


def letters_to_phones(word: str) -> list[str]:
    """A crude ARPAbet guess from spelling (digraphs first, doubled letters once)."""
    plain = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if c.isascii() and c.isalpha())
    phones: list[str] = []
    i = 0
    while i < len(plain):
        if plain[i : i + 2] in _LETTERS:
            phones.extend(_LETTERS[plain[i : i + 2]].split())
            i += 2
        else:
            if not (i > 0 and plain[i] == plain[i - 1]):
                phones.extend(_LETTERS[plain[i]].split())
            i += 1
    return phones


def _espeak_phones(words: list[str]) -> dict[str, list[str]]:
    """ARPAbet from espeak-ng for each word it can say (one process for all words)."""
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if exe is None or not words:
        return {}
    try:
        done = subprocess.run(
            [exe, "-q", "--ipa", "-v", "en-us"],
            input="\n".join(words).encode(),
            capture_output=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    lines = done.stdout.decode(errors="replace").splitlines()
    if len(lines) != len(words):  # espeak merged or split lines: no safe mapping
        return {}
    out = {}
    for word, line in zip(words, lines, strict=True):
        phones = ipa_to_arpabet(line.strip())
        if phones:
            out[word] = phones
    return out


def pronounce(words: list[str]) -> tuple[list[str], list[str]]:
    """Make sure every word has a pronunciation; return the words to use and warnings.

    A word the dictionary lacks gets an espeak-ng (or spelled-out)
    pronunciation. A word that yields no phones at all (no letters) is dropped.

    Returns
    -------
    names : list[str]
        The words to align, in order (``words`` minus dropped ones).
    warnings : list[str]
        One line per kind of fix, naming the words.
    """
    missing = sorted({w for w in words if w not in _ADDED and _lookup(w) is None})
    guessed = _espeak_phones(missing)
    for word in missing:
        phones = guessed.get(word) or letters_to_phones(word)
        if phones:
            _ADDED[word] = (phones, "espeak-ng" if word in guessed else "the spelling")
    dropped = {w for w in missing if w not in _ADDED}
    warnings = []
    for via in ("espeak-ng", "the spelling"):
        named = sorted({w for w in words if w in _ADDED and _ADDED[w][1] == via})
        if named:
            warnings.append(f"not in the dictionary, pronounced by {via}: {', '.join(named)}")
    if dropped:
        warnings.append(f"skipped (nothing to pronounce): {', '.join(sorted(dropped))}")
    return [w for w in words if w not in dropped], warnings
