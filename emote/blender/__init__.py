"""emote's Blender add-on (Blender 4.2 LTS to 5.x).

- **File ▸ Import ▸ emote / Live Link Face (.json, .csv)**, or drop the file on
  the 3D viewport: keys the curves onto the selected meshes' shape keys, whose
  ARKit names are matched tolerantly (``jawOpen``, ``AK_25_JawOpen``,
  ``mouthSmile_L``), optionally turns the head and eye bones, sets the scene's
  frame rate and range and adds the source audio as a sound strip.
- **3D view ▸ sidebar ▸ emote ▸ Animate from Audio**: runs the ``emote`` command
  line in the background and imports its result.

Layout (after glTF-Blender-IO): :mod:`~emote.blender.plan` and
:mod:`~emote.blender.job` are pure Python and import without Blender;
:mod:`~emote.blender.fcurves`, :mod:`~emote.blender.apply` and
:mod:`~emote.blender.addon` are the ``bpy`` glue. Reading files is
:mod:`emote.export`, name matching :mod:`emote.rigs.names`: the add-on ships a
copy of those modules in a wheel (``emote blender build-addon``), or uses an
installed emote when run from a checkout.

Importing this package needs no ``bpy``; :func:`register` does.
"""

from __future__ import annotations


def register(package: str | None = None) -> None:
    """Register the add-on's classes (called by Blender when the add-on is enabled)."""
    from emote.blender import addon

    addon.register(package or __name__)


def unregister() -> None:
    from emote.blender import addon

    addon.unregister()
