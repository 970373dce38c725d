"""Losses of the neural engine (EMOTE, Danecek et al. 2023, §3.3, adapted to curves).

EMOTE supervises the lips per frame with a lip-reading perceptual loss and the
emotion per *sequence* with an emotion recogniser, and exchanges emotions
between clips so lip sync and emotion are learned apart. With curves instead
of meshes and images, the lip loss becomes an L1 on the mouth channels plus an
L1 on the lip gap (the quality metric's own model, :func:`emote.eval.lip_gap_proxy`),
weighted up on closures; the emotion loss is a soft cross-entropy of a frozen
curve-sequence emotion classifier against the window's mean emotion weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

from emote.eval.metrics import GAP_MM

__all__ = ["GapModel", "kl_divergence", "masked_l1", "soft_cross_entropy"]


class GapModel:
    """:func:`emote.eval.lip_gap_proxy` over a model's channel list, in torch.

    ``gap = relu(curves @ coef)`` (mm) with ``coef`` the :data:`GAP_MM`
    coefficient of each channel (halved for each side of a Left/Right pair).
    Channels the model does not output count as 0, as they do in the metric.
    """

    def __init__(self, channels: Sequence[str]) -> None:
        coef = torch.zeros(len(channels))
        for j, name in enumerate(channels):
            if name in GAP_MM:
                coef[j] = GAP_MM[name]
            elif name.endswith(("Left", "Right")):
                base = name.removesuffix("Left").removesuffix("Right")
                if base in GAP_MM:
                    coef[j] = 0.5 * GAP_MM[base]
        self.coef = coef

    def __call__(self, curves: torch.Tensor) -> torch.Tensor:
        """Lip gap (..., T) in mm for curves (..., T, C)."""
        return F.relu(curves @ self.coef.to(curves.device, curves.dtype))


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
              channel_weight: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """Mean absolute error over unmasked elements, optionally weighted per channel."""
    err = (pred - target).abs()
    w = torch.ones_like(err) if mask is None else mask.to(err.dtype)
    if channel_weight is not None:
        w = w * channel_weight.to(err.device, err.dtype)
    return (err * w).sum() / w.sum().clamp_min(1.0)


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against a distribution (B, 8) — a window's mean emotion weights."""
    return -(target * F.log_softmax(logits.float(), dim=-1)).sum(dim=-1).mean()


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q || N(0, 1)) per latent element, averaged."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean()
