"""`GET /metrics` behind its own key, what it counts without media, and the JSON logs."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from media.counters import Histogram
from security import Secret
from signaling.client import HearingClient
from signaling.logs import LOG_CONTEXT
from tests.conftest import API_KEY, RunningServer, running_server, test_settings
from tests.metrics_support import METRICS_KEY, families, scrape
from web.logs import configure_logging
from web.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def metered(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path / "data", metrics_key=Secret(METRICS_KEY.encode())) as s:
        yield s


async def status_and_code(server: RunningServer, headers: dict[str, str]) -> tuple[int, str]:
    async with server.session.get(f"{server.base_url}/metrics", headers=headers) as response:
        body = await response.json()
        return response.status, body["error"]["code"]


async def test_metrics_are_refused_without_the_metrics_key_or_with_the_api_key(
    metered: RunningServer,
) -> None:
    assert await status_and_code(metered, {}) == (401, "unauthorized")
    for key in ("wrong-key-0123456789", API_KEY):
        headers = {"Authorization": f"Bearer {key}"}
        assert await status_and_code(metered, headers) == (401, "unauthorized")
    assert (await scrape(metered))["ecourt_media_forwarded_packets_total"] == 0


async def test_a_node_without_a_metrics_key_gives_no_metrics_at_all(server: RunningServer) -> None:
    headers = {"Authorization": f"Bearer {METRICS_KEY}"}
    assert await status_and_code(server, headers) == (403, "metrics_disabled")


async def test_hearings_by_phase_participants_by_room_refusals_and_audit_writes(
    metered: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await metered.create_hearing()
    judge_token = await metered.issue_token(hearing["id"], "presiding_judge", "Judge Le")
    party_token = await metered.issue_token(hearing["id"], "plaintiff", "Ms Nguyen")
    judge = HearingClient(metered.base_url, judge_token["token"])
    party = HearingClient(metered.base_url, party_token["token"])
    clients.extend([judge, party])
    await judge.connect()
    await party.connect()
    await judge.wait_for_waiting(party.participant["id"])
    refused = await party.emit_raw("phase", {"phase": "in_session"})  # not the party's to order
    assert refused["ok"] is False

    samples = await scrape(metered)
    assert samples['ecourt_hearings{phase="scheduled"}'] == 1
    assert samples['ecourt_participants{room="courtroom"}'] == 1
    assert samples['ecourt_participants{room="lobby"}'] == 1
    assert samples[f'ecourt_refusals_total{{code="{refused["error"]["code"]}"}}'] == 1
    assert samples['ecourt_audit_writes_total{action="arrive"}'] == 2
    assert samples['ecourt_signaling_request_seconds_count{request="join"}'] == 2
    assert samples['ecourt_signaling_request_seconds_count{request="phase"}'] == 1
    assert samples["ecourt_media_forwarding_in_c"] in (0, 1)
    assert "ecourt_event_loop_lag_seconds" in samples

    await judge.admit(party.participant["id"])
    await party.wait_admitted()
    await judge.request("phase", {"phase": "in_session"})
    samples = await scrape(metered)
    assert samples['ecourt_hearings{phase="in_session"}'] == 1
    assert samples['ecourt_participants{room="courtroom"}'] == 2
    assert 'ecourt_participants{room="lobby"}' not in samples


async def test_no_reference_monitor_incident_is_exported_before_one_happens(
    metered: RunningServer,
) -> None:
    """(A real incident, counted: tests/faults/test_fail_closed.py, the monitor's test.)"""
    assert not any(name.startswith("ecourt_reference_monitor") for name in await scrape(metered))


def test_a_histogram_counts_each_observation_in_its_bucket_and_cumulates() -> None:
    histogram = Histogram((0.5, 1.0, 2.0))
    for value in (0.1, 0.5, 0.7, 3.0):
        histogram.observe(value)
    assert histogram.cumulative() == [(0.5, 2), (1.0, 3), (2.0, 3), (float("inf"), 4)]
    assert histogram.count == 4
    assert histogram.total == pytest.approx(4.3)
    with pytest.raises(ValueError, match="increasing"):
        Histogram((1.0, 0.5))


def test_the_metrics_key_must_be_long_enough(tmp_path: Path) -> None:
    env = {"ECOURT_METRICS_KEY": "short", "ECOURT_DATA_DIR": str(tmp_path)}
    with pytest.raises(SettingsError, match="ECOURT_METRICS_KEY"):
        Settings.from_env(env, keyring_path=tmp_path.parent / "k.json")
    with pytest.raises(SettingsError, match="ECOURT_LOG_FORMAT"):
        Settings.from_env({"ECOURT_LOG_FORMAT": "xml"}, keyring_path=tmp_path.parent / "k.json")
    settings = Settings.from_env(
        {"ECOURT_METRICS_KEY": METRICS_KEY, "ECOURT_DATA_DIR": str(tmp_path)},
        keyring_path=tmp_path.parent / "k.json",
    )
    assert settings.metrics_key is not None and METRICS_KEY not in repr(settings)


# -- the logs ------------------------------------------------------------------------------------


@pytest.fixture
def log_lines() -> tuple[io.StringIO, logging.Handler]:
    settings = test_settings(log_format="json", metrics_key=Secret(METRICS_KEY.encode()))
    handler = configure_logging(settings)
    sink = io.StringIO()
    handler.setStream(sink)  # type: ignore[attr-defined]
    return sink, handler


def test_json_logs_are_one_event_a_line_with_the_hearing_and_participant_ids(
    log_lines: tuple[io.StringIO, logging.Handler],
) -> None:
    sink, handler = log_lines
    try:
        log = logging.getLogger("signaling.session")
        log.info("admitted %s", "p_x")
        token = LOG_CONTEXT.set(("h_abcdef", "p_123456"))
        try:
            log.warning("refused\na request")
            try:
                raise RuntimeError("boom")
            except RuntimeError:
                log.exception("failed")
        finally:
            LOG_CONTEXT.reset(token)
    finally:
        logging.getLogger().removeHandler(handler)
    lines = sink.getvalue().splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert first["event"] == "admitted p_x" and "hearing" not in first
    assert (second["hearing"], second["participant"]) == ("h_abcdef", "p_123456")
    assert second["event"] == "refused\na request" and second["level"] == "warning"
    assert "RuntimeError: boom" in third["exc"]


def test_no_key_or_bearer_credential_reaches_a_log_line(
    log_lines: tuple[io.StringIO, logging.Handler],
) -> None:
    sink, handler = log_lines
    try:
        log = logging.getLogger("web.api")
        log.info("keys %s %s %s", API_KEY, "k" * 32, METRICS_KEY)
        log.info("header Authorization: Bearer eyJzZWNyZXQiOiJ0b2tlbiJ9.abc")
    finally:
        logging.getLogger().removeHandler(handler)
    text = sink.getvalue()
    for secret in (API_KEY, "k" * 32, METRICS_KEY, "eyJzZWNyZXQiOiJ0b2tlbiJ9"):
        assert secret not in text
    assert text.count("********") == 4


async def test_every_metric_the_grafana_dashboard_queries_is_exported(
    metered: RunningServer,
) -> None:
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    queried = {
        re.sub(r"_(bucket|count|sum|total)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"ecourt_[a-z_]+", target["expr"])
    }
    exported = {re.sub(r"_total$", "", name) for name in await families(metered)}
    assert len(queried) >= 15
    assert queried - exported == set()
