"""The data engine: training data for the neural engine, synthetic or captured.

- :mod:`~emote.training.data.text` — the project's English text set, generated from a seed.
- :mod:`~emote.training.data.tts` — flite, festival and espeak-ng voices with exact phone timings.
- :mod:`~emote.training.data.prosody` — per-emotion prosody and sampled emotion tracks.
- :mod:`~emote.training.data.augment` — reverb, band-limiting, resampling, noise, gain.
- :mod:`~emote.training.data.corpus` — the TTS corpus generator (``emote data generate``).
- :mod:`~emote.training.data.importer` — real takes: audio + Live Link Face CSV or named curves (``emote data import``).
- :mod:`~emote.training.data.shards` — the sharded dataset format and its manifest.
- :mod:`~emote.training.data.dataset` — training windows and their composed targets.
"""
