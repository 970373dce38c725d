"""`emote batch`: whole-manifest validation, parallel runs, resume, one bad line never stops the rest."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import needs

from emote.batch import (
    BatchSettings,
    JobDefaults,
    ManifestError,
    latest_results,
    output_files,
    read_manifest,
    read_results,
    run_batch,
    stamp_path,
)
from emote.errors import EmoteError
from emote.export import read

REPO = Path(__file__).resolve().parents[1]
HELLO = REPO / "examples" / "hello.wav"
TRANSCRIPT = (REPO / "examples" / "hello.txt").read_text().strip()

pytestmark = pytest.mark.timeout(180)


def write_manifest(folder: Path, text: str, name: str = "lines.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "hello.wav").exists():
        shutil.copy(HELLO, folder / "hello.wav")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emote", *args], capture_output=True, text=True, cwd=cwd,
                          check=False, timeout=170)  # fmt: skip


def visible_files(folder: Path) -> dict[str, bytes]:
    """Every output under its final name (hidden state and the results log left out)."""
    files = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts) and p.name != "results.jsonl":
            files[rel.as_posix()] = p.read_bytes()
    return files


# -- validation --------------------------------------------------------------------------------------


def test_every_bad_line_is_reported_with_its_number_before_anything_runs(tmp_path):
    manifest = write_manifest(
        tmp_path / "m",
        "audio,emotion,intensity,output,fps,seed\n"
        "hello.wav,happy,0.5,good,,\n"  # line 2: fine
        "hello.wav,grumpy,,a,,\n"  # 3: unknown emotion
        "missing.wav,sad,,b,,\n"  # 4: no audio
        "hello.wav,sad,1.5,c,,\n"  # 5: intensity out of range
        "hello.wav,sad,,../../etc/x,,\n"  # 6: climbs out of OUTDIR
        "hello.wav,sad,,/abs/x,,\n"  # 7: absolute
        "hello.wav,sad,,good,,\n"  # 8: duplicate of line 2
        "hello.wav,sad,,d,0,\n"  # 9: fps 0
        "hello.wav,sad,,e,nan,\n"  # 10: fps NaN
        "hello.wav,sad,,f,,-3\n"  # 11: negative seed
        "hello.wav,sad,,GOOD,,\n",  # 12: differs from line 2 only in case
    )
    out = tmp_path / "out"
    with pytest.raises(ManifestError) as info:
        run_batch(manifest, out)
    lines = {p.line: p.message for p in info.value.problems}
    assert sorted(lines) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert "grumpy" in lines[3]
    assert "missing.wav" in lines[4]
    assert "1.5" in lines[5]
    assert ".." in lines[6] and "absolute" in lines[7]
    assert "line 2" in lines[8] and "line 2" in lines[12]
    assert "fps" in lines[9] and "fps" in lines[10] and "seed" in lines[11]
    assert not out.exists()  # nothing ran, nothing written


def test_non_utf8_bytes_are_reported_on_their_line(tmp_path):
    folder = tmp_path / "m"
    write_manifest(folder, "")
    path = folder / "lines.csv"
    path.write_bytes(b"audio,output\nhello.wav,ok\nhello.wav,caf\xe9\nhello.wav,fine\n")
    with pytest.raises(ManifestError) as info:
        read_manifest(path)
    assert [p.line for p in info.value.problems] == [3]
    assert "UTF-8" in info.value.problems[0].message


def test_jsonl_lines_are_checked_like_csv_rows(tmp_path):
    manifest = write_manifest(
        tmp_path / "m",
        '{"audio": "hello.wav", "output": "a", "formats": ["csv", "npz"], "render": false}\n'
        "\n"
        '{"audio": "hello.wav", "output": "b", "intensity": "very"}\n'
        "not json\n"
        '{"audio": "hello.wav", "output": "c", "colour": "red"}\n'
        '{"audio": "hello.wav", "output": "d", "fps": 1e400}\n',
        name="lines.jsonl",
    )
    with pytest.raises(ManifestError) as info:
        read_manifest(manifest)
    assert [p.line for p in info.value.problems] == [3, 4, 5, 6]
    assert "colour" in info.value.problems[2].message


def test_paths_are_relative_to_the_manifest_and_defaults_fill_empty_cells(tmp_path):
    manifest = write_manifest(
        tmp_path / "m",
        "audio,text,emotion,output,fps,formats,seed\nhello.wav,Hello there,angry,x/y,,csv|json,\nhello.wav,,,z,60,,9\n",
    )
    defaults = JobDefaults(fps=25, formats=("npz",), seed=4, emotion="sad")
    a, b = read_manifest(manifest, defaults=defaults).jobs
    assert a.audio == (tmp_path / "m" / "hello.wav").resolve()
    assert (a.text, a.emotion, a.output, a.fps, a.formats, a.seed) == (
        "Hello there",
        "angry",
        "x/y",
        25,
        ("csv", "json"),
        4,
    )
    assert (b.emotion, b.fps, b.formats, b.seed) == ("sad", 60, ("npz",), 9)


def test_a_line_that_would_overwrite_another_lines_file_is_refused(tmp_path):
    # "x" writes x.metahuman.csv; "x.metahuman" with csv would write the same file.
    manifest = write_manifest(
        tmp_path / "m", "audio,output,formats\nhello.wav,x,metahuman\nhello.wav,x.metahuman,csv\n"
    )
    with pytest.raises(ManifestError) as info:
        read_manifest(manifest)
    assert [p.line for p in info.value.problems] == [3]


def test_rendering_lines_fail_validation_when_the_rig_cannot_load(tmp_path):
    manifest = write_manifest(
        tmp_path / "m", "audio,output,render,rig\nhello.wav,a,true,no-such-rig.glb\nhello.wav,b,false,\n"
    )
    with pytest.raises(ManifestError) as info:
        read_manifest(manifest)
    assert [p.line for p in info.value.problems] == [2]


# -- running -------------------------------------------------------------------------------------------


def test_two_workers_write_every_line_and_a_results_record_each(tmp_path):
    manifest = write_manifest(
        tmp_path / "m",
        "audio,emotion,intensity,output,formats,fps\n"
        "hello.wav,happy,0.8,lines/happy,csv|json|npz|metahuman,\n"
        "hello.wav,sad,0.5,lines/sad,json,60\n"
        "hello.wav,angry,,lines/angry,npz,\n",
    )
    out = tmp_path / "out"
    summary = run_batch(manifest, out, settings=BatchSettings(workers=2))
    assert (summary.done, summary.failed, summary.skipped) == (3, 0, 0)
    sad = read(out / "lines" / "sad.json")
    assert sad.fps == 60 and sad.metadata["emotion_track"]["segments"][0]["emotion"] == "sad"
    assert "timings" not in sad.metadata  # wall-clock seconds stay out of the files
    happy_csv = read(out / "lines" / "happy.csv")
    assert np.allclose(happy_csv.curves, read(out / "lines" / "happy.npz").curves, atol=1e-6)
    records = read_results(summary.results)
    assert sorted(r["line"] for r in records) == [2, 3, 4]
    assert all(r["status"] == "done" and r["audio_seconds"] > 6 for r in records)
    assert len(summary.peak_rss_mb) >= 1 and all(0 < mb < 4000 for mb in summary.peak_rss_mb.values())


def test_a_rerun_skips_what_is_done_and_redoes_only_what_changed(tmp_path):
    folder = tmp_path / "m"
    manifest = write_manifest(
        folder, "audio,emotion,output,formats\nhello.wav,happy,a,json\nhello.wav,sad,b,json\n"
    )
    out = tmp_path / "out"
    run_batch(manifest, out, settings=BatchSettings(workers=1))
    before = visible_files(out)
    again = run_batch(manifest, out, settings=BatchSettings(workers=1))
    assert (again.done, again.skipped) == (0, 2)
    assert visible_files(out) == before
    # Changing one line's emotion re-runs that line only.
    manifest.write_text("audio,emotion,output,formats\nhello.wav,happy,a,json\nhello.wav,fear,b,json\n")
    changed = run_batch(manifest, out, settings=BatchSettings(workers=1))
    assert (changed.done, changed.skipped) == (1, 1)
    assert read(out / "b.json").metadata["emotion_track"]["segments"][0]["emotion"] == "fear"
    # A damaged output is noticed and rewritten.
    (out / "a.json").write_text("{}")
    repaired = run_batch(manifest, out, settings=BatchSettings(workers=1))
    assert (repaired.done, repaired.skipped) == (1, 1)
    assert (out / "a.json").read_bytes() == before["a.json"]


def test_a_changed_transcript_file_changes_the_job(tmp_path):
    folder = tmp_path / "m"
    manifest = write_manifest(folder, "audio,text_file,output,formats\nhello.wav,line.txt,a,json\n")
    (folder / "line.txt").write_text(TRANSCRIPT)
    out = tmp_path / "out"
    assert run_batch(manifest, out, settings=BatchSettings(workers=1)).done == 1
    (folder / "line.txt").write_text("Maybe we should move the boat.")
    assert run_batch(manifest, out, settings=BatchSettings(workers=1)).done == 1


def test_one_corrupt_audio_fails_its_line_and_the_rest_go_on(tmp_path):
    folder = tmp_path / "m"
    manifest = write_manifest(
        folder, "audio,output,formats\nhello.wav,a,json\nbroken.wav,b,json\nhello.wav,c,json\n"
    )
    (folder / "broken.wav").write_bytes(HELLO.read_bytes()[:30])  # a header cut short
    out = tmp_path / "out"
    summary = run_batch(manifest, out, settings=BatchSettings(workers=2))
    assert (summary.done, summary.failed) == (2, 1)
    failed = latest_results(summary.results)[3]
    assert failed["status"] == "failed" and "broken.wav" in failed["error"]
    assert "\n" not in failed["error"]
    assert sorted(visible_files(out)) == ["a.json", "c.json"]


def test_cli_exit_status_tells_bad_manifest_failed_lines_and_success(tmp_path):
    folder = tmp_path / "m"
    bad = write_manifest(
        folder, "audio,emotion,output\nhello.wav,grumpy,a\nhello.wav,sad,../b\n", name="bad.csv"
    )
    res = run_cli("batch", str(bad), "-o", str(tmp_path / "o1"), "-q")
    assert res.returncode == 2
    assert f"{bad}:2:" in res.stderr and f"{bad}:3:" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "o1").exists()

    (folder / "noise.wav").write_bytes(b"RIFF" + os.urandom(200))
    mixed = write_manifest(
        folder, "audio,output,formats\nhello.wav,a,csv\nnoise.wav,b,csv\n", name="mixed.csv"
    )
    res = run_cli("batch", str(mixed), "-o", str(tmp_path / "o2"), "-q", "-j", "2")
    assert res.returncode == 1
    assert f"{mixed}:3: failed" in res.stderr and "1 failed" in res.stderr

    good = write_manifest(folder, "audio,output,formats\nhello.wav,a,csv\n", name="good.csv")
    assert run_cli("batch", str(good), "-o", str(tmp_path / "o3"), "-q", "--check").returncode == 0
    assert not (tmp_path / "o3").exists()
    res = run_cli("batch", str(good), "-o", str(tmp_path / "o3"), "-q")
    assert res.returncode == 0 and (tmp_path / "o3" / "a.csv").is_file()


def test_example_manifests_are_valid_and_agree():
    csv_jobs = read_manifest(REPO / "examples" / "manifest.csv").jobs
    jsonl_jobs = read_manifest(REPO / "examples" / "manifest.jsonl").jobs
    assert [j.output for j in csv_jobs] == [j.output for j in jsonl_jobs]
    assert all(j.audio == HELLO.resolve() for j in csv_jobs)


# -- workers that die or hang ---------------------------------------------------------------------------


def tiled(folder: Path, times: int) -> Path:
    y, sr = sf.read(HELLO, dtype="float32")
    path = folder / f"long_{times}.wav"
    sf.write(path, np.tile(y, times), sr)
    return path


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory) -> Path:
    """68 s of speech (the example ten times), no transcript: a second or two of recognition."""
    return tiled(tmp_path_factory.mktemp("long"), 10)


@pytest.fixture(scope="module")
def very_long_wav(tmp_path_factory) -> Path:
    """20 minutes of speech, no transcript: over ten seconds of recognition even at 100x real time."""
    return tiled(tmp_path_factory.mktemp("long"), 180)


def test_a_worker_killed_mid_job_costs_only_that_line(tmp_path, long_wav):
    folder = tmp_path / "m"
    write_manifest(folder, "")
    shutil.copy(long_wav, folder / "long.wav")
    manifest = write_manifest(
        folder, "audio,output,formats\nhello.wav,first,json\nlong.wav,victim,json\nhello.wav,after,json\n"
    )
    out = tmp_path / "out"
    results = out / "results.jsonl"

    def killer() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            records = read_results(results) if results.exists() else []
            if records:
                time.sleep(0.3)  # the worker is now busy with the long line
                os.kill(records[0]["worker"], signal.SIGKILL)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=killer)
    thread.start()
    summary = run_batch(manifest, out, settings=BatchSettings(workers=1))
    thread.join()
    states = {r["output"]: r for r in latest_results(summary.results).values()}
    assert states["first"]["status"] == "done" and states["after"]["status"] == "done"
    assert states["victim"]["status"] == "failed" and "signal 9" in states["victim"]["error"]
    assert not (out / "victim.json").exists()
    # The next run finishes only what is missing.
    again = run_batch(manifest, out, settings=BatchSettings(workers=1))
    assert (again.done, again.skipped, again.failed) == (1, 2, 0)


def test_a_line_over_the_timeout_is_stopped_and_recorded(tmp_path, very_long_wav):
    folder = tmp_path / "m"
    write_manifest(folder, "")
    shutil.copy(very_long_wav, folder / "long.wav")
    manifest = write_manifest(folder, "audio,output,formats\nlong.wav,slow,json\nhello.wav,quick,json\n")
    out = tmp_path / "out"
    start = time.monotonic()
    summary = run_batch(manifest, out, settings=BatchSettings(workers=1, timeout=3.0))
    assert time.monotonic() - start < 30
    states = {r["output"]: r for r in latest_results(summary.results).values()}
    assert states["slow"]["status"] == "failed" and "timed out" in states["slow"]["error"]
    assert states["quick"]["status"] == "done"
    assert sorted(visible_files(out)) == ["quick.json"]


def test_output_files_and_stamp_live_inside_outdir(tmp_path):
    manifest = write_manifest(
        tmp_path / "m", "audio,output,formats,render\nhello.wav,a/b,csv|metahuman,false\n"
    )
    job = read_manifest(manifest).jobs[0]
    files = output_files(job, tmp_path / "out")
    assert sorted(p.name for p in files.values()) == ["b.csv", "b.metahuman.csv"]
    assert stamp_path(job, tmp_path / "out") == tmp_path / "out" / ".emote-batch" / "a" / "b.done.json"


def test_a_line_can_ask_for_a_render_on_its_rig(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    y, sr = sf.read(HELLO, dtype="float32")
    sf.write(folder / "short.wav", y[: sr * 3 // 2], sr)  # 1.5 s: a few dozen frames to render
    manifest = write_manifest(
        folder, "audio,output,formats,render,rig\nshort.wav,a,json,true,default\nshort.wav,b,json,false,\n"
    )
    from emote.batch.manifest import _render_unavailable

    unavailable = _render_unavailable()
    if unavailable:
        needs("render", unavailable)
    jobs = read_manifest(manifest).jobs
    out = tmp_path / "out"
    summary = run_batch(manifest, out, settings=BatchSettings(workers=1))
    assert summary.done == 2, [f.error for f in summary.failures]
    assert (out / "a.mp4").stat().st_size > 1000 and not (out / "b.mp4").exists()
    assert json.loads(stamp_path(jobs[0], out).read_text())["outputs"].keys() == {"a.json", "a.mp4"}


def test_a_line_may_ask_for_the_neural_engine_and_a_bad_engine_is_reported(tmp_path):
    folder = tmp_path / "m"
    manifest = write_manifest(
        folder, "audio,output,formats,engine\nhello.wav,n,json,neural\nhello.wav,p,json,\n"
    )
    summary = run_batch(manifest, tmp_path / "out", settings=BatchSettings(workers=1))
    assert summary.failed == 0
    engines = {
        n: json.loads((tmp_path / "out" / f"{n}.json").read_text())["metadata"]["engine"] for n in "np"
    }
    assert engines == {"n": "neural", "p": "phonetic"}
    bad = write_manifest(tmp_path / "b", "audio,output,engine\nhello.wav,x,magic\n")
    with pytest.raises(ManifestError) as info:
        read_manifest(bad)
    assert ":2:" in "\n".join(info.value.lines()) and "magic" in str(info.value)


@pytest.mark.parametrize(
    ("argv", "engine", "runner", "warned"),
    [
        ([], "phonetic", "local", False),
        (["--runner", "ray"], "phonetic", "ray", False),
        (["--engine", "neural"], "neural", "local", False),
        (["--animator", "neural", "--ray-address", "auto"], "neural", "ray", False),
        (["--engine", "ray"], "phonetic", "ray", True),  # the old spelling of --runner
        (["--engine", "local", "--animator", "neural"], "neural", "local", True),
    ],
)
def test_batch_engine_names_the_animation_engine_and_runner_where_jobs_run(
    argv, engine, runner, warned, capsys
):
    from emote.cli.batch_cmd import _defaults, _engine_and_runner
    from emote.cli.main import build_parser

    args = build_parser().parse_args(["batch", "lines.csv", *argv])
    assert _engine_and_runner(args) == (engine, runner)
    assert _defaults(args).engine == engine
    assert ("--engine local|ray is deprecated; use --runner" in capsys.readouterr().err) == warned


def test_batch_settings_engine_is_the_deprecated_name_of_runner():
    import emote.batch

    assert BatchSettings(runner="ray").runner == "ray"
    with pytest.warns(DeprecationWarning, match="use runner="):
        assert BatchSettings(engine="ray").runner == "ray"
    with pytest.warns(DeprecationWarning, match="use RUNNERS"):
        assert emote.batch.ENGINES == emote.batch.RUNNERS == ("local", "ray")
    with pytest.raises(EmoteError, match="unknown batch runner 'phonetic'; runners are local, ray"):
        BatchSettings(runner="phonetic")
