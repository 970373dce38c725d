"""The audio front-end: files in, 16 kHz mono samples, features and phone timings out.

- :mod:`~emote.audio.io`: :func:`load_audio`, :func:`audio_info`, :func:`iter_audio_blocks`.
- :mod:`~emote.audio.features`: :func:`frame_energy`, :func:`pitch`, :func:`log_mel`, :func:`pauses`.
- :mod:`~emote.audio.phones`: the :class:`Alignment` of :class:`Phone` and :class:`Word`.
- :mod:`~emote.audio.timings`: user timings (:func:`read_timings`: TextGrid, CSV) and transcripts.
- :mod:`~emote.audio.align` / :mod:`~emote.audio.recognize`: timings from a transcript
  (forced alignment) or from the audio alone (phone recognition).
- :mod:`~emote.audio.espeak` / :mod:`~emote.audio.ctc_align`: other languages' transcripts,
  phonemised by espeak-ng and aligned by CTC on the recogniser's IPA posteriors.
- :mod:`~emote.audio.formants`: the jaw opening heard in the audio (first formant, loudness).
- :func:`phone_timings`: the one call that picks among them for a file.
"""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike

import numpy as np

from emote.audio.align import AlignSettings, align, align_file
from emote.audio.convert import SAMPLE_RATE, frames_to_time, samples_to_frames, time_to_frames
from emote.audio.features import frame_energy, log_mel, pauses, pitch, voicing
from emote.audio.io import (
    Audio,
    AudioInfo,
    audio_info,
    check_not_silent,
    is_silent,
    iter_audio_blocks,
    load_audio,
)
from emote.audio.phones import Alignment, Phone, Word
from emote.audio.recognize import RecognizeSettings, recognize, recognize_file
from emote.audio.timings import find_transcript, read_phone_csv, read_textgrid, read_timings
from emote.phonetics.labels import ARPABET, SIL, normalize_label

__all__ = [
    "ARPABET",
    "SAMPLE_RATE",
    "SIL",
    "AlignSettings",
    "Alignment",
    "Audio",
    "AudioInfo",
    "Phone",
    "RecognizeSettings",
    "Word",
    "align",
    "align_file",
    "align_transcript",
    "audio_info",
    "check_not_silent",
    "find_transcript",
    "frame_energy",
    "frames_to_time",
    "is_silent",
    "iter_audio_blocks",
    "load_audio",
    "log_mel",
    "normalize_label",
    "pauses",
    "phone_timings",
    "pitch",
    "read_phone_csv",
    "read_textgrid",
    "read_timings",
    "recognize",
    "recognize_file",
    "samples_to_frames",
    "time_to_frames",
    "voicing",
]


def phone_timings(
    path: str | PathLike[str],
    *,
    text: str | None = None,
    timings: str | PathLike[str] | None = None,
    language: str = "auto",
    progress: Callable[[float], None] | None = None,
) -> Alignment:
    """Phone timings for an audio file, from the best source there is.

    In order: a ``timings`` file (TextGrid or CSV, read as is); the ``text``
    given, or else a ``.txt``/``.lab`` beside the audio, force-aligned; else
    phones recognised from the audio alone. The audio streams from disk, so any
    length works in bounded memory.

    ``language`` (as espeak-ng names it) picks the aligner: English (``"en"``, and
    ``"auto"``) PocketSphinx's, any other the CTC aligner over espeak-ng's IPA phones
    (:func:`emote.audio.ctc_align.ctc_align`, whole file in memory). Recognised phones
    are IPA (:func:`emote.phonetics.labels.ipa_label`) unless the language is English.

    Raises
    ------
    AudioError
        The audio cannot be read.
    TranscriptError
        The timings file or the transcript is unusable.
    EmoteError
        espeak-ng does not know ``language``.
    """
    if timings is not None:
        return read_timings(timings)
    from emote.audio.espeak import other_than_english, recognises_ipa, voice_of

    voice = voice_of(language)
    if text is None:
        text = find_transcript(path)
    if text is not None and other_than_english(voice):
        from emote.audio.ctc_align import ctc_align

        sound = load_audio(path)
        return ctc_align(y=sound.samples, sr=sound.sr, text=text, language=voice)
    if text is not None:
        return align_file(path, text=text, progress=progress)
    return recognize_file(path, settings=RecognizeSettings(ipa=recognises_ipa(voice)), progress=progress)


def align_transcript(*, y: np.ndarray, sr: int, text: str, language: str = "auto") -> Alignment:
    """Phones of the signal ``y`` speaking ``text``, aligned as :func:`phone_timings` aligns a file.

    English and ``"auto"``: PocketSphinx's English model (:func:`emote.audio.align.align`);
    any other language: espeak-ng's phones, CTC-aligned on the recogniser's IPA
    posteriors (:func:`emote.audio.ctc_align.ctc_align`). A stream's pushed text and
    ``emote stream --text`` go through it.

    Raises
    ------
    EmoteError
        An unknown language, or a transcript that does not fit the audio.
    """
    from emote.audio.espeak import other_than_english, voice_of

    voice = voice_of(language)
    if not other_than_english(voice):
        from emote.audio.align import align  # the module's, looked up at call time

        return align(y=y, sr=sr, text=text)
    from emote.audio.ctc_align import ctc_align

    return ctc_align(y=y, sr=sr, text=text, language=voice)
