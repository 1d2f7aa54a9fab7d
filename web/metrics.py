"""`GET /metrics`: Prometheus' text format, behind its own bearer key (ECOURT_METRICS_KEY).

Everything is read by pull when a scraper asks: one `Collector` reads the counts the media
engine, the signalling edge, the audit logs and the livestreams keep (none of them knows
prometheus_client). Labels are kinds (phase, room, code, request, action), never ids. Without
a metrics key the route refuses (`metrics_disabled`): nothing about the hearings is given away
by default. `docs/operations.md` lists every metric; `docs/grafana-dashboard.json` shows them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from media import MediaEngine, srtp
from media.counters import Histogram
from signaling.metrics import court_levels
from signaling.server import SignalingServer
from web.audit import AuditLogs
from web.errors import MetricsDisabled, Unauthorized
from web.livestreams import Livestreams
from web.settings import Settings

PATH = "/metrics"
LAG_INTERVAL = 0.5
"""How often the event loop's lag is sampled, in seconds."""
LAG_BUCKETS: tuple[float, ...] = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

IncidentSource = Callable[[], Mapping[str, int]]
"""A reference monitor's incidents so far, by kind (issue 15 plugs its monitor in here)."""


class LoopLag:
    """Samples how late the event loop wakes a sleeper: what every packet and request waits
    for on top of its own work. Started and closed with the app."""

    def __init__(self, interval: float = LAG_INTERVAL) -> None:
        self.interval = interval
        self.histogram = Histogram(LAG_BUCKETS)
        self.latest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._sample())

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.latest = max(0.0, loop.time() - before - self.interval)
            self.histogram.observe(self.latest)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _buckets(histogram: Histogram) -> list[tuple[str, float]]:
    return [
        ("+Inf" if bound == float("inf") else repr(bound), float(count))
        for bound, count in histogram.cumulative()
    ]


class EcourtCollector(Collector):
    """Reads every count at scrape time (see the module's docstring)."""

    def __init__(
        self,
        engine: MediaEngine,
        signaling: SignalingServer,
        audit: AuditLogs,
        streams: Livestreams,
        lag: LoopLag,
    ) -> None:
        self._engine = engine
        self._signaling = signaling
        self._audit = audit
        self._streams = streams
        self._lag = lag
        self.reference_monitor_incidents: IncidentSource | None = lambda: dict(
            signaling.counters.monitor_incidents
        )
        """The reference monitor's cuts in every hearing of this node, by reason (`denied`,
        `leaked`; `docs/court-rules.md`); `ecourt_reference_monitor_incidents_total`."""

    def collect(self) -> Iterator[Metric]:
        yield from self._media()
        yield from self._court()
        yield from self._records()
        yield from self._runtime()

    def _media(self) -> Iterator[Metric]:
        totals = self._engine.totals()
        for name, value, text in (
            ("media_received_packets", totals.packets_received, "RTP packets from publishers"),
            ("media_lost_packets", totals.packets_lost, "publishers' packets never received"),
            ("media_forwarded_packets", totals.packets_forwarded, "RTP packets forwarded"),
            ("media_forwarded_bytes", totals.bytes_forwarded, "payload bytes forwarded"),
            ("media_nacks", totals.nacks, "NACK messages from subscribers"),
            ("media_nacked_packets", totals.packets_nacked, "packets subscribers asked again"),
            ("media_plis", totals.keyframe_requests, "PLI and FIR from subscribers"),
            ("media_keyframe_waits", totals.keyframe_waits, "video sinks that waited a keyframe"),
            ("media_dropped_datagrams", totals.datagrams_dropped, "datagrams the guards dropped"),
        ):
            yield CounterMetricFamily(f"ecourt_{name}", text, value=value)
        yield GaugeMetricFamily(
            "ecourt_media_sinks_waiting_keyframe",
            "video sinks waiting for their first keyframe now",
            value=totals.sinks_waiting_keyframe,
        )
        yield GaugeMetricFamily(
            "ecourt_media_forwarded_streams",
            "streams forwarded now",
            self._engine.forwarded_streams,
        )
        yield GaugeMetricFamily(
            "ecourt_media_forwarding_in_c",
            "1 when the C fan-out (media/_srtp_native) forwards, 0 when Python does",
            value=1 if srtp.NATIVE else 0,
        )
        joins = self._engine.join_waits
        yield HistogramMetricFamily(
            "ecourt_join_to_first_frame_seconds",
            "from a participant's subscribe leg (made when there is something to watch) to the "
            "first video forwarded on it",
            buckets=_buckets(joins),
            sum_value=joins.total,
        )

    def _court(self) -> Iterator[Metric]:
        levels = court_levels(self._signaling.hearings())
        hearings = GaugeMetricFamily(
            "ecourt_hearings", "hearings open here, by phase", None, ["phase"]
        )
        for phase, count in sorted(levels.hearings_by_phase.items()):
            hearings.add_metric([phase], count)
        yield hearings
        people = GaugeMetricFamily(
            "ecourt_participants", "participants here, by kind of room", None, ["room"]
        )
        for room, count in sorted(levels.participants_by_room.items()):
            people.add_metric([room], count)
        yield people
        counters = self._signaling.counters
        latency = HistogramMetricFamily(
            "ecourt_signaling_request_seconds",
            "from a request's arrival to its answer",
            labels=["request"],
        )
        for request, histogram in sorted(counters.requests.items()):
            latency.add_metric([request], _buckets(histogram), histogram.total)
        yield latency
        refusals = CounterMetricFamily(
            "ecourt_refusals", "refused requests and connections, by code", labels=["code"]
        )
        for code, count in sorted(counters.refusals.items()):
            refusals.add_metric([code], count)
        yield refusals
        incidents = CounterMetricFamily(
            "ecourt_reference_monitor_incidents",
            "what the reference monitor found, by kind",
            labels=["kind"],
        )
        source = self.reference_monitor_incidents
        for kind, count in sorted((source() if source else {}).items()):
            incidents.add_metric([kind], count)
        yield incidents

    def _records(self) -> Iterator[Metric]:
        writes = CounterMetricFamily(
            "ecourt_audit_writes", "audit entries written, by action", labels=["action"]
        )
        for action, count in sorted(self._audit.writes.items()):
            writes.add_metric([action], count)
        yield writes
        yield CounterMetricFamily(
            "ecourt_recordings_sealed",
            "recordings stopped and sealed (their signed manifest closed)",
            value=self._audit.writes.get("recording_stopped", 0),
        )
        yield CounterMetricFamily(
            "ecourt_livestream_segments",
            "livestream segments published after the delay line",
            value=self._streams.segments_published(),
        )

    def _runtime(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "ecourt_event_loop_lag_seconds", "the latest sample", value=self._lag.latest
        )
        yield HistogramMetricFamily(
            "ecourt_event_loop_lag_sample_seconds",
            f"how late the event loop woke a {LAG_INTERVAL} s sleeper",
            buckets=_buckets(self._lag.histogram),
            sum_value=self._lag.histogram.total,
        )


class Metrics:
    """The collector, its own registry (one per app), and the loop-lag sampler."""

    def __init__(
        self,
        settings: Settings,
        engine: MediaEngine,
        signaling: SignalingServer,
        audit: AuditLogs,
        streams: Livestreams,
    ) -> None:
        self._key = settings.metrics_key
        self.lag = LoopLag()
        self.collector = EcourtCollector(engine, signaling, audit, streams, self.lag)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)

    async def scrape(self, request: web.Request) -> web.Response:
        if self._key is None:
            raise MetricsDisabled("metrics are off on this node: set ECOURT_METRICS_KEY")
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        presented = key.strip().encode("utf-8", "replace")
        if scheme.lower() != "bearer" or not self._key.equals(presented):
            raise Unauthorized("the metrics key is required: Authorization: Bearer <key>")
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def lifecycle(self, _app: web.Application) -> AsyncIterator[None]:
        await self.lag.start()
        yield
        await self.lag.close()

    def attach(self, app: web.Application) -> None:
        app.router.add_get(PATH, self.scrape)
        app.cleanup_ctx.append(self.lifecycle)
