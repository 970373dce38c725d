"""Render the README's Blender picture: the Rocketbox character mid-word, with an emotion, in Blender.

Animates a speech clip with emote (or takes ``--anim``), imports the
result onto the Rocketbox character through the add-on's own operator
(``bpy.ops.import_anim.emote``, head and eye bones included) in a headless
Blender (the ``bpy`` wheel), picks the frame where the jaw is most open, and
renders it with Cycles on the CPU.

    python examples/blender_render.py [--audio a.wav [--timings a.TextGrid] | --anim line.json]
        [--emotion happy] [--out examples/blender_rocketbox.png]

The committed picture: ``--audio ../shared/data/speech/bobby.wav --timings
../shared/data/speech/bobby_phones.TextGrid`` ("Bobby ripped the ledger", happy at
0.9), the frame in "Bobby" where the jaw is most open.

Needs a Python with ``bpy`` (``--blender-python``, default ``~/.cache/emote/bpy-5.0/bin/python``)
and the Rocketbox GLB (``--glb``; the test material in ``../shared/data/rigs``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHILD = r"""
import json, sys
args = json.loads(sys.argv[1])
sys.path.insert(0, args["repo"])
import bpy, addon_utils, numpy as np
from mathutils import Vector

bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=args["glb"])
for o in bpy.data.objects:
    if o.type == "MESH" and not o.data.shape_keys:
        o.hide_render = True  # a stray helper sphere in the GLB
face = next(o for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys)
rig = next(o for o in bpy.data.objects if o.type == "ARMATURE")

addon_utils.enable("emote.blender", default_set=True)
for o in bpy.context.view_layer.objects:
    o.select_set(False)
face.select_set(True)
bpy.context.view_layer.objects.active = face
bpy.ops.import_anim.emote(filepath=args["anim"], pose_object=rig.name, add_sound=False)
scene = bpy.context.scene
scene.frame_set(args["frame"])

# The GLB's textures are not embedded: plain materials, and irises painted by angle on the eyeballs.
def material(name, color, rough=0.5, sss=0.0):
    m = bpy.data.materials.new(name)
    bsdf = m.node_tree.nodes["Principled BSDF"] if m.node_tree else None
    if bsdf is None:
        m.use_nodes = True
        bsdf = m.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*color, 1)
    bsdf.inputs["Roughness"].default_value = rough
    if sss:
        bsdf.inputs["Subsurface Weight"].default_value = sss
        bsdf.inputs["Subsurface Radius"].default_value = (0.01, 0.004, 0.002)
    return m

mesh = face.data
by_name = {m.name: i for i, m in enumerate(mesh.materials)}
palette = {
    "m004_head": material("skin", (0.62, 0.36, 0.27), 0.45, 0.15),
    "m004_body": material("clothes", (0.16, 0.2, 0.3), 0.8),
    "m004_opacity": material("brows", (0.12, 0.08, 0.06), 0.7),
}
for name, mat in palette.items():
    if name in by_name:
        mesh.materials[by_name[name]] = mat
eye_mats = [material("sclera", (0.85, 0.83, 0.8), 0.2), material("iris", (0.25, 0.15, 0.08), 0.2),
            material("pupil", (0.01, 0.01, 0.01), 0.1)]
for m in eye_mats:
    mesh.materials.append(m)
base = len(mesh.materials) - 3
groups = {g.name: g.index for g in face.vertex_groups}
world = face.matrix_world
for bone in ("Bip01 LEye", "Bip01 REye"):
    gi = groups[bone]
    eye = {v.index for v in mesh.vertices if any(g.group == gi and g.weight > 0.5 for g in v.groups)}
    centre = rig.matrix_world @ rig.data.bones[bone].head_local
    for p in mesh.polygons:
        if all(i in eye for i in p.vertices):
            d = ((world @ p.center) - centre).normalized()
            cos = d.dot(Vector((0, -1, 0)))  # characters face -Y
            p.material_index = base + (2 if cos > 0.985 else 1 if cos > 0.90 else 0)

eyes = [rig.matrix_world @ rig.pose.bones[b].head for b in ("Bip01 LEye", "Bip01 REye")]
target = (eyes[0] + eyes[1]) / 2 + Vector((0, 0, -0.05))
cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
cam.data.lens = 85
scene.collection.objects.link(cam)
cam.location = target + Vector((0.22, -0.78, 0.06))
cam.rotation_euler = (target - cam.location).to_track_quat("-Z", "Y").to_euler()
scene.camera = cam
for name, loc, energy, size in (("key", (0.7, -0.9, 2.1), 70, 0.8), ("fill", (-0.9, -0.7, 1.7), 22, 1.2),
                                ("rim", (-0.3, 0.9, 2.0), 40, 0.6)):
    light = bpy.data.objects.new(name, bpy.data.lights.new(name, "AREA"))
    light.data.energy, light.data.size = energy, size
    scene.collection.objects.link(light)
    light.location = loc
    light.rotation_euler = (target - light.location).to_track_quat("-Z", "Y").to_euler()
scene.world = bpy.data.worlds.new("world")
scene.world.color = (0.16, 0.18, 0.22)
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = args["samples"]
scene.cycles.use_denoising = True
scene.render.resolution_x, scene.render.resolution_y = args["size"]
scene.render.resolution_percentage = 100
scene.render.film_transparent = False
scene.view_settings.view_transform = "Standard"  # colours as authored
scene.view_settings.exposure = -1.3
scene.render.image_settings.file_format = "PNG"
scene.render.image_settings.color_mode = "RGB"
scene.render.filepath = args["out"]
bpy.ops.render.render(write_still=True)
keys = {k.name: round(k.value, 3) for k in mesh.shape_keys.key_blocks[1:] if k.value > 0.05}
print("RESULT " + json.dumps({"blender": bpy.app.version_string, "frame": args["frame"], "keys": keys}))
"""


def pick_frame(anim) -> int:
    """The 1-based scene frame where the jaw is most open: a vowel, mid-word."""
    return int(np.argmax(anim.channel("JawOpen"))) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--anim", type=Path, help="emote JSON or Live Link CSV (default: animate examples/hello.wav)"
    )
    parser.add_argument("--audio", type=Path, default=REPO / "examples" / "hello.wav")
    parser.add_argument("--timings", type=Path, help="phone timings (TextGrid/CSV) for --audio")
    parser.add_argument("--emotion", default="happy")
    parser.add_argument("--intensity", type=float, default=0.9)
    parser.add_argument("--frame", type=int, help="scene frame to render (default: jaw most open)")
    parser.add_argument(
        "--glb", type=Path, default=REPO.parent / "shared/data/rigs/rocketbox_male_adult_03.glb"
    )
    parser.add_argument("--blender-python", default=str(Path.home() / ".cache/emote/bpy-5.0/bin/python"))
    parser.add_argument("--samples", type=int, default=24)
    parser.add_argument("--size", type=int, nargs=2, default=(480, 560))
    parser.add_argument("--out", type=Path, default=REPO / "examples" / "blender_rocketbox.png")
    args = parser.parse_args()

    from emote.export import read

    with tempfile.TemporaryDirectory(prefix="emote-render-") as tmp:
        anim_path = args.anim
        if anim_path is None:
            import emote

            anim = emote.animate(
                args.audio, timings=args.timings, emotion=args.emotion, intensity=args.intensity
            )
            anim_path = Path(tmp) / "line.json"
            anim.save(anim_path)
        anim = read(anim_path)
        job = {
            "repo": str(REPO),
            "glb": str(args.glb),
            "anim": str(anim_path.resolve()),
            "frame": args.frame or pick_frame(anim),
            "samples": args.samples,
            "size": list(args.size),
            "out": str(args.out.resolve()),
        }
        proc = subprocess.run(
            [args.blender_python, "-c", CHILD, json.dumps(job)], capture_output=True, text=True, check=False
        )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        sys.exit(f"render failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    result = json.loads(lines[-1][len("RESULT ") :])
    print(
        f"{args.out}: Blender {result['blender']}, frame {result['frame']}, shape keys > 0.05: {result['keys']}"
    )


if __name__ == "__main__":
    main()
