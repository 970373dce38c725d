"""Issue 14, classes 2 and 3: ordinary OS errors and signals.

An OS error (no space, read-only, permission, a name too long, a file where a folder
belongs) is one line naming the file the user gave, a non-zero exit and nothing
partial; SIGTERM unwinds like Ctrl-C; stale temporaries are swept only when their
process is gone; a batch holds its output folder; workers die with the batch.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile import REPO, error_line, leftovers, run_emote, speech_wav

from emote.batch.run import folder_lock
from emote.cli.main import main
from emote.errors import describe_os_error
from emote.io.atomic import atomic_write, staged_outputs, sweep_stale_temporaries

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(sys.platform == "win32", reason="platform: POSIX signals and file system"),
]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return speech_wav(tmp_path_factory.mktemp("clip") / "line.wav")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# -- one line per OS error ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, words",
    [(errno.ENOSPC, "no space left"), (errno.EROFS, "read-only"), (errno.EACCES, "permission denied"),
     (errno.ENAMETOOLONG, "name too long"), (errno.EISDIR, "is a folder"), (errno.ENOTDIR, "not a folder"),
     (errno.EDQUOT, "quota"), (errno.EIO, "input/output"), (errno.EFBIG, "too large")],
)  # fmt: skip
def test_each_os_error_is_described_in_one_line_naming_the_file(code, words):
    line = describe_os_error(OSError(code, os.strerror(code), "out/take.csv"))
    assert line.startswith("out/take.csv: ") and words in line and "\n" not in line


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT, errno.EIO])
def test_a_writer_failing_mid_set_leaves_no_output_and_names_the_final_file(
    tmp_path, clip, monkeypatch, capsys, code
):
    # The third of four outputs fails (as a full disk would): the two written are not left as a partial set.
    from emote.export import metahuman

    def failing(anim, path, **kwargs):
        with atomic_write(path) as f:
            f.write("Time,")
            raise OSError(code, os.strerror(code))

    monkeypatch.setattr(metahuman, "write", failing)
    out = tmp_path / "out"
    (out / "old").mkdir(parents=True)
    (out / "line.csv").write_text("the previous take\n")
    assert main(["animate", str(clip), "-o", str(out), "-q", "--format", "csv,json,metahuman,npz"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"emote: error: {out / 'line.metahuman.csv'}: {describe_os_error(OSError(code, '')).strip()}"
    ]
    assert leftovers(out) == ["line.csv", "old"] and (out / "line.csv").read_text() == "the previous take\n"


def test_a_real_file_size_limit_fails_cleanly_with_nothing_behind(tmp_path, clip):
    # RLIMIT_FSIZE makes the kernel refuse a write past 20 KB (EFBIG), as a full disk refuses one.
    out = tmp_path / "out"
    res = run_emote("animate", str(clip), "-o", str(out), "-q", "--format", "json,csv", file_size=20_000)
    error_line(res, "line.", "file too large")
    assert leftovers(out) == []
    take = tmp_path / "take.json"
    assert (
        run_emote(
            "animate", str(clip), "-o", str(tmp_path), "-q", "--format", "json", "--name", "take"
        ).returncode
        == 0
    )
    res = run_emote("convert", str(take), str(tmp_path / "big.csv"), "--fps", "240", file_size=20_000)
    error_line(res, "big.csv", "file too large")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") or p.name == "big.csv"]


@pytest.mark.parametrize(
    "make, words",
    [(lambda d: (d / "file.txt").write_text("x") and d / "file.txt", "exists and is not a folder"),
     (lambda d: (d / "file.txt").write_text("x") and d / "file.txt" / "sub", "exists and is not a folder")],
)  # fmt: skip
def test_an_output_folder_that_is_a_file_is_refused_before_work(tmp_path, clip, capsys, make, words):
    out = make(tmp_path)
    start = time.monotonic()
    assert main(["animate", str(clip), "-o", str(out), "-q"]) == 1
    assert time.monotonic() - start < 2  # refused before the audio was analysed
    assert words in capsys.readouterr().err


def test_an_output_file_that_is_a_folder_is_one_line(tmp_path, clip, capsys):
    take = tmp_path / "take.json"
    assert main(["animate", str(clip), "-o", str(tmp_path), "-q", "--format", "json", "--name", "take"]) == 0
    (tmp_path / "x.csv").mkdir()
    capsys.readouterr()
    assert main(["convert", str(take), str(tmp_path / "x.csv")]) == 1
    assert (
        capsys.readouterr().err.strip() == f"emote: error: {tmp_path / 'x.csv'}: is a folder, expected a file"
    )


@pytest.mark.parametrize("read_only_fs", [False, True])
def test_an_unwritable_output_folder_is_refused_before_work(
    tmp_path, clip, capsys, monkeypatch, read_only_fs
):
    # What the kernel says about the folder (root writes through chmod, so it is asked, not forced).
    import emote.limits

    out = tmp_path / "ro"
    out.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        emote.limits.os, "access", lambda p, mode: False if Path(p) == out else real_access(p, mode)
    )
    if read_only_fs:
        monkeypatch.setattr(emote.limits, "_read_only", lambda p: True)
    start = time.monotonic()
    assert main(["animate", str(clip), "-o", str(out / "sub"), "-q"]) == 1
    why = "read-only file system" if read_only_fs else "permission denied"
    assert capsys.readouterr().err.strip() == f"emote: error: {out}: cannot write here ({why})"
    assert time.monotonic() - start < 2 and leftovers(out) == []


@pytest.mark.parametrize("where", ["inside-a-file", "folder", "missing"])
def test_unreadable_audio_paths_are_one_line(tmp_path, clip, where):
    path = {"inside-a-file": clip / "x.wav", "folder": tmp_path, "missing": tmp_path / "none.wav"}[where]
    error_line(run_emote("animate", str(path), "-o", str(tmp_path / "out"), "-q", timeout=60), str(path))


def test_long_names_work_up_to_what_the_file_system_allows(tmp_path, clip):
    # A 246-byte base name: NAME.csv fits in 255 bytes, a temporary named after it would not.
    name = "a" * 246
    audio = tmp_path / f"{name}.wav"
    audio.write_bytes(clip.read_bytes())
    res = run_emote("animate", str(audio), "-o", str(tmp_path / "out"), "-q", "--format", "csv,json,npz")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"{name}.csv",
        f"{name}.json",
        f"{name}.npz",
    ]
    # .metahuman.csv would be 260 bytes: refused before any work, naming the cure.
    error_line(run_emote("animate", str(audio), "-o", str(tmp_path / "o2"), "-q"), "260 bytes", "--name")
    assert leftovers(tmp_path / "o2") == []


def test_names_that_are_not_utf8_animate_and_print(tmp_path, clip):
    folder = os.fsencode(tmp_path)
    audio = folder + b"/caf\xe9.wav"
    with open(audio, "wb") as f:
        f.write(clip.read_bytes())
    res = subprocess.run([sys.executable, "-m", "emote", "animate", audio, "-o", folder + b"/out", "-q"],
                         capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120, check=False)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert folder + b"/out/caf\xe9.json" in res.stdout.splitlines()
    with open(folder + b"/out/caf\xe9.json", "rb") as f:
        meta = json.loads(f.read())["metadata"]
    assert os.fsencode(meta["audio"]) == audio  # escaped in JSON, read back exactly


@pytest.mark.parametrize("results", ["/dev/full", "/dev/null", "folder"])
def test_batch_results_must_be_a_regular_file(tmp_path, clip, results):
    manifest = tmp_path / "lines.csv"
    manifest.write_text(f"audio\n{clip}\n")
    target = str(tmp_path) if results == "folder" else results
    error_line(
        run_emote("batch", str(manifest), "-o", str(tmp_path / "out"), "--results", target, "-q"), target
    )
    assert not (tmp_path / "out" / "line.csv").exists()


# -- signals, temporaries, locks -----------------------------------------------------------------------------


def test_sigterm_unwinds_like_ctrl_c_and_leaves_nothing(tmp_path, clip):
    long = speech_wav(tmp_path / "long.wav", seconds=12.0)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "emote", "animate", str(long), "-o", str(out), "-q", "--render",
                             "--size", "256x256", "--format", "csv"], stderr=subprocess.PIPE, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not any(out.glob(".emote-*/.emote-*")):  # rendering into staging
        time.sleep(0.1)
    assert any(out.glob(".emote-*")), "the render never started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.decode().strip() == "emote: terminated"
    assert leftovers(out) == []


def test_the_sweep_removes_only_temporaries_of_processes_that_are_gone(tmp_path):
    dead, live = _dead_pid(), os.getpid()
    names = [f".emote-{dead}-0123abcd.tmp.csv", f".emote-{live}-0123abcd.tmp.csv", f".emote-{dead}-89abcdef.tmp",
             ".emote-notapid-0123abcd.tmp.csv", "take.csv", ".take.csv.0123abcd.tmp.csv"]  # fmt: skip
    for name in names:
        (tmp_path / name).write_text("x")
    (tmp_path / f".emote-{dead}-00000000.tmp").mkdir()  # a staging folder of a killed run
    removed = sweep_stale_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted([names[0], names[2], f".emote-{dead}-00000000.tmp"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:2] + names[3:])


def test_animate_sweeps_what_a_killed_run_left(tmp_path, clip, capsys):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f".emote-{_dead_pid()}-0123abcd.tmp.csv"
    stale.write_text("half a take")
    assert main(["animate", str(clip), "-o", str(out), "-q", "--format", "csv"]) == 0
    assert leftovers(out) == ["line.csv"]


def test_a_second_batch_on_one_output_folder_is_refused(tmp_path, clip):
    manifest = tmp_path / "lines.csv"
    manifest.write_text(f"audio\n{clip}\n")
    out = tmp_path / "out"
    out.mkdir()
    with folder_lock(out.resolve()):
        res = run_emote("batch", str(manifest), "-o", str(out), "-q")
        error_line(res, "another emote batch", f"pid {os.getpid()}")
        assert not (out / "line.csv").exists()
    res = run_emote("batch", str(manifest), "-o", str(out), "-q")  # the lock is gone with its holder
    assert res.returncode == 0, res.stderr
    assert (out / "line.csv").exists()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="platform: Linux /proc")
def test_workers_die_with_a_killed_batch_and_write_nothing_after_it(tmp_path):
    long = speech_wav(tmp_path / "long.wav", seconds=12.0)
    manifest = tmp_path / "lines.csv"
    manifest.write_text(f"audio,render,output\n{long},true,a\n")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "emote", "batch", str(manifest), "-o", str(out), "-j", "1", "-q"],
                            stderr=subprocess.DEVNULL, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob(".emote-*.mp4")):  # the worker is rendering
        time.sleep(0.1)
    assert list(out.glob(".emote-*.mp4")), "the render never started"
    workers = [p for c in _children(proc.pid) for p in [c, *_children(c)]]
    proc.kill()
    proc.wait()
    time.sleep(3)
    assert not [p for p in workers if _alive(p)], "a worker outlived its batch"
    time.sleep(5)  # long enough for the render to have finished had the worker gone on
    assert not (out / "a.mp4").exists() and not list((out / ".emote-batch").glob("*.done.json"))
    assert not [p for p in leftovers(out) if ".tmp" in p]  # the workers unwound: no temporaries either


def test_staged_outputs_move_in_together_or_not_at_all(tmp_path):
    out = tmp_path / "out"
    with staged_outputs(out) as stage:
        (stage / "a.csv").write_text("a")
        (stage / "a_obj").mkdir()
        (stage / "a_obj" / "0.obj").write_text("v")
    assert leftovers(out) == ["a.csv", "a_obj", "a_obj/0.obj"]
    with pytest.raises(RuntimeError), staged_outputs(out) as stage:
        (stage / "a.csv").write_text("b")
        raise RuntimeError("the second output failed")
    assert (out / "a.csv").read_text() == "a" and leftovers(out) == ["a.csv", "a_obj", "a_obj/0.obj"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signalled_batch_stops_its_workers_cleanly_without_tracebacks(tmp_path, signum):
    # `timeout`, `docker stop` and Ctrl-C signal the whole process group, workers included.
    long = speech_wav(tmp_path / "long.wav", seconds=12.0)
    manifest = tmp_path / "lines.csv"
    manifest.write_text(f"audio,render,output\n{long},true,a\n{long},true,b\n")
    out = tmp_path / "out"
    # A shell starts background jobs with SIGINT ignored, and Python keeps an ignored SIGINT ignored:
    # a test run started with `&` would hand the batch a deaf Ctrl-C. Give it the terminal's default.
    proc = subprocess.Popen([sys.executable, "-m", "emote", "batch", str(manifest), "-o", str(out), "-j", "2", "-q"],
                            stderr=subprocess.PIPE, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob(".emote-*.mp4")):
        time.sleep(0.1)
    assert list(out.glob(".emote-*.mp4")), "the render never started"
    os.killpg(proc.pid, signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err.decode()[-2000:]
    assert "Traceback" not in err.decode() and err.decode().strip().splitlines()[-1].startswith("emote: ")
    assert not [p for p in leftovers(out) if ".emote-" in p and "tmp" in p]
    assert not (out / "a.mp4").exists() and not list((out / ".emote-batch").glob("*.done.json"))
