"""The phonetic engine: phones → visemes → coarticulated ARKit mouth and jaw curves.

No weights, deterministic, fast (vectorised numpy); the teacher of the data engine.

>>> from emote.engines.phonetic import animate_phones, PhoneticSettings
"""

from emote.engines.phonetic.engine import PhoneticSettings, animate_phones
from emote.phonetics.phoneset import PhoneLike, normalize_label, to_segments

__all__ = ["PhoneLike", "PhoneticSettings", "animate_phones", "normalize_label", "to_segments"]
