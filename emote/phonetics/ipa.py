"""IPA to ARPAbet, for phone labels that arrive in IPA.

Three sources speak IPA to emote: Montreal Forced Aligner's ``english_mfa``
TextGrids (``tʲ``, ``ɫ``, ``aj``, ``ɚ``), espeak-ng's ``--ipa`` output (the
letter-to-sound fallback for words missing from the dictionary) and CTC phone
recognisers such as ``hama``. All are reduced to the 39 ARPAbet phones of the
CMU dictionary, which is what the visemes are defined on. The reduction loses
what animation cannot show anyway: stress, length, aspiration, palatalisation,
nasalisation, and the flap and glottal stop (both realised as ``T``, as CMUdict
spells "water" and "button").

A symbol the table does not list (a click, a uvular nasal, a vowel between chart
positions) is mapped by its articulatory features (:mod:`emote.phonetics.features`):
a consonant to the English phone of its place and manner, a vowel to the English
vowel nearest on the chart.
"""

from __future__ import annotations

import unicodedata

from emote.phonetics.features import IpaPhone, parse_ipa

__all__ = ["IPA_TO_ARPABET", "ipa_to_arpabet"]

# Rows are (IPA, ARPAbet...). Longer keys win (greedy longest match), so diphthongs
# and affricates come out whole.
IPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    # vowels
    "ɑ": ("AA",), "a": ("AA",), "ɒ": ("AO",), "æ": ("AE",), "ʌ": ("AH",), "ə": ("AH",), "ɐ": ("AH",),
    "ɔ": ("AO",), "ɛ": ("EH",), "e": ("EH",), "ɪ": ("IH",), "ɨ": ("IH",), "i": ("IY",), "ʊ": ("UH",),
    "u": ("UW",), "ʉ": ("UW",), "ᵻ": ("IH",), "o": ("OW",), "ɵ": ("OW",), "ɜ": ("ER",), "ɝ": ("ER",), "ɚ": ("ER",),
    "y": ("UW",), "ø": ("UH",), "œ": ("EH",), "ɯ": ("UW",), "ɤ": ("AH",),
    # diphthongs, both the IPA and MFA spellings (aj, aw, ej, ow, ɔj)
    "aɪ": ("AY",), "aj": ("AY",), "ɑɪ": ("AY",), "aʊ": ("AW",), "aw": ("AW",), "ɑʊ": ("AW",),
    "eɪ": ("EY",), "ej": ("EY",), "oʊ": ("OW",), "ow": ("OW",), "əʊ": ("OW",), "ɔɪ": ("OY",), "ɔj": ("OY",),
    "ɪə": ("IH", "R"), "ɛə": ("EH", "R"), "eə": ("EH", "R"), "ʊə": ("UH", "R"), "ɜɹ": ("ER",), "əɹ": ("ER",),
    # consonants
    "b": ("B",), "β": ("B",), "tʃ": ("CH",), "d": ("D",), "ð": ("DH",), "f": ("F",), "ɸ": ("F",),
    "ɡ": ("G",), "g": ("G",), "ɟ": ("G",), "ɣ": ("G",), "h": ("HH",), "ɦ": ("HH",), "x": ("HH",),
    "ç": ("HH",), "χ": ("HH",), "dʒ": ("JH",), "k": ("K",), "c": ("K",), "q": ("K",), "l": ("L",),
    "ɫ": ("L",), "ɬ": ("L",), "ʎ": ("L",), "m": ("M",), "ɱ": ("M",), "n": ("N",), "ɲ": ("N",),
    "ñ": ("N", "Y"), "ŋ": ("NG",), "p": ("P",), "ɹ": ("R",), "r": ("R",), "ɾ": ("T",), "ɻ": ("R",),
    "ʁ": ("R",), "s": ("S",), "ʃ": ("SH",), "t": ("T",), "ʔ": ("T",), "θ": ("TH",), "v": ("V",),
    "ʋ": ("V",), "w": ("W",), "ʍ": ("W",), "ɥ": ("W",), "j": ("Y",), "z": ("Z",), "ʒ": ("ZH",),
    "ts": ("T", "S"), "dz": ("D", "Z"), "ɕ": ("SH",), "ʑ": ("ZH",), "ʂ": ("SH",), "ʐ": ("ZH",),
}  # fmt: skip

# Marks that change nothing visible: stress, length, aspiration and other
# secondary articulations, syllabicity, nasalisation, tie bars, ASCII ':' length.
_DROP = set("ˈˌ'ːˑ:ʰʲʷˠˤ̩̯̃͡‿̪̺̻̥̬̝̞̟̠̈̆̚ʼ˞-.")

_MAX_KEY = max(len(k) for k in IPA_TO_ARPABET)


def _clean(text: str) -> str:
    # NFD splits precomposed letters (ã -> a + combining tilde) so the marks drop.
    # ç and ñ are letters of their own here, so protect them from decomposition.
    text = text.replace("ç", "\0c").replace("ñ", "\0n")
    text = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in text if ch not in _DROP and not unicodedata.combining(ch))
    return text.replace("\0c", "ç").replace("\0n", "ñ").replace("ʧ", "tʃ").replace("ʤ", "dʒ")


def ipa_to_arpabet(ipa: str) -> list[str] | None:
    """ARPAbet phones (no stress) for an IPA string, or None if a symbol is unknown.

    Whitespace separates nothing (``"tʃ"`` and ``"t ʃ"`` are one affricate only
    when written together); marks of stress, length and secondary articulation
    are ignored.

    Examples
    --------
    >>> ipa_to_arpabet("wˈɛntwɜːθ")
    ['W', 'EH', 'N', 'T', 'W', 'ER', 'TH']
    >>> ipa_to_arpabet("tʲ"), ipa_to_arpabet("aj"), ipa_to_arpabet("d͡ʒ")
    (['T'], ['AY'], ['JH'])
    """
    out = _by_table(ipa)
    if out is not None:
        return out
    phones = parse_ipa(ipa)
    return [_by_features(ph) for ph in phones] if phones is not None else None


def _by_table(ipa: str) -> list[str] | None:
    out: list[str] = []
    for part in _clean(ipa).split():
        i = 0
        while i < len(part):
            for size in range(min(_MAX_KEY, len(part) - i), 0, -1):
                phones = IPA_TO_ARPABET.get(part[i : i + size])
                if phones is not None:
                    out.extend(phones)
                    i += size
                    break
            else:
                return None
    return out


# English vowels on the IPA chart (openness, backness, rounded), for vowels the table lacks.
_VOWELS = {
    "IY": (0.0, 0.0, False), "IH": (1 / 6, 0.15, False), "EH": (2 / 3, 0.0, False), "AE": (5 / 6, 0.0, False),
    "AH": (2 / 3, 1.0, False), "AA": (1.0, 1.0, False), "UW": (0.0, 1.0, True), "UH": (1 / 6, 0.85, True),
    "OW": (1 / 3, 1.0, True), "AO": (2 / 3, 1.0, True),
}  # fmt: skip


def _by_features(ph: IpaPhone) -> str:
    """The English phone nearest to an IPA phone's features."""
    if ph.vowel:
        if ph.rhotic:
            return "ER"
        return min(
            _VOWELS,
            key=lambda k: (
                (_VOWELS[k][0] - ph.openness) ** 2
                + 0.25 * (_VOWELS[k][1] - ph.backness) ** 2
                + 0.1 * (_VOWELS[k][2] != ph.rounded)
            ),
        )
    place, manner, voiced = ph.place, ph.manner, ph.voiced
    if place in ("labial-velar", "labial-palatal"):
        return "W"
    if place == "bilabial":
        return "M" if manner == "nasal" else "B" if voiced else "P"
    if place == "labiodental":
        return "M" if manner == "nasal" else "V" if voiced else "F"
    if manner in ("lateral", "lateral-fricative"):
        return "L"
    if ph.sibilant:
        if place == "alveolar":
            return "Z" if voiced else "S"
        if manner == "affricate":
            return "JH" if voiced else "CH"
        return "ZH" if voiced else "SH"
    if place == "dental" and manner == "fricative":
        return "DH" if voiced else "TH"
    if manner == "approximant":
        return "Y" if place == "palatal" else "R"
    if manner == "nasal":
        return "NG" if place in ("velar", "uvular") else "N"
    if place in ("dental", "alveolar", "postalveolar", "retroflex"):
        return "D" if voiced else "T"
    if place in ("palatal", "velar", "uvular"):
        return "G" if voiced else "K"
    return "HH"
