"""The forwarding path's own SRTP protect (AES-GCM) against libsrtp, and on a real DTLS leg."""

from __future__ import annotations

import asyncio
import os
import random
import socket
from collections.abc import Iterator
from typing import Any

import pylibsrtp
import pytest
from aiortc import RTCPeerConnection, VideoStreamTrack

from media import _aiortc_hooks as hooks
from media import srtp
from media.rtp import RTP_HEADER, build_extension_block, parse_rtp
from media.srtp import GcmProtector, derive_session_key, native_sender, next_index

needs_native = pytest.mark.skipif(
    not srtp.NATIVE and os.environ.get("ECOURT_REQUIRE_NATIVE") != "1",
    reason="media/_srtp_native is not built (tools/build-native)",
)

PROFILES = [
    (pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 32),
    (pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 16),
]


def keyed(profile: int, key_length: int, direction: int) -> tuple[bytes, GcmProtector, Any]:
    """A fresh master key, and ours and a libsrtp session (sending or receiving) under it."""
    key = os.urandom(key_length + 12)
    policy = pylibsrtp.Policy(key=key, ssrc_type=direction, srtp_profile=profile)
    return key, GcmProtector(key), pylibsrtp.Session(policy)


def header(seq: int, ssrc: int, extensions: bool = False) -> bytes:
    block = build_extension_block([(3, b"\x01\x02\x03"), (1, b"\x7f")]) if extensions else b""
    b0 = 0x90 if block else 0x80
    return RTP_HEADER.pack(b0, 0x80 | 96, seq, seq * 3000, ssrc) + block


def packets_across_a_wrap(count: int, ssrc: int) -> Iterator[tuple[bytes, bytes, int]]:
    """Header, payload and packet index of `count` packets whose sequence numbers wrap
    half-way (every other one with header extensions)."""
    highest = -1
    for n in range(count):
        seq = (65535 - count // 2 + n) & 0xFFFF
        index = next_index(highest, seq)
        highest = max(highest, index)
        yield header(seq, ssrc, extensions=n % 2 == 0), os.urandom(n % 1200), index


@pytest.mark.parametrize(("profile", "key_length"), PROFILES)
def test_protected_packets_are_what_libsrtp_sends_across_a_sequence_number_wrap(
    profile: int, key_length: int
) -> None:
    _, ours, reference = keyed(profile, key_length, pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    indexes = []
    for head, payload, index in packets_across_a_wrap(3000, 0xDEADBEEF):
        assert ours.protect(head, payload, 0xDEADBEEF, index) == reference.protect(head + payload)
        indexes.append(index)
    assert indexes[-1] >> 16 == 1  # the rollover counter moved


@pytest.mark.parametrize(("profile", "key_length"), PROFILES)
def test_libsrtp_unprotects_what_we_protect_for_several_ssrcs(
    profile: int, key_length: int
) -> None:
    _, ours, receiver = keyed(profile, key_length, pylibsrtp.Policy.SSRC_ANY_INBOUND)
    for ssrc in (1, 0xFFFFFFFF, 123456):
        for seq in range(100, 110):
            head = header(seq, ssrc)
            protected = ours.protect(head, b"payload", ssrc, seq)
            assert receiver.unprotect(protected) == head + b"payload"


def test_the_c_sender_is_built_where_the_tests_require_it() -> None:
    if os.environ.get("ECOURT_REQUIRE_NATIVE") == "1":
        assert srtp.NATIVE, "tools/build-native did not build media/_srtp_native"


@needs_native
@pytest.mark.parametrize(("profile", "key_length"), PROFILES)
def test_the_c_sender_protects_exactly_as_python_and_libsrtp(profile: int, key_length: int) -> None:
    key, ours, reference = keyed(profile, key_length, pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    native = native_sender(key, -1, ("127.0.0.1", 9))
    assert native is not None
    for head, payload, index in packets_across_a_wrap(2000, 0xC0FFEE):
        expected = reference.protect(head + payload)
        assert native.protect(head, payload, 0xC0FFEE, index) == expected
        assert ours.protect(head, payload, 0xC0FFEE, index) == expected


@needs_native
def test_the_c_sender_sends_what_it_protects_and_refuses_what_it_cannot_take() -> None:
    key = os.urandom(44)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(2)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            native = native_sender(key, sender.fileno(), receiver.getsockname())
            assert native is not None
            sent = native.send(header(9, 42), b"payload", 42, 9)
            assert (
                receiver.recv(2000)
                == sent
                == GcmProtector(key).protect(header(9, 42), b"payload", 42, 9)
            )
            native.resend(sent)
            assert receiver.recv(2000) == sent
            with pytest.raises(ValueError, match="too large"):
                native.send(header(10, 42), bytes(1500), 42, 10)
            number = sender.fileno()
        # The leg's socket is closed and its number taken by another socket: the C sender
        # still writes on its own descriptor, to its own address, never into the newcomer.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as newcomer:
            newcomer.bind(("127.0.0.1", 0))
            newcomer.setblocking(False)
            alias = newcomer.fileno() != number
            if alias:  # put it under the old number (the kernel usually reuses it anyway)
                os.dup2(newcomer.fileno(), number)
            try:
                sent = native.send(header(11, 42), b"payload", 42, 11)
                assert receiver.recv(2000) == sent
                with pytest.raises(BlockingIOError):
                    newcomer.recv(2000)
            finally:
                if alias:
                    os.close(number)
        assert not native.closed
        native.close()
        native.close()  # idempotent
        assert native.closed
        with pytest.raises(ConnectionError):
            native.send(header(12, 42), b"payload", 42, 12)
        with pytest.raises(ConnectionError):
            native.resend(sent)
    for bad_key in (bytes(20), bytes(12 + 24)):
        with pytest.raises(ValueError):
            native_sender(bad_key, 0, ("127.0.0.1", 9))
    for address in (("fe80::1%eth0", 9), ("court.example", 9), ("127.0.0.1", 70000)):
        with pytest.raises(ValueError):
            native_sender(key, 0, address)


def test_a_tampered_packet_fails_authentication_at_the_receiver() -> None:
    _, ours, receiver = keyed(*PROFILES[0], pylibsrtp.Policy.SSRC_ANY_INBOUND)
    packet = bytearray(ours.protect(header(7, 9), b"payload", 9, 7))
    packet[1] ^= 0x01  # the payload type is authenticated, not encrypted
    with pytest.raises(pylibsrtp.Error):
        receiver.unprotect(bytes(packet))


def test_only_gcm_master_keys_are_accepted() -> None:
    for size in (0, 30, 12 + 24, 12 + 33):
        with pytest.raises(ValueError, match="16 or 32 bytes"):
            GcmProtector(bytes(size))


def test_each_label_derives_a_different_key() -> None:
    key, salt = bytes(range(32)), bytes(range(12))
    keys = {derive_session_key(key, salt, label, 16) for label in range(6)}
    assert len(keys) == 6


@pytest.mark.parametrize(
    ("highest", "seq", "expected"),
    [
        (-1, 5, 5),
        (-1, 65535, 65535),
        (10, 11, 11),
        (65535, 0, 1 << 16),  # a wrap
        ((1 << 16) | 3, 65534, 65534),  # late from before the wrap: the old rollover counter
        ((1 << 16) | 3, 2, (1 << 16) | 2),  # a little late, same counter
        ((2 << 16) | 40000, 100, (3 << 16) | 100),  # far ahead across a wrap
        ((2 << 16) | 40000, 39000, (2 << 16) | 39000),  # late, no wrap
        (100, 65000, 65000),  # late before any wrap: the counter cannot go below zero
    ],
)
def test_the_packet_index_follows_rfc_3711s_estimate(highest: int, seq: int, expected: int) -> None:
    assert next_index(highest, seq) == expected


def test_the_index_estimate_matches_a_counted_stream_with_reordering() -> None:
    rng = random.Random(7)
    true_indexes = list(range(60000, 60000 + 20000))
    for i in range(0, len(true_indexes) - 3, 50):  # swap neighbours now and then
        j = i + rng.randrange(1, 3)
        true_indexes[i], true_indexes[j] = true_indexes[j], true_indexes[i]
    highest = -1
    for true in true_indexes:
        index = next_index(highest, true & 0xFFFF)
        assert index == true
        highest = max(highest, index)


async def connected_pair() -> tuple[RTCPeerConnection, RTCPeerConnection]:
    offerer, answerer = RTCPeerConnection(), RTCPeerConnection()
    offerer.addTrack(VideoStreamTrack())
    answerer.addTransceiver("video", direction="recvonly")
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)
    for _ in range(200):
        if offerer.connectionState == answerer.connectionState == "connected":
            return offerer, answerer
        await asyncio.sleep(0.05)
    raise AssertionError("the two peer connections did not connect")


@pytest.mark.media
@pytest.mark.parametrize("sender", ["c", "python"])
async def test_a_route_sends_rtp_the_other_end_unprotects_in_either_dtls_role(
    sender: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sender == "python":  # the fallback where the C sender is not built
        monkeypatch.setattr(hooks, "native_sender", lambda *_args: None)
    elif not srtp.NATIVE:
        pytest.skip("media/_srtp_native is not built (tools/build-native)")
    offerer, answerer = await connected_pair()
    routes: list[hooks.RtpRoute] = []
    try:
        ends: list[Any] = [
            offerer.getTransceivers()[0].sender.transport,
            answerer.getTransceivers()[0].receiver.transport,
        ]
        assert {end._role for end in ends} == {"client", "server"}
        for sending, receiving in (ends, ends[::-1]):
            received: list[bytes] = []  # ours only: the offerer's own track sends too

            def keep(packet: bytes, received: list[bytes] = received) -> None:
                if parse_rtp(packet).ssrc == 4242:
                    received.append(packet)

            hooks.guard_datagrams(receiving, keep)
            route = hooks.RtpRoute(sending)
            routes.append(route)
            for seq in range(500, 510):
                route.send(header(seq, 4242), b"frame-%d" % seq, 4242, seq)
            assert route.native == (sender == "c")
            route.resend(route.send(header(510, 4242), b"again", 4242, 510))
            for _ in range(100):
                if len(received) == 11:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)  # time for anything more to arrive
            payloads = [parse_rtp(p).payload for p in received]
            assert payloads[:10] == [b"frame-%d" % seq for seq in range(500, 510)]
            assert payloads[10] == b"again"  # the resend is a replay: libsrtp drops it
            assert len(received) == 11
    finally:
        await offerer.close()
        await answerer.close()
    # Once the legs are closed, their C senders send nothing more (and let the sockets go).
    assert [r.native_sender.closed for r in routes if r.native_sender is not None] == (
        [True, True] if sender == "c" else []
    )
