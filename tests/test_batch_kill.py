"""A batch killed mid-run (a worker, then the parent, with SIGKILL) resumes into a clean run's bytes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emote.batch import latest_results, read_manifest, read_results
from emote.batch.job import stamp_matches
from emote.export import read

REPO = Path(__file__).resolve().parents[1]
HELLO = REPO / "examples" / "hello.wav"
EMOTIONS = ("neutral", "happy", "sad", "surprised", "fear", "disgusted", "angry", "contempt")

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(sys.platform == "win32", reason="platform: POSIX signals"),
]


def manifest(folder: Path) -> Path:
    folder.mkdir()
    shutil.copy(HELLO, folder / "hello.wav")
    rows = ["audio,emotion,intensity,seed,output"]
    rows += [f"hello.wav,{EMOTIONS[k % 8]},{0.4 + 0.05 * (k % 10):.2f},{k},take_{k:02d}" for k in range(16)]
    path = folder / "lines.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def batch(path: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "emote", "batch", str(path), "-o", str(out), "-j", "2", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)  # fmt: skip


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"  # a zombie has died already
    except FileNotFoundError:
        return False


def final_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "results.jsonl" and ".tmp" not in p.name
    }


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="platform: reads /proc")
def test_killed_batch_resumes_to_the_same_bytes_as_a_clean_run(tmp_path):
    path = manifest(tmp_path / "m")
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    proc = batch(path, clean)
    assert proc.wait(timeout=240) == 0, proc.stderr.read().decode()

    proc = batch(path, killed)
    results = killed / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not results.exists() or len(read_results(results)) < 3):
        assert proc.poll() is None, "the batch ended before it could be killed"
        time.sleep(0.01)
    workers = {r["worker"] for r in read_results(results)}
    victim = read_results(results)[-1]["worker"]
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    # No orphan goes on writing: the surviving worker dies with its parent.
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers)

    # Whatever is under a final name is complete: every output reads back, every stamp vouches truly.
    jobs = read_manifest(path).jobs
    finished_before = len(read_results(results))
    assert finished_before < len(jobs), "the kill came too late to test anything"
    for rel in final_files(killed):
        if not rel.startswith(".emote-batch/"):
            read(killed / rel)
    for job in jobs:
        stamp = killed / ".emote-batch" / f"{job.output}.done.json"
        if stamp.exists():
            assert stamp_matches(job, killed, json.loads(stamp.read_text())["key"]) is not None

    proc = batch(path, killed)
    assert proc.wait(timeout=240) == 0, proc.stderr.read().decode()
    states = latest_results(results)
    assert {s["status"] for s in states.values()} <= {"done", "skipped"}
    assert sum(s["status"] == "skipped" for s in states.values()) >= 2  # finished work was not redone
    assert final_files(killed) == final_files(clean)
    assert not [p for p in killed.rglob("*.tmp*")], "temporary files left behind"
