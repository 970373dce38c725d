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

UNUSABLE = (RuntimeError, ValueError, KeyError, AttributeError, EOFError, OSError, pickle.UnpicklingError)
"""What reading a damaged or foreign ``torch.save`` file raises."""


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
    blob = {
        "format": "emote-model-1",
        "config": json.dumps(net.cfg.to_dict()),
        "net": stored_state(net, half=half),
        "classifier": stored_state(classifier, half=half),
        "classifier_inputs": json.dumps(list(net.cfg.classifier_channels)),
        "card": json.dumps(card or {}),
    }
    return write_blob(path, blob)


def load_model(path: str | PathLike[str]) -> LoadedModel:
    """Read a model file written by :func:`save_model`.

    Raises
    ------
    EmoteError
        Missing or foreign file, naming it.
    """
    p = Path(path)
    blob = read_blob(
        p, "emote-model-1", what="emote model", missing="model file not found", foreign="an emote model"
    )
    try:
        cfg = ModelConfig.from_dict(json.loads(blob["config"]))
        net = EmoteNet(cfg)
        net.load_state_dict(float_state(blob["net"]))
        classifier = EmotionClassifier(len(cfg.classifier_channels), cfg.classifier_width)
        classifier.load_state_dict(float_state(blob["classifier"]))
        card = json.loads(blob.get("card", "{}"))
    except UNUSABLE as err:
        raise unusable(p, "emote model", err) from None
    return LoadedModel(net.eval(), classifier.eval(), cfg, card, str(p))


# -- the file layer both model files and motion-prior files share -----------------------------------


def stored_state(module: torch.nn.Module, *, half: bool = True) -> dict[str, torch.Tensor]:
    """``module``'s weights on the CPU, floating point ones in float16 when ``half``."""
    return {k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu())
            for k, v in module.state_dict().items()}  # fmt: skip


def float_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Stored weights back in float32 (integer buffers as they are)."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def write_blob(path: str | PathLike[str], blob: dict[str, Any]) -> Path:
    """``torch.save`` a dict of tensors and strings atomically."""
    from emote.io.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)
    return path


def read_blob(path: Path, fmt: str, *, what: str, missing: str, foreign: str) -> dict[str, Any]:
    """The dict in a file :func:`write_blob` wrote with ``"format": fmt``, read without running code.

    Raises
    ------
    EmoteError
        ``path: MISSING`` when there is no such file; ``path: not a usable WHAT (...)`` when it
        is damaged, or of another format (``not FOREIGN``).
    """
    if not path.is_file():
        raise file_error(EmoteError, path, missing)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if blob.get("format") != fmt:
            raise ValueError(f"not {foreign}")
    except UNUSABLE as err:
        raise unusable(path, what, err) from None
    return blob


def unusable(path: Path, what: str, err: BaseException) -> EmoteError:
    """The one-line error for a file that :data:`UNUSABLE` broke while being read."""
    return file_error(EmoteError, path, f"not a usable {what} ({err.__class__.__name__}: {str(err)[:200]})")
