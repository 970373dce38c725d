"""Words to IPA phones in any language espeak-ng speaks: its phonemiser, and the language names.

espeak-ng (GPL-3, a system package: ``apt-get install espeak-ng``) knows the spelling
rules and dictionaries of about a hundred languages. ``espeak-ng -q --ipa --sep=_ -v
VOICE`` prints a transcript's IPA, words separated by spaces, phones by ``_``;
:func:`phonemize` reads that into one list of IPA phones per word. A few of its
habits are undone here: the ``(en)`` ``(cmn)`` marks where it switches language,
the tone numbers of its Chinese voices, and the ``.`` with which it writes the
retroflex /ʂ ʐ/ and the apical vowel of Mandarin "shi".

Languages are named as espeak-ng names them (``es``, ``fr``, ``pt-br``, ``cmn``...);
a bare code picks the language's first voice (``fr`` -> ``fr-fr``), ``zh`` is Mandarin
read from Chinese characters (``cmn-latn-pinyin``) and ``en`` is American English.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess

from emote.errors import EmoteError, TranscriptError
from emote.phonetics.features import parse_ipa

__all__ = ["ENGLISH", "check_language", "clean_ipa", "language_names", "languages", "phonemize", "voice_of"]

ENGLISH = ("en", "en-us", "en-gb", "eng")
"""Codes that mean English (aligned by PocketSphinx's English model)."""

_ALIASES = {"zh": "cmn-latn-pinyin", "zh-cn": "cmn-latn-pinyin", "cmn": "cmn-latn-pinyin", "en": "en-us"}
_SWITCH = re.compile(r"\([a-z-]+\)")  # espeak's "(en)" when a word is read in another language
# espeak's ASCII-ish spellings in its IPA output (cmn: s. z. ts. i.) and tone numbers.
_FIXES = (("ts.", "ʈʂ"), ("s.", "ʂ"), ("z.", "ʐ"), ("i.", "ʅ"))
_TONES = re.compile(r"(?<=[^_\s])[0-9]+(?=_|\s|$)")
_CHINESE_TONE3 = re.compile(r"(?<=[^_\s])ɜ(?=_|\s|$)")  # the Chinese voices write tone 3 as "ɜ"
_CHINESE = ("cmn", "yue", "hak")


def _require() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise EmoteError(
            "espeak-ng is not installed (apt-get install espeak-ng); it phonemises other languages"
        )
    return exe


@functools.lru_cache(maxsize=1)
def _voices() -> dict[str, str]:
    """Each voice ``espeak-ng --voices`` lists here: its code -> its name ("es": "Spanish (Spain)")."""
    out = subprocess.run([_require(), "--voices"], capture_output=True, text=True, check=True).stdout
    voices: dict[str, str] = {}
    for line in out.splitlines()[1:]:
        fields = line.split()  # Pty, Language, Age/Gender, VoiceName (spaces written as "_"), File...
        if len(fields) >= 4:
            voices.setdefault(fields[1].lower(), fields[3].replace("_", " ").strip())
    return voices


@functools.lru_cache(maxsize=1)
def languages() -> dict[str, str]:
    """Every language code espeak-ng knows here -> the voice that reads it."""
    codes: dict[str, str] = {}
    for code in _voices():
        codes.setdefault(code, code)
        base = code.split("-")[0]
        if base not in codes or code == f"{base}-{base}":  # "fr" -> "fr-fr", not "fr-be"
            codes[base] = code
    for alias, voice in _ALIASES.items():
        if voice in codes or voice.split("-")[0] in codes:
            codes[alias] = voice
    return dict(sorted(codes.items()))


def language_names() -> dict[str, str]:
    """The languages a ``language`` setting takes, for a menu: code -> name, ``"auto"`` first.

    Each espeak-ng voice appears once, under the shortest code that picks it (``fr`` for
    ``fr-fr``, ``zh`` for ``cmn-latn-pinyin``), ordered by name. Without espeak-ng only
    ``auto`` and English, which need none.
    """
    menu = {"auto": "auto (any language)"}
    try:
        known = languages()
    except EmoteError:  # espeak-ng is missing
        return {**menu, "en": "English"}
    shortest: dict[str, str] = {}
    for code, voice in known.items():
        if len(code) < len(shortest.get(voice, code + "-")):
            shortest[voice] = code
    names = _voices()
    named = sorted((names.get(voice, voice), code) for voice, code in shortest.items())
    return {**menu, **{code: name for name, code in named}}


def check_language(language: str) -> str:
    """The espeak-ng voice of ``language`` ("auto" passes through), or a one-line error naming the known ones.

    Raises
    ------
    EmoteError
        espeak-ng does not know the language (or is not installed).
    """
    code = language.strip().lower()
    if code == "auto":
        return code
    known = languages()
    if code not in known:
        raise EmoteError(f"unknown language {language!r}; supported: auto, {', '.join(known)}")
    return known[code]


def voice_of(language: str) -> str:
    """``language`` as the aligners take it: an English code or ``"auto"`` lower-cased as it is
    (English needs no espeak-ng), any other as its espeak-ng voice (:func:`check_language`).

    Raises
    ------
    EmoteError
        Not a string, or a language espeak-ng does not know (the message names the known ones).
    """
    if not isinstance(language, str):
        raise EmoteError(f"language must be a string such as 'auto', 'en' or 'es', got {language!r}")
    code = language.strip().lower()
    return code if code in ENGLISH else check_language(language)


def recognises_ipa(voice: str) -> bool:
    """Whether phones are recognised in IPA (visemes from articulatory features) for ``voice``,
    a :func:`voice_of` result: for every language but English, ``auto`` included."""
    return voice not in ENGLISH


def other_than_english(voice: str) -> bool:
    """Whether ``voice`` (a :func:`voice_of` result) names a language other than English.

    Such a transcript is phonemised by espeak-ng and CTC-aligned (:mod:`emote.audio.ctc_align`),
    and the jaw follows the opening heard in the audio (:func:`emote.audio.formants.hears_jaw`).
    English and ``auto`` keep PocketSphinx and the phones' jaw, which measure better on English.
    """
    return voice not in ("auto", *ENGLISH)


def phonemize(text: str, language: str) -> list[list[str]]:
    """The IPA phones of each word of ``text`` as espeak-ng reads it in ``language``.

    Parameters
    ----------
    text : str
        A transcript in the language's own script.
    language : str
        An espeak-ng language (see :func:`languages`).

    Returns
    -------
    list of list of str
        One list per spoken word (numbers come out as the words they are read as), each
        phone an IPA string that :func:`emote.phonetics.features.parse_ipa` reads.

    Raises
    ------
    TranscriptError
        espeak-ng reads no phones in the text.

    Examples
    --------
    >>> phonemize("hola mundo", "es")  # doctest: +SKIP
    [['o', 'l', 'a'], ['m', 'u', 'n', 'd', 'o']]
    """
    voice = check_language(language)
    if voice == "auto":
        raise ValueError("phonemize needs a language, not 'auto'")
    run = subprocess.run(
        [_require(), "-q", "--ipa", "--sep=_", "-v", voice],
        input=" ".join(text.split()), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if run.returncode != 0:
        raise TranscriptError(
            f"espeak-ng could not read the transcript in {language!r}: {run.stderr.strip()}"
        )
    words = [w for w in (_word(raw) for raw in clean_ipa(run.stdout, voice).split()) if w]
    if not words:
        raise TranscriptError(f"the transcript has no words espeak-ng can read in {language!r}")
    return words


def clean_ipa(ipa: str, voice: str) -> str:
    """espeak-ng's IPA (``--ipa`` output or a phoneme event) as the IPA chart writes it, for ``voice``."""
    ipa = _SWITCH.sub("", ipa)
    ipa = _TONES.sub("", ipa)
    if voice.startswith(_CHINESE):
        ipa = _CHINESE_TONE3.sub("", ipa)
    for espeak, symbol in _FIXES:
        ipa = ipa.replace(espeak, symbol)
    return ipa


def _word(raw: str) -> list[str]:
    """The phones of one word of espeak's output, each one phone that the features know."""
    phones: list[str] = []
    for part in raw.split("_"):
        units = parse_ipa(part)
        if units is None:  # a symbol the chart lacks: keep its known phones
            units = [u for ch in part for u in (parse_ipa(ch) or [])]
        phones.extend(u.symbol for u in units)
    return phones
