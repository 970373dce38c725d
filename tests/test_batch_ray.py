"""The same manifest on Ray (a local instance the test starts) gives the local runner's bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import missing

from emote.batch import BatchSettings, latest_results, run_batch

ray = pytest.importorskip("ray", reason=missing("ray", "not installed (pip install emote[cluster])"))

REPO = Path(__file__).resolve().parents[1]
HELLO = REPO / "examples" / "hello.wav"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def local_ray():
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    yield ray
    ray.shutdown()


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "results.jsonl"}  # fmt: skip


def test_ray_runs_the_manifest_like_the_local_pool_and_isolates_a_bad_line(tmp_path, local_ray):
    folder = tmp_path / "m"
    folder.mkdir()
    shutil.copy(HELLO, folder / "hello.wav")
    (folder / "broken.flac").write_bytes(b"fLaC" + b"\0" * 100)
    manifest = folder / "lines.jsonl"
    manifest.write_text(
        '{"audio": "hello.wav", "emotion": "happy", "output": "a", "formats": "json|csv"}\n'
        '{"audio": "broken.flac", "output": "b", "formats": "json"}\n'
        '{"audio": "hello.wav", "emotion": "sad", "intensity": 0.4, "seed": 3, "output": "c", "formats": "npz"}\n'
    )
    on_ray, local = tmp_path / "ray", tmp_path / "local"
    summary = run_batch(manifest, on_ray, settings=BatchSettings(runner="ray", workers=2))
    assert (summary.done, summary.failed) == (2, 1)
    assert summary.cluster["cpus"] == 2
    assert "broken.flac" in latest_results(summary.results)[2]["error"]
    run_batch(manifest, local, settings=BatchSettings(workers=2))
    assert outputs(on_ray) == outputs(local)
    # Resuming on Ray skips what is done and retries only the failed line.
    again = run_batch(manifest, on_ray, settings=BatchSettings(runner="ray"))
    assert (again.done, again.skipped, again.failed) == (0, 2, 1)
