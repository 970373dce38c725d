"""The default head: a procedurally built adult head with all 52 ARKit shapes.

No external asset: the skin, eyes, teeth, tongue, mouth interior and ears are
made by this package's code (see the module docstrings for how), built once
and cached; :func:`load_default_head` returns it as a
:class:`~emote.rigs.base.MeshRig` in millimetres (+Y up, +Z out of the face).

>>> from emote.rigs.default_head import load_default_head
>>> rig = load_default_head()  # doctest: +SKIP
>>> rig.pose(anim.curves).shape  # doctest: +SKIP
(frames, V, 3)

Modules: ``layout`` (proportions), ``surface`` (the skin as analytic
functions), ``skin`` (its mesh: rings, openings, mouth bag, lid tucks),
``parts`` (eyeballs, teeth, gums, tongue, ears), ``anatomy`` (everything in
one array with per-vertex bookkeeping), ``paint`` (colours), ``shapes`` (the
52 ARKit shapes), ``build`` (assembly and cache).
"""

from emote.rigs.default_head.build import build_version, cache_dir, default_head_parts, load_default_head

__all__ = ["build_version", "cache_dir", "default_head_parts", "load_default_head"]
