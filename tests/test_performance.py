"""Blinks, gaze and head motion: plausible ranges, seeded, switchable, frame-rate independent."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from emote.animation.channels import N_ARKIT, index, indices
from emote.engines.phonetic import animate_phones
from emote.eval import blink_stats
from emote.performance import EmotionTrack, PerformanceSettings, perform
from emote.performance.blinks import blink_profile
from emote.performance.gaze import GazeSettings, gaze_angles, saccade_duration
from emote.performance.layer import pauses_from_energy

FPS = 30.0
HEAD = indices(["HeadYaw", "HeadPitch", "HeadRoll"])
EYES = indices(["LeftEyeYaw", "LeftEyePitch", "RightEyeYaw", "RightEyePitch"])


def phone(start, end, label):
    return SimpleNamespace(start=start, end=end, label=label)


def synthetic_speech(seconds: float, seed: int = 0) -> tuple[list, list]:
    """CV-syllable phrases of 1.5-3.5 s separated by 0.3-0.8 s pauses: (phones, pauses)."""
    rng = np.random.default_rng(seed)
    consonants = ["B", "D", "M", "S", "K", "L", "F", "P", "N", "W", "T", "R"]
    vowels = ["AA", "IY", "UW", "EH", "AH", "OW", "AE", "IH"]
    phones, pauses, t = [phone(0, 0.4, "SIL")], [(0.0, 0.4)], 0.4
    while t < seconds - 1.0:
        phrase_end = min(t + rng.uniform(1.5, 3.5), seconds - 0.6)
        while t < phrase_end:
            for label, dur in ((rng.choice(consonants), rng.uniform(0.05, 0.1)),
                               (rng.choice(vowels), rng.uniform(0.08, 0.18))):  # fmt: skip
                phones.append(phone(t, t + dur, str(label)))
                t += dur
        pause = rng.uniform(0.3, 0.8)
        phones.append(phone(t, t + pause, "SIL"))
        pauses.append((t, t + pause))
        t += pause
    phones.append(phone(t, seconds, "SIL"))
    pauses.append((t, seconds))
    return phones, pauses


@pytest.fixture(scope="module")
def minute():
    phones, pauses = synthetic_speech(60.0)
    speech = animate_phones(phones, n_frames=int(60 * FPS), fps=FPS)
    return speech, pauses


def run(speech, pauses, fps=FPS, track=None, **settings):
    return perform(speech, fps=fps, track=track, pauses=pauses, settings=PerformanceSettings(**settings))


def test_blink_rate_and_duration_are_physiological(minute):
    speech, pauses = minute
    rates, durations = [], []
    for seed in range(5):
        stats = blink_stats(run(speech, pauses, seed=seed), FPS)
        rates.append(stats["blink_rate_per_min"])
        durations += stats["blink_durations_s"]
        assert 10 <= stats["blink_rate_per_min"] <= 30, seed
    assert 14 <= np.mean(rates) <= 24
    assert min(durations) >= 0.1 and max(durations) <= 0.4


def test_blinks_are_seeded(minute):
    speech, pauses = minute
    a, b, c = (run(speech, pauses, seed=s) for s in (7, 7, 8))
    assert np.array_equal(a, b)
    blink = index("EyeBlinkLeft")
    assert not np.array_equal(a[:, blink], c[:, blink])


def test_each_part_switches_off_alone(minute):
    speech, pauses = minute
    full = run(speech, pauses, seed=1)
    no_blinks = run(speech, pauses, seed=1, blinks=False)
    no_gaze = run(speech, pauses, seed=1, gaze=False)
    no_head = run(speech, pauses, seed=1, head=False)
    blink = indices(["EyeBlinkLeft", "EyeBlinkRight"])
    assert not no_blinks[:, blink].any() and full[:, blink].max() > 0.85
    assert not no_gaze[:, EYES].any() and np.abs(full[:, EYES]).max() > 0
    assert not no_head[:, HEAD].any() and np.abs(full[:, HEAD]).max() > 0
    # turning one part off leaves the others exactly as they were
    assert np.array_equal(no_gaze[:, blink], full[:, blink])
    assert np.array_equal(no_blinks[:, HEAD], full[:, HEAD])
    assert np.array_equal(no_head[:, EYES], full[:, EYES])
    everything_off = run(speech, pauses, blinks=False, gaze=False, head=False)
    assert np.array_equal(everything_off, speech)


def test_blinks_gather_at_pauses(minute):
    speech, pauses = minute
    out = run(speech, pauses, seed=2)
    closed = out[:, index("EyeBlinkLeft")] > 0.5
    t = np.arange(len(out)) / FPS
    in_pause = np.zeros(len(out), bool)
    for s, e in pauses:
        in_pause |= (t >= s) & (t < e + 0.3)
    pause_share = in_pause.mean()
    assert (closed & in_pause).sum() / closed.sum() > 1.5 * pause_share


def test_surprise_blinks_less(minute):
    speech, pauses = minute

    def rate(track):
        return np.mean(
            [
                blink_stats(run(speech, pauses, track=track, seed=s), FPS)["blink_rate_per_min"]
                for s in range(4)
            ]
        )

    assert rate(EmotionTrack.constant("surprised")) < 0.7 * rate(None)


def test_blink_profile_closes_fast_and_opens_slowly():
    t = np.linspace(0, 0.3, 301)
    p = blink_profile(t, 0.3)
    peak = t[np.argmax(p)]
    assert peak == pytest.approx(0.1, abs=0.005)
    assert p[0] == 0 and p[-1] == pytest.approx(0, abs=1e-9) and p.max() == pytest.approx(1)


def test_blinks_are_the_same_at_any_frame_rate(minute):
    speech, pauses = minute
    s30 = blink_stats(run(speech, pauses, seed=3), 30.0)
    speech60 = np.repeat(speech, 2, axis=0)
    s60 = blink_stats(run(speech60, pauses, fps=60.0, seed=3), 60.0)
    assert s30["blinks"] == s60["blinks"]
    assert np.allclose(s30["blink_durations_s"], s60["blink_durations_s"], atol=0.03)


def test_gaze_stays_near_the_listener_and_moves_by_saccades(minute):
    speech, pauses = minute
    out = run(speech, pauses, seed=5)
    s = GazeSettings()
    # The app's signs (emote.animation.channels): eye yaw positive to the subject's right,
    # pitch positive down. Gaze yaw here: both eyes' mean, positive to the subject's left.
    yaw = -np.degrees(out[:, index("LeftEyeYaw")] + out[:, index("RightEyeYaw")]) / 2
    pitch = np.degrees(out[:, index("LeftEyePitch")])
    vergence = np.degrees(out[:, index("LeftEyeYaw")] - out[:, index("RightEyeYaw")]) / 2
    assert np.allclose(
        vergence, np.degrees(np.arctan2(s.half_ipd_m, s.distance_m)), atol=1e-4
    )  # eyes converge
    assert np.hypot(yaw, pitch).max() <= s.radius + 0.5
    assert yaw.std() > 0.5
    # fixations: the gaze is still most of the time
    still = np.hypot(np.diff(yaw), np.diff(pitch)) < 0.05
    assert still.mean() > 0.7
    # look shapes agree with each eye's angle
    looking_left = yaw > 3
    assert np.all(out[looking_left, index("EyeLookOutLeft")] > 0)
    assert np.all(out[looking_left, index("EyeLookInRight")] > 0)
    assert np.all(out[looking_left, index("EyeLookInLeft")] == 0)
    left_eye_to_left = -np.degrees(out[:, index("LeftEyeYaw")])
    assert np.allclose(
        out[:, index("EyeLookOutLeft")], np.clip(left_eye_to_left / s.look_yaw_deg, 0, 1), atol=1e-5
    )
    # EyePitch is positive looking down: EyeLookDown goes with it
    assert np.all(out[pitch > 2, index("EyeLookDownLeft")] > 0)
    assert np.all(out[pitch < -2, index("EyeLookUpLeft")] > 0)


def test_saccades_follow_the_main_sequence():
    assert saccade_duration(1.0) == pytest.approx(0.0232)
    assert saccade_duration(10.0) == pytest.approx(0.043)
    angles = gaze_angles(30 * 240, fps=240.0, rng=np.random.default_rng(0))
    speed = np.hypot(*np.diff(angles, axis=0).T) * 240.0
    moving = speed > 5.0
    starts = np.flatnonzero(np.diff(moving.astype(int)) == 1)
    assert 15 <= starts.size <= 100  # a fixation every 0.3-2 s over 30 s
    durations = [np.argmin(moving[s + 1 :]) / 240.0 for s in starts]
    assert max(durations) < 0.06


def test_head_moves_a_few_degrees_with_prosody(minute):
    speech, pauses = minute
    n = len(speech)
    rng = np.random.default_rng(0)
    energy = np.clip(np.abs(np.sin(np.arange(n) / FPS * 2 * np.pi * 2)) + 0.1 * rng.random(n), 0, 1)
    pitch = 120 + 30 * np.sin(np.arange(n) / FPS * 2 * np.pi * 0.3)
    out = perform(speech, fps=FPS, energy=energy, pitch=pitch, pauses=pauses)
    head = np.degrees(out[:, HEAD])
    assert np.abs(head).max() < 10.0
    assert head.std(axis=0).min() > 0.3
    flat = perform(speech, fps=FPS, energy=energy, pitch=np.full(n, 120.0), pauses=pauses)
    # the pitch contour shows in the nod: a rising voice raises the chin (HeadPitch is positive down)
    nod = -np.degrees(out[:, index("HeadPitch")] - flat[:, index("HeadPitch")])
    assert np.corrcoef(nod, pitch)[0, 1] > 0.5


def test_sad_head_droops_and_moves_less(minute):
    speech, pauses = minute
    neutral = perform(speech, fps=FPS, pauses=pauses)
    sad = perform(speech, fps=FPS, pauses=pauses, track="sad")
    pitch = index("HeadPitch")
    # HeadPitch is positive chin-down: a sad head droops by more than 2 degrees
    assert np.degrees(sad[:, pitch].mean() - neutral[:, pitch].mean()) > 2.0
    assert sad[:, index("HeadYaw")].std() < neutral[:, index("HeadYaw")].std()


def test_performance_output_is_valid(minute):
    speech, pauses = minute
    out = perform(speech, fps=FPS, track="angry", pauses=pauses)
    assert out.dtype == np.float32 and out.shape == speech.shape
    assert out[:, :N_ARKIT].min() >= 0 and out[:, :N_ARKIT].max() <= 1
    with pytest.raises(ValueError, match="shape"):
        perform(speech[:, :52], fps=FPS)


def test_pauses_are_found_in_energy_when_not_given():
    e = np.ones(90)
    e[30:50] = 0.0
    ((start, end),) = pauses_from_energy(e, fps=30)
    assert start == pytest.approx(1.0, abs=0.05) and end == pytest.approx(50 / 30, abs=0.05)
    assert pauses_from_energy(np.ones(90), fps=30) == []
