"""The ARKit → MetaHuman mapping: which ``CTRL_expressions_*`` curves each ARKit shape drives.

Rig data (``rigs/metahuman/arkit_to_metahuman.json``), read by the MetaHuman curve
rig (:func:`emote.rigs.registry.metahuman_rig`) and by the MetaHuman curves CSV
format (:mod:`emote.export.metahuman`), whose docstring describes the map.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from emote.animation.channels import ARKIT_NAMES, N_ARKIT, POSE_NAMES
from emote.errors import RigError

MAPPING_FILE = ("metahuman", "arkit_to_metahuman.json")
CURVE_PREFIX = "CTRL_expressions_"


@dataclass(frozen=True)
class MetaHumanMapping:
    """The ARKit → MetaHuman curve map (see ``rigs/metahuman/arkit_to_metahuman.json``).

    Attributes
    ----------
    curves : tuple of str
        The ``CTRL_expressions_*`` curves the map drives, in file order.
    weights : np.ndarray [shape=(n_curves, 52), dtype=float64]
        ``curves = weights @ arkit`` before clipping; columns in ARKit order.
    low, high : np.ndarray [shape=(n_curves,)]
        Range of each curve.
    notes : dict
        ARKit name → how the shape is realised.
    pose : tuple of str
        Head/eye channels carried through as columns of the same name.
    source : str
        The file it was loaded from.
    """

    curves: tuple[str, ...]
    weights: np.ndarray
    low: np.ndarray
    high: np.ndarray
    notes: dict[str, str] = field(default_factory=dict)
    pose: tuple[str, ...] = POSE_NAMES
    source: str = ""

    def to_curves(self, blendshapes: np.ndarray) -> np.ndarray:
        """ARKit weights ``(frames, 52)`` → curve values ``(frames, n_curves)``, clipped to range."""
        values = np.asarray(blendshapes, np.float64) @ self.weights.T
        return np.clip(values, self.low, self.high)

    def to_arkit(self, values: np.ndarray, curves: list[str]) -> tuple[np.ndarray, list[str]]:
        """Least-squares ARKit weights from the values of some of the curves.

        Parameters
        ----------
        values : np.ndarray [shape=(frames, len(curves))]
            Curve values.
        curves : list of str
            Which of :attr:`curves` the columns of ``values`` are.

        Returns
        -------
        arkit : np.ndarray [shape=(frames, 52), dtype=float32]
            ``clip(pinv(W_used) @ values_used, 0, 1)`` per frame, where the
            curves used are all given curves except those sitting at their top
            that the map can push past it (they may have clipped). Exact when
            the values came from :meth:`to_curves` of in-range weights.
        unobservable : list of str
            ARKit shapes none of the given curves depend on (read as 0).
        """
        rows = [self.curves.index(c) for c in curves]
        w = self.weights[rows]
        values = np.asarray(values, np.float64)
        unobservable = [ARKIT_NAMES[k] for k in range(N_ARKIT) if not w[:, k].any()]
        high = self.high[rows]
        can_clip = w.clip(min=0).sum(axis=1) > high + 1e-9
        clipped = can_clip & (values >= high - 1e-6)
        arkit = values @ np.linalg.pinv(w).T
        # Frames where a curve may have clipped: solve without it (few distinct patterns).
        patterns, which = np.unique(clipped, axis=0, return_inverse=True)
        for p, mask in enumerate(patterns):
            if not mask.any():
                continue
            frames = np.flatnonzero(which.ravel() == p)
            keep = ~mask
            arkit[frames] = values[np.ix_(frames, np.flatnonzero(keep))] @ np.linalg.pinv(w[keep]).T
            # A shape seen only through the clipped curves: the least weight that reaches the clip.
            hidden = [k for k in range(N_ARKIT) if w[:, k].any() and not w[keep, k].any()]
            for k in hidden:
                need = np.zeros(len(frames))
                for r in np.flatnonzero(mask & (w[:, k] > 0)):
                    others = arkit[frames] @ w[r] - arkit[frames, k] * w[r, k]
                    need = np.maximum(need, (high[r] - others) / w[r, k])
                arkit[frames, k] = need
        return np.clip(arkit, 0.0, 1.0).astype(np.float32), unobservable

    def own_curves(self) -> dict[str, list[str]]:
        """ARKit name → the curves only that shape drives."""
        driven = self.weights != 0
        only = driven & (driven.sum(axis=1, keepdims=True) == 1)
        return {
            name: [self.curves[i] for i in np.flatnonzero(only[:, k])] for k, name in enumerate(ARKIT_NAMES)
        }


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _parse_mapping(doc: Any, where: str) -> MetaHumanMapping:
    def fail(problem: str) -> RigError:
        return RigError(f"{where}: {problem}")

    if not isinstance(doc, dict) or not isinstance(doc.get("arkit"), dict):
        raise fail("expected an object with an 'arkit' table")
    rng = doc.get("range", [0.0, 1.0])
    if not (isinstance(rng, list) and len(rng) == 2 and all(map(_number, rng)) and rng[0] < rng[1]):
        raise fail(f"'range' {rng!r} is not [low, high]")
    table = doc["arkit"]
    unknown = sorted(set(table) - set(ARKIT_NAMES))
    if unknown:
        raise fail(f"unknown ARKit shape {unknown[0]!r}")
    missing = [n for n in ARKIT_NAMES if n not in table]
    if missing:
        raise fail(f"ARKit shape {missing[0]!r} has no entry")
    curves: list[str] = []
    entries: list[tuple[int, str, float]] = []
    notes: dict[str, str] = {}
    for k, name in enumerate(ARKIT_NAMES):
        entry = table[name]
        if not isinstance(entry, dict) or not isinstance(entry.get("curves"), dict) or not entry["curves"]:
            raise fail(f"{name}: expected {{'curves': {{curve: weight}}, 'note': ...}}")
        if not isinstance(entry.get("note"), str) or not entry["note"].strip():
            raise fail(f"{name}: a 'note' saying how the shape is realised is required")
        notes[name] = entry["note"]
        for curve, weight in entry["curves"].items():
            if not curve.startswith(CURVE_PREFIX):
                raise fail(f"{name}: curve {curve!r} is not a {CURVE_PREFIX}* curve")
            if not _number(weight) or weight == 0:
                raise fail(f"{name}: weight {weight!r} of {curve} is not a non-zero number")
            if curve not in curves:
                curves.append(curve)
            entries.append((k, curve, float(weight)))
    weights = np.zeros((len(curves), N_ARKIT), np.float64)
    for k, curve, weight in entries:
        weights[curves.index(curve), k] = weight
    if np.linalg.matrix_rank(weights) < N_ARKIT:
        raise fail("the map is not invertible (some ARKit shapes drive only combinations of others' curves)")
    ranges = doc.get("ranges", {})
    low = np.full(len(curves), float(rng[0]))
    high = np.full(len(curves), float(rng[1]))
    for curve, r in ranges.items() if isinstance(ranges, dict) else ():
        if curve in curves and isinstance(r, list) and len(r) == 2 and all(map(_number, r)):
            low[curves.index(curve)], high[curves.index(curve)] = r
    pose = tuple(doc.get("pose", {}))
    bad_pose = [p for p in pose if p not in POSE_NAMES]
    if bad_pose:
        raise fail(f"unknown pose channel {bad_pose[0]!r}")
    return MetaHumanMapping(tuple(curves), weights, low, high, notes, pose, where)


def load_mapping(path: str | PathLike[str] | None = None) -> MetaHumanMapping:
    """Load and check an ARKit → MetaHuman mapping file (default: the one emote ships).

    Raises
    ------
    RigError
        When the file is missing, not JSON, or the map is incomplete or not invertible.
    """
    if path is None:
        return _default_mapping()
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RigError(f"{p}: no such file") from None
    except (OSError, ValueError) as e:
        raise RigError(f"{p}: not a readable JSON mapping ({e})") from None
    return _parse_mapping(doc, str(p))


@functools.cache
def _default_mapping() -> MetaHumanMapping:
    from emote.rigs_data import rig_file

    return load_mapping(rig_file(*MAPPING_FILE))


__all__ = ["CURVE_PREFIX", "MetaHumanMapping", "load_mapping"]
