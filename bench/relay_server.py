"""The baseline: aiortc's own way to fan out one track, `MediaRelay`, in a process of its own.

The publisher's video is decoded once by aiortc's receiver; each subscriber gets
`relay.subscribe(track)` and its own `RTCRtpSender`, which encodes VP8 again. A drain consumer
reads the relayed track even with no subscriber, so the decode cost is always paid (as it is in
any real MediaRelay server) and frames never pile up unread.

    python -m bench.relay_server --port 8081

POST /publish {"sdp": offer} -> {"sdp": answer}; POST /subscribe {"sdp": offer} -> {"sdp": answer}
(the subscriber offers a recvonly video section); GET /healthz.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import aiortc.codecs.vpx
from aiohttp import web
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

from bench.clip import BITRATE
from bench.peers import loopback_configuration

SOURCE_TIMEOUT = 20.0


class RelayServer:
    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.source: MediaStreamTrack | None = None
        self.source_ready = asyncio.Event()
        self.pcs: set[RTCPeerConnection] = set()
        self._drain: asyncio.Task[None] | None = None

    async def publish(self, request: web.Request) -> web.Response:
        body = await request.json()
        pc = RTCPeerConnection(loopback_configuration())
        self.pcs.add(pc)
        pc.on("track", self._on_track)
        await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"sdp": pc.localDescription.sdp})

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind != "video" or self.source is not None:
            return
        self.source = track
        self.source_ready.set()
        self._drain = asyncio.get_running_loop().create_task(
            self._consume(self.relay.subscribe(track, buffered=False))
        )

    async def _consume(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()

    async def subscribe(self, request: web.Request) -> web.Response:
        body = await request.json()
        async with asyncio.timeout(SOURCE_TIMEOUT):
            await self.source_ready.wait()
        assert self.source is not None
        pc = RTCPeerConnection(loopback_configuration())
        self.pcs.add(pc)
        await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], "offer"))
        # unbuffered: a subscriber whose encoder falls behind skips frames instead of queueing
        pc.addTrack(self.relay.subscribe(self.source, buffered=False))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"sdp": pc.localDescription.sdp})

    async def close(self, _app: web.Application) -> None:
        if self._drain is not None:
            self._drain.cancel()
        await asyncio.gather(*(pc.close() for pc in self.pcs), return_exceptions=True)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def create_app() -> web.Application:
    # aiortc's encoder starts at 500 kbit/s and follows REMB; the counting subscribers send
    # none, so start it at the publisher's rate to compare like with like
    aiortc.codecs.vpx.DEFAULT_BITRATE = BITRATE
    server = RelayServer()
    app = web.Application()
    app.router.add_post("/publish", server.publish)
    app.router.add_post("/subscribe", server.subscribe)
    app.router.add_get("/healthz", healthz)
    app.on_shutdown.append(server.close)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="MediaRelay baseline server for bench/")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(create_app(), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
