"""User-supplied phone timings: Praat TextGrids and a simple CSV, read and written.

CSV format (``read_phone_csv``)
-------------------------------
One phone per line, ``start,end,phone``, times in seconds::

    start,end,phone
    0.000,0.065,sil
    0.065,0.084,B
    0.084,0.233,AA1

The header line is optional (recognised by a first field that is not a number);
blank lines and lines starting with ``#`` are skipped; tabs or semicolons may
stand for commas. Phones may be ARPAbet with or without stress digits, IPA, or
a silence mark (see :func:`emote.phonetics.labels.normalize_label`). Rows must be in
time order and must not overlap; gaps are silence.

TextGrid (``read_textgrid``)
----------------------------
Praat's long and short text formats (UTF-8 or UTF-16), through ``praatio``. The
phone tier is the one named ``phones``/``phone`` (any case; MFA and Praat
conventions), or else the interval tier whose labels read as phones; the word
tier likewise (``words``/``word``). Empty intervals are silence.

A label naming several phones run together (``PT``) is split evenly over its
interval. Every problem raises :class:`emote.errors.TranscriptError`
``"<path>: <problem>"``.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from os import PathLike
from pathlib import Path

from emote.audio.phones import Alignment, Phone, Word
from emote.errors import TranscriptError, file_error
from emote.io.atomic import atomic_write
from emote.limits import check_file_size, read_bounded
from emote.phonetics.labels import SIL, normalize_label

log = logging.getLogger("emote")

__all__ = [
    "check_timings_fit",
    "find_transcript",
    "read_phone_csv",
    "read_text_file",
    "read_textgrid",
    "read_timings",
    "write_phone_csv",
    "write_textgrid",
]

_PHONE_TIER_NAMES = ("phones", "phone", "phoneme", "phonemes", "segments", "segment")
_WORD_TIER_NAMES = ("words", "word", "orthography", "ortho")
TRANSCRIPT_SUFFIXES = (".txt", ".lab")


# -- readers --------------------------------------------------------------------------------


def read_timings(path: str | PathLike[str]) -> Alignment:
    """Read phone timings from a ``.TextGrid`` or ``.csv``/``.tsv`` file, by extension.

    Raises
    ------
    TranscriptError
        Unknown extension, malformed file, or no phone timings in it.
    """
    p = _check_file(path)
    suffix = p.suffix.lower()
    if suffix == ".textgrid":
        alignment = read_textgrid(p)
    elif suffix in (".csv", ".tsv"):
        alignment = read_phone_csv(p)
    else:
        raise file_error(TranscriptError, p, "unknown timings format (expected .TextGrid or .csv)")
    if not alignment.phones:
        raise file_error(TranscriptError, p, "has no phone tier (needs phone timings, not only words)")
    return alignment


def read_textgrid(path: str | PathLike[str], tier: str | None = None) -> Alignment:
    """Read phones (and words, if present) from a Praat TextGrid.

    Parameters
    ----------
    path : str or PathLike
    tier : str or None
        Name of the phone tier; default: found by name, else by content.

    Returns
    -------
    Alignment
        ``source="textgrid"``; ``phones`` empty when the file has a word tier but
        no phone tier.

    Raises
    ------
    TranscriptError
        Missing or malformed file, unknown ``tier``, a label that is not a phone,
        or neither a phone nor a word tier.
    """
    from praatio import textgrid
    from praatio.data_classes.interval_tier import IntervalTier

    p = _check_file(path)
    _check_textgrid_times(p)
    try:
        tg = textgrid.openTextgrid(str(p), includeEmptyIntervals=True, reportingMode="silence")
    except Exception as exc:  # praatio raises many types (ValueError, IndexError, its own)
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise file_error(TranscriptError, p, f"not a readable TextGrid ({detail})") from None
    tiers = {name: tg.getTier(name) for name in tg.tierNames if isinstance(tg.getTier(name), IntervalTier)}
    if tier is not None and tier not in tiers:
        raise file_error(
            TranscriptError, p, f"no interval tier named {tier!r} (tiers: {', '.join(tiers) or 'none'})"
        )
    phone_name = tier or _pick_tier(tiers, _PHONE_TIER_NAMES, _phone_share)
    word_name = _pick_tier(
        {n: t for n, t in tiers.items() if n != phone_name},
        _WORD_TIER_NAMES,
        lambda labels: 1 - _phone_share(labels),
    )
    if phone_name is None and word_name is None:
        raise file_error(TranscriptError, p, "has no phone or word tier")
    phones: list[Phone] = []
    if phone_name is not None:
        rows = [(e.start, e.end, e.label) for e in tiers[phone_name].entries]
        phones = _phones_from_rows(rows, p, where=lambda i: f"tier {phone_name!r}, interval {i + 1}")
    words: list[Word] = []
    if word_name is not None:
        words = [
            Word(e.start, e.end, e.label.strip().lower()) for e in tiers[word_name].entries if e.label.strip()
        ]
    return _alignment(phones, words, "textgrid", p)


def read_phone_csv(path: str | PathLike[str]) -> Alignment:
    """Read phones from a ``start,end,phone`` CSV (see the module notes for the format).

    Raises
    ------
    TranscriptError
        Missing or empty file, a row without three fields, times that are not
        numbers, an end before its start, rows out of order, an unknown phone.
    """
    p = _check_file(path)
    try:
        text = read_bounded(p, "timings_bytes", TranscriptError, "timings file").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise file_error(TranscriptError, p, "not a text file (not UTF-8)") from None
    rows: list[tuple[float, float, str]] = []
    lines: list[int] = []
    first = True
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in next(csv.reader(io.StringIO(re.sub(r"[\t;]", ",", line))))]
        if len(fields) < 3:
            raise file_error(
                TranscriptError, p, f"line {number}: expected start,end,phone, got {line.strip()!r}"
            )
        try:
            start, end = float(fields[0]), float(fields[1])
        except ValueError:
            if first:  # the optional header
                first = False
                continue
            raise file_error(
                TranscriptError, p, f"line {number}: times must be numbers, got {line.strip()!r}"
            ) from None
        first = False
        rows.append((start, end, fields[2]))
        lines.append(number)
    if not rows:
        raise file_error(TranscriptError, p, "has no phone rows (expected start,end,phone lines)")
    phones = _phones_from_rows(rows, p, where=lambda i: f"line {lines[i]}")
    return _alignment(phones, [], "csv", p)


def find_transcript(audio_path: str | PathLike[str]) -> str | None:
    """The text of a ``.txt`` or ``.lab`` file beside ``audio_path`` (same stem), or None.

    ``speech.wav`` looks for ``speech.txt``, then ``speech.lab``. Whitespace is
    collapsed; an empty file counts as none.
    """
    audio = Path(audio_path)
    for suffix in TRANSCRIPT_SUFFIXES:
        candidate = audio.with_suffix(suffix)
        if candidate.exists() and candidate != audio:
            text = " ".join(read_text_file(candidate).split())
            if text:
                return text
    return None


def read_text_file(path: str | PathLike[str], *, what: str = "transcript file") -> str:
    """The UTF-8 text of a transcript-sized file, read in bounded memory.

    Raises
    ------
    TranscriptError
        Missing, not a regular file (a FIFO, ``/dev/zero``), over the text size limit
        (:mod:`emote.limits`, ``EMOTE_MAX_TEXT_BYTES``), or not UTF-8.
    """
    data = read_bounded(path, "text_bytes", TranscriptError, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise file_error(TranscriptError, path, "not a text file (not UTF-8)") from None


def check_timings_fit(alignment: Alignment, path: str | PathLike[str], *, duration: float) -> None:
    """Refuse phone timings that do not belong to audio of ``duration`` seconds.

    Timings in milliseconds (or for another file) put the phones after the end of
    the clip, and the mouth would silently stay at rest. When most of the spoken
    phones start after the audio ends this is an error; a few phones past the end
    are dropped by the engine, and a warning says so.
    """
    spoken = [ph for ph in alignment.phones if ph.label != SIL]
    if not spoken:
        return
    late = [ph for ph in spoken if ph.start >= duration]
    last = max(ph.end for ph in spoken)
    if len(late) * 2 > len(spoken):
        hint = " (are they in milliseconds? times must be seconds)" if last > 100 * duration else ""
        raise file_error(
            TranscriptError,
            path,
            f"{len(late)} of {len(spoken)} phones start after the audio ends "
            f"({duration:.2f} s; the timings run to {last:g} s){hint}",
        )
    if last > duration + 0.5:
        log.warning(
            "%s: %d phone(s) lie past the end of the audio (%.2f s; the timings run to %g s) and are ignored",
            path, len(late), duration, last,
        )  # fmt: skip


# -- writers ----------------------------------------------------------------------------------


def write_phone_csv(alignment: Alignment, path: str | PathLike[str]) -> Path:
    """Write ``start,end,phone`` rows (with header, silences included) atomically."""
    out = io.StringIO()
    out.write("start,end,phone\n")
    for ph in alignment.phones:
        out.write(f"{ph.start:.6f},{ph.end:.6f},{ph.label}\n")
    return _write_text(Path(path), out.getvalue())


def write_textgrid(alignment: Alignment, path: str | PathLike[str], *, duration: float | None = None) -> Path:
    """Write a Praat long-format TextGrid with ``words`` (if any) and ``phones`` tiers, atomically.

    Gaps are written as empty intervals, as Praat requires a tier to tile its span.
    """
    xmax = max(alignment.duration, duration or 0.0)
    tiers: list[tuple[str, list[tuple[float, float, str]]]] = []
    if alignment.words:
        tiers.append(("words", [(w.start, w.end, w.label) for w in alignment.words]))
    tiers.append(("phones", [(p.start, p.end, "" if p.label == SIL else p.label) for p in alignment.phones]))
    out = io.StringIO()
    out.write(f'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = {xmax:.6f}\n')
    out.write(f"tiers? <exists>\nsize = {len(tiers)}\nitem []:\n")
    for number, (name, rows) in enumerate(tiers, start=1):
        filled = _fill_gaps(rows, xmax)
        out.write(f'    item [{number}]:\n        class = "IntervalTier"\n        name = "{name}"\n')
        out.write(f"        xmin = 0\n        xmax = {xmax:.6f}\n        intervals: size = {len(filled)}\n")
        for i, (start, end, label) in enumerate(filled, start=1):
            text = label.replace('"', '""')
            out.write(
                f"        intervals [{i}]:\n            xmin = {start:.6f}\n            xmax = {end:.6f}\n"
            )
            out.write(f'            text = "{text}"\n')
    return _write_text(Path(path), out.getvalue())


# -- internals ----------------------------------------------------------------------------------


def _check_file(path: str | PathLike[str]) -> Path:
    p = Path(path)
    check_file_size(p, "timings_bytes", TranscriptError, "timings file")
    if p.stat().st_size == 0:
        raise file_error(TranscriptError, p, "is empty (0 bytes)")
    return p


_TIME_FIELD = re.compile(r"^\s*(xmin|xmax)\s*=\s*(\S+)\s*$")


def _check_textgrid_times(path: Path) -> None:
    """Name the first time that is not a finite number ≥ 0 (praatio only says a field is missing)."""
    data = read_bounded(path, "timings_bytes", TranscriptError, "timings file")
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    lines = data.decode(encoding, errors="replace").splitlines()
    long_format = any(_TIME_FIELD.match(line) for line in lines[:40])
    for number, line in enumerate(lines, start=1):
        if long_format:
            m = _TIME_FIELD.match(line)
            if m is None:
                continue
            field, token = m.group(1), m.group(2)
        else:  # short format: times are bare numbers on their own lines
            token, field = line.strip(), "time"
            if not token or token.startswith('"') or token.startswith("<"):
                continue
        try:
            value = float(token)
        except ValueError:
            if long_format:
                raise file_error(
                    TranscriptError,
                    path,
                    f"not a readable TextGrid (line {number}: {field} = {token} is not a number)",
                ) from None
            continue
        if not (math.isfinite(value) and value >= 0):
            raise file_error(
                TranscriptError,
                path,
                f"not a readable TextGrid (line {number}: {field} = {token} is not a time ≥ 0)",
            )


def _phone_share(labels: list[str]) -> float:
    """Share of non-empty labels that read as phones (1.0 for a phone tier)."""
    spoken = [x for x in labels if x.strip()]
    if not spoken:
        return 0.0
    return sum(normalize_label(x) is not None and " " not in x.strip() for x in spoken) / len(spoken)


def _pick_tier(tiers: dict, names: tuple[str, ...], score) -> str | None:
    for wanted in names:
        for name in tiers:
            if name.strip().lower() == wanted:
                return name
    best, best_score = None, 0.5
    for name, tier in tiers.items():
        s = score([e.label for e in tier.entries])
        if s > best_score:
            best, best_score = name, s
    return best


MAX_SECONDS = 48 * 3600.0
"""Latest phone time accepted (two days): a larger time is a broken file, not speech."""


def _phones_from_rows(rows: list[tuple[float, float, str]], path: Path, *, where) -> list[Phone]:
    phones: list[Phone] = []
    previous_end = 0.0
    for i, (start, end, label) in enumerate(rows):
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end > MAX_SECONDS:
            raise file_error(TranscriptError, path, f"{where(i)}: bad time in [{start}, {end}]")
        if end < start:
            raise file_error(TranscriptError, path, f"{where(i)}: end {end:g} before start {start:g}")
        if start < previous_end - 1e-6:
            raise file_error(
                TranscriptError,
                path,
                f"{where(i)}: starts at {start:g}, before the previous phone ends ({previous_end:g})",
            )
        labels = normalize_label(label)
        if labels is None:
            raise file_error(
                TranscriptError, path, f"{where(i)}: {label!r} is not a phone (ARPAbet, IPA or silence)"
            )
        step = (end - start) / len(labels)
        for k, lab in enumerate(labels):
            phones.append(
                Phone(start + k * step, start + (k + 1) * step if k + 1 < len(labels) else end, lab)
            )
        previous_end = end
    return _merge_silences(phones)


def _merge_silences(phones: list[Phone]) -> list[Phone]:
    out: list[Phone] = []
    for ph in phones:
        if ph.end <= ph.start and ph.label == SIL:
            continue
        if out and ph.label == SIL and out[-1].label == SIL and abs(out[-1].end - ph.start) < 1e-6:
            out[-1] = Phone(out[-1].start, ph.end, SIL)
        else:
            out.append(ph)
    return out


def _alignment(phones: list[Phone], words: list[Word], source: str, path: Path) -> Alignment:
    try:
        return Alignment(phones, words, source)
    except ValueError as exc:
        raise file_error(TranscriptError, path, str(exc)) from None


def _fill_gaps(rows: list[tuple[float, float, str]], xmax: float) -> list[tuple[float, float, str]]:
    filled: list[tuple[float, float, str]] = []
    t = 0.0
    for start, end, label in rows:
        if start > t + 1e-9:
            filled.append((t, start, ""))
        filled.append((start, end, label))
        t = end
    if xmax > t + 1e-9:
        filled.append((t, xmax, ""))
    return filled


def _write_text(path: Path, text: str) -> Path:
    with atomic_write(path, mode="w") as f:
        f.write(text)
    return path
