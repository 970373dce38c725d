"""Transcript normalisation: what a person types into the words an aligner looks up.

Lower case; numbers spelled out (``42`` -> ``forty two``, ``3.5`` -> ``three
point five``, ``1999`` -> ``nineteen ninety nine``, ``2nd`` -> ``second``, ``$5`` ->
``five dollars``, ``50%`` -> ``fifty percent``); ``&`` -> ``and``; hyphens and
slashes split words; apostrophes inside words stay (``don't``, ``i'm``); every
other punctuation mark goes. Letters with accents are kept (the dictionary
lookup and the letter-to-sound fallback decide what to do with them).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_text", "number_to_words"]

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
_ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}  # fmt: skip
_SYMBOLS = {"&": " and ", "%": " percent ", "+": " plus ", "=": " equals ", "@": " at "}
_CURRENCY = {"$": "dollars", "€": "euros", "£": "pounds"}

_TOKEN = re.compile(
    r"(?P<cur>[$€£])?(?P<num>\d+(?:[,]\d{3})*(?:\.\d+)?)(?P<ord>st|nd|rd|th)?\b|(?P<word>[^\W\d_]+(?:'[^\W\d_]+)*)",
)


def number_to_words(n: int) -> str:
    """Spell a non-negative integer in English words (``1042`` -> ``one thousand forty two``)."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    for scale, name in _SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return number_to_words(high) + " " + name + ("" if rest == 0 else " " + number_to_words(rest))
    raise AssertionError("unreachable")


def _ordinal(words: str) -> str:
    head, _, last = words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head} {last}".strip()


def _spell_number(text: str, ordinal: bool) -> str:
    text = text.replace(",", "")
    whole, _, frac = text.partition(".")
    n = int(whole)
    if frac:
        return number_to_words(n) + " point " + " ".join(_ONES[int(d)] for d in frac)
    if ordinal:
        return _ordinal(number_to_words(n))
    # Years are read in pairs: 1999 -> nineteen ninety nine, 2010 -> twenty ten (not 2000-2009).
    if 1100 <= n <= 2099 and not 2000 <= n <= 2009 and len(whole) == 4:
        high, low = divmod(n, 100)
        tail = "hundred" if low == 0 else ("oh " + _ONES[low] if low < 10 else number_to_words(low))
        return number_to_words(high) + " " + tail
    return number_to_words(n)


def normalize_text(text: str) -> list[str]:
    """Words of ``text`` ready for dictionary lookup: lower case, numbers spelled out.

    Examples
    --------
    >>> normalize_text("Hello, World! It's 3:30 on May 2nd, 1999 -- 50% off & $5.")
    ['hello', 'world', "it's", 'three', 'thirty', 'on', 'may', 'second', 'nineteen', 'ninety', 'nine', 'fifty', 'percent', 'off', 'and', 'five', 'dollars']
    """
    text = unicodedata.normalize("NFC", text).replace("\u2019", "'").replace("`", "'")
    for symbol, spoken in _SYMBOLS.items():
        text = text.replace(symbol, spoken)
    words: list[str] = []
    for m in _TOKEN.finditer(text.lower()):
        if m.group("word"):
            words.append(m.group("word"))
            continue
        spelled = _spell_number(m.group("num"), ordinal=m.group("ord") is not None).split()
        words.extend(spelled)
        if m.group("cur"):
            words.append(_CURRENCY[m.group("cur")])
    return words
