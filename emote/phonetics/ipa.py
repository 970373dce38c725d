"""IPA to ARPAbet, for phone labels that arrive in IPA.

Three sources speak IPA to emote: Montreal Forced Aligner's ``english_mfa``
TextGrids (``tʲ``, ``ɫ``, ``aj``, ``ɚ``), espeak-ng's ``--ipa`` output (the
letter-to-sound fallback for words missing from the dictionary) and CTC phone
recognisers such as ``hama``. All are reduced to the 39 ARPAbet phones of the
CMU dictionary, which is what the visemes are defined on. The reduction loses
what animation cannot show anyway: stress, length, aspiration, palatalisation,
nasalisation, and the flap and glottal stop (both realised as ``T``, as CMUdict
spells "water" and "button").
"""

from __future__ import annotations

import unicodedata

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
