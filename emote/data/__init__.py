"""The data engine: training data for the neural engine, synthetic or captured.

- :mod:`~emote.data.text` — the project's English text set, generated from a seed.
- :mod:`~emote.data.tts` — flite, festival and espeak-ng voices with exact phone timings.
- :mod:`~emote.data.prosody` — per-emotion prosody and sampled emotion tracks.
- :mod:`~emote.data.augment` — reverb, band-limiting, resampling, noise, gain.
- :mod:`~emote.data.corpus` — the TTS corpus generator (``emote data generate``).
- :mod:`~emote.data.importer` — real takes: audio + Live Link Face CSV or named curves (``emote data import``).
- :mod:`~emote.data.shards` — the sharded dataset format and its manifest.
- :mod:`~emote.data.dataset` — training windows and their composed targets.
"""
