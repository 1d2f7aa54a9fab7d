"""A hearing through the real server with real aiortc peers: lobby, admission, forwarding."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from media import srtp
from signaling.client import HearingClient, RemoteTrack
from tests.conftest import RunningServer
from web.keys import ENGINE, SIGNALING

pytestmark = pytest.mark.media


async def join(
    server: RunningServer, clients: list[HearingClient], hearing_id: str, role: str, name: str
) -> HearingClient:
    issued = await server.issue_token(hearing_id, role, name)
    client = HearingClient(server.base_url, issued["token"])
    clients.append(client)
    await client.connect()
    return client


async def judge_and_clerk(
    server: RunningServer, clients: list[HearingClient]
) -> tuple[dict[str, Any], HearingClient, HearingClient]:
    """A hearing with its presiding judge and clerk, who both enter without the lobby."""
    hearing = await server.create_hearing()
    judge = await join(server, clients, hearing["id"], "presiding_judge", "Judge Le")
    clerk = await join(server, clients, hearing["id"], "clerk", "Clerk Pham")
    return hearing, judge, clerk


async def decodes(remote: RemoteTrack, frames: int = 3) -> None:
    for _ in range(frames):
        frame = await asyncio.wait_for(remote.track.recv(), timeout=15)
        assert frame is not None


async def test_judge_and_two_parties_see_and_hear_each_other_once_the_session_opens(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await join(server, clients, hearing["id"], "presiding_judge", "Judge Le")
    assert judge.admission == "admitted"
    plaintiff = await join(server, clients, hearing["id"], "plaintiff", "Ms Nguyen")
    respondent = await join(server, clients, hearing["id"], "respondent", "Mr Tran")
    assert plaintiff.admission == respondent.admission == "waiting"

    for party in (plaintiff, respondent):
        await judge.wait_for_waiting(party.participant["id"])
        await judge.admit(party.participant["id"])
        await party.wait_admitted()

    await judge.request("phase", {"phase": "in_session"})
    everyone = [judge, plaintiff, respondent]
    for client in everyone:
        await client.publish(VideoStreamTrack(), AudioStreamTrack())

    for viewer in everyone:
        for publisher in everyone:
            if publisher is viewer:
                continue
            pid = publisher.participant["id"]
            video = await viewer.wait_for_track(pid, "video")
            audio = await viewer.wait_for_track(pid, "audio")
            assert video.role == publisher.participant["role"]
            assert video.display_name == publisher.participant["display_name"]
            await decodes(video)
            await decodes(audio)
    roles = {p["role"] for p in judge.roster}
    assert roles == {"presiding_judge", "plaintiff", "respondent"}


async def test_parties_wait_in_the_lobby_and_receive_no_media_until_admitted(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await join(server, clients, hearing["id"], "presiding_judge", "Judge Le")
    await judge.publish(VideoStreamTrack(), AudioStreamTrack())
    party = await join(server, clients, hearing["id"], "plaintiff", "Ms Nguyen")
    await judge.wait_for_waiting(party.participant["id"])

    with pytest.raises(Exception) as refused:
        await party.publish(VideoStreamTrack())
    assert getattr(refused.value, "code", None) == "not_admitted"
    await asyncio.sleep(1.0)  # give the server every chance to (wrongly) send an offer
    assert party.offers_received == 0 and party.remote_tracks == []
    assert party.roster == []

    await judge.admit(party.participant["id"])
    await party.wait_admitted()
    video = await party.wait_for_track(judge.participant["id"], "video")
    await decodes(video)


async def test_a_denied_party_is_disconnected_never_receives_media_and_cannot_return(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    clerk = await join(server, clients, hearing["id"], "clerk", "Clerk Pham")
    await clerk.publish(VideoStreamTrack(), AudioStreamTrack())
    issued = await server.issue_token(hearing["id"], "witness", "Uninvited")
    intruder = HearingClient(server.base_url, issued["token"])
    clients.append(intruder)
    await intruder.connect()
    await clerk.wait_for_waiting(intruder.participant["id"])

    await clerk.deny(intruder.participant["id"])
    await intruder.wait_until(lambda: intruder.admission == "denied", 10, "the denial")
    await intruder.wait_until(lambda: not intruder.connected, 10, "the disconnect")
    assert intruder.offers_received == 0 and intruder.remote_tracks == []
    assert clerk.lobby == []

    again = HearingClient(server.base_url, issued["token"])
    clients.append(again)
    with pytest.raises(Exception) as refused:
        await again.connect()
    assert getattr(refused.value, "code", None) == "denied"


def thread_cpu_ticks(native_id: int) -> int:
    """User + system clock ticks a thread of this process has used (from /proc)."""
    with open(f"/proc/self/task/{native_id}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


async def test_the_server_decodes_nothing_while_forwarding_video(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    _hearing, judge, clerk = await judge_and_clerk(server, clients)
    await judge.publish(VideoStreamTrack(), AudioStreamTrack())
    video = await clerk.wait_for_track(judge.participant["id"], "video")
    await decodes(video, frames=60)  # two seconds of 640x480 video decoded by the viewer

    engine = server.app[ENGINE]
    server_decoders = engine.decoder_thread_ids()
    assert len(server_decoders) == 2, "the judge's audio and video receivers on the server"
    viewer_decoders = [r._RTCRtpReceiver__decoder_thread.native_id for r in clerk.receivers]
    assert sum(thread_cpu_ticks(t) for t in viewer_decoders) > 0, "the control: viewers decode"
    assert [thread_cpu_ticks(t) for t in server_decoders] == [0, 0]
    assert engine.forwarded_streams == 2
    # Where the C module is built (the test run requires it), both go through the C fan-out.
    assert engine.streams_forwarded_in_c == (2 if srtp.NATIVE else 0)


async def test_when_a_publisher_leaves_their_tracks_stop_and_vanish_from_the_offer(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    _hearing, judge, clerk = await judge_and_clerk(server, clients)
    await clerk.publish(VideoStreamTrack(), AudioStreamTrack())
    await decodes(await judge.wait_for_track(clerk.participant["id"], "video"))
    offers_before = judge.offers_received

    await clerk.request("leave", {})
    await judge.wait_until(lambda: judge.remote_tracks == [], 10, "the clerk's tracks to go")
    assert judge.offers_received == offers_before + 1
    assert [p["role"] for p in judge.roster] == ["presiding_judge"]
    assert server.app[ENGINE].forwarded_streams == 0


async def test_publishing_again_replaces_the_tracks_viewers_receive_on_the_same_sections(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    _hearing, judge, clerk = await judge_and_clerk(server, clients)
    await clerk.publish(VideoStreamTrack())
    first = await judge.wait_for_track(clerk.participant["id"], "video")
    await decodes(first)

    await clerk.publish(VideoStreamTrack(), AudioStreamTrack())
    await judge.wait_until(
        lambda: {t.kind for t in judge.remote_tracks} == {"audio", "video"},
        10,
        "the new video and audio",
    )
    await decodes(await judge.wait_for_track(clerk.participant["id"], "video"))
    await decodes(await judge.wait_for_track(clerk.participant["id"], "audio"))
    # the returning video took the section the old one left: the offer did not grow
    assert (await judge.wait_for_track(clerk.participant["id"], "video")).mid == first.mid
    assert len(judge.receivers) == 2


def candidate_addresses(sdp: str) -> list[tuple[str, int]]:
    """The host candidates in a session description."""
    found = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            parts = line.split()
            found.append((parts[4], int(parts[5])))
    return found


async def test_a_zero_length_datagram_to_the_servers_media_port_harms_nobody(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing, judge, clerk = await judge_and_clerk(server, clients)
    await judge.publish(VideoStreamTrack())
    video = await clerk.wait_for_track(judge.participant["id"], "video")
    await decodes(video)

    answer = judge.publish_answer_sdp
    targets = candidate_addresses(answer)
    assert targets, "the server answer lists its candidates"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as attacker:
        # a plain socket: asyncio's transports silently refuse to send empty datagrams
        for address in targets:
            for _ in range(3):
                attacker.sendto(b"", address)

    await decodes(video, frames=30)  # still flowing, a second later
    session = server.app[SIGNALING].session(hearing["id"])
    assert session is not None
    publisher = session.members[judge.participant["id"]].publish
    assert publisher is not None and publisher.connection_state == "connected"
    assert publisher.datagrams_dropped >= 3


async def test_viewers_get_sender_reports_that_count_what_was_forwarded(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    _hearing, judge, clerk = await judge_and_clerk(server, clients)
    await judge.publish(VideoStreamTrack(), AudioStreamTrack())
    await decodes(await clerk.wait_for_track(judge.participant["id"], "video"))

    async def reported() -> dict[str, int]:
        counts = {}
        for receiver in clerk.receivers:
            for stats in (await receiver.getStats()).values():
                if stats.type == "remote-outbound-rtp":
                    counts[stats.kind] = stats.packetsSent
        return counts

    for _ in range(60):  # sender reports come about once a second
        counts = await reported()
        if set(counts) == {"audio", "video"}:
            break
        await asyncio.sleep(0.1)
    assert set(counts) == {"audio", "video"}, f"sender reports seen: {counts}"
    assert all(sent > 0 for sent in counts.values())
