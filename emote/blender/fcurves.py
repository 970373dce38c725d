"""Writing tracks into Blender actions, on every Blender from 4.2 LTS to 5.x.

Blender 4.4 introduced slotted (layered) actions, where F-curves live in a
*channelbag* per slot of a keyframe strip; 5.0 removed the legacy
``Action.fcurves``. 4.2/4.3 only have ``Action.fcurves``. :func:`new_channels`
hides the difference: it returns whatever holds ``.fcurves`` for one ID.

Keys are written in bulk: ``keyframe_points.add(n)`` then one
``foreach_set("co", ...)`` per curve, never a ``keyframe_insert`` per key, so an
hour at 60 fps imports in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import bpy
import numpy as np

from emote.blender.plan import Track

#: Blender ID type codes of the IDs we animate, for a slot's ``id_type``.
_ID_TYPES = {bpy.types.Key: "KEY", bpy.types.Object: "OBJECT"}

#: ``Keyframe.interpolation`` enum value of 'LINEAR' (CONSTANT=0, LINEAR=1, BEZIER=2).
_LINEAR = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["LINEAR"].value

SLOTTED = "slots" in bpy.types.Action.bl_rna.properties
"""True on Blender 4.4+, where actions have slots, layers and channelbags."""


def _id_type(id_data: bpy.types.ID) -> str:
    for cls, code in _ID_TYPES.items():
        if isinstance(id_data, cls):
            return code
    raise TypeError(f"cannot animate a {type(id_data).__name__}")


def new_channels(id_data: bpy.types.ID, action_name: str) -> Any:
    """Give ``id_data`` a new action and return what holds its F-curves.

    Parameters
    ----------
    id_data : bpy.types.ID
        A shape-key ``Key`` or an ``Object``.
    action_name : str
        Name of the new action (Blender appends ``.001`` on a clash).

    Returns
    -------
    bpy.types.Action | bpy.types.ActionChannelbag
        An object with an ``fcurves`` collection whose ``new(data_path, index=...)``
        creates curves animating ``id_data``.
    """
    action = bpy.data.actions.new(action_name)
    action["emote"] = 1  # marks our actions: a re-import may replace them freely
    anim = id_data.animation_data or id_data.animation_data_create()
    if not SLOTTED:  # Blender 4.2, 4.3
        if "id_root" in action.bl_rna.properties:
            action.id_root = _id_type(id_data)
        anim.action = action
        return action
    slot = action.slots.new(id_type=_id_type(id_data), name=id_data.name)
    anim.action = action
    anim.action_slot = slot
    layer = action.layers.new("Layer")
    strip = layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True)


def existing_channels(id_data: bpy.types.ID) -> Any:
    """What holds the F-curves of the action ``id_data`` already plays (its slot's channelbag from 4.4)."""
    anim = id_data.animation_data
    action = anim.action
    if not SLOTTED:
        return action
    slot = anim.action_slot
    if slot is None:
        slot = action.slots.new(id_type=_id_type(id_data), name=id_data.name)
        anim.action_slot = slot
    layer = action.layers[0] if len(action.layers) else action.layers.new("Layer")
    strip = layer.strips[0] if len(layer.strips) else layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True)


def channels_for(id_data: bpy.types.ID, action_name: str) -> tuple[Any, str | None]:
    """Where to write ``id_data``'s curves without losing the user's animation.

    An ID that plays an action of its own (a body animation on the armature,
    authored shape-key motion) keeps it: our curves go into that action,
    replacing only the channels we key. Otherwise, or when the action is an
    earlier emote import, a new action is made.

    Returns
    -------
    tuple
        The F-curve holder (see :func:`new_channels`) and the name of the user's
        action written into, or None for a new action.
    """
    anim = id_data.animation_data
    action = anim.action if anim is not None else None
    if action is None or action.get("emote"):
        return new_channels(id_data, action_name), None
    return existing_channels(id_data), action.name


def _group(channels: Any, name: str, cache: dict[str, Any]) -> Any:
    if name not in cache:
        cache[name] = channels.groups.get(name) or channels.groups.new(name)
    return cache[name]


def write_tracks(channels: Any, tracks: Iterable[Track]) -> int:
    """Create one linearly interpolated F-curve per track.

    Parameters
    ----------
    channels : bpy.types.Action | bpy.types.ActionChannelbag
        From :func:`new_channels`.
    tracks : iterable of Track

    Returns
    -------
    int
        Number of keyframes written.
    """
    groups: dict[str, Any] = {}
    n_keys = 0
    for track in tracks:
        old = channels.fcurves.find(track.data_path, index=track.index)
        if old is not None:
            channels.fcurves.remove(old)
        fc = channels.fcurves.new(track.data_path, index=track.index)
        fc.group = _group(channels, track.group, groups)
        n = int(track.frames.shape[0])
        points = fc.keyframe_points
        points.add(n)
        points.foreach_set("co", track.interleaved())
        # Dense samples: straight segments reproduce them between frames without overshoot.
        points.foreach_set("interpolation", np.full(n, _LINEAR, np.int32))
        fc.update()
        n_keys += n
    return n_keys
