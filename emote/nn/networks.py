"""The networks of the neural engine, after EMOTE (Danecek et al., SIGGRAPH Asia 2023).

Danecek, Chhatre, Tripathi, Wen, Black & Bolkart, "Emotional Speech-Driven
Animation with Content-Emotion Disentanglement" (EMOTE): a speech encoder and
an emotion/intensity/style condition drive a decoder that predicts the latent
sequence of a *temporal VAE motion prior* (FLINT, trained beforehand on motion
alone, its decoder frozen), decoded into expression sequences. Adapted here to
canonical curves and to a CPU budget (≥ 500× real time on one core):

- :class:`MotionPrior` — FLINT-like temporal VAE: a 1-D convolutional encoder
  downsamples curve sequences 4× (50 Hz → 12.5 Hz latent frames), the decoder
  upsamples back. Trained by the shipped recipe with a KL weight of 1e-4, it is in
  effect an autoencoder (its latents cannot be sampled); :mod:`emote.nn.prior` trains
  the same network as a generative prior. Convolutions instead of FLINT's transformer keep it fast;
  the receptive field (~1 s) covers coarticulation.
- A *look-ahead* model (``ModelConfig.lookahead = D``) makes every convolution of the
  speech encoder and the prior decoder causal (padded on the left only, as in WaveNet,
  van den Oord et al. 2016) and delays its output by ``D`` frames, so curve frame ``t``
  reads features up to frame ``t + D`` and nothing later: given the same features, a stream
  that sends each frame ``D / 50`` s after its audio arrives computes what the whole clip gives.
- :class:`SpeechEncoder` — log-mel and phone posteriors (100 Hz) → strided convolutions → the
  prior's latent rate, modulated by the emotion embedding (FiLM, Perez et al.
  2018) at 25 and 12.5 Hz, so the emotion shapes the predicted latents;
- :class:`EmotionEncoder` — per-frame weights of the 8 emotions (intensity
  included: the track's weights) plus an optional style code;
- :class:`EmotionClassifier` — sequence-level emotion from curve sequences
  (EMOTE's emotion loss uses such a classifier, frozen);
- :class:`EmoteNet` — speech + emotion → latents → frozen prior decoder → curves.

Shapes: ``B`` batch, ``T`` curve frames at 50 Hz (a multiple of 4), ``C``
output channels, mel frames ``2 T``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from emote.nn.config import ModelConfig
from emote.performance.emotions import EMOTIONS

__all__ = ["EmoteNet", "EmotionClassifier", "EmotionEncoder", "MotionPrior", "SpeechEncoder"]

N_EMOTIONS = len(EMOTIONS)


class ChannelNorm(nn.Module):
    """LayerNorm over the channels of each frame of a (B, C, T) tensor (no transposes: fast on CPU)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(dim=1, keepdim=True)
        var = (x - mu).pow(2).mean(dim=1, keepdim=True)
        return (x - mu) * torch.rsqrt(var + self.eps) * self.weight[:, None] + self.bias[:, None]


class Pointwise(nn.Module):
    """A 1×1 convolution as one matrix product, (B, I, T) → (B, O, T) (MKL's GEMM on CPU)."""

    def __init__(self, c_in: int, c_out: int, *, zero: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(c_out, c_in))
        self.bias = nn.Parameter(torch.zeros(c_out))
        if zero:
            nn.init.zeros_(self.weight)
        else:
            nn.init.kaiming_uniform_(self.weight, a=5**0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.weight, x) + self.bias[:, None]


class CausalConv1d(nn.Conv1d):
    """A 1-D convolution padded on the left only: output ``j`` reads inputs ``≤ stride · j``.

    Its parameters are named as :class:`torch.nn.Conv1d`'s, so checkpoints read the same.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, *, stride: int = 1, dilation: int = 1) -> None:
        super().__init__(c_in, c_out, kernel, stride=stride, dilation=dilation)
        self.left = dilation * (kernel - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left, 0)))


def conv1d(
    c_in: int, c_out: int, kernel: int, *, stride: int = 1, dilation: int = 1, causal: bool = False
) -> nn.Conv1d:
    """A centred ("same") convolution, or a :class:`CausalConv1d` with ``causal``."""
    if causal:
        return CausalConv1d(c_in, c_out, kernel, stride=stride, dilation=dilation)
    return nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=dilation * (kernel // 2), dilation=dilation)


class ResBlock(nn.Module):
    """Pre-norm residual block: ``x + W2 · gelu(FiLM(conv_k(norm(x))))``, optional FiLM condition."""

    def __init__(
        self, channels: int, *, kernel: int = 5, dilation: int = 1, cond_dim: int = 0, causal: bool = False
    ) -> None:
        super().__init__()
        self.norm = ChannelNorm(channels)
        self.conv = conv1d(channels, channels, kernel, dilation=dilation, causal=causal)
        self.out = Pointwise(channels, channels, zero=True)  # each block starts as the identity
        self.film = Pointwise(cond_dim, 2 * channels, zero=True) if cond_dim else None

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv(self.norm(x))
        if self.film is not None and cond is not None:
            scale, shift = self.film(cond).chunk(2, dim=1)
            h = h * (1 + scale) + shift
        return x + self.out(F.gelu(h))


def _down(c_in: int, c_out: int, causal: bool = False) -> nn.Conv1d:
    return conv1d(c_in, c_out, 5, stride=2, causal=causal)


class _Up(nn.Module):
    """×2 nearest-neighbour upsampling then a convolution (no checkerboard artefacts)."""

    def __init__(self, c_in: int, c_out: int, causal: bool = False) -> None:
        super().__init__()
        self.conv = conv1d(c_in, c_out, 5, causal=causal)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class PriorDecoder(nn.Module):
    """Latent sequence (B, D, T/4) → curves (B, T, C); in [0, 1] when ``cfg.bounded_output``."""

    def __init__(self, cfg: ModelConfig, n_channels: int) -> None:
        super().__init__()
        self.bounded = cfg.bounded_output
        c = cfg.causal  # curve frame t reads latents <= t // 4
        w50, w25, w12 = cfg.prior_widths
        b50, b25, b12 = cfg.prior_blocks
        self.inp = conv1d(cfg.latent_dim, w12, 3, causal=c)
        self.blocks12 = nn.ModuleList(ResBlock(w12, dilation=2**i, causal=c) for i in range(b12))
        self.up25 = _Up(w12, w25, c)
        self.blocks25 = nn.ModuleList(ResBlock(w25, causal=c) for _ in range(b25))
        self.up50 = _Up(w25, w50, c)
        self.blocks50 = nn.ModuleList(ResBlock(w50, causal=c) for _ in range(b50))
        self.norm = ChannelNorm(w50)
        self.head = conv1d(w50, n_channels, 3, causal=c)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.inp(z)
        for b in self.blocks12:
            h = b(h)
        h = self.up25(F.gelu(h))
        for b in self.blocks25:
            h = b(h)
        h = self.up50(F.gelu(h))
        for b in self.blocks50:
            h = b(h)
        y = self.head(F.gelu(self.norm(h))).transpose(1, 2)
        if self.bounded:  # straight-through clamp: forward in [0, 1], backward the identity
            y = y + (y.clamp(0.0, 1.0) - y).detach()
        return y


class PriorEncoder(nn.Module):
    """Curves (B, T, C) → posterior mean and log-variance (B, D, T/4) each.

    Centred even in a look-ahead model: it reads the targets, which are whole, and only
    trains the decoder.
    """

    def __init__(self, cfg: ModelConfig, n_channels: int) -> None:
        super().__init__()
        w50, w25, w12 = cfg.prior_widths
        b50, b25, b12 = cfg.prior_blocks
        self.inp = nn.Conv1d(n_channels, w50, 5, padding=2)
        self.blocks50 = nn.ModuleList(ResBlock(w50) for _ in range(b50))
        self.down25 = _down(w50, w25)
        self.blocks25 = nn.ModuleList(ResBlock(w25) for _ in range(b25))
        self.down12 = _down(w25, w12)
        self.blocks12 = nn.ModuleList(ResBlock(w12, dilation=2**i) for i in range(b12))
        self.norm = ChannelNorm(w12)
        self.head = Pointwise(w12, 2 * cfg.latent_dim)

    def forward(self, curves: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.inp(curves.transpose(1, 2))
        for b in self.blocks50:
            h = b(h)
        h = self.down25(h)
        for b in self.blocks25:
            h = b(h)
        h = self.down12(h)
        for b in self.blocks12:
            h = b(h)
        mu, logvar = self.head(F.gelu(self.norm(h))).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 6.0)


class MotionPrior(nn.Module):
    """FLINT-like temporal VAE over curve sequences (EMOTE's motion prior).

    ``encode(curves) -> (mu, logvar)``, ``decode(z) -> curves``; the latent runs
    at a quarter of the curve rate.
    """

    def __init__(self, cfg: ModelConfig, n_channels: int) -> None:
        super().__init__()
        self.encoder = PriorEncoder(cfg, n_channels)
        self.decoder = PriorDecoder(cfg, n_channels)

    def forward(self, curves: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction (B, T, C), mu and logvar (B, D, T/4)."""
        mu, logvar = self.encoder(curves)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.decoder(z), mu, logvar


class EmotionEncoder(nn.Module):
    """Per-frame emotion weights (B, T, 8) [+ style id (B,)] → embedding (B, E, T)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.style = nn.Embedding(len(cfg.styles), cfg.emotion_dim) if cfg.styles else None
        self.net = nn.Sequential(
            Pointwise(N_EMOTIONS, cfg.emotion_dim), nn.GELU(), Pointwise(cfg.emotion_dim, cfg.emotion_dim)
        )

    def forward(self, weights: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        e = self.net(weights.transpose(1, 2))
        if self.style is not None and style is not None:
            e = e + self.style(style)[:, :, None]
        return e


class SpeechEncoder(nn.Module):
    """Features (B, 2T, M: log-mel, phone posteriors) and emotion embedding (B, E, T) → prior latents (B, D, T/4)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c = cfg.causal  # latent j reads mel frames <= 8 j (curve frame 4 j)
        w50, w25, w12 = cfg.speech_widths
        b50, b25, b12 = cfg.speech_blocks
        m, e = cfg.features.width, cfg.emotion_dim
        self.inp = conv1d(m, w50, 5, stride=2, causal=c)  # 100 Hz → 50 Hz
        self.blocks50 = nn.ModuleList(ResBlock(w50, causal=c) for _ in range(b50))
        self.down25 = _down(w50, w25, c)
        self.blocks25 = nn.ModuleList(ResBlock(w25, dilation=2**i, cond_dim=e, causal=c) for i in range(b25))
        self.down12 = _down(w25, w12, c)
        self.blocks12 = nn.ModuleList(ResBlock(w12, dilation=2**i, cond_dim=e, causal=c) for i in range(b12))
        self.norm = ChannelNorm(w12)
        self.head = Pointwise(w12, cfg.latent_dim)

    def forward(self, mel: torch.Tensor, emotion: torch.Tensor) -> torch.Tensor:
        h = self.inp(mel.transpose(1, 2))
        for b in self.blocks50:
            h = b(h)
        h = self.down25(h)
        e25 = F.avg_pool1d(emotion, 2)
        for b in self.blocks25:
            h = b(h, e25)
        h = self.down12(h)
        e12 = F.avg_pool1d(emotion, 4)
        for b in self.blocks12:
            h = b(h, e12)
        return self.head(F.gelu(self.norm(h)))


def _hold_end(x: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, T, K) lengthened to ``frames`` by repeating its last frame."""
    return F.pad(x.transpose(1, 2), (0, frames - x.shape[1]), mode="replicate").transpose(1, 2)


class EmoteNet(nn.Module):
    """The neural engine: speech + emotion → prior latents → curves (EMOTE, §3).

    The prior's decoder is a submodule; training freezes it (EMOTE keeps FLINT
    fixed so outputs stay on the motion manifold).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.emotion = EmotionEncoder(cfg)
        self.speech = SpeechEncoder(cfg)
        self.decoder = PriorDecoder(cfg, len(cfg.channels))

    def forward(
        self, mel: torch.Tensor, weights: torch.Tensor, style: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Curves (B, T, C) for mel (B, 2T, M) and emotion weights (B, T, 8).

        A look-ahead model's last ``D`` frames read its inputs' last frame repeated, as
        the end of a clip (trailing silence, mostly) would continue.
        """
        d = self.cfg.lookahead or 0
        if d:
            t = weights.shape[1]
            n = -(-(t + d) // 4) * 4  # the delayed frames, rounded up to whole latent frames
            mel, weights = _hold_end(mel, 2 * n), _hold_end(weights, n)
            return self.ahead(mel, weights, style)[:, d : d + t]
        return self.ahead(mel, weights, style)

    def ahead(
        self, mel: torch.Tensor, weights: torch.Tensor, style: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The undelayed output (B, T, C): in a look-ahead model, frame ``t`` is curve frame
        ``t - D`` (training compares it with that frame's target); otherwise :meth:`forward`."""
        z = self.speech(mel, self.emotion(weights, style))
        return self.decoder(z)[:, : weights.shape[1]]


class EmotionClassifier(nn.Module):
    """Sequence-level emotion logits (B, 8) from curve sequences (B, T, K) of chosen channels."""

    def __init__(self, n_inputs: int, width: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(n_inputs, width, 5, padding=2), nn.GELU(),
            nn.Conv1d(width, width, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv1d(width, width, 5, stride=2, padding=2), nn.GELU(),
        )  # fmt: skip
        self.head = nn.Linear(2 * width, N_EMOTIONS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.net(x.transpose(1, 2))
        return self.head(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1))
