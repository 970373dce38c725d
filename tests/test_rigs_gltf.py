"""glTF/GLB heads: a real Rocketbox character, and small files exercising the glTF features we decode."""

from __future__ import annotations

import numpy as np
import pygltflib as g
import pytest
from conftest import RIGS_DATA, needs
from scipy.spatial.transform import Rotation

from emote.animation.channels import ARKIT_NAMES
from emote.errors import RigError
from emote.rigs.gltf import load_gltf_rig
from emote.rigs.mesh_tools import SKIN, linear_to_srgb

ROCKETBOX = RIGS_DATA / "rocketbox_male_adult_03.glb"


@pytest.fixture(scope="module")
def rocketbox():
    if not ROCKETBOX.is_file():
        needs("test-material", f"not found at {ROCKETBOX}")
    return load_gltf_rig(ROCKETBOX)


def lip_gap(rig, jaw_open: float) -> float:
    p, j = rig.probes, rig.deltas[rig.shape_names.index("JawOpen")]
    up, lo = p["upper_lip"], p["lower_lip"]
    return float(np.linalg.norm(rig.neutral[up] + jaw_open * j[up] - rig.neutral[lo] - jaw_open * j[lo]))


def test_rocketbox_has_all_52_shapes_in_canonical_order(rocketbox):
    assert rocketbox.shape_names == list(ARKIT_NAMES)
    assert rocketbox.missing == []
    assert rocketbox.name == "rocketbox_male_adult_03"


def test_rocketbox_keeps_the_head_not_the_body_in_millimetres(rocketbox):
    size = np.ptp(rocketbox.neutral, axis=0)
    assert 150 < size[0] < 260 and 250 < size[1] < 400  # a head and neck, not a 1.8 m body
    assert rocketbox.neutral[:, 1].min() > 1400  # standing character: the head is up at ~1.6 m
    assert len(rocketbox.faces) and rocketbox.faces.max() < rocketbox.n_vertices


def test_rocketbox_eyes_are_rigid_parts_on_the_characters_sides(rocketbox):
    eyes = {e.yaw: e for e in rocketbox.eyes}
    assert set(eyes) == {"LeftEyeYaw", "RightEyeYaw"}
    left, right = eyes["LeftEyeYaw"].pivot, eyes["RightEyeYaw"].pivot
    assert left[0] > 0 > right[0]  # character's left is +X when the face looks down +Z
    assert 50 < np.linalg.norm(left - right) < 80  # interpupillary distance, mm
    for eye in eyes.values():
        assert np.linalg.norm(rocketbox.neutral[eye.vertices] - eye.pivot, axis=1).max() < 20


def test_rocketbox_eye_look_shapes_leave_the_rigid_eyeballs_to_the_eye_angles(rocketbox):
    eye_vertices = np.concatenate([e.vertices for e in rocketbox.eyes])
    for name in ("EyeLookInLeft", "EyeLookUpRight"):
        assert not rocketbox.deltas[rocketbox.shape_names.index(name)][eye_vertices].any()


def test_rocketbox_probes_find_lips_that_part_when_the_jaw_opens(rocketbox):
    p = rocketbox.probes
    assert set(p) == {"upper_lip", "lower_lip", "mouth_left", "mouth_right"}
    assert rocketbox.neutral[p["upper_lip"], 1] >= rocketbox.neutral[p["lower_lip"], 1]
    assert lip_gap(rocketbox, 0.0) < 2.0
    assert lip_gap(rocketbox, 1.0) > 10.0
    left, right = rocketbox.neutral[p["mouth_left"]], rocketbox.neutral[p["mouth_right"]]
    assert left[0] > 10 and right[0] < -10 and 30 < left[0] - right[0] < 70
    smile = rocketbox.deltas[rocketbox.shape_names.index("MouthSmileLeft")]
    assert np.linalg.norm(smile[p["mouth_left"]]) > 5 * np.linalg.norm(smile[p["mouth_right"]])


# -- a hand-made file ----------------------------------------------------------------------------


class GlbMaker:
    """Builds a small GLB with pygltflib, one binary buffer."""

    def __init__(self):
        self.blob = bytearray()
        self.gltf = g.GLTF2(asset=g.Asset(version="2.0"), scene=0, scenes=[g.Scene(nodes=[])])

    def view(self, data: bytes, stride: int | None = None) -> int:
        while len(self.blob) % 4:
            self.blob.append(0)
        self.gltf.bufferViews.append(
            g.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=len(data), byteStride=stride)
        )
        self.blob.extend(data)
        return len(self.gltf.bufferViews) - 1

    def accessor(self, array, kind, component, *, view=None, offset=0, normalized=False, count=None) -> int:
        a = np.ascontiguousarray(array)
        if view is None:
            view = self.view(a.tobytes())
        self.gltf.accessors.append(
            g.Accessor(
                bufferView=view,
                byteOffset=offset,
                componentType=component,
                count=count or len(a),
                type=kind,
                normalized=normalized,
            )
        )
        return len(self.gltf.accessors) - 1

    def sparse(self, count, rows, values) -> int:
        acc = g.Accessor(componentType=g.FLOAT, count=count, type="VEC3")
        acc.sparse = g.Sparse(
            count=len(rows),
            indices=g.AccessorSparseIndices(
                bufferView=self.view(np.asarray(rows, np.uint8).tobytes()), componentType=g.UNSIGNED_BYTE
            ),
            values=g.AccessorSparseValues(bufferView=self.view(np.asarray(values, np.float32).tobytes())),
        )
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1

    def save(self, path):
        self.gltf.buffers = [g.Buffer(byteLength=len(self.blob))]
        self.gltf.set_binary_blob(bytes(self.blob))
        self.gltf.save_binary(str(path))
        return path


QUAD = np.array(
    [[-0.02, -0.01, 0.05], [0.02, -0.01, 0.05], [0.02, 0.01, 0.05], [-0.02, 0.01, 0.05]], np.float32
)
TRI = np.array([[-0.02, 0.02, 0.04], [0.02, 0.02, 0.04], [0.0, 0.04, 0.04]], np.float32)
JAW_QUAD = np.array([[0, -0.004, 0], [0, -0.004, 0], [0, 0, 0], [0, 0, 0]], np.float32)
SMILE_ROWS, SMILE_VALUES = [1], [[0.002, 0.001, 0.0]]
JAW_TRI = np.array([[0, 0, 0.001], [0, 0, 0.001], [0, 0, 0.001]], np.float32)
NODE_T = np.array([0.0, 1.5, 0.1])
NODE_R = Rotation.from_euler("y", 30, degrees=True)


def make_head(path, *, names_on_primitive=False):
    """Two primitives with targets (one strided, one sparse), a node transform, vertex colours, an eye mesh."""
    m = GlbMaker()
    gl = m.gltf
    gl.materials = [
        g.Material(pbrMetallicRoughness=g.PbrMetallicRoughness(baseColorFactor=[0.5, 0.5, 0.5, 1.0])),
        g.Material(pbrMetallicRoughness=g.PbrMetallicRoughness(baseColorFactor=[1.0, 1.0, 1.0, 1.0])),
    ]
    # Primitive 1: positions interleaved with normals (stride 24), uint8 normalised colours, uint16 indices.
    inter = np.concatenate([QUAD, np.tile([0, 0, 1], (4, 1)).astype(np.float32)], 1)
    view = m.view(inter.tobytes(), stride=24)
    pos = m.accessor(QUAD, "VEC3", g.FLOAT, view=view, offset=0, count=4)
    colors = np.array([[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255], [255, 255, 255, 255]], np.uint8)
    col = m.accessor(colors, "VEC4", g.UNSIGNED_BYTE, normalized=True)
    idx = m.accessor(np.array([0, 1, 2, 0, 2, 3], np.uint16), "SCALAR", g.UNSIGNED_SHORT)
    targets1 = [
        {"POSITION": m.accessor(JAW_QUAD, "VEC3", g.FLOAT)},
        {"POSITION": m.sparse(4, SMILE_ROWS, SMILE_VALUES)},
        {"POSITION": m.accessor(np.ones((4, 3), np.float32), "VEC3", g.FLOAT)},
    ]
    p1 = g.Primitive(
        attributes=g.Attributes(POSITION=pos, COLOR_0=col), indices=idx, material=0, targets=targets1
    )
    # Primitive 2: no indices, white material (no colour information), dense targets.
    pos2 = m.accessor(TRI, "VEC3", g.FLOAT)
    zeros = m.accessor(np.zeros((3, 3), np.float32), "VEC3", g.FLOAT)
    targets2 = [{"POSITION": m.accessor(JAW_TRI, "VEC3", g.FLOAT)}, {"POSITION": zeros}, {"POSITION": zeros}]
    p2 = g.Primitive(attributes=g.Attributes(POSITION=pos2), material=1, targets=targets2)
    names = ["jawOpen", "mouthSmile_L", "viseme_aa"]
    if names_on_primitive:
        p1.extras = {"targetNames": names}
        face = g.Mesh(name="Face", primitives=[p1, p2])
    else:
        face = g.Mesh(name="Face", primitives=[p1, p2], extras={"targetNames": names})
    # An eyeball mesh (no targets) named like one.
    eye_pts = np.array(
        [[0.01, 0.0, 0.045], [0.014, 0.0, 0.045], [0.012, 0.002, 0.045], [0.012, 0.0, 0.047]], np.float32
    )
    eye = g.Mesh(
        name="Sphere",
        primitives=[g.Primitive(attributes=g.Attributes(POSITION=m.accessor(eye_pts, "VEC3", g.FLOAT)))],
    )
    gl.meshes = [face, eye]
    x, y, z, w = NODE_R.as_quat()
    gl.nodes = [
        g.Node(name="root", translation=NODE_T.tolist(), rotation=[x, y, z, w], children=[1, 2]),
        g.Node(name="Head", mesh=0),
        g.Node(name="EyeLeft", mesh=1),
    ]
    gl.scenes[0].nodes = [0]
    return m.save(path)


def world_mm(points):
    return (NODE_R.apply(points) + NODE_T) * 1000.0


def test_glb_features_decode_to_world_millimetres(tmp_path):
    rig = load_gltf_rig(make_head(tmp_path / "head.glb"))
    assert rig.shape_names == ["JawOpen", "MouthSmileLeft"] and "TongueOut" in rig.missing
    np.testing.assert_allclose(rig.neutral[:4], world_mm(QUAD), atol=1e-3)
    np.testing.assert_allclose(rig.neutral[4:7], world_mm(TRI), atol=1e-3)
    jaw, smile = rig.deltas
    np.testing.assert_allclose(jaw[:4], NODE_R.apply(JAW_QUAD) * 1000, atol=1e-3)
    np.testing.assert_allclose(
        jaw[4:7], NODE_R.apply(JAW_TRI) * 1000, atol=1e-3
    )  # per-primitive deltas merged
    expected_smile = np.zeros((4, 3))
    expected_smile[SMILE_ROWS] = NODE_R.apply(np.asarray(SMILE_VALUES)) * 1000
    np.testing.assert_allclose(smile[:4], expected_smile, atol=1e-3)  # sparse accessor
    assert sorted(map(tuple, rig.faces[:2].tolist())) == [(0, 1, 2), (0, 2, 3)]
    assert tuple(rig.faces[2]) == (4, 5, 6)


def test_glb_colours_come_from_vertex_colours_times_factor_or_a_skin_tone(tmp_path):
    rig = load_gltf_rig(make_head(tmp_path / "head.glb"))
    np.testing.assert_allclose(rig.colors[0], linear_to_srgb(np.array([0.5, 0.0, 0.0])), atol=1e-5)
    np.testing.assert_allclose(rig.colors[3], linear_to_srgb(np.array([0.5, 0.5, 0.5])), atol=1e-5)
    np.testing.assert_allclose(rig.colors[4], SKIN, atol=1e-6)  # a white material without texture


def test_a_mesh_named_like_an_eye_becomes_a_rigid_left_eye(tmp_path):
    rig = load_gltf_rig(make_head(tmp_path / "head.glb"))
    (eye,) = rig.eyes
    assert (eye.yaw, eye.pitch, eye.roll) == ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll")
    assert list(eye.vertices) == [7, 8, 9, 10]
    assert np.linalg.norm(eye.pivot - rig.neutral[7:11].mean(0)) < 5.0


def test_target_names_on_the_primitive_are_read_too(tmp_path):
    rig = load_gltf_rig(make_head(tmp_path / "head.glb", names_on_primitive=True))
    assert rig.shape_names == ["JawOpen", "MouthSmileLeft"]


def test_unusable_files_raise_one_line_rig_errors(tmp_path):
    with pytest.raises(RigError, match=r"nothing\.glb: file not found"):
        load_gltf_rig(tmp_path / "nothing.glb")
    junk = tmp_path / "junk.glb"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(RigError, match=r"junk\.glb: "):
        load_gltf_rig(junk)
    m = GlbMaker()
    pos = m.accessor(QUAD, "VEC3", g.FLOAT)
    m.gltf.meshes = [g.Mesh(primitives=[g.Primitive(attributes=g.Attributes(POSITION=pos))])]
    m.gltf.nodes = [g.Node(mesh=0)]
    m.gltf.scenes[0].nodes = [0]
    bare = m.save(tmp_path / "bare.glb")
    with pytest.raises(RigError, match=r"bare\.glb: no morph target with an ARKit name"):
        load_gltf_rig(bare)


def test_rocketbox_without_textures_gets_painted_eyes_and_a_dark_mouth_inside(rocketbox):
    from emote.rigs.mesh_tools import IRIS, MOUTH, PUPIL, SCLERA

    def count(color):
        return int((np.abs(rocketbox.colors - np.asarray(color)).sum(1) < 1e-6).sum())

    for eye in rocketbox.eyes:
        front = eye.vertices[np.argmax(rocketbox.neutral[eye.vertices, 2])]
        assert tuple(rocketbox.colors[front]) in {tuple(np.float32(IRIS)), tuple(np.float32(PUPIL))}
    assert count(SCLERA) > 0 and count(MOUTH) > 20
    for probe in ("upper_lip", "lower_lip"):  # what the camera sees at rest stays skin
        np.testing.assert_allclose(rocketbox.colors[rocketbox.probes[probe]], SKIN)
