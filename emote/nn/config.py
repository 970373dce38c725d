"""Model and training configuration: dataclasses read from a TOML or JSON file.

The model's config travels inside every checkpoint (as a JSON string, so
``torch.load(weights_only=True)`` reads it), like Whisper's ``ModelDimensions``.

A training config file::

    data = "../.emote_data/tts"     # dataset folder (relative to the config file)
    out = "../runs/tts"             # checkpoints and logs
    seed = 0

    [model]
    latent_dim = 64

    [prior]                         # stage 1: the motion prior (VAE) alone
    steps = 3000
    batch = 64

    [classifier]                    # stage 2: the emotion classifier on curves
    steps = 1000

    [main]                          # stage 3: speech + emotion -> prior latents
    steps = 20000

    [losses]
    lip = 1.0
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from emote.errors import EmoteError, file_error
from emote.nn.features import FeatureSettings

__all__ = ["LossWeights", "ModelConfig", "StageConfig", "TrainConfig", "data_roots", "load_config"]


@dataclass
class ModelConfig:
    """Shape of the networks (all 1-D convolutions; see :mod:`emote.nn.networks`).

    Attributes
    ----------
    channels : tuple[str, ...]
        Output curve names; empty: taken from the dataset (every channel its
        targets move).
    classifier_channels : tuple[str, ...]
        Channels the emotion classifier reads; empty: the upper face
        (``emote.animation.channels.UPPER_FACE_NAMES``) among ``channels``.
    latent_dim : int
        Width of the motion prior's latent sequence.
    prior_widths : tuple[int, int, int]
        Prior channels at 50, 25 and 12.5 Hz.
    speech_widths : tuple[int, int, int]
        Speech encoder channels at 50, 25 and 12.5 Hz.
    speech_blocks : tuple[int, int, int]
        Residual blocks at each rate.
    emotion_dim : int
        Width of the emotion (and style) embedding.
    styles : tuple[str, ...]
        Speaker/style names with a learned code (empty: no style code).
    classifier_width : int
    features : FeatureSettings
    bounded_output : bool
        The prior decoder ends in a straight-through clamp to [0, 1] (blendshape channels only):
        its curves are in range by construction, a frame the target holds at exactly 0 can be
        decoded exactly (any negative pre-activation), and the gradient still reaches values
        clamped on the wrong side (Bengio et al. 2013's straight-through estimator).
    neutral_only : bool
        The neutral-only ablation: trained with the emotion condition always
        neutral; at inference the engine runs it neutral and the performance
        layer adds the emotion (:func:`emote.performance.compose.apply_emotion`),
        as the phonetic engine's output gets it.
    lookahead : int or None
        None: every convolution is centred and a frame reads about a second of the future
        (``emote_tts.pt``). An integer ``D``: the speech encoder and prior decoder are
        causal and the output is delayed by ``D`` curve frames, so frame ``t`` reads
        features up to frame ``t + D`` (``D / frame_rate`` seconds) and no further, which
        bounds a stream's latency (:mod:`emote.nn.networks`).
    """

    channels: tuple[str, ...] = ()
    classifier_channels: tuple[str, ...] = ()
    latent_dim: int = 64
    prior_widths: tuple[int, int, int] = (64, 128, 192)
    prior_blocks: tuple[int, int, int] = (1, 1, 2)
    speech_widths: tuple[int, int, int] = (96, 128, 192)
    speech_blocks: tuple[int, int, int] = (1, 2, 3)
    emotion_dim: int = 64
    styles: tuple[str, ...] = ()
    classifier_width: int = 64
    features: FeatureSettings = field(default_factory=FeatureSettings)
    neutral_only: bool = False
    bounded_output: bool = False
    lookahead: int | None = None

    def __post_init__(self) -> None:
        if self.lookahead is not None and (isinstance(self.lookahead, bool) or not isinstance(self.lookahead, int)
                                           or not 0 <= self.lookahead <= 50):  # fmt: skip
            raise EmoteError(
                f"[model] lookahead must be a whole number of frames in 0..50, not {self.lookahead!r}"
            )

    @property
    def causal(self) -> bool:
        """Causal convolutions (a look-ahead model)."""
        return self.lookahead is not None

    @property
    def lookahead_seconds(self) -> float | None:
        """The features a frame reads past its own time, seconds (None: the whole clip)."""
        return None if self.lookahead is None else self.lookahead / self.frame_rate

    @property
    def frame_rate(self) -> float:
        return self.features.frame_rate

    @property
    def stride(self) -> int:
        """Curve frames per latent frame."""
        return 4

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        data = dict(data)
        data["features"] = FeatureSettings(**data.get("features", {}))
        return _build(cls, data, "model")


@dataclass
class StageConfig:
    """One training stage.

    Attributes
    ----------
    steps : int
    batch : int
        Windows per step.
    window : int
        Frames per window (a multiple of 4; 50 Hz).
    lr : float
        Peak learning rate (AdamW, linear warm-up then cosine decay).
    warmup : int
        Warm-up steps.
    weight_decay : float
    max_seconds : float
        Wall-time cap of the stage (0: none); the schedule anneals by time when it binds.
    """

    steps: int = 1000
    batch: int = 32
    window: int = 200
    lr: float = 2e-3
    warmup: int = 200
    weight_decay: float = 1e-4
    max_seconds: float = 0.0


@dataclass
class LossWeights:
    """Weights of the EMOTE losses (Danecek et al. 2023, §3.3) as adapted here.

    Attributes
    ----------
    rec : float
        L1 on every output channel.
    lip : float
        Extra L1 on the mouth channels (EMOTE's lip loss, localised at the mouth).
    gap : float
        L1 on the lip gap (``emote.eval.lip_gap_proxy``, in units of 30 mm).
    closure : float
        Extra weight of the gap loss on closure frames (bilabials, labiodentals).
    emotion : float
        Sequence-level emotion loss from the frozen classifier.
    exchange_lip, exchange_emotion, exchange_rec : float
        Content–emotion exchange: the same audio under a second emotion track
        must keep its closures and articulation (lip), show the second emotion
        (classifier), and — where the data can compose it — match the exact
        composed target (rec).
    kl : float
        KL weight of the motion prior (stage 1).
    """

    rec: float = 1.0
    lip: float = 1.0
    gap: float = 1.0
    closure: float = 4.0
    emotion: float = 0.05
    exchange_lip: float = 1.0
    exchange_emotion: float = 0.05
    exchange_rec: float = 0.5
    kl: float = 1e-4


@dataclass
class TrainConfig:
    """Everything ``emote train`` needs.

    Attributes
    ----------
    data : str or tuple[str, ...]
        Dataset folder (``manifest.json`` + shards), or several mixed into one
        stream (TTS voices + recorded speech); relative paths are taken from
        the config file's folder.
    out : str
        Run folder: ``state.pt`` (resumable), ``log.jsonl``, ``model.pt`` (the result).
    seed : int
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    log_every, eval_every, save_every : int
        Steps.
    amp : bool
        bfloat16 autocast on CUDA.
    augment_features : bool
        Level, tilt, frequency-mask and noise augmentation of the features in the main stage.
    mel_dropout : float
        Share of main-stage windows whose log-mel is flattened, so the network must
        read them from the phone posteriors (with ``model.features.phones``).
    phone_confusion : float
        Share of main-stage windows whose phone posteriors mix up confusable phones
        (:func:`emote.training.train.confuse_posteriors`), so the network checks them
        against the log-mel.
    fast_share : float
        Share of prior and main-stage windows sped up by up to 1.6× (features,
        targets and conditions together): quick speech with short closures.
    variants : int
        Emotion conditions composed per frame at load (stored tracks + fresh ones).
    init : str
        A ``state.pt`` whose networks start this run (fine-tuning); a stage with
        ``steps = 0`` is skipped.
    snapshots : int
        Also write ``model_<k>of<n>.pt`` at each ``k/n`` of the main stage (for
        choosing among them on held-out data); 0: only the final ``model.pt``.
    motion_prior : str
        A motion prior file (``python -m emote.training.train_prior``, a temporal
        β-VAE: :mod:`emote.nn.prior`) whose decoder the main stage freezes
        under the speech network instead of training stage 1's prior (which is
        then skipped); ``model.latent_dim``, ``prior_widths`` and ``prior_blocks``
        are taken from the file, whose channels must be this run's. Empty: stage 1
        trains the prior with ``losses.kl`` (1e-4 by default: an autoencoder, as
        the shipped ``emote_tts.pt`` was made).
    frame_weights : str
        How the main stage's losses use each frame's stored weight (recorded
        speech without a transcript: the recogniser's confidence,
        :mod:`emote.training.data.speech`): ``"mask"`` — frames under
        ``min_frame_weight`` count 0, the rest 1; ``"soft"`` — the weight
        itself, 0 under ``min_frame_weight``; ``"off"`` — every frame 1.
    min_frame_weight : float
    """

    data: str | tuple[str, ...] = "data"
    out: str = "runs/emote"
    seed: int = 0
    device: str = "auto"
    log_every: int = 50
    eval_every: int = 500
    save_every: int = 500
    amp: bool = True
    augment_features: bool = True
    mel_dropout: float = 0.0
    phone_confusion: float = 0.0
    fast_share: float = 0.0
    variants: int = 8
    init: str = ""
    snapshots: int = 0
    motion_prior: str = ""
    frame_weights: str = "mask"
    min_frame_weight: float = 0.5
    model: ModelConfig = field(default_factory=ModelConfig)
    prior: StageConfig = field(default_factory=lambda: StageConfig(steps=2000, lr=2e-3))
    classifier: StageConfig = field(default_factory=lambda: StageConfig(steps=500, lr=2e-3))
    main: StageConfig = field(default_factory=lambda: StageConfig(steps=6000, lr=1.5e-3))
    losses: LossWeights = field(default_factory=LossWeights)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def data_roots(cfg: TrainConfig) -> tuple[str, ...]:
    """The config's dataset folders, one or several."""
    return (cfg.data,) if isinstance(cfg.data, str) else tuple(cfg.data)


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """A dataclass from a dict; unknown keys are errors, lists become tuples where typed so."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(names)
    if unknown:
        raise EmoteError(f"[{where}]: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(names)}")
    clean = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()}
    return cls(**clean)


def load_config(path: str | PathLike[str]) -> TrainConfig:
    """Read a training config (``.toml`` or ``.json``); paths are resolved from its folder.

    Raises
    ------
    EmoteError
        Unreadable file or unknown keys, naming the file.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise file_error(EmoteError, p, f"cannot read config ({err.strerror or err})") from None
    try:
        if p.suffix == ".json":
            raw = json.loads(text)
        else:
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover
                import tomli as tomllib
            raw = tomllib.loads(text)
    except ValueError as err:
        raise file_error(EmoteError, p, f"not valid {p.suffix.lstrip('.') or 'TOML'} ({err})") from None
    try:
        sections = {
            "model": ModelConfig.from_dict(raw.pop("model", {})),
            **{name: _build(StageConfig, raw.pop(name, {}), name)
               for name in ("prior", "classifier", "main") if name in raw},
            "losses": _build(LossWeights, raw.pop("losses", {}), "losses"),
        }  # fmt: skip
        cfg = _build(TrainConfig, {**raw, **sections}, "top level")
        if cfg.frame_weights not in ("mask", "soft", "off"):
            raise EmoteError(f"frame_weights must be 'mask', 'soft' or 'off', got {cfg.frame_weights!r}")
    except (EmoteError, TypeError) as err:
        raise file_error(EmoteError, p, str(err)) from None
    base = p.resolve().parent
    if isinstance(cfg.data, str):
        cfg.data = str((base / cfg.data).resolve())
    else:
        cfg.data = tuple(str((base / d).resolve()) for d in cfg.data)
    cfg.out = str((base / cfg.out).resolve())
    if cfg.init:
        cfg.init = str((base / cfg.init).resolve())
    if cfg.motion_prior:
        cfg.motion_prior = str((base / cfg.motion_prior).resolve())
    return cfg
