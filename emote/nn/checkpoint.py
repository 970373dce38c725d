"""Shipped model files: the inference networks in float16 plus their config and card.

A model file is a ``torch.save`` dict of tensors and strings only, so
``torch.load(weights_only=True)`` reads it without executing code:

- ``config``: :class:`ModelConfig` as JSON (it rebuilds the networks);
- ``net``: :class:`EmoteNet` state (emotion encoder, speech encoder, prior decoder);
- ``classifier``: :class:`EmotionClassifier` state (used by the evaluation);
- ``card``: JSON with what the model was trained on and how (``MODEL_CARD.md`` says it in words).
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import torch

from emote.errors import EmoteError, file_error
from emote.nn.config import ModelConfig
from emote.nn.networks import EmoteNet, EmotionClassifier

__all__ = ["LoadedModel", "load_model", "save_model"]


@dataclass
class LoadedModel:
    """A model ready for inference (float32, eval mode, on CPU)."""

    net: EmoteNet
    classifier: EmotionClassifier
    config: ModelConfig
    card: dict[str, Any]
    path: str


def save_model(
    path: str | PathLike[str],
    net: EmoteNet,
    classifier: EmotionClassifier,
    *,
    card: dict[str, Any] | None = None,
    half: bool = True,
) -> Path:
    """Write a model file atomically (float16 weights when ``half``)."""
    from emote.io.atomic import atomic_path

    def state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
        return {k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu())
                for k, v in module.state_dict().items()}  # fmt: skip

    blob = {
        "format": "emote-model-1",
        "config": json.dumps(net.cfg.to_dict()),
        "net": state(net),
        "classifier": state(classifier),
        "classifier_inputs": json.dumps(list(net.cfg.classifier_channels)),
        "card": json.dumps(card or {}),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)
    return path


def load_model(path: str | PathLike[str]) -> LoadedModel:
    """Read a model file written by :func:`save_model`.

    Raises
    ------
    EmoteError
        Missing or foreign file, naming it.
    """
    p = Path(path)
    if not p.is_file():
        raise file_error(EmoteError, p, "model file not found")
    try:
        blob = torch.load(p, map_location="cpu", weights_only=True)
        if blob.get("format") != "emote-model-1":
            raise ValueError("not an emote model")
        cfg = ModelConfig.from_dict(json.loads(blob["config"]))
        net = EmoteNet(cfg)
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["net"].items()})
        classifier = EmotionClassifier(len(cfg.classifier_channels), cfg.classifier_width)
        classifier.load_state_dict({k: v.float() for k, v in blob["classifier"].items()})
        card = json.loads(blob.get("card", "{}"))
    except (
        RuntimeError,
        ValueError,
        KeyError,
        AttributeError,
        EOFError,
        OSError,
        pickle.UnpicklingError,
    ) as err:
        raise file_error(
            EmoteError, p, f"not a usable emote model ({err.__class__.__name__}: {str(err)[:200]})"
        ) from None
    return LoadedModel(net.eval(), classifier.eval(), cfg, card, str(p))
