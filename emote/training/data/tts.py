"""Offline TTS voices that report *exact* phone timings: flite, festival, espeak-ng.

Each synthesiser knows where every phone it produced starts and ends, so its
audio comes with perfect phone timings — the supervision the data engine needs
(DESIGN.md, "Data engine and training"):

- **flite** (``flite -psdur`` prints every segment with its end time); voices
  ``kal`` (8 kHz diphone), ``kal16`` (diphone), ``awb``, ``rms``, ``slt``
  (clustergen);
- **festival** (a Scheme script dumps the ``Segment`` relation's end times);
  voices ``kal_diphone``, ``ked_diphone`` (packages festvox-kallpc16k,
  festvox-kdlpc16k) and ``cmu_us_slt_arctic_hts`` (festvox-us-slt-hts);
- **espeak-ng** through ``libespeak-ng`` with phoneme events switched on
  (``espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_PHONEME_IPA``): each
  event gives the IPA phoneme and the sample where it starts. Without MBROLA
  (not packaged here) this is the only way to get espeak's timings; the
  command-line ``--pho`` output needs an MBROLA voice.

Debian packages: ``flite festival festvox-kallpc16k festvox-kdlpc16k
festvox-us-slt-hts`` (espeak-ng is a system dependency already).

Phone labels come back in ARPAbet without stress, silence as ``"SIL"``; an espeak-ng
voice with ``ipa=True`` (any of its languages, :data:`LANGUAGE_VOICES`) labels them in
IPA instead (:func:`emote.phonetics.labels.ipa_label`), which the phonetic engine reads
by their articulatory features.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from emote.audio.espeak import clean_ipa
from emote.audio.phones import Phone
from emote.errors import EmoteError
from emote.phonetics.features import parse_ipa
from emote.phonetics.ipa import ipa_to_arpabet
from emote.phonetics.labels import PHONE_SET, SIL, ipa_label

__all__ = [
    "LANGUAGE_VOICES",
    "TRAINING_LANGUAGE_VOICES",
    "VOICES",
    "Prosody",
    "TTSError",
    "Utterance",
    "Voice",
    "available_voices",
    "synthesize",
]


class TTSError(EmoteError):
    """A synthesiser is missing or failed."""


@dataclass(frozen=True)
class Voice:
    """One synthesiser voice.

    Attributes
    ----------
    engine : str
        ``"flite"``, ``"festival"`` or ``"espeak"``.
    name : str
        The engine's own name for the voice (``"kal16"``, ``"voice_kal_diphone"``, ``"en-us+f2"``).
    f0 : float
        Typical pitch in Hz (what a pitch factor of 1 means).
    lag : float
        Seconds by which the audio lags the timings the synthesiser reports;
        added to every phone boundary. Measured per voice as the shift that
        maximises the high-band energy of /s sh z/ over vowels (windowing and
        filter delays of the waveform generators: 5–25 ms).
    ipa : bool
        Label the phones in IPA (espeak-ng voices of any language) rather than ARPAbet.
    """

    engine: str
    name: str
    f0: float = 110.0
    lag: float = 0.0
    ipa: bool = False

    @property
    def id(self) -> str:
        """A short, file-name-safe identifier: ``flite-kal16``, ``festival-kal_diphone``, ``espeak-en-us_f2``."""
        short = self.name.removeprefix("voice_").removesuffix("_arctic_hts").replace("+", "_")
        return f"{self.engine}-{short}"

    @property
    def language(self) -> str:
        """The language code of an IPA voice (``"es"``, ``"zh"`` for ``cmn-latn-pinyin``); ``"en"`` otherwise."""
        if not self.ipa:
            return "en"
        base = self.name.split("+")[0]
        return "zh" if base.startswith("cmn") else base


VOICES: tuple[Voice, ...] = (
    Voice("flite", "kal", 100.0, 0.01),
    Voice("flite", "kal16", 100.0, 0.01),
    Voice("flite", "awb", 110.0, 0.005),
    Voice("flite", "rms", 105.0, 0.005),
    Voice("flite", "slt", 170.0, 0.015),
    Voice("festival", "voice_kal_diphone", 105.0, 0.015),
    Voice("festival", "voice_ked_diphone", 105.0, 0.015),
    Voice("festival", "voice_cmu_us_slt_arctic_hts", 170.0, 0.025),
    Voice("espeak", "en-us+m1", 110.0),
    Voice("espeak", "en-us+f2", 200.0),
    Voice("espeak", "en+m3", 110.0),
    Voice("espeak", "en-gb-x-rp+f4", 200.0),
    Voice("espeak", "en-us+klatt4", 110.0),
    Voice("espeak", "en-029+m7", 110.0),
    Voice("espeak", "en-gb-scotland+f5", 200.0),
)
"""Every voice the corpus generator knows (those installed are :func:`available_voices`)."""

LANGUAGE_VOICES: tuple[Voice, ...] = tuple(
    Voice("espeak", name, f0, ipa=True)
    for name, f0 in (
        ("es", 110.0), ("fr", 110.0), ("de", 110.0), ("it", 110.0), ("pt", 110.0), ("ru", 110.0),
        ("ja", 110.0), ("ko", 110.0), ("cmn-latn-pinyin", 110.0), ("nl", 110.0), ("pl", 110.0),
        ("tr", 110.0), ("sv", 110.0), ("el", 110.0), ("hi", 110.0),
    )
)  # fmt: skip
"""espeak-ng voices of fifteen other languages, phones in IPA (``benchmarks/languages.py`` speaks them)."""

TRAINING_LANGUAGE_VOICES: tuple[Voice, ...] = tuple(
    Voice("espeak", f"{v.name}+{variant}", f0, ipa=True)
    for v in LANGUAGE_VOICES
    for variant, f0 in (("m3", 110.0), ("f2", 200.0))
)
"""The same fifteen languages in two other espeak-ng variants each (a male ``+m3``, a female ``+f2``):
the multilingual training voices (``emote data generate --languages``). The variants change the
voice (formants, pitch), not the phonemiser, so the benchmark's plain voices stay unheard ones."""


@dataclass(frozen=True)
class Prosody:
    """How a line is spoken: speed and pitch relative to the voice's default.

    Attributes
    ----------
    rate : float
        Speaking rate factor (> 1 faster).
    pitch : float
        Mean pitch factor.
    pitch_range : float
        Pitch excursion factor (> 1 livelier).
    """

    rate: float = 1.0
    pitch: float = 1.0
    pitch_range: float = 1.0


@dataclass
class Utterance:
    """Synthesised speech and its exact phone timings.

    Attributes
    ----------
    samples : np.ndarray [shape=(samples,), dtype=float32]
    sr : int
    phones : list[Phone]
        Tile ``[0, duration]``; ARPAbet labels or ``"SIL"``.
    """

    samples: np.ndarray
    sr: int
    phones: list[Phone]

    @property
    def duration(self) -> float:
        return self.samples.size / self.sr


# Festival/flite "radio" phone set → ARPAbet (the rest are ARPAbet in lower case).
_RADIO = {"AX": "AH", "AXR": "ER", "IX": "IH", "DX": "T", "EL": "L", "EM": "M", "EN": "N", "NX": "N",
          "HV": "HH", "PAU": SIL, "H#": SIL, "BRTH": SIL, "SIL": SIL}  # fmt: skip
# espeak-ng IPA symbols that emote.phonetics.ipa does not know.
_ESPEAK_IPA = {"ᵻ": "ɪ", "ɾ": "t"}
_MERGE_BELOW = 0.06  # s: espeak's empty (boundary) events shorter than this join the phone before


def radio_to_arpabet(label: str) -> str:
    """One festival/flite phone name in ARPAbet (``"ax"`` → ``"AH"``, ``"pau"`` → ``"SIL"``)."""
    up = label.strip().upper()
    out = _RADIO.get(up, up)
    if out not in PHONE_SET:
        raise TTSError(f"unknown synthesiser phone {label!r}")
    return out


def _tile(ends: Sequence[tuple[str, float]], duration: float, lag: float = 0.0) -> list[Phone]:
    """Phones from (label, end) pairs, delayed by ``lag``, clipped to ``duration``, silence to the end."""
    phones: list[Phone] = []
    start = 0.0
    for label, end in ends:
        end = min(float(end) + lag, duration)
        if end > start + 1e-6:
            if phones and phones[-1].label == label == SIL:
                phones[-1] = Phone(phones[-1].start, end, SIL)
            else:
                phones.append(Phone(start, end, label))
            start = end
    if duration > start + 1e-6:
        if phones and phones[-1].label == SIL:
            phones[-1] = Phone(phones[-1].start, duration, SIL)
        else:
            phones.append(Phone(start, duration, SIL))
    return phones


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return y.mean(axis=1), int(sr)


# -- flite ---------------------------------------------------------------------------------------


def _flite(voice: Voice, text: str, prosody: Prosody, tmp: Path) -> Utterance:
    out = tmp / "flite.wav"
    cmd = ["flite", "-voice", voice.name, "-psdur",
           "--setf", f"duration_stretch={1.0 / prosody.rate:.4f}",
           "--setf", f"int_f0_target_mean={voice.f0 * prosody.pitch:.2f}",
           "--setf", f"int_f0_target_stddev={0.2 * voice.f0 * prosody.pitch * prosody.pitch_range:.2f}",
           "-t", text, "-o", str(out)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if res.returncode != 0 or not out.exists():
        raise TTSError(f"flite ({voice.name}) failed on {text!r}: {res.stderr.strip()[:200]}")
    ends = []
    for token in res.stdout.split():
        label, _, end = token.rpartition(":")
        ends.append((radio_to_arpabet(label), float(end)))
    y, sr = _read_wav(out)
    return Utterance(y, sr, _tile(ends, y.size / sr, voice.lag))


# -- festival ------------------------------------------------------------------------------------

_FESTIVAL_PRELUDE = """
(define (emote-f0 p r)
  (if (symbol-bound? 'int_lr_params)
      (set! int_lr_params
        (list (list 'target_f0_mean (* p (car (cdr (assoc 'target_f0_mean int_lr_params)))))
              (list 'target_f0_std (* p r (car (cdr (assoc 'target_f0_std int_lr_params)))))
              (assoc 'model_f0_mean int_lr_params)
              (assoc 'model_f0_std int_lr_params)))))
(define (emote-say voice txt out rate p r)
  (eval (list voice))
  (if (string-equal (Param.get 'Synth_Method) "HTS")
      (set! hts_engine_params
            (append hts_engine_params
                    (list (list "-r" rate) (list "-fm" (* 12.0 (/ (log p) (log 2)))))))
      (begin (Parameter.set 'Duration_Stretch (/ 1.0 rate)) (emote-f0 p r)))
  (set! utt (eval (list 'Utterance 'Text txt)))
  (utt.synth utt)
  (utt.save.wave utt out 'riff)
  (format t "EMOTE-SEGMENTS %s" out)
  (mapcar (lambda (s) (format t " %s:%f" (item.name s) (item.feat s "end"))) (utt.relation.items utt 'Segment))
  (format t "\\n"))
"""


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _festival(voice: Voice, texts: Sequence[str], prosodies: Sequence[Prosody], tmp: Path) -> list[Utterance]:
    lines = [_FESTIVAL_PRELUDE]
    outs = [tmp / f"festival_{i}.wav" for i in range(len(texts))]
    for text, p, out in zip(texts, prosodies, outs, strict=True):
        lines.append(f"(emote-say '{voice.name} {_scheme_string(text)} {_scheme_string(str(out))} "
                     f"{p.rate:.4f} {p.pitch:.4f} {p.pitch_range:.4f})")  # fmt: skip
    script = tmp / "say.scm"
    script.write_text("\n".join(lines), encoding="utf-8")
    res = subprocess.run(["festival", "-b", str(script)], capture_output=True, text=True, timeout=600)
    segments: dict[str, list[tuple[str, float]]] = {}
    for line in res.stdout.splitlines():
        if line.startswith("EMOTE-SEGMENTS "):
            _, path, *tokens = line.split()
            segments[path] = [
                (radio_to_arpabet(t.rpartition(":")[0]), float(t.rpartition(":")[2])) for t in tokens
            ]
    result = []
    for text, out in zip(texts, outs, strict=True):
        if str(out) not in segments or not out.exists():
            raise TTSError(f"festival ({voice.name}) failed on {text!r}: {res.stderr.strip()[-200:]}")
        y, sr = _read_wav(out)
        result.append(Utterance(y, sr, _tile(segments[str(out)], y.size / sr, voice.lag)))
    return result


# -- espeak-ng -----------------------------------------------------------------------------------


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    # espeak_EVENT from speak_lib.h
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]  # fmt: skip


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)
_EVENT_END, _EVENT_PHONEME = 0, 7  # espeakEVENT_LIST_TERMINATED, espeakEVENT_PHONEME
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4
_SYNCHRONOUS, _PHONEME_EVENTS_IPA = 2, 0x0001 | 0x0002
_ENDPAUSE = 0x1000


class _Espeak:
    """The espeak-ng library, loaded once per process."""

    _instance: _Espeak | None = None

    def __init__(self) -> None:
        path = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self.lib = ctypes.CDLL(path)
        except OSError as err:
            raise TTSError(f"espeak-ng library not found ({err})") from None
        self.sr = self.lib.espeak_Initialize(_SYNCHRONOUS, 0, None, _PHONEME_EVENTS_IPA)
        if self.sr <= 0:
            raise TTSError("espeak-ng failed to initialise")
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[int, str]] = []
        self._cb = _CALLBACK(self._on_audio)  # kept alive as long as the library holds it
        self.lib.espeak_SetSynthCallback(self._cb)

    @classmethod
    def get(cls) -> _Espeak:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def _on_audio(self, wav, n, events) -> int:
        if wav and n > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).astype(np.float32) / 32768.0)
        i = 0
        while events[i].type != _EVENT_END:
            e = events[i]
            if e.type == _EVENT_PHONEME:
                self.events.append((int(e.sample), e.id.string.decode("utf-8", "replace")))
            i += 1
        return 0

    def say(self, voice: Voice, text: str, prosody: Prosody) -> Utterance:
        self.chunks, self.events = [], []
        if self.lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise TTSError(f"espeak-ng has no voice {voice.name!r}")
        self.lib.espeak_SetParameter(_PARAM_RATE, round(175 * prosody.rate), 0)
        self.lib.espeak_SetParameter(_PARAM_PITCH, int(np.clip(50 + 60 * np.log2(prosody.pitch), 0, 99)), 0)
        self.lib.espeak_SetParameter(_PARAM_RANGE, int(np.clip(50 * prosody.pitch_range, 0, 99)), 0)
        data = text.encode("utf-8") + b"\0"
        self.lib.espeak_Synth(data, len(data), 0, 0, 0, _ENDPAUSE, None, None)
        self.lib.espeak_Synchronize()
        y = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)
        phones = _espeak_phones(self.events, self.sr, y.size, voice=voice.name if voice.ipa else None)
        return Utterance(y, self.sr, phones)


def _espeak_phones(
    events: list[tuple[int, str]], sr: int, n_samples: int, *, voice: str | None = None
) -> list[Phone]:
    """Phones from espeak's (start sample, IPA) events; empty names are pauses or boundaries.

    Labels are ARPAbet, or IPA (:func:`emote.phonetics.labels.ipa_label`) when the
    ``voice`` whose events they are is given.
    """
    duration = n_samples / sr
    starts = [s / sr for s, _ in events] + [duration]
    rows: list[tuple[float, float, str]] = []
    for (_, ipa), t0, t1 in zip(events, starts[:-1], starts[1:], strict=True):
        if t1 <= t0:
            continue
        if voice is not None:
            units = parse_ipa(clean_ipa(ipa, voice))
            labels = None if units is None else [ipa_label(u.symbol) for u in units]
        else:
            labels = ipa_to_arpabet(_ESPEAK_IPA.get(ipa, ipa))
        if labels is None:
            raise TTSError(f"espeak-ng phoneme {ipa!r} has no {'IPA' if voice else 'ARPAbet'} reading")
        if not labels:  # a pause, or a lone modifier such as "ʲ"
            if rows and t1 - t0 < _MERGE_BELOW and rows[-1][2] != SIL:
                rows[-1] = (rows[-1][0], t1, rows[-1][2])  # a boundary mark, not a pause
            else:
                rows.append((t0, t1, SIL))
            continue
        step = (t1 - t0) / len(labels)  # "ɪə" → IH R share the interval
        rows.extend((t0 + k * step, t0 + (k + 1) * step, lab) for k, lab in enumerate(labels))
    return _tile([(lab, e) for _, e, lab in rows], duration)


# -- public --------------------------------------------------------------------------------------


def available_voices(voices: Sequence[Voice] = VOICES) -> list[Voice]:
    """The voices whose synthesiser is installed here."""
    have = {
        "flite": shutil.which("flite") is not None,
        "festival": shutil.which("festival") is not None,
        "espeak": ctypes.util.find_library("espeak-ng") is not None,
    }
    return [v for v in voices if have.get(v.engine, False)]


def _espeak_batch(voice: Voice, texts: Sequence[str], prosodies: Sequence[Prosody]) -> list[Utterance]:
    engine = _Espeak.get()
    return [engine.say(voice, t, p) for t, p in zip(texts, prosodies, strict=True)]


def synthesize(
    voice: Voice, texts: Sequence[str], prosodies: Sequence[Prosody] | None = None
) -> list[Utterance]:
    """Speak each text with the voice; every utterance carries its exact phone timings.

    Parameters
    ----------
    voice : Voice
    texts : sequence of str
    prosodies : sequence of Prosody, optional
        One per text (default: the voice's own).

    Returns
    -------
    list[Utterance]
        Audio at the voice's native rate, phones tiling the whole clip.

    Raises
    ------
    TTSError
        The synthesiser is missing, or failed on a text.
    """
    prosodies = list(prosodies) if prosodies is not None else [Prosody()] * len(texts)
    if len(prosodies) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(prosodies)} prosodies")
    if voice.engine == "espeak":
        # espeak-ng carries state from one utterance to the next (a line's audio depends on
        # the lines spoken before it in the process) and cannot be restarted in-process, so
        # each call speaks in a fresh child (this process never loads the library itself):
        # the same call gives the same audio, always.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            return pool.submit(_espeak_batch, voice, list(texts), prosodies).result()
    if shutil.which(voice.engine) is None:
        raise TTSError(f"{voice.engine} is not installed (Debian package {voice.engine!r})")
    with tempfile.TemporaryDirectory(prefix="emote-tts-") as tmp:
        if voice.engine == "festival":
            return _festival(voice, texts, prosodies, Path(tmp))
        if voice.engine == "flite":
            return [_flite(voice, t, p, Path(tmp)) for t, p in zip(texts, prosodies, strict=True)]
    raise TTSError(f"unknown TTS engine {voice.engine!r}")
