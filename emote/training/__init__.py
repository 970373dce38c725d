"""Training the neural engine: the data engine, losses and the three training stages.

- :mod:`~emote.training.data` — the data engine: synthetic (TTS) and captured training data.
- :mod:`~emote.training.losses` — reconstruction, lip, emotion and exchange losses.
- :mod:`~emote.training.train` — the three training stages (``emote train``).

Training sits on top of the inference layers (:mod:`emote.nn`, the engines, the
performance layer); nothing below imports it.
"""
