"""Base file I/O every layer shares: atomic writes (:mod:`~emote.io.atomic`)."""
