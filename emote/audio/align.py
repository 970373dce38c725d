"""Forced alignment: a transcript and its audio in, phone and word timings out.

PocketSphinx does the acoustic work (CMU en-US model, 10 ms frames). The
transcript becomes a finite-state grammar over *phones*: for each word, an
optional silence, then one of its dictionary pronunciations phone by phone.
One Viterbi pass through that grammar gives phone boundaries and, from them,
word boundaries. (PocketSphinx's own route, ``set_align_text`` and then the
``set_alignment`` state-level second pass, costs three times as much and, on
``shared/data/speech``, failed outright on the 26 s ``cold_corpus``; the
grammar is ours for two further reasons, both measured there:)

- a word may be skipped. The model's 3-frame minimum per phone cannot fit some
  heavily reduced words of fast speech ("i have a" in 40 ms), and a strict
  grammar then fails the whole utterance, or worse, with a free end, stretches
  the words it has over speech they do not match. So each segment is decoded
  with skips affordable (``skip_probs[0]``); where that skipped words, the
  stretch from the word before to the word after is decoded again with skips
  all but forbidden (``skip_probs[1]``), kept if it found every word. A word
  still skipped is put back between its neighbours, sharing their time in
  proportion to phone counts, and named in the warnings.
- optional silence between words is spelled out rather than inserted by the
  search (fillers off), which loses fewer short words.

Long audio is cut at pauses into segments of at most ``max_segment`` seconds
(:mod:`emote.audio.segment`) and the transcript is followed through them: a
segment's grammar may end after any word up to twice the share of words its
duration predicts, and the next segment starts after the last word found.
Memory is one segment's, so an hour streams from disk through :func:`align_file`.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from os import PathLike

import numpy as np

from emote.audio import sphinx
from emote.audio.convert import SAMPLE_RATE
from emote.audio.io import audio_info, iter_audio_blocks
from emote.audio.phones import Alignment, Phone, Word
from emote.audio.segment import iter_segments, speech_span
from emote.audio.text import normalize_text
from emote.audio.timings import find_transcript
from emote.errors import TranscriptError, file_error
from emote.phonetics.labels import SIL, normalize_label

__all__ = ["AlignSettings", "align", "align_file"]

Progress = Callable[[float], None]


@dataclass(frozen=True)
class AlignSettings:
    """Forced-alignment settings.

    Attributes
    ----------
    max_segment : float
        Longest stretch (s) decoded at once; long audio is cut at pauses.
    skip_probs : (float, float)
        Grammar probabilities of skipping a transcript word: first pass (lenient),
        and the retry when it skipped some (strict); see the module notes.
    silence_prob : float
        Grammar probability of a silence between two words.
    ds, topn : int
        How PocketSphinx scores its Gaussians, most of the decode's time: its
        phonetically tied model searches a 128-Gaussian codebook for the ``topn``
        best in every ``ds``-th frame where one of the codebook's phones is
        active, and rescores those in the frames between. Measured with
        ``benchmarks/phones.py --robust`` (word boundaries within 50 ms, phone
        boundaries within 20 ms, over 32 delayed and noisy variants of the
        reference clips) and x real time on one core:

        ======  ====  =====  ======  =====
        ds      topn  words  phones  speed
        ======  ====  =====  ======  =====
        1       4     74.0%  64.3%   62x   (PocketSphinx's defaults)
        2       12    74.5%  65.2%   66x
        2       10    74.2%  64.5%   70x   (default)
        2       8     73.5%  63.5%   76x
        2       4     72.3%  61.7%   92x
        3       10    72.9%  61.7%   83x
        ======  ====  =====  ======  =====

        With ds 2, topn 4-5 loses 2-3 points of phone boundaries (significant
        in a paired bootstrap over the reference words); topn 8 loses about
        one point, within the noise of 129 reference words.
    """

    max_segment: float = 30.0
    skip_probs: tuple[float, float] = (1e-3, 1e-30)
    silence_prob: float = 0.5
    ds: int = 2
    topn: int = 10

    def __post_init__(self) -> None:
        for option in ("ds", "topn"):
            value = getattr(self, option)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"AlignSettings.{option} must be an integer >= 1, got {value!r}")


def align(
    *,
    y: np.ndarray,
    sr: int,
    text: str,
    settings: AlignSettings | None = None,
    progress: Progress | None = None,
) -> Alignment:
    """Phone and word timings of ``y`` speaking ``text``.

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
        Mono speech.
    sr : int
        Its sample rate (resampled to 16 kHz if different).
    text : str
        What is said, as a person would type it (see :func:`emote.audio.text.normalize_text`).
    settings : AlignSettings or None
    progress : callable or None
        Called with the fraction done (0..1) after each segment.

    Returns
    -------
    Alignment
        ``source="pocketsphinx-align"``; phones tile ``[0, len(y) / sr]`` (silence
        as ``"SIL"``); one :class:`Word` per transcript word, in order.

    Raises
    ------
    TranscriptError
        ``text`` has no words.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"y must be mono with shape (samples,), got {y.shape}")
    if sr != SAMPLE_RATE:
        import soxr

        y = soxr.resample(y, sr, SAMPLE_RATE)
    duration = y.size / SAMPLE_RATE
    return _align_stream([y], duration, text, "<text>", settings or AlignSettings(), progress)


def align_file(
    path: str | PathLike[str],
    *,
    text: str | None = None,
    settings: AlignSettings | None = None,
    progress: Progress | None = None,
) -> Alignment:
    """:func:`align` an audio file, streaming it from disk (bounded memory for any length).

    ``text`` defaults to the ``.txt``/``.lab`` beside the file (:func:`find_transcript`).

    Raises
    ------
    AudioError
        The audio cannot be read.
    TranscriptError
        No text given and none beside the file, or the text has no words.
    """
    if text is None:
        text = find_transcript(path)
        if text is None:
            raise file_error(TranscriptError, path, "no transcript given and no .txt or .lab beside it")
    settings = settings or AlignSettings()
    duration = audio_info(path).duration
    blocks = iter_audio_blocks(path, sr=SAMPLE_RATE, block_seconds=settings.max_segment)
    return _align_stream(blocks, duration, text, str(path), settings, progress)


# -- the segment loop ------------------------------------------------------------------------------


def _align_stream(
    blocks: Iterable[np.ndarray],
    duration: float,
    text: str,
    name: str,
    settings: AlignSettings,
    progress: Progress | None,
) -> Alignment:
    words = normalize_text(text)
    if not words:
        raise file_error(TranscriptError, name, f"transcript has no words to align: {text[:60]!r}")
    decoder = sphinx.align_decoder(ds=settings.ds, topn=settings.topn)
    try:
        words, warnings = sphinx.pronounce(words)
        prons = [sphinx.pronunciations(w) for w in words]
        parts: list[Alignment] = []
        k = 0  # next transcript word to place
        segments = iter_segments(blocks, sr=SAMPLE_RATE, max_seconds=settings.max_segment)
        for (offset, segment), last in _mark_last(segments):
            start = offset / SAMPLE_RATE
            length = segment.size / SAMPLE_RATE
            lo, hi, wide = _word_window(k, len(words), length, duration - start, last)
            slots = _decode_segment(decoder, segment, prons[k:hi], lo - k, settings)
            found = [i + 1 for i, slot in enumerate(slots) if slot is not None]
            if hi < wide and max(found, default=0) >= hi - k - _WINDOW_EDGE:
                # The words may not all have fitted: decode again with the wide window.
                slots = _decode_segment(decoder, segment, prons[k:wide], lo - k, settings)
                found = [i + 1 for i, slot in enumerate(slots) if slot is not None]
            consumed = len(words) - k if last else max(found, default=0)
            part = _segment_alignment(
                slots[:consumed], words[k : k + consumed], [p[0] for p in prons[k : k + consumed]], length
            )
            parts.append(part.shifted(start))
            k += consumed
            if progress is not None and not last:
                progress(min(1.0, (start + length) / max(duration, 1e-9)))
    except RuntimeError:
        sphinx.reset()  # a decoder error leaves it in an unknown state
        raise
    if progress is not None:
        progress(1.0)
    result = Alignment.concatenate(parts, source="pocketsphinx-align")
    return Alignment(result.phones, result.words, result.source, warnings + result.warnings)


def _mark_last(items: Iterable) -> Iterable[tuple]:
    """Pairs ``(item, is_last)``: looks one item ahead."""
    iterator = iter(items)
    try:
        current = next(iterator)
    except StopIteration:
        return
    for following in iterator:
        yield current, False
        current = following
    yield current, True


_WINDOW_EDGE = 2  # a segment that ends this close to its window's last word is decoded again


def _word_window(k: int, n: int, seg_dur: float, remaining: float, last: bool) -> tuple[int, int, int]:
    """Word counts ``lo``, ``hi`` and ``wide`` (absolute indices) a segment may end after.

    The last segment takes every remaining word. Any other may end anywhere from
    no word (``lo``) to twice its duration's share plus 8 words (``wide``): the
    acoustics decide (speech cannot be matched as silence, and squeezing in
    extra words costs skips), so a wide window is safe where a tight one breaks
    on speaking-rate changes. It is decoded first with the window ending at
    ``hi``, 1.5 times the share plus 6 words, and again with the wide one only
    when it ended within ``_WINDOW_EDGE`` words of ``hi``: the search's time
    per frame grows with the grammar's states, and words the path never
    reaches change nothing else (on a 60 s clip in three segments: the same
    alignment, 6% sooner).
    """
    if last:
        return n, n, n
    expected = (n - k) * seg_dur / max(remaining, 1e-9)
    wide = min(n, k + math.ceil(2 * expected) + 8)
    return k, min(wide, k + math.ceil(1.5 * expected) + 6), wide


# A decoded word: (start s, end s, [(start s, end s, label), ...]) relative to the segment.
_Slot = tuple[float, float, list[tuple[float, float, str]]]


def _grammar(
    prons: Sequence[list[list[str]]], min_end: int, skip_prob: float, silence_prob: float
) -> tuple[int, list[tuple]]:
    """FSG arcs over phones: per word, optional silence then a pronunciation (or a skip).

    State ``b[c]`` has consumed ``c`` words; ``b[c] -> a[c]`` is the optional
    silence; ``a[c] -> b[c + 1]`` runs through one pronunciation's phones (fresh
    states in between) or skips the word. The final state is reached by an
    epsilon from ``a[c]`` for every ``c >= min_end``.
    """
    p, s = skip_prob, silence_prob
    arcs: list[tuple] = []
    counter = iter(range(1, 1 << 62))
    boundary = 0
    ends: list[int] = []
    for c in range(len(prons) + 1):
        after_silence = next(counter)
        arcs += [(boundary, after_silence, s, "<sil>"), (boundary, after_silence, 1 - s)]
        if c >= min_end:
            ends.append(after_silence)
        if c == len(prons):
            break
        following = next(counter)
        for pron in prons[c]:
            state = after_silence
            for j, phone in enumerate(pron):
                to = following if j == len(pron) - 1 else next(counter)
                arcs.append((state, to, 1.0, sphinx.phone_word(phone)))
                state = to
        arcs.append((after_silence, following, p))
        boundary = following
    final = next(counter)
    arcs += [(state, final, 1.0) for state in ends]
    return final, arcs


_search_serial = iter(range(1 << 62))
_previous_search: dict[int, str] = {}  # id(decoder) -> its last grammar, removed once replaced


def _decode_segment(
    decoder,
    y: np.ndarray,
    prons: Sequence[list[list[str]]],
    min_end: int,
    settings: AlignSettings,
) -> list[_Slot | None]:
    """Word and phone times of the words with pronunciations ``prons`` in ``y``; None where skipped.

    Only the stretch from the first to the last loud frame (plus a margin) is
    decoded: see :func:`emote.audio.segment.speech_span`.
    """
    span = speech_span(y, sr=SAMPLE_RATE)
    if span is None:
        return [None] * len(prons)
    found = _decode_with_retries(decoder, y[span[0] : span[1]], prons, min_end, settings)
    return [_shift_slot(slot, span[0] / SAMPLE_RATE) for slot in found]


def _decode_with_retries(
    decoder,
    y: np.ndarray,
    prons: Sequence[list[list[str]]],
    min_end: int,
    settings: AlignSettings,
) -> list[_Slot | None]:
    """The lenient decode, then a strict one over each stretch where it skipped words."""
    length = y.size / SAMPLE_RATE
    lenient, strict = settings.skip_probs
    slots = _decode_once(decoder, y, prons, min_end, lenient, settings.silence_prob)
    # Where words were skipped, decode just that stretch again (from the word before
    # to the word after) with skips all but forbidden; keep it if it finds them all.
    for i, j in _skipped_runs(slots, fixed_end=min_end == len(prons)):
        first, last = max(i - 1, 0), min(j, len(slots) - 1)
        a = slots[first][0] if slots[first] is not None else 0.0
        b = slots[last][1] if slots[last] is not None else length
        piece = y[round(a * SAMPLE_RATE) : round(b * SAMPLE_RATE)]
        words = prons[first : last + 1]
        retry = _decode_once(decoder, piece, words, len(words), strict, settings.silence_prob)
        if all(slot is not None for slot in retry):
            slots[first : last + 1] = [_shift_slot(slot, a) for slot in retry]
    return slots


def _skipped_runs(slots: list[_Slot | None], *, fixed_end: bool) -> list[tuple[int, int]]:
    """``(i, j)`` for each run ``slots[i:j]`` of skipped words.

    A run at the end counts only when the grammar had to reach the last word
    (``fixed_end``); with a free end those words were not reached, not skipped.
    """
    runs, i = [], 0
    while i < len(slots):
        if slots[i] is None:
            j = i
            while j < len(slots) and slots[j] is None:
                j += 1
            if j < len(slots) or fixed_end:
                runs.append((i, j))
            i = j
        else:
            i += 1
    return runs


def _shift_slot(slot: _Slot | None, offset: float) -> _Slot | None:
    if slot is None:
        return None
    start, end, phones = slot
    return start + offset, end + offset, [(a + offset, b + offset, label) for a, b, label in phones]


def _decode_once(
    decoder,
    y: np.ndarray,
    prons: Sequence[list[list[str]]],
    min_end: int,
    skip_prob: float,
    silence_prob: float,
) -> list[_Slot | None]:
    """One Viterbi pass of ``y`` through the grammar of ``prons``, parsed back into words."""
    if not prons or y.size < 0.05 * SAMPLE_RATE:
        return [None] * len(prons)
    final, arcs = _grammar(prons, min_end, skip_prob, silence_prob)
    name = f"align{next(_search_serial)}"
    decoder.add_fsg(name, decoder.create_fsg(name, 0, final, arcs))
    decoder.activate_search(name)
    previous = _previous_search.pop(id(decoder), None)
    if previous is not None:
        with contextlib.suppress(KeyError):
            decoder.remove_search(previous)
    _previous_search[id(decoder)] = name
    phones = [(a, b, word[1:].upper()) for a, b, word in sphinx.decode(decoder, y) if word.startswith("_")]
    return _parse_words(phones, prons)


def _parse_words(
    phones: list[tuple[float, float, str]], prons: Sequence[list[list[str]]]
) -> list[_Slot | None]:
    """Split the decoded phone sequence back into the words (and skips) it came from.

    The grammar guarantees that ``phones`` is some choice of pronunciation or
    skip per word, in order (or a prefix of one, when the search stopped short
    of the final state); a depth-first search over that choice (memoised on
    ``(word, phone)`` positions) recovers it.
    """
    labels = [p[2] for p in phones]
    dead: set[tuple[int, int]] = set()
    choice: list[int] = []  # per word: number of phones taken (0 = skipped)

    def walk(c: int, i: int) -> bool:
        if i == len(labels):  # the rest skipped (or a search that stopped short of the end)
            choice.extend([0] * (len(prons) - c))
            return True
        if c == len(prons):
            return False
        if (c, i) in dead:
            return False
        for pron in sorted(prons[c], key=len, reverse=True):
            if labels[i : i + len(pron)] == pron:
                choice.append(len(pron))
                if walk(c + 1, i + len(pron)):
                    return True
                choice.pop()
        choice.append(0)
        if walk(c + 1, i):
            return True
        choice.pop()
        dead.add((c, i))
        return False

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * len(prons) + 100))
    try:
        parsed = walk(0, 0)
    finally:
        sys.setrecursionlimit(limit)
    if not parsed:  # cannot happen for a path of the grammar; be safe rather than wrong
        return [None] * len(prons)
    slots: list[_Slot | None] = []
    i = 0
    for taken in choice:
        if taken == 0:
            slots.append(None)
            continue
        mine = phones[i : i + taken]
        slots.append((mine[0][0], mine[-1][1], mine))
        i += taken
    return slots


def _segment_alignment(
    slots: list[_Slot | None], words: Sequence[str], prons: Sequence[list[str]], length: float
) -> Alignment:
    """Build one segment's Alignment, putting back skipped words between their neighbours."""
    warnings: list[str] = []
    filled = list(slots)
    missing = [i for i, s in enumerate(filled) if s is None]
    if missing:
        _interpolate(filled, [len(p) for p in prons], length)
        warnings.append(
            "placed by interpolation (not found acoustically): " + ", ".join(words[i] for i in missing)
        )
    phones: list[Phone] = []
    out_words: list[Word] = []
    t = 0.0
    for word, slot, pron in zip(words, filled, prons, strict=True):
        assert slot is not None
        start, end, labels = slot
        start, end = max(start, t), max(end, start, t)
        if start > t + 1e-9:
            phones.append(Phone(t, start, SIL))
        out_words.append(Word(start, end, word))
        phones.extend(_word_phones(start, end, labels, pron))
        t = end
    if length > t + 1e-9:
        phones.append(Phone(t, length, SIL))
    return Alignment(phones, out_words, "pocketsphinx-align", warnings)


def _word_phones(
    start: float, end: float, labels: list[tuple[float, float, str]], pron: list[str]
) -> list[Phone]:
    """Phones of one word clipped into [start, end]; ``pron`` spread evenly when the pass gave none."""
    if not labels:
        step = (end - start) / len(pron)
        labels = [(start + i * step, start + (i + 1) * step, name) for i, name in enumerate(pron)]
    out: list[Phone] = []
    t = start
    for i, (ps, pe, label) in enumerate(labels):
        ps, pe = max(ps, t), min(pe, end) if i < len(labels) - 1 else end
        pe = max(pe, ps)
        mapped = normalize_label(label) or [SIL]
        out.append(Phone(ps, pe, mapped[0]))
        t = pe
    return out


def _interpolate(slots: list[_Slot | None], n_phones: Sequence[int], length: float) -> None:
    """Fill runs of None in ``slots`` by sharing time with the found neighbours by phone count."""
    i = 0
    while i < len(slots):
        if slots[i] is not None:
            i += 1
            continue
        j = i
        while j < len(slots) and slots[j] is None:
            j += 1
        before = slots[i - 1] if i > 0 else None
        after = slots[j] if j < len(slots) else None
        lo = before[0] if before else (after[0] - 0.08 * sum(n_phones[i:j]) if after else 0.0)
        hi = after[1] if after else (before[1] + 0.08 * sum(n_phones[i:j]) if before else length)
        lo, hi = max(0.0, lo), min(length, hi)
        members = list(range(i - 1 if before else i, j + 1 if after else j))
        weights = np.array([n_phones[m] for m in members], dtype=np.float64)
        edges = lo + (hi - lo) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
        for m, s, e in zip(members, edges[:-1], edges[1:], strict=True):
            old = slots[m]
            if old is None:
                slots[m] = (float(s), float(e), [])
            else:  # rescale the found word's phones into its new span
                os_, oe, labels = old
                scale = (e - s) / max(oe - os_, 1e-9)
                slots[m] = (
                    float(s),
                    float(e),
                    [(s + (a - os_) * scale, s + (b - os_) * scale, lab) for a, b, lab in labels],
                )
        i = j
