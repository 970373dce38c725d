"""Phone labels: the ARPAbet set emote speaks, silence, and reading other tools' labels.

Every layer that names phones (the audio front-end, the engines, the metrics, the
neural engine's phone features, the training data) takes them from here:
ARPAbet without stress digits (``AA AE AH ... ZH``), silence as ``"SIL"``.
:func:`normalize_label` maps what other tools write (``AA1``, ``sil``, ``sp``, IPA
from MFA) onto that set.
"""

from __future__ import annotations

import re

from emote.phonetics.ipa import ipa_to_arpabet

__all__ = ["ARPABET", "PHONE_CLASSES", "PHONE_SET", "SIL", "ipa_label", "ipa_of", "normalize_label"]

ARPABET: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH",
    "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V",
    "W", "Y", "Z", "ZH",
)  # fmt: skip
"""The 39 phones of the CMU Pronouncing Dictionary, stress removed."""

SIL = "SIL"
"""The label of silence (and of non-speech: noise, breath, laughter)."""

PHONE_SET = frozenset((*ARPABET, SIL))

PHONE_CLASSES: tuple[str, ...] = (*ARPABET, SIL, "<blank>")
"""The phone recogniser's posterior columns (the neural engine's phone features):
:data:`ARPABET`, silence, and the CTC blank."""


# What aligners and corpora write for silence and non-speech. Compared after
# lower-casing and stripping brackets: "<sil>", "[NOISE]", "+SPN+", "{SL}".
_SILENCE = frozenset(
    {"", "sil", "sp", "spn", "sl", "pau", "h#", "#", "silence", "noise", "nsn", "breath", "laugh", "cough",
     "eps", "<eps>", "garbage", "ns", "bg", "epi", "pause", "lg", "ls", "br"}
)  # fmt: skip
_BRACKETS = "<>[]{}+"
# TIMIT/Buckeye and festival's "radio" set extend ARPAbet with reduced and allophonic
# phones; each is realised by the mouth like the CMU phone it maps to.
_EXTENDED = {
    "AX": "AH", "AXH": "AH", "AXR": "ER", "IX": "IH", "UX": "UW", "DX": "T", "NX": "N", "Q": "T",
    "EL": "L", "EM": "M", "EN": "N", "ENG": "NG", "HV": "HH",
}  # fmt: skip
_STRESS = re.compile(r"[012]$")


def ipa_label(ipa: str) -> str:
    """The label of a phone written in IPA: between slashes (``"/ɲ/"``), as linguists write phonemes.

    The slashes tell an IPA phone from an ARPAbet one spelled alike (IPA /y/ is a rounded
    vowel, ARPAbet ``Y`` the glide /j/). The phonetic engine gives such a phone the viseme
    of its articulatory features; every other reader folds it to ARPAbet.
    """
    return f"/{ipa}/"


def ipa_of(label: str) -> str | None:
    """The IPA inside an :func:`ipa_label` (``"/ɲ/"`` -> ``"ɲ"``), or None for any other label."""
    if len(label) > 2 and label[0] == "/" and label[-1] == "/":
        return label[1:-1]
    return None


def normalize_label(label: str) -> list[str] | None:
    """ARPAbet phones for a phone label as other tools write it, or None if unknown.

    - silence and non-speech (``""``, ``sil``, ``sp``, ``spn``, ``<sil>``, ``+NSN+``,
      ``[NOISE]``...) become ``["SIL"]``;
    - ARPAbet in any case, with or without stress (``AA1``, ``aa``) is itself, and
      the TIMIT/festival extensions map to the CMU phone (``AX`` -> ``AH``, ``DX`` -> ``T``);
    - IPA (MFA's ``english_mfa`` set, espeak, hama) is mapped by
      :func:`emote.phonetics.ipa.ipa_to_arpabet`, and so is an IPA label in slashes
      (:func:`ipa_label`, the multilingual aligner's and recogniser's phones);
    - several ARPAbet phones run together (``PT`` in a hand-made tier, a closure and
      release labelled as one) become the list of them, which a reader then splits
      evenly over the interval.

    Examples
    --------
    >>> normalize_label("AA1"), normalize_label("sp"), normalize_label("ɫ"), normalize_label("PT")
    (['AA'], ['SIL'], ['L'], ['P', 'T'])
    """
    text = label.strip()
    ipa = ipa_of(text)
    if ipa is not None:
        phones = ipa_to_arpabet(ipa)
        return [SIL] if phones == [] else phones  # a lone stress or length mark: nothing spoken
    if text.strip(_BRACKETS).lower() in _SILENCE or text.upper() == SIL:
        return [SIL]
    arpa = _STRESS.sub("", text).upper()
    if text.isascii() and (arpa in PHONE_SET or arpa in _EXTENDED):
        return [_EXTENDED.get(arpa, arpa)]
    if (text.isascii() and text.isupper()) or (text.isascii() and " " in text):
        split = _split_arpabet(text.upper().split())
        if split is not None:
            return split
    return ipa_to_arpabet(text)


def _split_arpabet(tokens: list[str]) -> list[str] | None:
    """Split run-together ARPAbet ("PT", "NG K") greedily, longest symbol first."""
    out: list[str] = []
    for token in tokens:
        token = re.sub(r"[012]", "", token)
        i = 0
        while i < len(token):
            for size in (2, 1):
                if token[i : i + size] in PHONE_SET:
                    out.append(token[i : i + size])
                    i += size
                    break
            else:
                return None
    return out
