"""The format registry: extension → format, one write/read for all, nothing half-written."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from emote.animation import FaceAnimation
from emote.errors import FormatError
from emote.export import FORMATS, format_for_path, format_name, read, write


def sample(n=12) -> FaceAnimation:
    rng = np.random.default_rng(1)
    return FaceAnimation(30, rng.random((n, 61)).astype(np.float32), {"engine": "test"})


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("take.csv", "livelink"),
        ("TAKE.CSV", "livelink"),
        ("a/b/line.json", "json"),
        ("line.npz", "npz"),
        ("line.metahuman.csv", "metahuman"),
        ("line_metahuman.csv", "metahuman"),
        ("line.MetaHuman.CSV", "metahuman"),
    ],
)
def test_extension_picks_the_format(name, fmt):
    assert format_for_path(name) == fmt


def test_unknown_extension_names_the_file_and_lists_formats():
    with pytest.raises(FormatError) as e:
        format_for_path("take.xyz")
    message = str(e.value)
    assert message.startswith("take.xyz: unknown animation file extension .xyz")
    for fmt in FORMATS:
        assert fmt in message


def test_format_names_and_aliases():
    assert (
        format_name("csv") == "livelink"
        and format_name("JSON") == "json"
        and format_name("mh") == "metahuman"
    )
    with pytest.raises(FormatError, match="unknown format 'fbx'"):
        format_name("fbx")


def test_every_format_module_has_the_same_interface():
    assert set(FORMATS) == {"livelink", "json", "npz", "metahuman", "glb", "usd"}
    for module in FORMATS.values():
        assert module.EXTENSION.startswith(".")
        assert callable(module.write) and callable(module.read)


@pytest.mark.parametrize("ext", [".csv", ".json", ".npz", ".metahuman.csv"])
def test_every_format_round_trips_through_save_and_load(tmp_path, ext):
    anim = sample()
    anim.save(tmp_path / f"a{ext}")
    back = FaceAnimation.load(tmp_path / f"a{ext}")
    assert back.fps == anim.fps and back.n_frames == anim.n_frames
    if ext == ".metahuman.csv":
        # Epic's mapping overdrives the funnel and upper-lip-roll curves; where they clip at 1,
        # the two shapes seen only through them read back as the least weight reaching the clip.
        from emote.animation.channels import indices

        hidden = indices(["MouthFunnel", "MouthRollUpper"])
        assert (back.curves[:, hidden] <= anim.curves[:, hidden] + 1e-6).all()
        anim.curves[:, hidden] = back.curves[:, hidden]
    np.testing.assert_allclose(back.curves, anim.curves, atol=1e-6)


def test_explicit_format_overrides_the_extension(tmp_path):
    write(sample(), tmp_path / "curves.txt", format="json")
    assert read(tmp_path / "curves.txt", format="json") == sample()


def test_fps_option_reaches_the_csv_reader(tmp_path):
    write(sample(5), tmp_path / "a.csv")
    assert read(tmp_path / "a.csv", fps=60).fps == 60


class DiskFull(OSError):
    pass


def failing_atomic_write(real):
    """atomic_write whose file fails on its second write call, as a full disk would."""

    @contextlib.contextmanager
    def wrapper(path, mode="w", **kwargs):
        with real(path, mode, **kwargs) as f:
            calls = {"n": 0}
            original = f.write

            def write(data):
                calls["n"] += 1
                if calls["n"] > 1:
                    raise DiskFull(28, "No space left on device")
                return original(data)

            f.write = write
            yield f

    return wrapper


@pytest.mark.parametrize("fmt", ["livelink", "json", "npz", "metahuman"])
def test_a_write_failing_midway_leaves_the_old_file_untouched(tmp_path, monkeypatch, fmt):
    module = FORMATS[fmt]
    target = tmp_path / f"take{module.EXTENSION}"
    target.write_bytes(b"old complete file")
    monkeypatch.setattr(module, "atomic_write", failing_atomic_write(module.atomic_write))
    with pytest.raises(DiskFull):
        write(sample(3000), target)
    assert target.read_bytes() == b"old complete file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


@pytest.mark.parametrize("fmt", ["livelink", "json", "npz", "metahuman"])
def test_a_write_failing_midway_leaves_no_file_where_there_was_none(tmp_path, monkeypatch, fmt):
    module = FORMATS[fmt]
    monkeypatch.setattr(module, "atomic_write", failing_atomic_write(module.atomic_write))
    with pytest.raises(DiskFull):
        write(sample(3000), tmp_path / f"take{module.EXTENSION}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ext", [".csv", ".json", ".npz", ".metahuman.csv"])
def test_reading_garbage_is_a_format_error_naming_the_file(tmp_path, ext):
    path = tmp_path / f"garbage{ext}"
    path.write_bytes(b"\x00\xffgarbage\n1,2,3\n")
    with pytest.raises(FormatError) as e:
        read(path)
    assert str(e.value).startswith(f"{path}: ")


def test_one_registry_names_every_format_the_cli_and_batch_write():
    from emote.batch.manifest import CURVE_FORMATS
    from emote.cli.animate import FORMATS as CLI_FORMATS
    from emote.cli.animate import SUFFIX, parse_formats
    from emote.export import REGISTRY, get_format

    assert CLI_FORMATS == ("csv", "json", "npz", "metahuman", "glb", "usd", "flame", "obj", "ply")
    assert {f.option: f.output_suffix for f in REGISTRY} == SUFFIX
    assert list(CURVE_FORMATS) == [f.option for f in REGISTRY if not f.needs_mesh]
    # every name and alias means one format wherever it is typed
    for f in REGISTRY:
        for key in (f.name, f.option, *f.aliases):
            assert get_format(key.upper()) is f
            assert parse_formats(key) == [f.option]
    assert parse_formats("livelink,mh,csv") == ["csv", "metahuman"]


def test_batch_manifest_formats_read_the_registry_and_refuse_mesh_formats(tmp_path):
    import soundfile as sf

    from emote.batch.manifest import ManifestError, read_manifest

    sf.write(tmp_path / "hello.wav", np.full(1600, 0.1, np.float32), 16000)
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio,output,formats\nhello.wav,a,livelink|MH|json\n")
    assert read_manifest(manifest).jobs[0].formats == ("csv", "metahuman", "json")
    manifest.write_text("audio,output,formats\nhello.wav,a,obj\n")
    with pytest.raises(ManifestError, match="unknown format 'obj'; formats are csv, json, npz, metahuman"):
        read_manifest(manifest)


def test_write_reaches_the_mesh_sequence_formats_through_the_registry(tmp_path):
    from emote.export.meshseq import read_ply_vertices

    anim = sample(3)
    write(anim, tmp_path / "take_ply", format="ply")
    frames = sorted((tmp_path / "take_ply").iterdir())
    assert [p.name for p in frames] == ["frame_000000.ply", "frame_000001.ply", "frame_000002.ply"]
    assert read_ply_vertices(frames[0]).shape[1] == 3
    with pytest.raises(FormatError, match="unknown format 'fbx'"):
        write(anim, tmp_path / "x", format="fbx")
