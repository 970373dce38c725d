"""Batch manifests: one job per line, read and validated as a whole before anything runs.

A manifest is a CSV file (header line, one job per row) or a JSONL file (one
JSON object per line). Columns (CSV) or keys (JSONL):

================  ==========================================================================
column            meaning
================  ==========================================================================
``audio``         the speech file (required)
``text``          transcript of the speech (forced alignment)
``text_file``     a file holding the transcript (``.txt``/``.lab``, UTF-8)
``timings``       phone timings used as they are: a Praat ``.TextGrid`` or ``start,end,phone`` CSV
``emotion``       one emotion for the whole line (``emote emotions`` lists them)
``intensity``     emotion intensity in [0, 1] (out of range is an error, never clamped)
``emotion_track`` a time-varying emotion track (JSON file)
``output``        base name of the outputs, relative to OUTDIR (default: the audio's name);
                  ``name`` is accepted too; may hold sub-folders (``hero/vo_001``)
``fps``           frame rate of the curves
``formats``       curve formats: ``csv``, ``json``, ``npz``, ``metahuman``, separated by ``|``,
                  ``;``, spaces or (quoted, or in JSONL a list) commas
``render``        ``true``/``false``: also render an MP4 on ``rig``
``rig``           the rig a render uses (``default``, ``ict-facekit``, a ``.glb`` path ...)
``seed``          seed of blinks, gaze and head motion (integer >= 0)
``engine``        ``phonetic`` (default) or ``neural``
``blinks``,       ``true``/``false``: switch parts of the performance layer
``gaze``,
``head_motion``
================  ==========================================================================

Empty cells (CSV) and ``null`` (JSONL) mean "not given": the command line's
defaults apply. Relative paths are relative to the manifest's folder. Lines that
are blank or start with ``#`` are skipped.

Every problem on every line is collected, then reported at once with its line
number (:class:`ManifestError`): a missing or empty audio file, an unknown
emotion, an intensity or fps out of range, an output name that escapes OUTDIR
(``../../etc/x``, ``/abs``), hidden or duplicated outputs (case-insensitively,
so a case-insensitive file system cannot merge two lines), bytes that are not
UTF-8, unknown columns.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path, PurePosixPath
from typing import Any

from emote.errors import EmoteError
from emote.export import REGISTRY, get_format
from emote.limits import MAX_FPS, MIN_FPS

__all__ = [
    "COLUMNS",
    "CURVE_FORMATS",
    "Job",
    "JobDefaults",
    "LineProblem",
    "Manifest",
    "ManifestError",
    "output_files",
    "read_manifest",
    "stamp_path",
]

CURVE_FORMATS: dict[str, str] = {f.option: f.output_suffix for f in REGISTRY if not f.needs_mesh}
"""Curve format (as in ``emote animate --format``) → output file suffix, from the format registry
(:data:`emote.export.REGISTRY`); batch lines write curves only (renders aside)."""

COLUMNS: tuple[str, ...] = (
    "audio", "text", "text_file", "timings", "emotion", "intensity", "emotion_track",
    "output", "fps", "formats", "render", "rig", "seed", "blinks", "gaze", "head_motion", "engine",
)  # fmt: skip
_ALIASES = {"name": "output", "format": "formats", "transcript": "text", "transcript_file": "text_file",
            "track": "emotion_track"}  # fmt: skip

MAX_SEED = 2**63 - 1
MAX_NAME_BYTES = 200
"""Longest output name component in UTF-8 bytes: room for the longest suffix and a temp-file tag
within the 255 bytes file systems allow."""

STATE_DIR = ".emote-batch"
"""Folder in OUTDIR holding the per-job stamps (hidden output names are refused, so no clash)."""

_TRUE = frozenset({"1", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "off"})
# Characters no portable file name holds (Windows' reserved set, control characters).
_BAD_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*\\]')


@dataclass(frozen=True)
class JobDefaults:
    """Settings for every line that does not override them (the command line's options).

    Attributes
    ----------
    fps : float
        Frame rate of the curves.
    formats : tuple[str, ...]
        Curve formats, keys of :data:`CURVE_FORMATS`.
    render : bool
        Render an MP4 per line.
    rig : str
        Rig for renders.
    seed : int
    engine : str
        ``phonetic`` or ``neural``.
    emotion : str
    intensity : float
    blinks, gaze, head_motion : bool
    use_transcript_file : bool
        Use a ``.txt``/``.lab`` beside the audio when the line gives no transcript.
    """

    fps: float = 30.0
    formats: tuple[str, ...] = tuple(CURVE_FORMATS)
    render: bool = False
    rig: str = "default"
    seed: int = 0
    engine: str = "phonetic"
    emotion: str = "neutral"
    intensity: float = 1.0
    blinks: bool = True
    gaze: bool = True
    head_motion: bool = True
    use_transcript_file: bool = True

    def __post_init__(self) -> None:
        # The command line's options get the same checks as a manifest's cells.
        checks = {
            "fps": _fps,
            "formats": _formats,
            "seed": _seed,
            "engine": _engine,
            "emotion": _emotion,
            "intensity": _intensity,
        }
        for name, check in checks.items():
            try:
                object.__setattr__(self, name, check(getattr(self, name)))
            except _Bad as err:
                raise EmoteError(f"{name}: {err}") from None
        try:
            object.__setattr__(self, "rig", _rig(self.rig, Path.cwd()))
        except _Bad as err:
            raise EmoteError(f"rig: {err}") from None


@dataclass(frozen=True)
class Job:
    """One manifest line, validated, every path resolved and every default applied.

    Attributes
    ----------
    line : int
        1-based line number in the manifest (the first line of a multi-line CSV record).
    audio : Path
        The speech file (absolute).
    output : str
        Output base name, a relative POSIX path inside OUTDIR (``hero/vo_001``).
    text, text_file, timings :
        At most one phone source; None for recognition (or the transcript beside the audio).
    emotion, intensity, emotion_track :
        ``emotion`` (canonical name) at ``intensity``, or a track file (then ``emotion`` is None).
    fps, formats, render, rig, seed, engine, blinks, gaze, head_motion, use_transcript_file :
        As :class:`JobDefaults`; ``rig`` is absolute when it names a file.
    """

    line: int
    audio: Path
    output: str
    text: str | None = None
    text_file: Path | None = None
    timings: Path | None = None
    emotion: str | None = "neutral"
    intensity: float = 1.0
    emotion_track: Path | None = None
    fps: float = 30.0
    formats: tuple[str, ...] = tuple(CURVE_FORMATS)
    render: bool = False
    rig: str = "default"
    seed: int = 0
    engine: str = "phonetic"
    blinks: bool = True
    gaze: bool = True
    head_motion: bool = True
    use_transcript_file: bool = True


def output_files(job: Job, outdir: str | PathLike[str]) -> dict[str, Path]:
    """The files a job writes, by format (``"mp4"`` for the render), stamp excluded."""
    base = Path(outdir) / job.output
    files = {fmt: base.with_name(base.name + CURVE_FORMATS[fmt]) for fmt in job.formats}
    if job.render:
        files["mp4"] = base.with_name(base.name + ".mp4")
    return files


def stamp_path(job: Job, outdir: str | PathLike[str]) -> Path:
    """Where the job's done-stamp lives: ``OUTDIR/.emote-batch/<output>.done.json``."""
    base = Path(outdir) / STATE_DIR / job.output
    return base.with_name(base.name + ".done.json")


@dataclass(frozen=True)
class LineProblem:
    """One thing wrong with one manifest line (line 0: the file as a whole)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class ManifestError(EmoteError):
    """A manifest with bad lines; ``problems`` lists every one, in line order.

    ``str(error)`` is one line (the first few problems); :meth:`lines` gives one
    ``"<manifest>:<line>: <problem>"`` string per problem, as compilers report.
    """

    def __init__(self, path: str | PathLike[str], problems: list[LineProblem]) -> None:
        self.path = Path(path)
        self.problems = sorted(problems, key=lambda p: p.line)
        shown = "; ".join(str(p) for p in self.problems[:3])
        more = f"; and {len(self.problems) - 3} more" if len(self.problems) > 3 else ""
        n_lines = len({p.line for p in self.problems})
        super().__init__(f"{self.path}: {n_lines} bad line{'s' * (n_lines != 1)} ({shown}{more})")

    def lines(self) -> list[str]:
        return [f"{self.path}:{p.line}: {p.message}" if p.line else f"{self.path}: {p.message}"
                for p in self.problems]  # fmt: skip


@dataclass
class Manifest:
    """A validated manifest: its jobs in file order.

    Attributes
    ----------
    path : Path
        The manifest file.
    jobs : list[Job]
    """

    path: Path
    jobs: list[Job] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.jobs)


# -- reading ----------------------------------------------------------------------------------------


def read_manifest(
    path: str | PathLike[str], *, defaults: JobDefaults | None = None, check_rigs: bool = True
) -> Manifest:
    """Read and validate a CSV or JSONL manifest; every line is checked before any is returned.

    Parameters
    ----------
    path : str or PathLike
        ``.csv``/``.tsv`` (CSV with a header line) or ``.jsonl``/``.ndjson`` (one object a line);
        another extension is sniffed from the first character (``{`` → JSONL).
    defaults : JobDefaults, optional
        Settings for lines that do not give their own.
    check_rigs : bool
        Load each distinct rig that a rendering line names once, so a rig that cannot load
        fails here, not on every line.

    Returns
    -------
    Manifest

    Raises
    ------
    ManifestError
        Listing every bad line with its number; nothing has run.
    EmoteError
        The manifest itself is missing or unreadable.

    Examples
    --------
    >>> m = read_manifest("examples/manifest.csv")   # doctest: +SKIP
    >>> m.jobs[0].output, m.jobs[0].emotion           # doctest: +SKIP
    ('hello_happy', 'happy')
    """
    p = Path(path)
    defaults = defaults or JobDefaults()
    if not p.is_file():
        raise EmoteError(f"{p}: no such manifest file" if not p.exists() else f"{p}: is not a file")
    data = p.read_bytes()
    problems: list[LineProblem] = []
    text = _decode(data, problems)
    if not text.strip():
        raise ManifestError(p, [*problems, LineProblem(0, "has no jobs (the manifest is empty)")])
    kind = _kind(p, text)
    rows = (
        _jsonl_rows(text, problems) if kind == "jsonl" else _csv_rows(text, problems, tab=p.suffix == ".tsv")
    )
    base = p.resolve().parent
    jobs: list[Job] = []
    for line, row in rows:
        job = _job(row, line, base, defaults, problems)
        if job is not None:
            jobs.append(job)
    if not rows and not problems:
        problems.append(LineProblem(0, "has no jobs (only a header, blank or comment lines)"))
    _check_collisions(jobs, problems)
    if check_rigs:
        _check_rigs(jobs, problems)
    if problems:
        raise ManifestError(p, problems)
    return Manifest(p, jobs)


def _decode(data: bytes, problems: list[LineProblem]) -> str:
    """UTF-8 text (BOM dropped); each line holding other bytes is reported and blanked."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as err:
            problems.append(LineProblem(number, f"bytes that are not UTF-8 at column {err.start + 1} "
                                                f"({raw[err.start:err.start + 4]!r}); save the manifest as UTF-8"))  # fmt: skip
            lines[number - 1] = b"#"  # keep the numbering; the line itself is already reported
    return b"\n".join(lines).decode("utf-8")


def _kind(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def _skipped(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _jsonl_rows(text: str, problems: list[LineProblem]) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if _skipped(line):
            continue
        try:
            obj = json.loads(line, parse_constant=_reject_constant)
        except (json.JSONDecodeError, ValueError) as err:
            problems.append(LineProblem(number, f"not a JSON object ({getattr(err, 'msg', err)})"))
            continue
        if not isinstance(obj, dict):
            problems.append(
                LineProblem(number, f'expected a JSON object {{"audio": ...}}, got {type(obj).__name__}')
            )
            continue
        rows.append((number, obj))
    return rows


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _csv_rows(text: str, problems: list[LineProblem], *, tab: bool) -> list[tuple[int, dict[str, Any]]]:
    lines = text.splitlines(keepends=True)
    # Comment and blank lines are blanked (not dropped) so csv's line numbers stay the file's.
    kept = ["\n" if _skipped(line) else line for line in lines]
    reader = csv.reader(io.StringIO("".join(kept)), delimiter="\t" if tab else ",", strict=True)
    header: list[str] | None = None
    rows = []
    start = 1
    try:
        for record in reader:
            first_line, start = start, reader.line_num + 1
            if not record or all(not cell.strip() for cell in record):
                continue
            if header is None:
                header = _header(record, first_line, problems)
                if header is None:
                    return []
                continue
            if len(record) > len(header):
                extra = [c for c in record[len(header) :] if c.strip()]
                if extra:
                    problems.append(LineProblem(first_line, f"{len(record)} fields but the header has {len(header)} "
                                                            f"(quote values that hold commas)"))  # fmt: skip
                    continue
            rows.append((first_line, {k: v for k, v in zip(header, record, strict=False) if k}))
    except csv.Error as err:
        problems.append(LineProblem(start, f"malformed CSV ({err})"))
    if header is None and not problems:
        problems.append(LineProblem(0, "has no header line (expected e.g. audio,emotion,output)"))
    return rows


def _header(record: list[str], line: int, problems: list[LineProblem]) -> list[str] | None:
    names = [_canonical_column(c) for c in record]
    bad = [c.strip() for c, n in zip(record, names, strict=True) if n is None and c.strip()]
    if "audio" not in names:
        problems.append(LineProblem(line, f"the header {','.join(record)!r} has no 'audio' column "
                                          f"(columns: {', '.join(COLUMNS)})"))  # fmt: skip
        return None
    if bad:
        problems.append(
            LineProblem(
                line, f"unknown column(s) {', '.join(map(repr, bad))}; columns are {', '.join(COLUMNS)}"
            )
        )
        return None
    seen = [n for n in names if n]
    if len(seen) != len(set(seen)):
        dup = sorted({n for n in seen if seen.count(n) > 1})
        problems.append(LineProblem(line, f"column(s) {', '.join(map(repr, dup))} given twice"))
        return None
    return [n or "" for n in names]


def _canonical_column(name: Any) -> str | None:
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key, key)
    return key if key in COLUMNS else None


# -- one line → one Job -------------------------------------------------------------------------


class _Bad(Exception):
    """A problem with one field; collected, never raised out of this module."""


def _job(
    row: dict[str, Any], line: int, base: Path, defaults: JobDefaults, problems: list[LineProblem]
) -> Job | None:
    fields: dict[str, Any] = {}
    errors: list[str] = []
    for key, value in row.items():
        column = _canonical_column(key)
        if column is None:
            errors.append(f"unknown column {str(key)!r}; columns are {', '.join(COLUMNS)}")
            continue
        if column in fields:
            errors.append(f"{column!r} given twice")
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        fields[column] = value

    def field_value(column: str, parse, default=None):
        if column not in fields:
            return default
        try:
            return parse(fields[column])
        except _Bad as err:
            errors.append(f"{column}: {err}")
            return None

    audio = field_value("audio", lambda v: _input_file(v, base, "audio file"))
    if "audio" not in fields:
        errors.append("audio: missing (every line needs an audio file)")
    text = field_value("text", _text)
    text_file = field_value("text_file", lambda v: _transcript_file(v, base))
    timings = field_value("timings", lambda v: _timings_file(v, base))
    sources = [c for c in ("text", "text_file", "timings") if c in fields]
    if len(sources) > 1:
        errors.append(f"give one of text, text_file, timings (this line has {', '.join(sources)})")
    track = field_value("emotion_track", lambda v: _track_file(v, base))
    emotion = field_value("emotion", _emotion)
    intensity = field_value("intensity", _intensity)
    if "emotion_track" in fields and ("emotion" in fields or "intensity" in fields):
        errors.append(
            "give either emotion (+ intensity) or emotion_track, not both (the track has its own intensities)"
        )
    output = field_value("output", _output_name)
    if output is None and "output" not in fields and audio is not None:
        try:
            output = _output_name(Path(str(fields["audio"])).name.split(".")[0])
        except _Bad as err:
            errors.append(f"output (from the audio's name): {err}; give an output column")
    fps = field_value("fps", _fps, defaults.fps)
    formats = field_value("formats", _formats, defaults.formats)
    render = field_value("render", _bool, defaults.render)
    rig = field_value("rig", lambda v: _rig(v, base), defaults.rig)
    seed = field_value("seed", _seed, defaults.seed)
    engine = field_value("engine", _engine, defaults.engine)
    flags = {
        name: field_value(name, _bool, getattr(defaults, name)) for name in ("blinks", "gaze", "head_motion")
    }
    if errors:
        problems.extend(LineProblem(line, e) for e in errors)
        return None
    return Job(
        line=line,
        audio=audio,
        output=output,
        text=text,
        text_file=text_file,
        timings=timings,
        emotion=None if track is not None else (emotion or defaults.emotion),
        intensity=defaults.intensity if intensity is None else intensity,
        emotion_track=track,
        fps=fps,
        formats=formats,
        render=render,
        rig=rig,
        seed=seed,
        engine=engine,
        use_transcript_file=defaults.use_transcript_file,
        **flags,
    )


def _string(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Bad(f"expected {what}, got {json.dumps(value)[:60]}")
    return str(value).strip()


def _input_file(value: Any, base: Path, what: str) -> Path:
    text = _string(value, f"a path to the {what}")
    if "\x00" in text:
        raise _Bad(f"{text!r} holds a NUL byte")
    path = Path(os.path.expanduser(text))
    path = path if path.is_absolute() else base / path
    if not path.exists():
        raise _Bad(f"{text}: no such {what}")
    if not path.is_file():
        raise _Bad(
            f"{text}: is a folder, not an {what}"
            if path.is_dir()
            else f"{text}: is not a regular file (a FIFO, device or pipe)"
        )
    if path.stat().st_size == 0:
        raise _Bad(f"{text}: is empty (0 bytes)")
    return path


def _text(value: Any) -> str:
    text = " ".join(_string(value, "the transcript text").split())
    if not text:
        raise _Bad("is empty")
    return text


def _transcript_file(value: Any, base: Path) -> Path:
    from emote.audio.timings import read_text_file

    path = _input_file(value, base, "transcript file")
    try:
        content = read_text_file(path)  # bounded: EMOTE_MAX_TEXT_BYTES
    except EmoteError as err:
        raise _Bad(str(err).replace(str(path), str(value), 1)) from None
    if not content.strip():
        raise _Bad(f"{value}: holds no text")
    return path


def _timings_file(value: Any, base: Path) -> Path:
    path = _input_file(value, base, "timings file")
    if path.suffix.lower() not in (".textgrid", ".csv", ".tsv"):
        raise _Bad(f"{value}: unknown timings format (expected a .TextGrid or a start,end,phone .csv)")
    return path


def _track_file(value: Any, base: Path) -> Path:
    from emote.performance import EmotionTrack

    path = _input_file(value, base, "emotion track file")
    try:
        EmotionTrack.from_json(path)
    except EmoteError as err:
        raise _Bad(str(err).replace(str(path), str(value), 1)) from None
    return path


def _emotion(value: Any) -> str:
    from emote.performance import resolve_emotion

    name = _string(value, "an emotion name")
    try:
        return resolve_emotion(name)
    except EmoteError as err:
        raise _Bad(str(err)) from None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise _Bad(f"expected {what}, got {value!r}")
    try:
        x = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise _Bad(f"expected {what}, got {str(value)[:40]!r}") from None
    if not math.isfinite(x):
        raise _Bad(f"expected a finite number, got {str(value)[:40]!r}")
    return x


def _intensity(value: Any) -> float:
    x = _number(value, "a number in [0, 1]")
    if not 0.0 <= x <= 1.0:
        raise _Bad(f"{x:g} is outside [0, 1]")
    return x


def _fps(value: Any) -> float:
    x = _number(value, f"frames per second in [{MIN_FPS:g}, {MAX_FPS:g}]")
    if not MIN_FPS <= x <= MAX_FPS:
        raise _Bad(f"{x:g} is outside [{MIN_FPS:g}, {MAX_FPS:g}]")
    return x


def _engine(value: Any) -> str:
    from emote.engines import ENGINES

    text = str(value).strip().lower()
    if text not in ENGINES:
        raise _Bad(f"engine {value!r}: expected one of {', '.join(ENGINES)}")
    return text


def _seed(value: Any) -> int:
    if isinstance(value, bool):
        raise _Bad(f"expected an integer >= 0, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not re.fullmatch(r"\+?\d{1,19}", text):
        raise _Bad(f"expected an integer >= 0, got {text[:40]!r}")
    seed = int(text)
    if seed > MAX_SEED:
        raise _Bad(f"{text[:40]} is larger than {MAX_SEED}")
    return seed


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    key = str(value).strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise _Bad(f"expected true or false, got {str(value)[:40]!r}")


def _formats(value: Any) -> tuple[str, ...]:
    items = (
        list(value)
        if isinstance(value, (list, tuple))
        else re.split(r"[|;,\s]+", _string(value, "format names"))
    )
    names = []
    for item in items:
        key = _string(item, "a format name").lower()
        if not key:
            continue
        try:
            option = get_format(key).option
        except EmoteError:
            option = None
        if option not in CURVE_FORMATS:
            raise _Bad(f"unknown format {key!r}; formats are {', '.join(CURVE_FORMATS)}")
        names.append(option)
    if not names:
        raise _Bad("no format given")
    return tuple(dict.fromkeys(names))


def _rig(value: Any, base: Path) -> str:
    text = _string(value, "a rig name or file")
    from emote.rigs.registry import RIG_NAMES

    if text.lower() in RIG_NAMES or text.lower() in ("ict", "mh"):
        return text.lower()
    path = Path(os.path.expanduser(text))
    path = path if path.is_absolute() else base / path
    if not path.exists():
        raise _Bad(f"unknown rig {text!r}; rigs are {', '.join(RIG_NAMES)}, or a .glb/.gltf file")
    return str(path)


def _output_name(value: Any) -> str:
    """A safe relative output name: inside OUTDIR, visible, portable, not too long."""
    text = _string(value, "an output name")
    if not text:
        raise _Bad("is empty")
    if text.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", text) or PurePosixPath(text).is_absolute():
        raise _Bad(f"{text!r} is an absolute path; give a name relative to the output folder")
    if _BAD_NAME_CHARS.search(text):
        raise _Bad(f'{text!r} holds a character file names cannot (control, backslash or one of <>:"|?*)')
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise _Bad(f"{text!r} climbs out of the output folder ('..'); names must stay inside it")
    if not parts:
        raise _Bad(f"{text!r} names no file")
    for part in parts:
        if part.startswith("."):
            raise _Bad(f"{text!r}: hidden names (starting with '.') are reserved for temporary files")
        if part != part.strip() or part.endswith("."):
            raise _Bad(f"{text!r}: a name part starts or ends with a space or ends with '.'")
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise _Bad(f"a name part is {len(part.encode('utf-8'))} bytes long, more than {MAX_NAME_BYTES}")
    return "/".join(parts)


# -- whole-manifest checks -----------------------------------------------------------------------------


def _check_collisions(jobs: list[Job], problems: list[LineProblem]) -> None:
    """Two lines writing one file (case-insensitively) would overwrite each other: report the later."""
    owner: dict[str, Job] = {}
    for job in jobs:
        files = [str(PurePosixPath(job.output).parent / f.name) for f in output_files(job, ".").values()]
        files.append(f"{STATE_DIR}/{job.output}.done.json")
        clash = None
        for name in files:
            key = name.casefold()
            if key in owner and owner[key] is not job:
                clash = owner[key]
                break
        if clash is not None:
            what = "output" if clash.output.casefold() == job.output.casefold() else "an output file of"
            problems.append(LineProblem(job.line, f"{what} {job.output!r} clashes with line {clash.line} "
                                                  f"({clash.output!r}); give each line its own output name"))  # fmt: skip
            continue
        for name in files:
            owner[name.casefold()] = job


def _check_rigs(jobs: list[Job], problems: list[LineProblem]) -> None:
    rendering = [job for job in jobs if job.render]
    if not rendering:
        return
    reason = _render_unavailable()
    if reason is not None:
        problems.extend(LineProblem(job.line, f"render: {reason}") for job in rendering)
        return
    from emote.batch.job import load_rig_cached

    failed: dict[str, str] = {}
    for job in rendering:
        if job.rig not in failed:
            try:
                load_rig_cached(job.rig)
            except EmoteError as err:
                failed[job.rig] = str(err)
            else:
                failed[job.rig] = ""
        if failed[job.rig]:
            problems.append(LineProblem(job.line, f"rig {job.rig!r}: {failed[job.rig]}"))


_RENDER_EXTRAS = ("moderngl", "imageio_ffmpeg", "pygltflib", "pxr")
"""Modules of ``pip install emote[render]``: only their absence means "cannot render"."""


def _render_unavailable() -> str | None:
    """Why this install cannot render (None when it can).

    Only a missing render extra is a reason; any other import failure is a broken install and
    propagates, so it is never reported as a missing feature.
    """
    try:
        import imageio_ffmpeg  # noqa: F401
        import moderngl  # noqa: F401

        from emote.render import render_animation  # noqa: F401
        from emote.rigs.registry import load_rig  # noqa: F401
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in _RENDER_EXTRAS:
            raise
        return f"rendering needs the render extras (pip install emote[render]; {err.name} is missing)"
    return None
