"""The neural engine's model: EMOTE-style networks, features, losses, training and model files.

- :mod:`~emote.models.features` — the features the network reads (log-mel, phone posteriors) (data engine and inference).
- :mod:`~emote.models.networks` — motion prior (temporal VAE), speech and emotion encoders, classifier.
- :mod:`~emote.models.losses` — reconstruction, lip, emotion and exchange losses.
- :mod:`~emote.models.train` — the three training stages (``emote train``).
- :mod:`~emote.models.checkpoint` — model files (``checkpoints/emote_tts.pt``).
- :mod:`~emote.models.config` — model and training configuration (TOML/JSON).

Inference lives in :mod:`emote.engines.neural`.
"""
