"""Lines in other languages for the espeak-ng voices: generated words in each language's spelling.

The multilingual voices (:data:`emote.training.data.tts.LANGUAGE_VOICES`) need text in their
own language, and the lines ``benchmarks/languages.py`` speaks are the test, so they are never
used here. Instead every line is made from a seed:

- **words** are one to three syllables drawn from the language's own spelling of its
  onsets, vowels and codas (:data:`SPELLINGS`: Latin, Cyrillic, Greek, Devanagari, kana,
  Hangul composed from its jamo, pinyin with tone digits), so espeak-ng's letter-to-sound
  rules for that language read them with its phonotactics and phones: pseudo-words, the
  "nonsense syllables" of articulation tests, which cover a language's consonant-vowel
  pairs far more evenly than a few hundred real sentences would;
- **numbers** (a fifth of the words) are digits, which espeak-ng expands into the
  language's real number words ("1234" → "mil doscientos treinta y cuatro");
- punctuation makes statements, questions, exclamations and comma pauses, which espeak-ng
  voices with the language's intonation and pause lengths.

Bilabials (/p b m/) and labiodentals (/f v/), the sounds whose mouth shapes are judged, are
drawn twice as often as other onsets. Every choice comes from ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["LANGUAGES", "SPELLINGS", "Spelling", "language_lines"]


@dataclass(frozen=True)
class Spelling:
    """How a language writes its syllables.

    Attributes
    ----------
    onsets : tuple[str, ...]
        Syllable-initial spellings; the first ``lip_onsets`` are lip sounds (drawn twice as
        often); ``""`` is a vowel-initial syllable.
    vowels : tuple[str, ...]
    codas : tuple[str, ...]
        Syllable-final spellings (``""``: an open syllable).
    lip_onsets : int
    join : str
        Between syllables of one word (``""``; pinyin: ``" "`` after the tone digit).
    tones : bool
        Add a tone digit 1–4 after each syllable (pinyin).
    """

    onsets: tuple[str, ...]
    vowels: tuple[str, ...]
    codas: tuple[str, ...] = ("",)
    lip_onsets: int = 0
    join: str = ""
    tones: bool = False

    def syllable(self, rng: random.Random) -> str:
        weights = [2.0 if i < self.lip_onsets else 1.0 for i in range(len(self.onsets))]
        onset = rng.choices(self.onsets, weights)[0]
        coda = rng.choice(self.codas) if rng.random() < 0.35 else ""
        return onset + rng.choice(self.vowels) + coda + (str(rng.randint(1, 4)) if self.tones else "")


def _split(text: str) -> tuple[str, ...]:
    """``"p b m"`` → ``("p", "b", "m")``; ``"-"`` stands for the empty spelling."""
    return tuple("" if s == "-" else s for s in text.split())


def _hangul(initial: int, medial: int, final: int) -> str:
    """One Hangul syllable block from jamo indices (Unicode's composition: 0xAC00 + (i·21 + m)·28 + f)."""
    return chr(0xAC00 + (initial * 21 + medial) * 28 + final)


def _korean() -> Spelling:
    # Initials ㅂ ㅁ ㅍ first (lips), then ㄱ ㄴ ㄷ ㄹ ㅅ ㅇ ㅈ ㅊ ㅋ ㅌ ㅎ; vowels ㅏ ㅐ ㅓ ㅔ ㅗ ㅜ ㅡ ㅣ.
    initials, medials = (7, 6, 17, 0, 2, 3, 5, 9, 11, 12, 14, 15, 16, 18), (0, 1, 4, 5, 8, 13, 18, 20)
    blocks = tuple(_hangul(i, m, 0) for i in initials for m in medials)
    # A final consonant (ㄱ ㄴ ㄹ ㅁ ㅂ ㅇ) is part of the block: some blocks get one.
    closed = tuple(_hangul(i, m, f) for i in initials[:6] for m in medials[:4] for f in (4, 8, 16, 17, 21, 1))
    return Spelling(onsets=blocks + closed, vowels=("",), lip_onsets=3 * len(medials))


# The kana are whole syllables: onsets carry them, the vowel is empty; ん is a coda.
_KANA_LIPS = "ば び ぶ べ ぼ ぱ ぴ ぷ ぺ ぽ ま み む め も ふ"
_KANA = ("あ い う え お か き く け こ さ し す せ そ た ち つ て と な に ぬ ね の は ひ へ ほ "
         "や ゆ よ ら り る れ ろ わ が ぎ ぐ げ ご ざ じ ず ぜ ぞ だ で ど きょ しゃ ちゅ りょ")  # fmt: skip

SPELLINGS: dict[str, Spelling] = {
    "es": Spelling(_split("p b m f v t d n l r s c ch j ll ñ g qu z -"), _split("a e i o u ue ie ia"),
                   _split("n s l r"), lip_onsets=5),
    "fr": Spelling(_split("p b m f v t d n l r s ch j c g qu z -"), _split("a é è i o ou u eu on an in oi"),
                   _split("r l s"), lip_onsets=5),
    "de": Spelling(_split("p b m f w t d n l r s sch k g h z -"), _split("a e i o u ä ö ü au ei ie"),
                   _split("n m l s t ch"), lip_onsets=5),
    "it": Spelling(_split("p b m f v pp mm t d n l r s c g z gn -"), _split("a e i o u ia io"),
                   _split("n l r"), lip_onsets=7),
    "pt": Spelling(_split("p b m f v t d n l r s c g j lh nh -"), _split("a e i o u ão ei ou"),
                   _split("s r m l"), lip_onsets=5),
    "ru": Spelling(_split("п б м ф в т д н л р с з к г ш ж ч -"), _split("а е и о у ы я"),
                   _split("н м л р с т к"), lip_onsets=5),
    "ja": Spelling(_split(_KANA_LIPS + " " + _KANA), ("",), ("ん",), lip_onsets=len(_KANA_LIPS.split())),
    "ko": _korean(),
    "zh": Spelling(_split("b p m f d t n l g k h j q x zh ch sh r z c s"),
                   _split("a o e i u ai ei ao ou an en ang eng"), lip_onsets=4, join=" ", tones=True),
    "nl": Spelling(_split("p b m f v w t d n l r s k g h z j -"), _split("a e i o u aa ee oo oe ui ij eu"),
                   _split("n m l r s t k"), lip_onsets=6),
    "pl": Spelling(_split("p b m f w t d n l ł r s k g ch sz cz ż -"), _split("a e i o u y ą ę ó"),
                   _split("m n k ł"), lip_onsets=5),
    "tr": Spelling(_split("p b m f v t d n l r s k g ç ş c y z h -"), _split("a e ı i o ö u ü"),
                   _split("n m l r k"), lip_onsets=5),
    "sv": Spelling(_split("p b m f v t d n l r s k g h j -"), _split("a e i o u y å ä ö"),
                   _split("n m l r t"), lip_onsets=5),
    "el": Spelling(_split("π μπ μ φ β τ ντ δ ν λ ρ σ κ γ χ ζ -"), _split("α ε ι ο ου η ω"),
                   _split("ς ν"), lip_onsets=5),
    "hi": Spelling(_split("प ब म फ भ त द न ल र स क ग ह च ज श"), _split("- ा ि ी ु ू े ो"),
                   lip_onsets=5),
}  # fmt: skip
"""Syllable spellings of the fifteen languages of :data:`emote.training.data.tts.LANGUAGE_VOICES`."""

LANGUAGES: tuple[str, ...] = tuple(SPELLINGS)

_PUNCTUATION = (".", ".", ".", "?", "!")


def _word(spelling: Spelling, rng: random.Random) -> str:
    if rng.random() < 0.2:  # a number: the language's own number words
        return str(rng.choice((rng.randint(0, 20), rng.randint(21, 999), rng.randint(1000, 9999))))
    return spelling.join.join(spelling.syllable(rng) for _ in range(rng.choice((1, 2, 2, 2, 3))))


def language_lines(language: str, seed: int) -> Iterator[str]:
    """An endless, reproducible stream of lines in ``language`` (a key of :data:`SPELLINGS`).

    Parameters
    ----------
    language : str
    seed : int

    Yields
    ------
    str
        Three to nine words with a comma now and then and a closing ``.``, ``?`` or ``!``.

    Raises
    ------
    KeyError
        An unknown language.

    Examples
    --------
    >>> from itertools import islice
    >>> list(islice(language_lines("es", 1), 3)) == list(islice(language_lines("es", 1), 3))
    True
    """
    spelling = SPELLINGS[language]
    rng = random.Random(f"{language}:{seed}")
    space = "" if language == "ja" else " "
    while True:
        words = [_word(spelling, rng) for _ in range(rng.randint(3, 9))]
        line = ""
        for i, w in enumerate(words):
            line += (space if i else "") + w
            if 0 < i < len(words) - 1 and rng.random() < 0.12:
                line += "、" if language == "ja" else ","
        yield line + ("。" if language == "ja" and rng.random() < 0.5 else rng.choice(_PUNCTUATION))
