"""The phonetic engine: timed phones (+ loudness) → mouth and jaw curves.

Passes, one module each:

1. :mod:`~emote.phonetics.phoneset` — clean labels, fill gaps with silence.
2. :mod:`~emote.engines.phonetic.visemes` — each phone becomes one viseme
   (two for diphthongs) with a target and a dominance: an ARPAbet phone its
   authored English viseme, an IPA phone of any language the viseme its
   articulatory features give by rule.
3. :mod:`~emote.engines.phonetic.dominance` — Cohen–Massaro coarticulation.
4. :mod:`~emote.engines.phonetic.energy` — loudness scales the jaw (JALI's
   jaw/lip split), never the closures.
5. :mod:`~emote.engines.phonetic.closure` — bilabials and labiodentals reach
   their lip targets on their own frames.
6. :func:`~emote.engines.phonetic.visemes.to_arkit` — ARKit curves with
   ``MouthClose = seal * JawOpen``.

Everything is evaluated at frame times in seconds, so any frame rate (24, 29.97,
30, 60) samples the same continuous motion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emote.animation.tracks import resample_track
from emote.engines.phonetic.closure import enforce_closures
from emote.engines.phonetic.dominance import blend
from emote.engines.phonetic.energy import apply_gain, articulation_gain
from emote.engines.phonetic.visemes import (
    BASE_TABLE,
    REST_JAW,
    VISEME_INDEX,
    VISEMES,
    P,
    Viseme,
    VisemeTable,
    ipa_visemes,
    phone_visemes,
    to_arkit,
)
from emote.phonetics.labels import ipa_of
from emote.phonetics.phoneset import PhoneLike, Segments, to_segments

OPEN_JAW: float = VISEMES["AA"].targets["jaw"]
"""The jaw of a loud open vowel: what a heard opening of 1 means."""


@dataclass
class PhoneticSettings:
    """How the phonetic engine shapes the mouth.

    Attributes
    ----------
    plateau : float
        Share of each viseme's duration, around its centre, held at full
        dominance (0: Cohen & Massaro's original centre-peaked functions).
    power : float
        Exponent ``c`` of the dominance decay (1: exponential).
    window : int
        Neighbouring visemes on each side that can influence a frame.
    anticipation_scale, carryover_scale : float
        Multiply every viseme's coarticulation time constants (>1: smoother,
        more overlapped speech; <1: crisper).
    articulation : float
        Overall amplitude of the mouth opening and shaping (1: as authored;
        0.7: mumbled; 1.3: over-articulated). Closures are unaffected.
    energy_strength : float
        How much loudness changes the jaw opening (0: not at all).
    energy_smoothing : float
        Gaussian smoothing of the energy, seconds.
    lip_energy_share : float
        Share of the jaw's loudness gain applied to the lip channels.
    enforce_closures : bool
        Run the closure pass (strongly recommended; off only to study the
        bare dominance model).
    heard_jaw : float
        Share of the jaw that follows the opening heard in the audio
        (:func:`emote.audio.formants.jaw_opening`), when it is given, rather than
        the phones' visemes (1: all of it; 0: none). 0.75 was chosen, like the heard jaw's
        own settings (:class:`emote.audio.formants.HeardJawSettings`), off the test data:
        on synthetic Mandarin from espeak-ng with exact phones, as the share that brings the
        jaw of recognised phones nearest the jaw of the exact ones
        (``benchmarks/heard_jaw_choice.py``, ``benchmarks/results/heard_jaw_choice.json``).
    """

    plateau: float = 0.6
    power: float = 1.0
    window: int = 8
    anticipation_scale: float = 1.0
    carryover_scale: float = 1.0
    articulation: float = 1.0
    energy_strength: float = 0.8
    energy_smoothing: float = 0.03
    lip_energy_share: float = 0.5
    enforce_closures: bool = True
    heard_jaw: float = 0.75


def viseme_segments(segments: Segments) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expand phone segments into viseme segments (diphthongs become two).

    Returns
    -------
    start, end : np.ndarray [shape=(n,), dtype=float64]
    viseme : np.ndarray [shape=(n,), dtype=int64]
        Rows of :data:`~emote.engines.phonetic.visemes.BASE_TABLE`.
    """
    start, end, vis, _ = viseme_table(segments)
    return start, end, vis


def viseme_table(segments: Segments) -> tuple[np.ndarray, np.ndarray, np.ndarray, VisemeTable]:
    """Viseme segments and the table their indices point into.

    An ARPAbet phone takes its authored viseme(s) (:data:`BASE_TABLE` rows); an IPA
    phone (a label in slashes) the viseme of its articulatory features, appended to the
    table when it is not one of the named ones.

    Returns
    -------
    start, end : np.ndarray [shape=(n,), dtype=float64]
    viseme : np.ndarray [shape=(n,), dtype=int64]
    table : VisemeTable
    """
    starts: list[float] = []
    ends: list[float] = []
    vis: list[int] = []
    rows: dict[int, int] = {id(v): VISEME_INDEX[name] for name, v in VISEMES.items()}
    extra: list[Viseme] = []
    for s, e, label in zip(segments.start.tolist(), segments.end.tolist(), segments.labels, strict=True):
        ipa = ipa_of(label)
        if ipa is None:
            parts = [(VISEMES[name], share) for name, share in phone_visemes(label)]
        else:
            parts = list(ipa_visemes(ipa))
        t = s
        for viseme, share in parts:
            if id(viseme) not in rows:
                rows[id(viseme)] = len(VISEMES) + len(extra)
                extra.append(viseme)
            t_next = t + share * (e - s)
            starts.append(t)
            ends.append(t_next)
            vis.append(rows[id(viseme)])
            t = t_next
        ends[-1] = e
    table = VisemeTable.of([*VISEMES.values(), *extra]) if extra else BASE_TABLE
    return np.asarray(starts), np.asarray(ends), np.asarray(vis, np.int64), table


def animate_phones(
    phones: Sequence[PhoneLike],
    *,
    n_frames: int,
    fps: float,
    energy: np.ndarray | None = None,
    jaw_opening: np.ndarray | None = None,
    settings: PhoneticSettings | None = None,
) -> np.ndarray:
    """Mouth and jaw curves for timed phones.

    Parameters
    ----------
    phones : sequence of PhoneLike
        Timed phones (``start``, ``end`` in seconds, ARPAbet ``label``, silence
        ``"SIL"``); see :func:`emote.phonetics.phoneset.normalize_label`
        for the spellings accepted. A label in slashes is IPA in any language
        (``"/ɲ/"``, :func:`emote.phonetics.labels.ipa_label`) and gets the viseme of
        its articulatory features. Stretches without a phone are silence.
    n_frames : int
        Frames to produce; frame ``i`` is the face at ``i / fps`` seconds.
    fps : float
        Frame rate (any positive value: 24, 29.97, 30, 60...).
    energy : np.ndarray [shape=(m,)], optional
        Loudness in [0, 1] over the same duration; resampled to ``n_frames``
        when ``m != n_frames``. Louder frames open the jaw wider.
    jaw_opening : np.ndarray [shape=(m,)], optional
        The jaw opening heard in the audio, in [0, 1]
        (:func:`emote.audio.formants.jaw_opening`); ``settings.heard_jaw`` of the
        jaw follows it, from rest (0) to the /aa/ viseme's opening (1). The phones
        still shape the lips, and close them.
    settings : PhoneticSettings, optional

    Returns
    -------
    np.ndarray [shape=(n_frames, 61), dtype=float32]
        Canonical curves with only the jaw and mouth blendshapes set.

    Examples
    --------
    >>> from types import SimpleNamespace as Ph
    >>> curves = animate_phones([Ph(start=0.1, end=0.2, label="B"), Ph(start=0.2, end=0.4, label="AA")],
    ...                         n_frames=15, fps=30)
    >>> curves.shape
    (15, 61)
    """
    s = settings or PhoneticSettings()
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    times = np.arange(n_frames, dtype=np.float64) / fps
    segments = to_segments(phones, duration=n_frames / fps, keep_ipa=True)
    start, end, vis, table = viseme_table(segments)

    params = blend(
        start, end, vis, times, table=table,
        plateau=s.plateau, power=s.power, window=s.window,
        anticipation_scale=s.anticipation_scale, carryover_scale=s.carryover_scale,
    )  # fmt: skip
    if s.articulation != 1.0:
        params = apply_gain(params, np.full(n_frames, s.articulation), lip_share=1.0)
    if energy is not None and s.energy_strength > 0 and n_frames:
        gain = articulation_gain(
            resample_track(energy, n_frames),
            fps=fps,
            strength=s.energy_strength,
            smoothing=s.energy_smoothing,
        )
        params = apply_gain(params, gain, lip_share=s.lip_energy_share)
    if jaw_opening is not None and s.heard_jaw > 0 and n_frames:
        heard = REST_JAW + (OPEN_JAW - REST_JAW) * np.clip(resample_track(jaw_opening, n_frames), 0.0, 1.0)
        params[:, P["jaw"]] = (1.0 - s.heard_jaw) * params[:, P["jaw"]] + s.heard_jaw * heard
    if s.enforce_closures:
        params = enforce_closures(params, start, end, vis, fps=fps, table=table)
    return to_arkit(params)
