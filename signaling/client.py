"""The reference Python client of the signalling protocol (docs/protocol.md).

Tests, benchmarks and integrators use it:

    client = HearingClient("http://127.0.0.1:8080", token)
    welcome = await client.connect()          # connect and join; raises JoinRefused
    await client.wait_admitted()
    await client.publish(video_track, audio_track)
    remote = await client.wait_for_track(participant_id, "video")
    frame = await remote.track.recv()
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import socketio
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay

from media._aiortc_hooks import bind_in_port_range, count_incoming_rtp, keep_consent, local_ports
from signaling.board_client import BoardClient as BoardClient
from signaling.board_client import BoardRefused as BoardRefused
from signaling.client_watch import WATCH, LegWatch, WatchRules

NAMESPACE = "/hearing"


def _peer_connection(ice_servers: list[RTCIceServer]) -> RTCPeerConnection:
    # max-bundle: aiortc's default "balanced" policy leaves a section unbundled when an offer
    # mixes kinds (audio, video, audio, video) in its first negotiation. The ICE servers are
    # the court's (from the welcome), never aiortc's default public STUN server.
    configuration = RTCConfiguration(
        iceServers=ice_servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
    )
    return RTCPeerConnection(configuration)


def ice_servers_from(welcome: dict[str, Any]) -> list[RTCIceServer]:
    """The welcome's `ice_servers` as aiortc wants them (malformed entries are skipped)."""
    servers = []
    for entry in welcome.get("ice_servers") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("urls"), list | str):
            continue
        servers.append(
            RTCIceServer(
                urls=entry["urls"],
                username=entry.get("username"),
                credential=entry.get("credential"),
            )
        )
    return servers


def _stats_json(entry: Any) -> dict[str, Any]:
    """A stats record's fields; its times (`timestamp`, `remoteTimestamp`) in epoch seconds."""
    fields = dataclasses.asdict(entry)
    for name, value in fields.items():
        if isinstance(value, datetime):
            fields[name] = value.timestamp()
    return fields


@dataclass(frozen=True, slots=True)
class Publication:
    """What a client publishes, kept to publish it again on a new leg."""

    tracks: tuple[MediaStreamTrack, ...]
    screen: MediaStreamTrack | None = None
    channel: tuple[MediaStreamTrack, str] | None = None
    """An interpreter's channel: the audio track and its language."""


class ClientError(Exception):
    """Root of the client's errors."""


class JoinRefused(ClientError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class WrongNodeRefusal(ClientError):
    def __init__(self, node_url: str) -> None:
        super().__init__(f"the hearing is hosted at {node_url}")
        self.node_url = node_url


MAX_REDIRECTS = 3
REJOIN_PAUSE = 0.25
RETRYABLE = frozenset(
    {"connection_failed", "wrong_node", "unknown_hearing", "already_connected"}
    | {"service_unavailable"}
)
"""Refusals worth trying again while a node fails over (the old connection may linger)."""


class RequestFailed(ClientError):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class RemoteTrack:
    """A track the server forwards to us, labelled with its publisher."""

    participant_id: str
    role: str
    display_name: str
    kind: str
    mid: str
    track: MediaStreamTrack
    form: str = "natural"
    """`masked`: the server's masked variant (an anonymity order names us)."""


class HearingClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        hearing_id: str | None = None,
        request_timeout: float = 20.0,
        rejoin_within: float = 0.0,
        other_nodes: Sequence[str] = (),
        resume: str | None = None,
        heal_media: bool = True,
        watch: WatchRules | None = WATCH,
        leg_ports: Mapping[str, tuple[int, int]] | None = None,
    ) -> None:
        """With `rejoin_within`, a dropped connection is followed by attempts to come back
        (here, then at `other_nodes`) for that many seconds, publishing the same tracks again:
        what a browser does after a network change or a node failure. `resume` is this
        client's key for its connection: shown again, it replaces a connection of its own
        that the server has not yet noticed is gone. With `heal_media` (the default), a leg the
        server closed as dead (`media_lost`) is rebuilt at once, as the pages do. With `watch`
        (the default), the client also watches both legs itself and rebuilds one that failed,
        closed or went silent, with a growing pause between attempts (`client_watch.py`);
        None leaves it to the server. `leg_ports` binds a leg's ICE sockets (`"publish"`,
        `"subscribe"`) within a range of UDP ports (a client behind a firewall)."""
        self._leg_ports = dict(leg_ports or {})
        self.watch = None if watch is None else LegWatch(watch, self._rebuild)
        """The client's own watch over its legs; `watch.rebuilds` lists what it rebuilt."""
        self._watching: asyncio.Task[None] | None = None
        self._resume = resume
        self.heal_media = heal_media
        self.media_lost: list[dict[str, Any]] = []
        """Every `media_lost` the server sent: `{"leg", "reason"}`."""
        self._rtp_counts: list[dict[int, int]] = []
        """RTP packets received after SRTP, by SSRC, one dict per subscribe leg."""
        self._ssrc_owners: dict[int, tuple[str, str]] = {}
        self._ssrc_forms: dict[int, str] = {}
        self.answers_refused: list[str] = []
        """The codes of subscribe answers the server refused."""
        self.answer_offers = True
        """False: subscribe offers are kept in `events` but never answered (a stuck page)."""
        self.base_url = base_url.rstrip("/")
        self._rejoin_within = rejoin_within
        self._nodes = [self.base_url, *(u.rstrip("/") for u in other_nodes)]
        self._closing = False
        self._relay = MediaRelay()
        self._published: Publication | None = None
        self.rejoins = 0
        self.rejoined_at: float | None = None
        self.rejoin_refusals: collections.Counter[str] = collections.Counter()
        """Why attempts to come back were refused, by code (`connection_failed` for a node
        that did not answer): what a slow rejoin waited for."""
        self.dropped_at: float | None = None
        self._token = token
        self._hearing_id = hearing_id
        self._timeout = request_timeout
        self._sio = self._new_socket()
        self._refusal: dict[str, Any] | None = None
        self.participant: dict[str, Any] = {}
        self.hearing: dict[str, Any] = {}
        self.admission = "unknown"
        self.lobby: list[dict[str, Any]] = []
        """Who waits (the bench's `lobby` event)."""
        self.waiting: dict[str, Any] | None = None
        """Our own place in the lobby's queue while we wait: `{"position", "waiting"}`."""
        self.lobby_messages: list[dict[str, Any]] = []
        """What the bench or the clerk wrote to us while we waited (`lobby_message` events:
        `{"text", "at", "from_role", "to": "you" | "all_waiting"}`), in order."""
        self.audit: list[dict[str, Any]] = []
        """Entries of the hearing's audit log received so far (the bench's live tail):
        `AuditTailEntry` of docs/protocol.md, with `phase` on the entries that name one."""
        self.events: list[tuple[str, Any]] = []
        """Every event the server sent, in order (name, payload)."""
        self.roster: list[dict[str, Any]] = []
        self.left_reason: str | None = None
        self.alerts: list[dict[str, Any]] = []
        self.ice_servers: list[RTCIceServer] = []
        """STUN and TURN servers from the welcome; none means host candidates only."""
        self.active_speaker: str | None = None
        """Who the server says is speaking, among those this client hears."""
        self.state: dict[str, Any] = {}
        self.exhibit: dict[str, Any] | None = None
        """The exhibit presented to us now (`exhibit_shown`), None if nothing is."""
        self.exhibit_at = 0.0
        """When (time.monotonic()) the latest `exhibit_shown` arrived."""
        """The latest `hearing_state`: the phase, and why it changed if the court did not."""
        self.remote_tracks: list[RemoteTrack] = []
        self.offers_received = 0
        self.publish_answer_sdp = ""
        self._changed = asyncio.Condition()
        self._publish_pc: RTCPeerConnection | None = None
        self._subscribe_pc: RTCPeerConnection | None = None
        self._mid_info: dict[str, dict[str, Any]] = {}
        self._subscribe_leg: Any = 1
        self._negotiation = asyncio.Lock()
        self._publishing = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def _new_socket(self) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False)
        for event, handler in {
            "admitted": self._on_admitted,
            "denied": self._on_denied,
            "lobby": self._on_lobby,
            "waiting": self._on_waiting,
            "lobby_message": self._on_lobby_message,
            "audit": self._on_audit,
            "roster": self._on_roster,
            "subscribe_offer": self._on_subscribe_offer,
            "left": self._on_left,
            "hearing_state": self._on_hearing_state,
            "alert": self._on_alert,
            "active_speaker": self._on_active_speaker,
            "media_lost": self._on_media_lost,
            "exhibit_shown": self._on_exhibit_shown,
        }.items():
            sio.on(event, self._logged(event, handler), namespace=NAMESPACE)
        sio.on("*", self._on_other_event, namespace=NAMESPACE)
        sio.on("connect_error", self._on_connect_error, namespace=NAMESPACE)
        sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        return sio

    def _logged(self, event: str, handler: Any) -> Any:
        async def log_and_handle(payload: Any = None) -> None:
            self.events.append((event, payload))
            await handler(payload)

        return log_and_handle

    async def _on_other_event(self, event: str, payload: Any = None, *_more: Any) -> None:
        """An event this client has no handler for: kept in `events` all the same."""
        await self._set(events=[*self.events, (event, payload)])

    # -- connection -----------------------------------------------------------------------

    async def connect(self) -> dict[str, Any]:
        """Connect with the token and join; return the welcome (participant, hearing, admission).
        A node that does not host the hearing names the one that does, and the client goes
        there (at most a few times)."""
        if self.watch is not None and self._watching is None:
            self._watching = asyncio.get_running_loop().create_task(self.watch.run())
            self._tasks.add(self._watching)
        return await self._connect_once_following()

    async def _connect_once_following(self) -> dict[str, Any]:
        for _ in range(MAX_REDIRECTS):
            try:
                return await self._connect_once()
            except WrongNodeRefusal as wrong:
                self.base_url = wrong.node_url.rstrip("/")
                self._sio = self._new_socket()
        raise JoinRefused("wrong_node", "the hearing's node kept changing")

    async def _connect_once(self) -> dict[str, Any]:
        try:
            # bounded as a whole: a node that accepts the TCP connection but never answers
            # (stopped, or stalled) must not hold a rejoin for ever
            async with asyncio.timeout(self._timeout):
                await self._sio.connect(
                    self.base_url,
                    namespaces=[NAMESPACE],
                    auth=self._auth(),
                    transports=["websocket"],
                    wait_timeout=self._timeout,
                )
        except TimeoutError:
            with contextlib.suppress(Exception):
                await self._sio.disconnect()
            raise JoinRefused("connection_failed", f"{self.base_url} did not answer") from None
        except socketio.exceptions.ConnectionError as exc:
            data = (self._refusal or {}).get("data") or {}
            if isinstance(data, dict) and data.get("code") == "wrong_node":
                self._refusal = None
                raise WrongNodeRefusal(str(data.get("node_url", ""))) from None
            if isinstance(data, dict) and "code" in data:
                raise JoinRefused(str(data["code"]), str(data.get("message", ""))) from None
            raise JoinRefused("connection_failed", str(exc)) from None
        welcome = await self.request("join", {})
        self.participant = welcome["participant"]
        self.ice_servers = ice_servers_from(welcome)
        self.hearing = welcome["hearing"]
        await self._set(admission=welcome["admission"], waiting=welcome.get("lobby"))
        return welcome

    def _auth(self) -> dict[str, str]:
        auth = {"token": self._token}
        if self._hearing_id is not None:
            auth["hearing_id"] = self._hearing_id
        if self._resume is not None:
            auth["resume"] = self._resume
        return auth

    async def request(self, event: str, payload: Any = None) -> dict[str, Any]:
        """Send one request and return its ack; raise RequestFailed on `ok: false`."""
        ack = await self.emit_raw(event, {} if payload is None else payload)
        if not isinstance(ack, dict):
            raise RequestFailed("bad_ack", f"unexpected ack {ack!r}")
        if not ack.get("ok"):
            error = ack.get("error") or {}
            raise RequestFailed(
                str(error.get("code")), str(error.get("message")), error.get("field")
            )
        return ack

    async def emit_raw(self, event: str, *args: Any) -> Any:
        """Send anything, as a hostile client might, and return the raw ack."""
        return await self._sio.call(event, *args, namespace=NAMESPACE, timeout=self._timeout)

    async def decide_exhibit(self, exhibit_id: str, admitted: bool) -> dict[str, Any]:
        """Admit or refuse an exhibit (the clerk or a judge); the exhibit as it now stands."""
        decision = "admit" if admitted else "refuse"
        ack = await self.request(
            "exhibit_decision", {"exhibit_id": exhibit_id, "decision": decision}
        )
        exhibit: dict[str, Any] = ack["exhibit"]
        return exhibit

    async def present_exhibit(self, exhibit_id: str) -> dict[str, Any]:
        """Show an admitted exhibit to the room (whoever may share a screen)."""
        shown: dict[str, Any] = (await self.request("present_exhibit", {"exhibit_id": exhibit_id}))[
            "exhibit"
        ]
        return shown

    async def turn_exhibit_page(
        self, page: int, zoom: float = 1.0, pointer: tuple[float, float] | None = None
    ) -> dict[str, Any]:
        """The presenter's page, zoom and pointer, for everyone who sees the exhibit."""
        payload = {
            "page": page,
            "zoom": zoom,
            "pointer": None if pointer is None else list(pointer),
        }
        shown: dict[str, Any] = (await self.request("exhibit_page", payload))["exhibit"]
        return shown

    async def list_exhibits(self) -> list[dict[str, Any]]:
        """The hearing's exhibits, for the clerk and the judges."""
        listed: list[dict[str, Any]] = (await self.request("exhibits", {}))["exhibits"]
        return listed

    async def stop_exhibit(self) -> None:
        await self.request("stop_exhibit", {})

    @property
    def connected(self) -> bool:
        return bool(self._sio.connected)

    # -- lobby ----------------------------------------------------------------------------

    async def order_anonymity(
        self,
        participant_id: str,
        pseudonym: str,
        *,
        screening: str = "pixelate",
        voice: str = "modulated",
        masked_from: tuple[str, ...] = ("accused", "parties", "lawyers", "observers"),
    ) -> dict[str, Any]:
        """Make or vary an anonymity order (the presiding judge); the ack echoes the order
        as audited (pseudonym, measures, hash of the voice key)."""
        payload = {
            "participant_id": participant_id,
            "pseudonym": pseudonym,
            "screening": screening,
            "voice": voice,
            "masked_from": list(masked_from),
        }
        return await self.request("anonymity_order", payload)

    async def discharge_anonymity(self, participant_id: str) -> None:
        await self.request("discharge_anonymity", {"participant_id": participant_id})

    def ssrc_form(self, ssrc: int) -> str | None:
        """`natural` or `masked`: the form the latest offer describes on `ssrc` (None if it
        describes none there)."""
        return self._ssrc_forms.get(ssrc)

    async def admit(self, participant_id: str) -> None:
        await self.request("admit", {"participant_id": participant_id})

    async def deny(self, participant_id: str) -> None:
        await self.request("deny", {"participant_id": participant_id})

    async def message_lobby(self, to: str, text: str) -> int:
        """Write to one person waiting in the lobby (their participant id) or to all who wait
        (`"all_waiting"`); the bench and the clerk only. Returns how many it reached."""
        ack = await self.request("lobby_message", {"to": to, "text": text})
        return int(ack["delivered"])

    async def wait_admitted(self, timeout: float = 20.0) -> None:
        await self.wait_until(lambda: self.admission == "admitted", timeout, "admission")

    async def wait_for_waiting(self, participant_id: str, timeout: float = 20.0) -> None:
        await self.wait_until(
            lambda: any(p["id"] == participant_id for p in self.lobby),
            timeout,
            f"{participant_id} in the lobby",
        )

    # -- media ----------------------------------------------------------------------------

    async def publish(
        self,
        *tracks: MediaStreamTrack,
        screen: MediaStreamTrack | None = None,
        channel: tuple[MediaStreamTrack, str] | None = None,
    ) -> None:
        """Offer the tracks on the publish leg (one audio, one camera at most), and a shared
        screen if given (the judge, the clerk, or someone the judge lets), and an
        interpreter's channel if given: (audio track, language of their pair). One
        publication at a time: a second waits for the first (a heal and a restart may ask
        together)."""
        async with self._publishing:
            await self._publish(Publication(tracks, screen, channel))

    async def _publish_again(self) -> None:
        if self._published is not None:
            published = self._published
            await self.publish(
                *published.tracks, screen=published.screen, channel=published.channel
            )

    async def _publish(self, publication: Publication) -> None:
        self._published = publication
        tracks, screen, channel = publication.tracks, publication.screen, publication.channel
        if self.watch is not None:
            self.watch.replacing("publish")
        if self._publish_pc is not None:  # publishing again replaces the publish leg
            await self._publish_pc.close()
        pc = _peer_connection(self.ice_servers)
        self._publish_pc = pc
        # aiortc stops a sender's track when its connection closes; a relayed copy keeps the
        # source alive for the next connection (a rejoin publishes the same camera again)
        for track in tracks:
            pc.addTransceiver(self._relay.subscribe(track, buffered=False), direction="sendonly")
        shared = (
            pc.addTransceiver(self._relay.subscribe(screen, buffered=False), direction="sendonly")
            if screen
            else None
        )
        interpreted = (
            pc.addTransceiver(self._relay.subscribe(channel[0], buffered=False), "sendonly")
            if channel
            else None
        )
        self._bind_ports("publish", pc)
        await pc.setLocalDescription(await pc.createOffer())
        keep_consent(pc.getTransceivers()[0].sender.transport)  # a busy laptop keeps its legs
        if self.watch is not None:
            self.watch.watch("publish", pc)
        offer: dict[str, Any] = {"sdp": pc.localDescription.sdp, "type": "offer"}
        if shared is not None:
            offer["screen_mid"] = shared.mid
        if interpreted is not None and channel is not None:
            offer |= {"channel_mid": interpreted.mid, "channel_language": channel[1]}
        answer = await self.request("publish", offer)
        self.publish_answer_sdp = str(answer["sdp"])
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    # -- interpretation (docs/interpretation.md) ------------------------------------------

    async def choose_language(self, language: str) -> None:
        """Follow the hearing in `language`: the channels of that language reach this client."""
        await self.request("language", {"language": language})

    async def order_interpretation(
        self,
        participant_id: str,
        *,
        mode: str | None = None,
        on_air: bool | None = None,
        whisper_to: list[str] | None = None,
    ) -> None:
        """The presiding judge's or the clerk's order for one interpreter."""
        order: dict[str, Any] = {"participant_id": participant_id}
        if mode is not None:
            order["mode"] = mode
        if on_air is not None:
            order["on_air"] = on_air
        if whisper_to is not None:
            order["whisper_to"] = whisper_to
        await self.request("interpretation", order)

    async def hand_over_interpretation(self, from_id: str, to_id: str) -> None:
        await self.request("interpretation_handover", {"from": from_id, "to": to_id})

    async def stop_publishing(self) -> None:
        """Close the publish leg, as a client whose network or device failed would stop (and
        not publish again by itself)."""
        self._published = None
        if self.watch is not None:
            self.watch.forget("publish")
        if self._publish_pc is not None:
            await self._publish_pc.close()
            self._publish_pc = None

    def _bind_ports(self, leg: str, pc: RTCPeerConnection) -> None:
        ports = self._leg_ports.get(leg)
        if ports is not None:
            bind_in_port_range(pc, ports)

    async def close_publish_leg(self) -> None:
        """Close the publish leg as a crashed camera or a dead network would; unlike
        `stop_publishing`, the same tracks are published again when the server says
        `media_lost` (with `heal_media`)."""
        if self._publish_pc is not None:
            await self._publish_pc.close()

    async def close_subscribe_leg(self) -> None:
        """Close the subscribe leg's connection, as a page closing its own RTCPeerConnection
        would; the server notices, says `media_lost`, and (with `heal_media`) a new one is
        asked for."""
        if self._subscribe_pc is not None:
            await self._subscribe_pc.close()

    def media_ports(self) -> list[int]:
        """The local UDP ports of both legs' ICE sockets."""
        pcs = (self._publish_pc, self._subscribe_pc)
        return sorted({p for pc in pcs if pc is not None for p in local_ports(pc)})

    def shape_answer(self, sdp: str) -> str:
        """The subscribe answer as sent; a client that sends something else overrides this."""
        return sdp

    async def wait_for_track(
        self, participant_id: str, kind: str, timeout: float = 20.0
    ) -> RemoteTrack:
        def find() -> RemoteTrack | None:
            return next(
                (
                    t
                    for t in self.remote_tracks
                    if t.participant_id == participant_id and t.kind == kind
                ),
                None,
            )

        await self.wait_until(lambda: find() is not None, timeout, f"{kind} of {participant_id}")
        found = find()
        assert found is not None
        return found

    async def packets_received(self) -> dict[str, int]:
        """RTP packets received so far, by publisher (`"unlabelled"` for a stream the server
        never described), counted per remote SSRC by the subscribe leg's receivers."""
        counts: dict[str, int] = {}
        if self._subscribe_pc is None:
            return counts
        owners = {t.mid: t.participant_id for t in self.remote_tracks}
        for transceiver in self._subscribe_pc.getTransceivers():
            owner = owners.get(transceiver.mid or "", "unlabelled")
            for stats in (await transceiver.receiver.getStats()).values():
                if stats.type == "inbound-rtp":
                    counts[owner] = counts.get(owner, 0) + int(stats.packetsReceived)
        return counts

    def rtp_by_ssrc(self) -> dict[int, int]:
        """Every RTP packet received so far on any subscribe leg, counted by SSRC after SRTP
        and before aiortc routes it (a stream no offer describes is counted too)."""
        total: dict[int, int] = {}
        for counts in self._rtp_counts:
            for ssrc, count in counts.items():
                total[ssrc] = total.get(ssrc, 0) + count
        return total

    def ssrc_owner(self, ssrc: int) -> tuple[str, str] | None:
        """(participant id, kind) of the stream the latest offer describes on `ssrc`; None for
        a stream the latest offer does not describe (an inactive section, or unknown)."""
        return self._ssrc_owners.get(ssrc)

    async def connection_stats(self) -> dict[str, list[dict[str, Any]]]:
        """Both legs' WebRTC statistics, as aiortc's `getStats()` reports them, ready for JSON:
        `{"publish": [...], "subscribe": [...]}`. Each entry has its `type` (`outbound-rtp`,
        `remote-inbound-rtp`, `inbound-rtp`, `remote-outbound-rtp`, `transport`), its `id`,
        its times (`timestamp`, ...) in seconds since the epoch and that type's counters
        (packets, bytes, loss, jitter, ...); a leg that is not open has none."""
        legs = {"publish": self._publish_pc, "subscribe": self._subscribe_pc}
        report: dict[str, list[dict[str, Any]]] = {}
        for leg, pc in legs.items():
            entries = [] if pc is None else list((await pc.getStats()).values())
            report[leg] = [_stats_json(entry) for entry in entries]
        return report

    @property
    def receivers(self) -> list[Any]:
        return self._subscribe_pc.getReceivers() if self._subscribe_pc else []

    async def _on_subscribe_offer(self, payload: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._answer(payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def restart_media(self) -> None:
        """After a network change: a new subscribe leg (fresh ICE) and a new publish leg."""
        if self.watch is not None:
            self.watch.replacing("subscribe")
        await self.request("restart_media", {})
        if self._published is not None:
            await self._publish_again()

    async def _answer(self, payload: dict[str, Any]) -> None:
        async with self._negotiation:
            if not self.answer_offers:
                return
            leg = payload.get("leg", 1)
            if leg != self._subscribe_leg and self._subscribe_pc is not None:
                if self.watch is not None:
                    self.watch.replacing("subscribe")
                await self._subscribe_pc.close()  # the server replaced the leg: start afresh
                self._subscribe_pc = None
                self.remote_tracks = []
            self._subscribe_leg = leg
            fresh = self._subscribe_pc is None
            if self._subscribe_pc is None:
                self._subscribe_pc = _peer_connection(self.ice_servers)
                self._subscribe_pc.on("track", self._on_track)
            pc = self._subscribe_pc
            self._mid_info = {t["mid"]: t for t in payload["tracks"]}
            await pc.setRemoteDescription(RTCSessionDescription(payload["sdp"], "offer"))
            if fresh:
                transport = pc.getTransceivers()[0].receiver.transport
                self._rtp_counts.append(count_incoming_rtp(transport))
                self._bind_ports("subscribe", pc)
            self._ssrc_owners = _owners(payload["sdp"], self._mid_info)
            self._ssrc_forms = _forms(payload["sdp"], self._mid_info)
            await pc.setLocalDescription(await pc.createAnswer())
            if fresh:
                keep_consent(pc.getTransceivers()[0].receiver.transport)
            if fresh and self.watch is not None:
                self.watch.watch("subscribe", pc, lambda: bool(self._mid_info))
            answer = self.shape_answer(pc.localDescription.sdp)
            try:
                await self.request(
                    "subscribe_answer",
                    {"sdp": answer, "type": "answer", "version": payload["version"]},
                )
            except RequestFailed as refused:
                await self._set(answers_refused=[*self.answers_refused, refused.code])
                return
            live = set(self._mid_info)
            self.remote_tracks = [t for t in self.remote_tracks if t.mid in live]
            for transceiver in pc.getTransceivers():
                self._label(transceiver)
            await self._set(offers_received=self.offers_received + 1)

    def _on_track(self, track: MediaStreamTrack) -> None:
        """aiortc fires this during setRemoteDescription; labels are applied after it."""

    def _label(self, transceiver: RTCRtpTransceiver) -> None:
        info = self._mid_info.get(transceiver.mid or "")
        track = transceiver.receiver.track
        if (
            info is None
            or track is None
            or any(t.mid == transceiver.mid for t in self.remote_tracks)
        ):
            return
        self.remote_tracks.append(
            RemoteTrack(
                participant_id=info["participant_id"],
                role=info["role"],
                display_name=info["display_name"],
                kind=info["kind"],
                mid=transceiver.mid or "",
                track=track,
                form=str(info.get("form", "natural")),
            )
        )

    # -- events ---------------------------------------------------------------------------

    async def _on_connect_error(self, data: Any = None) -> None:
        self._refusal = data if isinstance(data, dict) else {"data": data}

    async def _on_admitted(self, _payload: Any = None) -> None:
        await self._set(admission="admitted", waiting=None)

    async def _on_waiting(self, payload: dict[str, Any]) -> None:
        await self._set(waiting=dict(payload))

    async def _on_lobby_message(self, payload: dict[str, Any]) -> None:
        await self._set(lobby_messages=[*self.lobby_messages, dict(payload)])

    async def _on_audit(self, payload: dict[str, Any]) -> None:
        await self._set(audit=[*self.audit, *payload.get("entries", [])])

    async def _on_denied(self, _payload: Any = None) -> None:
        await self._set(admission="denied")

    async def _on_lobby(self, payload: dict[str, Any]) -> None:
        await self._set(lobby=list(payload.get("waiting", [])))

    def health_of(self, participant_id: str) -> dict[str, str]:
        """How the server measures that person's `audio` and `video` reaching the court
        (`live`, `weak`, `frozen`, `no_media`, `reconnecting`), from the latest roster; empty
        unless we are the judge, the clerk, or that person."""
        entry = next((p for p in self.roster if p.get("id") == participant_id), None)
        health = None if entry is None else entry.get("health")
        return dict(health) if isinstance(health, dict) else {}

    async def _on_roster(self, payload: dict[str, Any]) -> None:
        await self._set(roster=list(payload.get("participants", [])))

    async def _on_left(self, payload: dict[str, Any]) -> None:
        reason = str(payload.get("reason"))
        if reason in ("node_draining", "node_lost") and self._rejoin_within > 0:
            return  # the hearing goes on elsewhere: the disconnect that follows rejoins
        await self._set(left_reason=reason)

    async def _on_active_speaker(self, payload: dict[str, Any]) -> None:
        speaker = payload.get("participant_id")
        await self._set(active_speaker=speaker if isinstance(speaker, str) else None)

    async def _on_alert(self, payload: dict[str, Any]) -> None:
        await self._set(alerts=[*self.alerts, dict(payload)])

    async def _on_media_lost(self, payload: dict[str, Any]) -> None:
        """The server closed one of our legs as dead: rebuild it, as a page would."""
        await self._set(media_lost=[*self.media_lost, dict(payload)])
        leg = str(payload.get("leg"))
        if self.watch is not None and not self.watch.lost(leg):
            return  # the watch rebuilt it a moment ago
        if self.heal_media and not self._closing:
            task = asyncio.get_running_loop().create_task(self._heal(str(payload.get("leg"))))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _rebuild(self, leg: str, _reason: str) -> None:
        """The watch found one of our legs dead: rebuild it, if we are in the courtroom."""
        if self.connected and self.admission == "admitted" and not self._closing:
            await self._heal(leg)

    async def _heal(self, leg: str) -> None:
        with contextlib.suppress(ClientError, TimeoutError):
            if leg == "subscribe":
                if self.watch is not None:
                    self.watch.replacing("subscribe")
                await self.request("restart_media", {})
            elif leg == "publish" and self._published is not None:
                await self._publish_again()

    async def _on_exhibit_shown(self, payload: dict[str, Any]) -> None:
        shown = payload.get("exhibit")
        await self._set(
            exhibit=dict(shown) if isinstance(shown, dict) else None, exhibit_at=time.monotonic()
        )

    async def _on_hearing_state(self, payload: dict[str, Any]) -> None:
        await self._set(state=dict(payload))

    async def _on_disconnect(self, *_reason: Any) -> None:
        await self._set()  # wake anyone waiting for `connected` to change
        if self._rejoin_within > 0 and not self._closing and self.left_reason is None:
            self.dropped_at = time.monotonic()
            task = asyncio.get_running_loop().create_task(self._rejoin())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _rejoin(self) -> None:
        """Come back with the same token, here or on another node, and publish again."""
        deadline = time.monotonic() + self._rejoin_within
        while time.monotonic() < deadline and not self._closing:
            for url in self._nodes:
                await self._drop_media()
                with contextlib.suppress(Exception):
                    await self._sio.disconnect()  # the old socket's HTTP session goes too
                self.base_url = url
                self._sio = self._new_socket()
                try:
                    await self._connect_once_following()
                except JoinRefused as refused:
                    self.rejoin_refusals[refused.code] += 1
                    if refused.code not in RETRYABLE:
                        await self._set(left_reason=refused.code)  # revoked, denied, ended
                        return
                    continue
                except (ClientError, OSError, TimeoutError) as failed:
                    self.rejoin_refusals[type(failed).__name__] += 1
                    continue
                self.rejoins += 1
                self.rejoined_at = time.monotonic()
                if self._published is not None:
                    await self._publish_again()
                await self._set()
                return
            await asyncio.sleep(REJOIN_PAUSE)

    async def _drop_media(self) -> None:
        if self.watch is not None:
            for leg in ("publish", "subscribe"):
                self.watch.forget(leg)
        for pc in (self._publish_pc, self._subscribe_pc):
            if pc is not None:
                await pc.close()
        self._publish_pc = self._subscribe_pc = None
        self.remote_tracks = []

    async def _set(self, **changes: Any) -> None:
        async with self._changed:
            for name, value in changes.items():
                setattr(self, name, value)
            self._changed.notify_all()

    async def wait_until(self, condition: Any, timeout: float, what: str) -> None:
        """Wait until `condition()` holds; on timeout say what never happened."""
        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    await self._changed.wait_for(condition)
        except TimeoutError:
            raise TimeoutError(f"waited {timeout}s for {what}") from None

    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._sio.disconnect()
        for pc in (self._publish_pc, self._subscribe_pc):
            if pc is not None:
                await pc.close()
        self._publish_pc = self._subscribe_pc = None


def _sections(sdp: str, tracks: dict[str, dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(SSRC, what `tracks` says of its section) for every section of an offer it describes."""
    mid: str | None = None
    for line in sdp.splitlines():
        if line.startswith("m="):
            mid = None
        elif line.startswith("a=mid:"):
            mid = line[6:].strip()
        elif line.startswith("a=ssrc:") and mid in tracks:
            number = line[7:].split(" ", 1)[0]
            if number.isdigit():
                yield int(number), tracks[mid]


def _owners(sdp: str, tracks: dict[str, dict[str, Any]]) -> dict[int, tuple[str, str]]:
    """SSRC -> (participant id, kind) for every section of an offer that `tracks` describes."""
    return {ssrc: (info["participant_id"], info["kind"]) for ssrc, info in _sections(sdp, tracks)}


def _forms(sdp: str, tracks: dict[str, dict[str, Any]]) -> dict[int, str]:
    """SSRC -> the form (`natural`, `masked`) of every section `tracks` describes."""
    return {ssrc: str(info.get("form", "natural")) for ssrc, info in _sections(sdp, tracks)}
