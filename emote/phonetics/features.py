"""Articulatory features of IPA phones: what the mouth does for any phone of any language.

Every phone is described by the features the face can show (International Phonetic
Association, *Handbook of the IPA*, 1999, the consonant and vowel charts):

- consonants: *place* (bilabial ... glottal, and the double articulations
  labial-velar /w/ and labial-palatal /ɥ/), *manner* (stop, nasal, trill, tap,
  fricative, affricate, approximant, lateral, lateral fricative, click), *sibilance*,
  *voicing* and *rounding* (labialisation, ``ʷ``);
- vowels: *openness* (0 close /i u/ ... 1 open /a ɑ/, the chart's four heights with
  the near- and mid- steps between), *backness* (0 front ... 1 back), *rounding*
  and r-colouring.

:func:`parse_ipa` reads an IPA string into :class:`IpaPhone` units (a base symbol,
its tie-barred or conventional affricate partner, then its diacritics), and the
diacritics move the features: ``ʷ`` rounds, ``̜`` un-rounds, ``̥`` devoices, ``̞``
lowers, ``̝`` raises, ``̈`` centralises, ``̟``/``̠`` advance and retract, ``̪`` makes
an alveolar dental. Stress, length, tone, aspiration, nasalisation and palatalisation
change nothing a viewer sees of the lips and jaw; they are read and dropped.

The visemes the phonetic engine derives from these features are in
:mod:`emote.engines.phonetic.visemes` (:func:`~emote.engines.phonetic.visemes.ipa_viseme`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from typing import Literal

__all__ = ["CONSONANTS", "VOWELS", "IpaPhone", "distance", "parse_ipa", "phone_features"]

Place = Literal[
    "bilabial", "labiodental", "dental", "alveolar", "postalveolar", "retroflex", "alveolopalatal",
    "palatal", "velar", "uvular", "pharyngeal", "glottal", "labial-velar", "labial-palatal",
]  # fmt: skip
Manner = Literal[
    "stop", "nasal", "trill", "tap", "fricative", "affricate", "approximant", "lateral",
    "lateral-fricative", "click",
]  # fmt: skip


@dataclass(frozen=True)
class IpaPhone:
    """One phone with its articulatory features.

    Attributes
    ----------
    symbol : str
        The IPA as written (base symbol and the diacritics that were read).
    vowel : bool
        A vowel (syllable nucleus) rather than a consonant.
    place, manner : str or None
        Consonants only (see :data:`Place`, :data:`Manner`).
    sibilant : bool
        /s z ʃ ʒ ɕ ʑ ʂ ʐ/ and the affricates built on them.
    voiced : bool
    rounded : bool
        Lip rounding: rounded vowels, /w ɥ/, labialised consonants (``kʷ``).
    openness, backness : float
        Vowels only: 0 close ... 1 open; 0 front ... 1 back.
    rhotic : bool
        R-coloured vowels (/ɚ ɝ/).
    """

    symbol: str
    vowel: bool
    place: str | None = None
    manner: str | None = None
    sibilant: bool = False
    voiced: bool = True
    rounded: bool = False
    openness: float = 0.0
    backness: float = 0.0
    rhotic: bool = False

    @property
    def base(self) -> str:
        """The symbol without its diacritics (``"kʷ"`` -> ``"k"``, ``"tʃ"`` stays)."""
        return "".join(ch for ch in self.symbol if ch not in _MODIFIERS)


def distance(a: IpaPhone, b: IpaPhone) -> float:
    """How far apart two phones are in articulation (0 alike; a vowel and a consonant are 10 apart).

    Consonants: place 2, manner 1, sibilance 1, voicing and rounding 0.5 each. Vowels: 3 per
    unit of openness, 2 per unit of backness, 1 for rounding.
    """
    if a.vowel != b.vowel:
        return 10.0
    if a.vowel:
        return 3 * abs(a.openness - b.openness) + 2 * abs(a.backness - b.backness) + (a.rounded != b.rounded)
    return (
        2.0 * (a.place != b.place) + (a.manner != b.manner) + (a.sibilant != b.sibilant)
        + 0.5 * (a.voiced != b.voiced) + 0.5 * (a.rounded != b.rounded)
    )  # fmt: skip


def _c(place: Place, manner: Manner, voiced: bool, *, sibilant: bool = False, rounded: bool = False):
    return {"vowel": False, "place": place, "manner": manner, "voiced": voiced, "sibilant": sibilant,
            "rounded": rounded}  # fmt: skip


def _v(openness: float, backness: float, rounded: bool, *, rhotic: bool = False):
    return {"vowel": True, "openness": openness, "backness": backness, "rounded": rounded, "rhotic": rhotic}


# The IPA consonant chart (pulmonic and non-pulmonic), one base symbol a row.
# fmt: off
CONSONANTS: dict[str, dict] = {
    "p": _c("bilabial", "stop", False), "b": _c("bilabial", "stop", True),
    "m": _c("bilabial", "nasal", True), "ʙ": _c("bilabial", "trill", True),
    "ɸ": _c("bilabial", "fricative", False), "β": _c("bilabial", "fricative", True),
    "ɱ": _c("labiodental", "nasal", True), "ⱱ": _c("labiodental", "tap", True),
    "f": _c("labiodental", "fricative", False), "v": _c("labiodental", "fricative", True),
    "ʋ": _c("labiodental", "approximant", True),
    "θ": _c("dental", "fricative", False), "ð": _c("dental", "fricative", True),
    "t": _c("alveolar", "stop", False), "d": _c("alveolar", "stop", True), "n": _c("alveolar", "nasal", True),
    "r": _c("alveolar", "trill", True), "ɾ": _c("alveolar", "tap", True),
    "s": _c("alveolar", "fricative", False, sibilant=True), "z": _c("alveolar", "fricative", True, sibilant=True),
    "ɬ": _c("alveolar", "lateral-fricative", False), "ɮ": _c("alveolar", "lateral-fricative", True),
    "ɹ": _c("postalveolar", "approximant", True), "l": _c("alveolar", "lateral", True),
    "ɫ": _c("alveolar", "lateral", True),
    "ʃ": _c("postalveolar", "fricative", False, sibilant=True),
    "ʒ": _c("postalveolar", "fricative", True, sibilant=True),
    "ʈ": _c("retroflex", "stop", False), "ɖ": _c("retroflex", "stop", True), "ɳ": _c("retroflex", "nasal", True),
    "ɽ": _c("retroflex", "tap", True), "ʂ": _c("retroflex", "fricative", False, sibilant=True),
    "ʐ": _c("retroflex", "fricative", True, sibilant=True), "ɻ": _c("retroflex", "approximant", True),
    "ɭ": _c("retroflex", "lateral", True),
    "ɕ": _c("alveolopalatal", "fricative", False, sibilant=True),
    "ʑ": _c("alveolopalatal", "fricative", True, sibilant=True),
    "c": _c("palatal", "stop", False), "ɟ": _c("palatal", "stop", True), "ɲ": _c("palatal", "nasal", True),
    "ç": _c("palatal", "fricative", False), "ʝ": _c("palatal", "fricative", True),
    "j": _c("palatal", "approximant", True), "ʎ": _c("palatal", "lateral", True),
    "k": _c("velar", "stop", False), "g": _c("velar", "stop", True), "ɡ": _c("velar", "stop", True),
    "ŋ": _c("velar", "nasal", True), "x": _c("velar", "fricative", False), "ɣ": _c("velar", "fricative", True),
    "ɰ": _c("velar", "approximant", True), "ʟ": _c("velar", "lateral", True),
    "q": _c("uvular", "stop", False), "ɢ": _c("uvular", "stop", True), "ɴ": _c("uvular", "nasal", True),
    "ʀ": _c("uvular", "trill", True), "χ": _c("uvular", "fricative", False), "ʁ": _c("uvular", "fricative", True),
    "ħ": _c("pharyngeal", "fricative", False), "ʕ": _c("pharyngeal", "fricative", True),
    "ʔ": _c("glottal", "stop", False), "h": _c("glottal", "fricative", False), "ɦ": _c("glottal", "fricative", True),
    "w": _c("labial-velar", "approximant", True, rounded=True),
    "ʍ": _c("labial-velar", "fricative", False, rounded=True),
    "ɥ": _c("labial-palatal", "approximant", True, rounded=True),
    # implosives and clicks, by place
    "ɓ": _c("bilabial", "stop", True), "ɗ": _c("alveolar", "stop", True), "ʄ": _c("palatal", "stop", True),
    "ɠ": _c("velar", "stop", True), "ʛ": _c("uvular", "stop", True),
    "ʘ": _c("bilabial", "click", False), "ǀ": _c("dental", "click", False), "ǃ": _c("alveolar", "click", False),
    "ǂ": _c("palatal", "click", False), "ǁ": _c("alveolar", "click", False),
}

# The IPA vowel chart: openness 0 close, 1/6 near-close, 1/3 close-mid, 1/2 mid,
# 2/3 open-mid, 5/6 near-open, 1 open; backness 0 front, 0.5 central, 1 back.
VOWELS: dict[str, dict] = {
    "i": _v(0.0, 0.0, False), "y": _v(0.0, 0.0, True), "ɨ": _v(0.0, 0.5, False), "ʉ": _v(0.0, 0.5, True),
    "ɯ": _v(0.0, 1.0, False), "u": _v(0.0, 1.0, True),
    # the sinologists' apical vowels of Mandarin "si" and "shi" (not IPA letters, but written so)
    "ɿ": _v(0.0, 0.5, False), "ʅ": _v(0.0, 0.5, False),
    "ɪ": _v(1 / 6, 0.15, False), "ʏ": _v(1 / 6, 0.15, True), "ᵻ": _v(1 / 6, 0.5, False),
    "ʊ": _v(1 / 6, 0.85, True),
    "e": _v(1 / 3, 0.0, False), "ø": _v(1 / 3, 0.0, True), "ɘ": _v(1 / 3, 0.5, False), "ɵ": _v(1 / 3, 0.5, True),
    "ɤ": _v(1 / 3, 1.0, False), "o": _v(1 / 3, 1.0, True),
    "ə": _v(0.5, 0.5, False), "ɚ": _v(0.5, 0.5, False, rhotic=True),
    "ɛ": _v(2 / 3, 0.0, False), "œ": _v(2 / 3, 0.0, True), "ɜ": _v(2 / 3, 0.5, False),
    "ɝ": _v(2 / 3, 0.5, False, rhotic=True), "ɞ": _v(2 / 3, 0.5, True), "ʌ": _v(2 / 3, 1.0, False),
    "ɔ": _v(2 / 3, 1.0, True),
    "æ": _v(5 / 6, 0.0, False), "ɐ": _v(5 / 6, 0.5, False),
    "a": _v(1.0, 0.0, False), "ɶ": _v(1.0, 0.0, True), "ä": _v(1.0, 0.5, False), "ɑ": _v(1.0, 1.0, False),
    "ɒ": _v(1.0, 1.0, True),
}
# fmt: on

# Two symbols that are one phone without a tie bar: affricates as espeak, MFA and
# hama write them (the tie bar itself is read too: t͡s, d͡ʒ).
_AFFRICATES = frozenset(
    {"ts", "dz", "tʃ", "dʒ", "tɕ", "dʑ", "ʈʂ", "ɖʐ", "pf", "bv", "tθ", "dð", "kx", "tɬ", "dɮ"}
)
_LIGATURES = {"ʧ": "tʃ", "ʤ": "dʒ", "ʦ": "ts", "ʣ": "dz", "ʨ": "tɕ", "ʥ": "dʑ"}
_TIE = "\u0361\u035c"  # combining double inverted breve / double breve below

# Diacritics (combining and modifier letters) that move a feature.
_ROUND = {"ʷ", "\u0339"}  # labialised; more rounded
_UNROUND = {"\u031c"}  # less rounded
_DEVOICE = {"\u0325", "\u030a"}
_VOICE = {"\u032c"}
_LOWER = {"\u031e", "˕"}
_RAISE = {"\u031d", "˔"}
_CENTRAL = {"\u0308", "\u033d"}
_ADVANCE = {"\u031f", "˖"}
_RETRACT = {"\u0320", "˗"}
_DENTAL = {"\u032a"}
_RHOTIC = {"˞"}
# Read and dropped: stress, length, tone letters and numbers, aspiration, palatalisation,
# velarisation, pharyngealisation, nasalisation, syllabicity, release, ejective, breathy,
# creaky, apical/laminal, non-syllabic, compressed lips (ᵝ), schwa release (ᵊ), tie marks
# and espeak's separators.
_IGNORED = set("ᵝᵊˈˌ'ːˑ:ʰʱʲˠˤⁿˡ̩̯̃̚ʼ̤̰̺̻͈̆̍ʼ‿.-_|˥˦˧˨˩꜔0123456789¹²³⁴⁵⁰⁻⁽⁾~\u200d")
_MODIFIERS = (
    _ROUND
    | _UNROUND
    | _DEVOICE
    | _VOICE
    | _LOWER
    | _RAISE
    | _CENTRAL
    | _ADVANCE
    | _RETRACT
    | _DENTAL
    | _RHOTIC
)
_STEP = 1 / 6  # one step of openness on the chart


def phone_features(symbol: str) -> IpaPhone | None:
    """The features of one IPA phone (a base symbol and its diacritics), or None.

    Examples
    --------
    >>> phone_features("kʷ").rounded, phone_features("ɛ").openness
    (True, 0.6666666666666666)
    """
    phones = parse_ipa(symbol)
    return phones[0] if phones is not None and len(phones) == 1 else None


def parse_ipa(text: str) -> list[IpaPhone] | None:
    """Split an IPA string into phones with their features; None if a symbol is unknown.

    Whitespace and espeak-ng's phone separators (``_``) separate nothing; two vowels in
    a row (a diphthong, ``aɪ``) are two phones; an affricate (``ts``, ``t͡ʃ``, ``ʈʂ``)
    is one.

    Examples
    --------
    >>> [p.symbol for p in parse_ipa("t͡ʃˈaʊ kʷa")]
    ['tʃ', 'a', 'ʊ', 'kʷ', 'a']
    >>> parse_ipa("q̃ɵ̞")[1].openness
    0.5
    >>> parse_ipa("#") is None
    True
    """
    chars = _chars(text)
    out: list[IpaPhone] = []
    i = 0
    while i < len(chars):
        ch = chars[i]
        if ch in _IGNORED or ch.isspace():
            i += 1
            continue
        if ch in _MODIFIERS:
            if not out:
                i += 1  # a lone diacritic (espeak writes ʲ as its own event)
                continue
            out[-1] = _modify(out[-1], ch)
            i += 1
            continue
        base = ch
        j = i + 1
        # An affricate: a tie bar, or a known pair written together.
        k = j
        while k < len(chars) and chars[k] in _TIE:
            k += 1
        joined = k < len(chars) and (k > j or base + chars[k] in _AFFRICATES)
        if joined and base in CONSONANTS and chars[k] in CONSONANTS:
            base, j = base + chars[k], k + 1
        while j < len(chars) and chars[j] in _TIE:
            j += 1  # a tie bar over nothing we join
        features = _base(base)
        if features is None:
            return None
        out.append(features)
        i = j
    return out


def _chars(text: str) -> list[str]:
    """Characters to read: precomposed letters split (ã -> a + tilde) except those that are letters here."""
    keep = {"ç": "\0c", "ä": "\0a"}
    for letter, mark in keep.items():
        text = text.replace(letter, mark)
    text = unicodedata.normalize("NFD", text)
    for letter, mark in keep.items():
        text = text.replace(mark, letter)
    for ligature, spelled in _LIGATURES.items():
        text = text.replace(ligature, spelled)
    return list(text)


def _base(symbol: str) -> IpaPhone | None:
    if symbol in VOWELS:
        return IpaPhone(symbol, **VOWELS[symbol])
    if symbol in CONSONANTS:
        return IpaPhone(symbol, **CONSONANTS[symbol])
    if len(symbol) == 2:  # an affricate: the stop's place, the fricative's sibilance
        stop, fricative = CONSONANTS[symbol[0]], CONSONANTS[symbol[1]]
        return IpaPhone(
            symbol, vowel=False, place=fricative["place"] if fricative["sibilant"] else stop["place"],
            manner="affricate", sibilant=fricative["sibilant"], voiced=stop["voiced"],
            rounded=fricative["rounded"],
        )  # fmt: skip
    return None


def _modify(phone: IpaPhone, mark: str) -> IpaPhone:
    """Apply one diacritic to the phone before it."""
    symbol = phone.symbol + mark
    if mark in _ROUND:
        return replace(phone, symbol=symbol, rounded=True)
    if mark in _UNROUND:
        return replace(phone, symbol=symbol, rounded=False)
    if mark in _DEVOICE:
        return replace(phone, symbol=symbol, voiced=False)
    if mark in _VOICE:
        return replace(phone, symbol=symbol, voiced=True)
    if mark in _RHOTIC:
        return replace(phone, symbol=symbol, rhotic=True)
    if not phone.vowel:
        if mark in _DENTAL and phone.place == "alveolar":
            return replace(phone, symbol=symbol, place="dental")
        return replace(phone, symbol=symbol)
    if mark in _LOWER:
        return replace(phone, symbol=symbol, openness=min(phone.openness + _STEP, 1.0))
    if mark in _RAISE:
        return replace(phone, symbol=symbol, openness=max(phone.openness - _STEP, 0.0))
    if mark in _CENTRAL:
        return replace(phone, symbol=symbol, backness=0.5)
    if mark in _ADVANCE:
        return replace(phone, symbol=symbol, backness=max(phone.backness - 0.25, 0.0))
    if mark in _RETRACT:
        return replace(phone, symbol=symbol, backness=min(phone.backness + 0.25, 1.0))
    return replace(phone, symbol=symbol)
