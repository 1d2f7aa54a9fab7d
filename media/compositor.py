"""The composite in a thread of its own, fed by packet taps on the tracks it shows.

On the event loop, each shown track gets a tap (after the forwarder has dropped duplicates and
probes): VP8 packets are joined into frames (`media/frames.py`), Opus packets are frames, and
the audio-level extension is read when the publisher sends it. The frames go through a bounded
queue to the thread, which decodes, composes and hands frames to the output (the encoder);
forwarding never waits for it. A full queue drops frames (video until its next keyframe, which
is asked for) rather than holding memory or the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from media.composite import CompositeCore, CompositeOutput, CompositeSettings, Tile
from media.forwarder import PublishedTrack
from media.frames import FrameAssembler
from media.rtp import ParsedRtp
from media.speaker import dbov_of_extension

log = logging.getLogger(__name__)
MAX_QUEUED = 1000
"""Frames waiting for the thread (all tracks together); several seconds of a busy stage."""
MAX_QUEUED_BYTES = 32 * 1024 * 1024
"""And their bytes: a publisher sending huge frames fills this first."""


@dataclass(frozen=True, slots=True)
class TileSource:
    """A tile to show: its text and the tracks that feed it."""

    key: str
    name: str
    caption: str
    video: PublishedTrack | None = None
    audio: PublishedTrack | None = None

    def tile(self) -> Tile:
        return Tile(
            self.key,
            self.name,
            self.caption,
            None if self.video is None else self.video.id,
            None if self.audio is None else self.audio.id,
        )


class _Tap:
    """One shown track's packet tap, on the event loop."""

    def __init__(self, owner: Compositor, track: PublishedTrack) -> None:
        self.owner = owner
        self.track = track
        self.assembler = FrameAssembler("video") if track.kind == "video" else None
        self.level_id = track.audio_level_id
        self.resync = False
        track.add_tap(self.on_packet)

    def on_packet(self, packet: ParsedRtp) -> None:
        owner, track = self.owner, self.track
        if self.assembler is None:
            level = None
            if self.level_id is not None and self.level_id in packet.extensions:
                level = dbov_of_extension(packet.extensions[self.level_id])
            owner.post(("audio", track.id, packet.payload, level))
            return
        for frame in self.assembler.push(packet):
            if self.resync and not frame.keyframe:
                continue
            self.resync = not owner.post(("video", track.id, frame.data))
        if self.assembler.keyframe_wanted or self.resync:
            track.request_keyframe()

    def close(self) -> None:
        self.track.remove_tap(self.on_packet)


class Compositor:
    def __init__(
        self,
        settings: CompositeSettings,
        output: CompositeOutput,
        *,
        clock: Callable[[], float] = time.monotonic,
        name: str = "composite",
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._on_failure = on_failure
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue(MAX_QUEUED)
        self._core = CompositeCore(settings, output, self._keyframe_wanted)
        self._taps: dict[str, _Tap] = {}
        self._shown: tuple[Tile, ...] = ()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._origin = 0.0
        self._aborted = False
        self._stopping = False
        self.failed: BaseException | None = None
        self.dropped = 0
        self._queued_bytes = 0
        self._bytes_lock = threading.Lock()

    # -- the event loop's side ------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._origin = self._clock()
        self._thread.start()

    def stream_time(self) -> float:
        """Seconds since the stream began: the time line of every frame's pts."""
        return self._clock() - self._origin

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def show(self, sources: Sequence[TileSource]) -> None:
        """Show exactly these tiles, in this order (taps follow the tracks)."""
        if self._stopping:
            return
        wanted = {t.id: t for s in sources for t in (s.video, s.audio) if t is not None}
        for track_id in [k for k in self._taps if k not in wanted]:
            self._taps.pop(track_id).close()
        tiles = tuple(s.tile() for s in sources)
        if tiles != self._shown:  # before the new taps: a track's first frame finds its decoder
            self._shown = tiles
            self._put_control(("tiles", tiles))
        for track_id, track in wanted.items():
            if track_id not in self._taps:
                self._taps[track_id] = _Tap(self, track)

    def post(self, item: tuple[Any, ...]) -> bool:
        """Hand a frame to the thread; False if the queue is full and it was dropped."""
        size = len(item[2])
        with self._bytes_lock:
            full = self._queued_bytes + size > MAX_QUEUED_BYTES
            if not full:
                self._queued_bytes += size
        if not full:
            try:
                self._queue.put_nowait(item)
                return True
            except queue.Full:
                with self._bytes_lock:
                    self._queued_bytes -= size
        self.dropped += 1
        return False

    def _release_taps(self) -> None:
        for tap in self._taps.values():
            tap.close()
        self._taps.clear()

    def stop(self, at: float | None = None) -> float:
        """Take nothing more in; the stream ends at stream time `at` (default: now), after what
        arrived before. Returns that time."""
        until = self.stream_time() if at is None else at
        if not self._stopping:
            self._stopping = True
            self._release_taps()
            self._put_control(("finish", until))
        return until

    def abort(self) -> None:
        """Stop at once; nothing more reaches the output, not even its end."""
        self._aborted = self._stopping = True
        self._release_taps()
        self._put_control(("abort",))

    def _put_control(self, item: tuple[Any, ...]) -> None:
        """Queue a control item, never dropped unless the thread has stopped taking any."""
        try:
            self._queue.put(item, timeout=1.0)
        except queue.Full:
            log.error("the composite thread is not taking work; %s lost", item[0])

    async def wait_closed(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, timeout)

    def _keyframe_wanted(self, track_id: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._request_keyframe, track_id)

    def _request_keyframe(self, track_id: str) -> None:
        tap = self._taps.get(track_id)
        if tap is not None:
            tap.track.request_keyframe()

    # -- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        core = self._core
        try:
            while not self._aborted:
                wait = max(0.0, core.next_due() - self.stream_time())
                try:
                    item: tuple[Any, ...] | None = self._queue.get(timeout=wait)
                except queue.Empty:
                    item = None
                while item is not None:
                    if self._aborted or not self._apply(item):
                        return
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        item = None
                core.step(self.stream_time())
        except Exception as exc:
            self.failed = exc
            log.exception("the composite failed")
            if self._on_failure is not None and self._loop is not None:
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(self._on_failure, exc)

    def _apply(self, item: tuple[Any, ...]) -> bool:
        """Apply one queued item; False once the stream has ended."""
        core = self._core
        kind = item[0]
        if kind in ("video", "audio"):
            with self._bytes_lock:
                self._queued_bytes -= len(item[2])
        if kind == "video":
            core.video_frame(item[1], item[2])
        elif kind == "audio":
            core.audio_frame(item[1], item[2], item[3], self.stream_time())
        elif kind == "tiles":
            core.set_tiles(item[1])
        elif kind == "finish":
            core.finish(item[1])
            return False
        else:
            return False
        return True
