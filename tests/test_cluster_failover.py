"""Two ecourt nodes (real processes) on one Redis: five aiortc clients in one hearing, some of
them arriving through the node that does not host it. The hosting node is killed with SIGKILL;
every client comes back on the other node by itself, in the same room, without the lobby, with
media flowing, and the recording continues with the gap recorded."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path

import aiohttp
import pytest
from aiortc.mediastreams import AudioStreamTrack
from redis.asyncio import Redis

from recording.verify import RecordingReport, verify_recording
from security import ANCHOR_PROBLEMS, SigningKey, verify_file
from security.keyring import KeyRing
from signaling.client import HearingClient
from signaling.redis_store import RedisAuditCheckpoints
from tests.cluster_support import TOKEN_KEY, redis_server, schedule, start_node, token, wait_ready
from tests.test_recording_media import SmallVideo

pytestmark = pytest.mark.media
BACK_WITHIN = 15.0
"""Seconds every client may take to receive media again after its node died."""


def strong_verify(data: Path, recording: Path) -> RecordingReport:
    """Verify as the court would: the nodes' manifest key, the key ring, the hearing's logs."""
    manifest = json.loads((recording / "manifest.json").read_text())["manifest"]
    audit = data / "audit" / f"{manifest['hearing_id']}.jsonl"
    return verify_recording(
        recording,
        keyring=KeyRing.open_existing(data.parent / "keyring.json"),
        trusted_keys=frozenset({SigningKey.load(data / "recording-signing.key").public_key}),
        audit_log=audit,
        audit_key=SigningKey.load(data / "audit-signing.key").public_key,
        custody_log=audit.with_name(f"{manifest['hearing_id']}.custody.jsonl"),
    )


CAST = [
    ("presiding_judge", "Judge Le"),
    ("clerk", "Clerk Pham"),
    ("plaintiff", "Ms Nguyen"),
    ("party_lawyer", "Counsel Vo"),
    ("respondent", "Mr Tran"),
]


async def receiving(client: HearingClient, since: dict[str, int] | None = None) -> bool:
    """True once the client's current subscribe leg receives RTP from someone."""
    counts = await client.packets_received()
    return any(n > (since or {}).get(who, 0) for who, n in counts.items() if who != "unlabelled")


async def wait_receiving(client: HearingClient, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.rejoins and await receiving(client):
            return time.monotonic()
        await asyncio.sleep(0.05)
    counts = await client.packets_received()
    raise TimeoutError(
        f"no media after the failover: rejoins={client.rejoins} at {client.base_url}, "
        f"admission={client.admission}, left={client.left_reason}, "
        f"tracks={len(client.remote_tracks)}, "
        f"counts={counts}, connected={client.connected}"
    )


async def test_when_the_hosting_node_dies_every_client_is_back_on_the_other_with_media(
    tmp_path: Path,
) -> None:
    assert TOKEN_KEY
    data = tmp_path / "shared-data"  # both nodes see the same recordings and audit logs
    data.mkdir()
    prefix = f"ecourt-failover-{secrets.token_hex(4)}:"
    clients: list[HearingClient] = []
    with redis_server() as redis_port:
        a = start_node("node-a", data, redis_port, prefix, ECOURT_RECORD_SEGMENT_SECONDS="2")
        b = start_node("node-b", data, redis_port, prefix, ECOURT_RECORD_SEGMENT_SECONDS="2")
        try:
            await wait_ready(a.url)
            await wait_ready(b.url)
            async with aiohttp.ClientSession() as http:
                hid = await schedule(http, a.url)
                tokens = [await token(http, a.url, hid, role, name) for role, name in CAST]
            for n, link in enumerate(tokens):
                entry, other = (a.url, b.url) if n % 2 == 0 else (b.url, a.url)  # some via b
                client = HearingClient(entry, link, rejoin_within=20, other_nodes=[other])
                clients.append(client)
                await client.connect()
            judge, _clerk, plaintiff, lawyer, respondent = clients
            assert {c.base_url for c in clients} == {a.url}  # one hearing, one node
            for party in (plaintiff, lawyer, respondent):
                await judge.wait_for_waiting(party.participant["id"])
                await judge.admit(party.participant["id"])
                await party.wait_admitted()
            await judge.request("phase", {"phase": "in_session"})
            consultation = {"kind": "consultation", "id": "c1"}
            for party in (plaintiff, lawyer):
                await judge.request(
                    "move", {"participant_id": party.participant["id"], "room": consultation}
                )
            for client in clients:
                await client.publish(SmallVideo(), AudioStreamTrack())
            for client in clients:
                await client.wait_until(lambda c=client: bool(c.remote_tracks), 20, "tracks")
            await asyncio.sleep(3)  # media flows, and a recording segment or two is sealed

            killed = time.monotonic()
            a.kill()
            back = await asyncio.gather(*(wait_receiving(c, BACK_WITHIN) for c in clients))
            delays = sorted(t - killed for t in back)
            print("media again after the kill (s):", [round(d, 2) for d in delays])
            # correctness with a bound a court needs and a loaded CI survives; the speed of a
            # failover (p95 <= 5 s at load 8) is measured by bench/failover.py
            assert delays[-1] <= BACK_WITHIN
            assert {c.base_url for c in clients} == {b.url}
            assert all(c.admission == "admitted" for c in clients)  # no second lobby
            rooms = {p["id"]: p.get("room") for p in judge.roster}
            for party in (plaintiff, lawyer):
                assert rooms[party.participant["id"]] == consultation
            assert rooms[respondent.participant["id"]] == {"kind": "courtroom", "id": "courtroom"}
        finally:
            for client in clients:
                await client.close()
            if a.process.poll() is None:
                a.kill()
            assert await asyncio.to_thread(b.stop) == 0  # SIGTERM: a clean stop

    [recording] = list((data / "recordings").iterdir())
    manifest = json.loads((recording / "manifest.json").read_text())["manifest"]
    assert "resumed_after_crash" in [event for _, event in manifest["events"]]
    report = strong_verify(data, recording)
    assert report.status == "incomplete" and not report.problems, report.summary()
    assert report.crashed is True  # the log shows the crash
    assert any("crash" in why for why in report.incomplete)


async def test_a_node_stopped_with_sigterm_hands_its_hearing_over_and_exits_in_time(
    tmp_path: Path,
) -> None:
    data = tmp_path / "shared-data"
    data.mkdir()
    prefix = f"ecourt-drain-{secrets.token_hex(4)}:"
    clients: list[HearingClient] = []
    with redis_server() as redis_port:
        a = start_node("node-a", data, redis_port, prefix, ECOURT_RECORD_SEGMENT_SECONDS="2")
        b = start_node("node-b", data, redis_port, prefix, ECOURT_RECORD_SEGMENT_SECONDS="2")
        try:
            await wait_ready(a.url)
            await wait_ready(b.url)
            async with aiohttp.ClientSession() as http:
                hid = await schedule(http, a.url)
                links = [await token(http, a.url, hid, role, name) for role, name in CAST[:3]]
            for link in links:
                client = HearingClient(a.url, link, rejoin_within=20, other_nodes=[b.url])
                clients.append(client)
                await client.connect()
            judge, _clerk, plaintiff = clients
            await judge.wait_for_waiting(plaintiff.participant["id"])
            await judge.admit(plaintiff.participant["id"])
            await plaintiff.wait_admitted()
            await judge.request("phase", {"phase": "in_session"})
            for client in clients:
                await client.publish(SmallVideo(), AudioStreamTrack())
            for client in clients:
                await client.wait_until(lambda c=client: bool(c.remote_tracks), 20, "tracks")
            await asyncio.sleep(2)

            stopping = time.monotonic()
            # SIGTERM: drain, hand over, exit (waited for off the loop: the clients must run)
            assert await asyncio.to_thread(a.stop, 15) == 0
            exited = time.monotonic() - stopping
            back = await asyncio.gather(*(wait_receiving(c, 15) for c in clients))
            print(
                f"node a exited after {exited:.2f} s; media again after",
                [round(t - stopping, 2) for t in back],
            )
            assert exited <= 10  # its drain deadline
            assert {c.base_url for c in clients} == {b.url}
            assert all(c.left_reason is None and c.admission == "admitted" for c in clients)
            await judge.request("end_hearing")  # the hearing ends on node b
            await asyncio.sleep(0.5)
        finally:
            for client in clients:
                await client.close()
            if a.process.poll() is None:
                a.kill()
            assert await asyncio.to_thread(b.stop) == 0
        # the audit checkpoint store followed the log across the handover, to its end
        redis = Redis.from_url(f"redis://127.0.0.1:{redis_port}/0")
        key = SigningKey.load(data / "audit-signing.key")
        try:
            kept = await RedisAuditCheckpoints(redis, prefix).latest(hid, key.key_id)
        finally:
            await redis.aclose()
        assert kept is not None
        audit = verify_file(data / "audit" / f"{hid}.jsonl", key.public_key, anchor=kept)
        assert not audit.problems & ANCHOR_PROBLEMS, audit.summary()
        assert kept.seq == audit.last_seq  # node b's last checkpoint, written as it stopped

    [recording] = list((data / "recordings").iterdir())
    manifest = json.loads((recording / "manifest.json").read_text())["manifest"]
    events = [event for _, event in manifest["events"]]
    assert "handed_over" in events and "resumed_after_handover" in events
    assert events[-1] == "stopped"
    report = strong_verify(data, recording)
    assert report.status == "valid", report.summary()  # a planned handover loses nothing
