"""Phonetic facts every layer shares: the phone labels, phone classes and closure marks.

The base of the package: it imports nothing of emote's but itself, so the audio
front-end, the engines, the performance layer, the metrics and the neural
network's features all read one definition.

- :mod:`~emote.phonetics.labels` — ARPAbet, silence, the recogniser's phone
  classes, and :func:`~emote.phonetics.labels.normalize_label` for other tools' labels.
- :mod:`~emote.phonetics.ipa` — IPA to ARPAbet.
- :mod:`~emote.phonetics.features` — articulatory features of IPA phones (any language),
  from which the phonetic engine derives visemes.
- :mod:`~emote.phonetics.phoneset` — phone groups (bilabials, labiodentals, vowels...),
  cleaned phone :class:`~emote.phonetics.phoneset.Segments` and the frames an interval owns.
- :mod:`~emote.phonetics.marks` — the closure marks the engines write and the
  performance layer reads back.
"""
