"""Forced alignment in any language: a transcript's IPA phones aligned to the audio by CTC.

The transcript becomes IPA phones through espeak-ng's phonemiser
(:func:`emote.audio.espeak.phonemize`); the audio becomes per-frame log-probabilities
of hama's IPA phones (:func:`emote.audio.recognize.ipa_posteriors`, 20 ms frames;
hama's recogniser was trained on many languages). Each transcript phone is matched to
hama's phone of the same base symbol, or else to the one nearest in articulatory
features (:func:`emote.phonetics.features.distance`). The alignment is the best path
through the CTC topology of that phone sequence (Graves, Fernández, Gomez & Schmidhuber
2006, "Connectionist Temporal Classification", ICML): a blank before, between and after
the phones, each state held or left for the next, a blank skipped between two different
phones; found by Viterbi over the frames. Nothing in it is language-specific.

Memory stays linear in the length: the search keeps a band of ``band`` states around
the diagonal of the (frames, states) lattice, so an hour of audio aligns in bounded
memory as long as the speech rate does not drift by more than the band.

Times: CTC places each phone as a spike at or after its onset; a phone runs from its
first frame to the next phone's, less a stretch where the network emits nothing and the
signal is quiet (a pause: silence), and everything moves ``latency`` earlier (the delay
of hama's spikes after phone onsets, measured in :mod:`emote.audio.recognize`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emote.audio import bilabial
from emote.audio.convert import SAMPLE_RATE
from emote.audio.espeak import phonemize
from emote.audio.features import frame_energy
from emote.audio.phones import Alignment, Phone, Word
from emote.audio.recognize import hama_encoding, ipa_classes, ipa_posteriors_of
from emote.errors import TranscriptError
from emote.phonetics.features import distance, parse_ipa
from emote.phonetics.labels import SIL, ipa_label

__all__ = ["CtcAlignSettings", "ctc_align", "viterbi_ctc"]

_HOP = 320  # samples per 20 ms frame of hama's network


@dataclass(frozen=True)
class CtcAlignSettings:
    """Settings of the language-independent aligner.

    Attributes
    ----------
    latency : float
        How late (s) hama's spikes come after phone onsets.
    quiet : float
        :func:`emote.audio.features.frame_energy` under which blank frames are a pause.
    min_silence : float
        Shorter pauses (s) inside speech go to the phone before.
    band : int
        States kept around the lattice's diagonal.
    closures : bool
        Stretch each aligned /p b m/ over the lip closure that
        :mod:`emote.audio.bilabial`'s detector hears there (CTC places a stop's spike
        at its release, and a 20 ms frame either way decides whether a short
        bilabial's frames are closed).
    """

    latency: float = 0.06
    quiet: float = 0.1
    min_silence: float = 0.05
    band: int = 2000
    closures: bool = True


def ctc_align(
    *, y: np.ndarray, sr: int, text: str, language: str, settings: CtcAlignSettings | None = None
) -> Alignment:
    """Phone and word timings of ``y`` speaking ``text`` in ``language``.

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
        Mono speech.
    sr : int
        Its sample rate (resampled to 16 kHz if different).
    text : str
        The transcript, in the language's own script.
    language : str
        An espeak-ng language (:func:`emote.audio.espeak.languages`).

    Returns
    -------
    Alignment
        ``source="ctc-align"``; phones labelled in IPA (:func:`emote.phonetics.labels.ipa_label`)
        tiling ``[0, len(y) / sr]``, pauses ``"SIL"``; one word per word espeak-ng read,
        labelled with the transcript's word when the counts agree, else with its IPA.

    Raises
    ------
    TranscriptError
        No phones in the transcript, or more phones than the audio has frames.
    """
    s = settings or CtcAlignSettings()
    y = np.asarray(y, np.float32)
    if sr != SAMPLE_RATE:
        import soxr

        y = soxr.resample(y, sr, SAMPLE_RATE)
    words = phonemize(text, language)
    phones = [p for w in words for p in w]
    encoding = hama_encoding(y)
    log_probs = ipa_posteriors_of(encoding)
    targets = np.array([_class_of(p) for p in phones], np.int64)
    blank = log_probs.shape[1] - 1
    path = viterbi_ctc(log_probs, targets, blank=blank, band=s.band)
    if path is None:
        raise TranscriptError(
            f"the transcript has {len(phones)} phones, too many for {y.size / SAMPLE_RATE:.1f} s of audio"
        )
    n = log_probs.shape[0]
    step = y.size / SAMPLE_RATE / n
    quiet = frame_energy(y=y, sr=SAMPLE_RATE, fps=1.0 / step, n_frames=n) < s.quiet
    timed = _phone_times(path, len(phones), quiet, step=step, latency=s.latency, length=y.size / SAMPLE_RATE)
    out: list[Phone] = []
    spans: list[tuple[float, float]] = []
    k = 0
    for word in words:
        first = k
        for p in word:
            a, b = timed[k]
            out.append(Phone(a, b, ipa_label(p)))
            k += 1
        spans.append((timed[first][0], timed[k - 1][1]))
    text_words = text.split()
    labels = text_words if len(text_words) == len(words) else ["".join(w) for w in words]
    word_list = [Word(a, b, lab.lower()) for (a, b), lab in zip(spans, labels, strict=True) if b > a]
    filled = _fill(out, y.size / SAMPLE_RATE, s.min_silence)
    if s.closures:
        model = bilabial.detector()
        heard = model.probability(
            bilabial.closure_features(y, log_probs, encoding, bilabial.group_pool(ipa_classes()))
        )
        filled = bilabial.mark_closures(filled, bilabial.closure_spans(heard, model.threshold), insert=False)
    return Alignment(filled, word_list, "ctc-align")


def viterbi_ctc(
    log_probs: np.ndarray, targets: np.ndarray, *, blank: int, band: int = 2000
) -> np.ndarray | None:
    """The best CTC path of ``targets`` through ``log_probs``: the state of every frame.

    Parameters
    ----------
    log_probs : np.ndarray [shape=(frames, classes)]
    targets : np.ndarray [shape=(n,), dtype=int]
        Class per target symbol (no blanks).
    blank : int
        The blank's column.
    band : int
        States kept per frame, around the diagonal (all when there are fewer).

    Returns
    -------
    np.ndarray [shape=(frames,), dtype=int64] or None
        State per frame, ``2k + 1`` on target ``k``, even on blanks; None when no path
        fits (more target frames needed than there are).

    Examples
    --------
    >>> lp = np.log(np.array([[.1, .8, .1], [.8, .1, .1], [.1, .1, .8], [.1, .1, .8]]))
    >>> viterbi_ctc(lp, np.array([1, 0]), blank=2).tolist()
    [1, 3, 4, 4]
    """
    n_frames, n_states = log_probs.shape[0], 2 * len(targets) + 1
    label = np.full(n_states, blank, np.int64)
    label[1::2] = targets
    skip = np.zeros(n_states, bool)
    skip[3::2] = targets[1:] != targets[:-1]
    width = min(n_states, max(band, 4))
    lo = np.zeros(n_frames, np.int64)
    if width < n_states and n_frames > 1:
        lo = np.clip(np.round(np.arange(n_frames) * (n_states - width) / (n_frames - 1)), 0, n_states - width)
        lo = lo.astype(np.int64)
    back = np.zeros((n_frames, width), np.int8)
    score = np.full(n_states + 2, -np.inf)  # two padding states in front: score[s + 2] is state s
    score[2 : 2 + min(2, n_states)] = log_probs[0, label[: min(2, n_states)]]
    for t in range(1, n_frames):
        a = lo[t]
        window = slice(a + 2, a + 2 + width)
        stay, step1, step2 = score[window], score[a + 1 : a + 1 + width], score[a : a + width]
        step2 = np.where(skip[a : a + width], step2, -np.inf)
        cands = np.stack([stay, step1, step2])
        best = np.argmax(cands, axis=0)
        new = np.full_like(score, -np.inf)
        new[window] = cands[best, np.arange(width)] + log_probs[t, label[a : a + width]]
        back[t] = best
        score = new
    ends = [s for s in (n_states - 1, n_states - 2) if s >= 0 and lo[-1] <= s < lo[-1] + width]
    if not ends or not np.isfinite(max(score[s + 2] for s in ends)):
        return None
    state = max(ends, key=lambda s: score[s + 2])
    path = np.empty(n_frames, np.int64)
    for t in range(n_frames - 1, -1, -1):
        path[t] = state
        if t:
            state -= int(back[t, state - lo[t]])
    return path


def _class_of(phone: str) -> int:
    """hama's phone for an IPA phone: the same base symbol, or the nearest in features."""
    classes = ipa_classes()
    (ph,) = parse_ipa(phone) or parse_ipa("ə")
    for k, c in enumerate(classes):
        if c.base == ph.base:
            return k
    return int(np.argmin([distance(ph, c) for c in classes]))


def _phone_times(
    path: np.ndarray, n: int, quiet: np.ndarray, *, step: float, latency: float, length: float
) -> list[tuple[float, float]]:
    """(start, end) in seconds of each target phone on the path; a quiet blank tail is a pause."""
    frames = len(path)
    first = np.full(n, -1, np.int64)
    on = path % 2 == 1
    for t in np.flatnonzero(on):
        k = path[t] // 2
        if first[k] < 0:
            first[k] = t
    shift = round(latency / step)
    out = []
    for k in range(n):
        stop = first[k + 1] if k + 1 < n else frames
        run = first[k] + 1
        while run < stop and (on[run] or not quiet[run]):
            run += 1
        a = max(first[k] - shift, 0) * step
        b = min(max(run - shift, 1) * step, length)
        out.append((float(a), float(max(b, a))))
    return out


def _fill(phones: Sequence[Phone], length: float, min_silence: float) -> list[Phone]:
    """Tile ``[0, length]``: pauses become SIL, those shorter than ``min_silence`` join the phone before."""
    out: list[Phone] = []
    t = 0.0
    for ph in phones:
        start = max(ph.start, t)
        if start > t + 1e-9:
            if out and start - t < min_silence:
                out[-1] = Phone(out[-1].start, start, out[-1].label)
            else:
                out.append(Phone(t, start, SIL))
        if ph.end > start:
            out.append(Phone(start, ph.end, ph.label))
            t = ph.end
    if length > t + 1e-9:
        out.append(Phone(t, length, SIL))
    return out
