"""The neural engine's networks for inference: EMOTE-style model, features and model files.

- :mod:`~emote.nn.features` — the features the network reads (log-mel, phone posteriors) (data engine and inference).
- :mod:`~emote.nn.networks` — motion prior (temporal VAE), speech and emotion encoders, classifier.
- :mod:`~emote.nn.checkpoint` — model files (``checkpoints/emote_tts.pt``).
- :mod:`~emote.nn.config` — model and training configuration (TOML/JSON).

Inference lives in :mod:`emote.engines.neural`; training (losses, stages, the data
engine) in :mod:`emote.training`, which sits above everything it uses.
"""
