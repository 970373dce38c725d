"""hama's phone recogniser network, evaluated with numpy from the weights in hama's wheel.

hama (PyPI, Apache-2.0) ships a small Conformer CTC model over IPA and runs it with scalar
loops (about 20x real time on one core); as float32 matrix products the same arithmetic runs
about ten times faster. :func:`read_hama_pack` reads hama's weight package, :class:`HamaNet`
computes per-frame log-probabilities; ``emote.audio.recognize`` decodes them as hama does.
"""

from __future__ import annotations

import struct

import numpy as np


def read_hama_pack(data: bytes) -> dict[str, np.ndarray]:
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


class HamaNet:
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
        self.blocks = [
            self._block(w, b, matmuls[6 * b : 6 * b + 6], convs[2 + 2 * b : 4 + 2 * b])
            for b in range(self.BLOCKS)
        ]
        self.proj = _shaped(w["acoustic_model.model.proj.weight"][:, :, 0].T, (d, 191))
        self.proj_bias = _shaped(w["acoustic_model.model.proj.bias"], (191,))

    def _block(
        self, w: dict[str, np.ndarray], b: int, mats: list[np.ndarray], depthwise: list[np.ndarray]
    ) -> dict:
        """Block ``b``'s weights, as the arguments of its four modules and final norm (matrices input-major)."""
        d, p = self.WIDTH, f"acoustic_model.model.blocks.{b}."
        if [m.shape for m in mats] != list(self._MATMULS):
            raise ValueError("unexpected hama network layout")

        def vec(name: str, size: int = d) -> np.ndarray:
            return _shaped(w[p + name], (size,))

        def norm(name: str) -> tuple[np.ndarray, np.ndarray]:
            return vec(name + ".weight"), vec(name + ".bias")

        w_qkv, b_qkv = self._scaled_queries(mats[2], vec("attn.in_proj_bias", 3 * d))
        return {
            "ffn1": (*norm("ffn1.norm"), mats[0], vec("ffn1.fc1.bias", 4 * d), mats[1], vec("ffn1.fc2.bias")),
            "attn": (*norm("attn_norm"), w_qkv, b_qkv, mats[3], vec("attn.out_proj.bias")),
            "conv": (
                *norm("conv.norm"),
                _shaped(w[p + "conv.pointwise1.weight"][:, :, 0].T, (d, 2 * d)),
                vec("conv.pointwise1.bias", 2 * d),
                _shaped(depthwise[0][:, 0].T, (self.KERNEL, d)),
                _shaped(depthwise[1], (d,)),
                _shaped(w[p + "conv.pointwise2.weight"][:, :, 0].T, (d, d)),
                vec("conv.pointwise2.bias"),
            ),
            "ffn2": (*norm("ffn2.norm"), mats[4], vec("ffn2.fc1.bias", 4 * d), mats[5], vec("ffn2.fc2.bias")),
            "norm": norm("norm"),
        }

    def _scaled_queries(self, w_qkv: np.ndarray, b_qkv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The attention's input projection with the query part scaled by 1/sqrt(head width)."""
        scale = np.ones(3 * self.WIDTH, np.float32)
        scale[: self.WIDTH] = (self.WIDTH // self.HEADS) ** -0.5
        return w_qkv * scale, b_qkv * scale

    def log_probs(self, y: np.ndarray) -> np.ndarray:
        """Token log-probabilities of ``y`` [shape=(n,)] @ 16 kHz: (frames, 191) float32, 20 ms frames."""
        return self.project(self.encode(y))

    def encode(self, y: np.ndarray) -> np.ndarray:
        """The last Conformer block's output for ``y`` [shape=(n,)] @ 16 kHz: (frames, 144) float32."""
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
        return h

    def project(self, h: np.ndarray) -> np.ndarray:
        """Token log-probabilities of :meth:`encode`'s frames: (frames, 191)."""
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
