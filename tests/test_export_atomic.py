"""Atomic writes: the final path holds the old file or the complete new one, never a half."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from emote.io.atomic import atomic_path, atomic_write


class Crash(Exception):
    pass


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_text_write_lands_under_the_final_name_and_leaves_no_temp(tmp_path):
    target = tmp_path / "deep" / "er" / "take.csv"
    with atomic_write(target, newline="") as f:
        f.write("a,b\r\n1,2\r\n")
    assert target.read_bytes() == b"a,b\r\n1,2\r\n"
    assert leftovers(target.parent) == []


def test_binary_write(tmp_path):
    target = tmp_path / "x.bin"
    with atomic_write(target, "wb") as f:
        f.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"


def test_crash_mid_write_keeps_the_old_file_and_removes_the_temp(tmp_path):
    target = tmp_path / "take.csv"
    target.write_text("old complete file\n")
    with pytest.raises(Crash), atomic_write(target) as f:
        f.write("new half")
        raise Crash
    assert target.read_text() == "old complete file\n"
    assert leftovers(tmp_path) == []


def test_crash_mid_write_leaves_no_file_where_there_was_none(tmp_path):
    target = tmp_path / "take.csv"
    with pytest.raises(Crash), atomic_write(target) as f:
        f.write("half")
        raise Crash
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_temp_file_is_hidden_and_beside_the_target_while_writing(tmp_path):
    target = tmp_path / "take.json"
    with atomic_write(target) as f:
        temps = leftovers(tmp_path)
        # Hidden, short (fits wherever the final name fits), carrying the writer's pid.
        assert len(temps) == 1 and temps[0].startswith(f".emote-{os.getpid()}-")
        assert temps[0].endswith(".json") and len(temps[0]) <= 40
        assert Path(f.name).parent == tmp_path
        assert not target.exists()


@pytest.mark.skipif(os.name != "posix", reason="platform: POSIX permission bits")
def test_replacing_keeps_the_existing_permissions(tmp_path):
    target = tmp_path / "take.csv"
    target.write_text("old")
    target.chmod(0o640)
    with atomic_write(target) as f:
        f.write("new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.read_text() == "new"


@pytest.mark.skipif(os.name != "posix", reason="platform: POSIX permission bits")
def test_a_new_file_gets_umask_permissions_not_private_temp_ones(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "new.csv") as f:
            f.write("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o644


def test_bad_mode_and_directory_targets_are_refused(tmp_path):
    with pytest.raises(ValueError, match="mode"), atomic_write(tmp_path / "x", "a"):
        pass
    with pytest.raises(IsADirectoryError), atomic_write(tmp_path):
        pass


def test_atomic_path_for_libraries_that_open_files_themselves(tmp_path):
    target = tmp_path / "out" / "arrays.npz"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".") and tmp.suffix == ".npz"
        assert not tmp.exists()
        np.savez(tmp, a=np.arange(3))  # numpy would append .npz to a name without it
    assert np.load(target)["a"].tolist() == [0, 1, 2]
    assert leftovers(target.parent) == []


def test_atomic_path_crash_removes_the_partial_file_and_keeps_the_old(tmp_path):
    target = tmp_path / "video.mp4"
    target.write_bytes(b"old")
    with pytest.raises(Crash), atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise Crash
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_atomic_path_block_that_writes_nothing_is_an_error(tmp_path):
    target = tmp_path / "video.mp4"
    with pytest.raises(FileNotFoundError), atomic_path(target):
        pass
    assert not target.exists()
