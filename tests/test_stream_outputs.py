"""Stream outputs decoded by receivers written from the published formats: Live Link Face, VMC/OSC, JSON lines."""

from __future__ import annotations

import io
import json
import socket
import struct
from fractions import Fraction

import numpy as np
import pytest

from emote.animation.channels import CHANNELS, INDEX, N_CHANNELS
from emote.errors import EmoteError
from emote.stream import Frames
from emote.stream.outputs import VMC, JsonLines, LiveLinkFace, osc, parse_address
from emote.stream.outputs.livelink import decode as decode_livelink


def _frames(n: int = 5, fps: float = 60.0, first: int = 120) -> Frames:
    rng = np.random.default_rng(1)
    return Frames(first, fps, rng.uniform(0, 1, (n, N_CHANNELS)).astype(np.float32))


@pytest.fixture
def receiver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    yield sock
    sock.close()


def _receive(sock: socket.socket, n: int) -> list[bytes]:
    return [sock.recvfrom(65536)[0] for _ in range(n)]


def _read_livelink_by_hand(packet: bytes) -> dict:
    """An independent reader of the v6 layout: struct reads in network order, field by field."""
    at = 0
    out = {"version": packet[0]}
    at = 1
    for key in ("device", "subject"):
        (n,) = struct.unpack(">i", packet[at : at + 4])
        out[key] = packet[at + 4 : at + 4 + n].decode()
        at += 4 + n
    out["frame"], out["sub"], out["num"], out["den"] = struct.unpack(">ifii", packet[at : at + 16])
    at += 16
    out["count"] = packet[at]
    out["values"] = np.frombuffer(packet[at + 1 :], dtype=">f4")
    return out


def test_livelink_packets_carry_subject_device_time_and_61_big_endian_values(receiver):
    frames = _frames()
    sender = LiveLinkFace("127.0.0.1", receiver.getsockname()[1], subject="Ada", device_id="DEV-1")
    sender.send(frames)
    sender.close()
    packets = _receive(receiver, len(frames))
    for k, raw in enumerate(packets):
        p = _read_livelink_by_hand(raw)
        assert p["version"] == 6 and p["device"] == "DEV-1" and p["subject"] == "Ada"
        assert (p["frame"], p["sub"], p["num"], p["den"]) == (120 + k, 0.0, 60, 1)
        assert p["count"] == 61 and p["values"].shape == (61,)
        np.testing.assert_array_equal(p["values"].astype(np.float32), frames.curves[k])
        assert len(raw) == 1 + 4 + 5 + 4 + 3 + 16 + 1 + 61 * 4
        assert decode_livelink(raw).time == pytest.approx((120 + k) / 60)


def test_livelink_ntsc_rate_is_rational_with_a_sub_frame():
    frames = Frames(1, 29.97, np.zeros((1, N_CHANNELS), np.float32))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    try:
        LiveLinkFace("127.0.0.1", sock.getsockname()[1]).send(frames)
        p = decode_livelink(sock.recv(4096))
    finally:
        sock.close()
    assert p.rate == Fraction(30000, 1001)
    assert p.frame == 1 and p.sub_frame == pytest.approx(0.0, abs=1e-5)  # 29.97 is not quite 30000/1001
    assert p.time == pytest.approx(1 / 29.97, rel=1e-6)


@pytest.mark.parametrize("bad", [b"", b"\x05" + b"\0" * 300, b"\x06\xff\xff\xff\xff", b"\x06" + b"\0" * 20])
def test_livelink_decoder_refuses_garbage(bad):
    with pytest.raises(ValueError):
        decode_livelink(bad)


def test_vmc_bundles_name_every_arkit_shape_then_apply(receiver):
    frames = _frames(3)
    VMC("127.0.0.1", receiver.getsockname()[1]).send(frames)
    for k, raw in enumerate(_receive(receiver, 3)):
        assert raw.startswith(b"#bundle\0")
        messages = osc.decode(raw)
        assert messages[-1] == ("/VMC/Ext/Blend/Apply", [])
        vals = {args[0]: args[1] for addr, args in messages[:-1] if addr == "/VMC/Ext/Blend/Val"}
        assert len(vals) == 52
        assert vals["jawOpen"] == pytest.approx(frames.curves[k, INDEX["JawOpen"]], abs=1e-6)
        assert vals["eyeBlinkLeft"] == pytest.approx(frames.curves[k, INDEX["EyeBlinkLeft"]], abs=1e-6)
        assert "tongueOut" in vals and "headYaw" not in vals


def test_osc_message_bytes_match_the_specification_example():
    # OSC 1.0 spec: "/oscillator/4/frequency" ,f 440.0
    expected = b"/oscillator/4/frequency\0" + b",f\0\0" + bytes.fromhex("43dc0000")
    assert osc.message("/oscillator/4/frequency", 440.0) == expected
    # ...and "/foo" ,iisff 1000 -1 "hello" 1.234 5.678
    raw = osc.message("/foo", 1000, -1, "hello", 1.234, 5.678)
    assert raw == bytes.fromhex(
        "2f666f6f000000002c69697366660000000003e8ffffffff68656c6c6f0000003f9df3b640b5b22d"
    )
    assert osc.decode(raw)[0][1][:3] == [1000, -1, "hello"]


@pytest.mark.parametrize("bad", [b"/a\0\0,x\0\0", b"nope", b"#bundle\0" + b"\0" * 8 + b"\0\0\0\x07abc"])
def test_osc_decoder_refuses_garbage(bad):
    with pytest.raises(ValueError):
        osc.decode(bad)


def test_json_lines_are_one_frame_each_with_named_curves():
    out = io.StringIO()
    frames = _frames(4, fps=30, first=0)
    JsonLines(out).send(frames)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    rows = [json.loads(line) for line in lines]
    assert [r["frame"] for r in rows] == [0, 1, 2, 3]
    assert rows[2]["time"] == pytest.approx(2 / 30, abs=1e-6)
    assert list(rows[1]["curves"]) == list(CHANNELS)
    assert rows[1]["curves"]["JawOpen"] == pytest.approx(frames.curves[1, INDEX["JawOpen"]], abs=1e-4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10.0.0.5:11111", ("10.0.0.5", 11111)), ("studio-pc", ("studio-pc", 39539)), (":9000", ("127.0.0.1", 9000)),
     ("[::1]:7000", ("::1", 7000))],
)  # fmt: skip
def test_addresses_parse(text, expected):
    assert parse_address(text, default_port=39539) == expected


@pytest.mark.parametrize("text", ["host:port", "host:0", "host:70000"])
def test_bad_addresses_are_named(text):
    with pytest.raises(EmoteError, match="port"):
        parse_address(text, default_port=1)
