"""Path traversal and cross-hearing id probes on every REST route and page: each is 401
(no valid API key), 403 or 404; never 500, never a file, never another hearing's data, never
an echo of the key that was presented."""

from __future__ import annotations

import pytest

from tests.adversarial.http import raw_request
from tests.adversarial.support import assert_unharmed, bystander_running, wire_person
from tests.conftest import API_KEY, RunningServer

SECRET_TITLE = "Sealed matter SECRET-TITLE-A"
SECRET_CASE = "77/2026/SECRET-A"
LEAK = "LEAKME-0123456789abcdef"
KEY = {"Authorization": f"Bearer {API_KEY}"}
JSON = {"Content-Type": "application/json"}

# method, path (A, B: the two hearings' ids; P: a participant connected to A), headers, status
PROBES: list[tuple[str, str, dict[str, str], int]] = [
    # no valid API key: the hearing's data, its tokens, its revocations
    ("GET", "/api/hearings/A", {}, 401),
    ("POST", "/api/hearings/A/tokens", JSON, 401),
    ("POST", "/api/hearings/A/tokens/P/revoke", {}, 401),
    ("POST", "/api/hearings", JSON, 401),
    ("GET", "/api/hearings/A", {"Authorization": f"Bearer {LEAK}"}, 401),
    ("GET", "/api/hearings/A", {"Authorization": f"Basic {API_KEY}"}, 401),
    ("GET", f"/api/hearings/A?key={API_KEY}", {}, 401),
    ("GET", "/api/hearings/A", {"Authorization": "Bearer TOKEN"}, 401),  # a join link's token
    ("GET", "/api/hearings/B", {"Cookie": f"key={API_KEY}"}, 401),
    # the connection check takes a join token, never the API key
    ("POST", "/api/hearings/A/connection-check", JSON, 401),
    ("POST", "/api/hearings/A/connection-check", KEY | JSON, 401),
    ("POST", "/api/hearings/h_doesnotexist1/connection-check", KEY | JSON, 401),
    # with the key: ids that are not there, or not that hearing's
    ("GET", "/api/hearings/h_doesnotexist1", KEY, 404),
    ("POST", "/api/hearings/h_doesnotexist1/tokens", KEY | JSON, 404),
    ("POST", "/api/hearings/h_doesnotexist1/tokens/P/revoke", KEY, 404),
    ("POST", "/api/hearings/B/tokens/P/revoke", KEY, 404),  # A's participant, B's route
    ("GET", "/api/hearings/a_UPPER", KEY, 404),
    ("GET", "/api/hearings/A%00", KEY, 404),
    ("GET", "/api/hearings/A%2f..%2fB", KEY, 404),
    ("POST", "/api/hearings/A/tokens/x/revoke", KEY, 404),
    ("POST", "/api/hearings/A/tokens/P%2f..%2f..%2fB/revoke", KEY, 404),
    # traversal through the API
    ("GET", "/api/hearings/..%2f..%2fetc%2fpasswd", KEY, 404),
    ("GET", "/api/hearings/../../etc/passwd", KEY, 404),
    ("GET", "/api/hearings/%2e%2e%2f%2e%2e%2fpyproject.toml", KEY, 404),
    ("GET", "/api/hearings/A/../B", KEY, 404),
    ("POST", "/api/hearings/..%2fA/tokens", KEY | JSON, 404),
    ("GET", "/api/openapi.json/../../pyproject.toml", {}, 404),
    ("GET", "/healthz/../pyproject.toml", {}, 404),
    ("GET", "/readyz/..%2fpyproject.toml", {}, 404),
    # traversal through the pages
    ("GET", "/docket/../pyproject.toml", {}, 404),
    ("GET", "/docket/..%2f..%2fetc%2fpasswd", {}, 404),
    ("GET", "/join/../pyproject.toml", {}, 404),
    ("GET", "/join/..%2f..%2fetc%2fpasswd", {}, 404),
    ("GET", "/join/A/../../api/hearings/A", {}, 404),
    ("GET", "/join/..%2f..%2fapi%2fhearings%2fA", {}, 404),
    ("GET", "/watch/../pyproject.toml", {}, 404),
    ("GET", "/watch/..%2f..%2fetc%2fpasswd", {}, 404),
    # the livestream: nothing but a published segment, by its name
    ("GET", "/live/A/index.m3u8", {}, 404),  # never opened
    ("GET", "/live/A/../../pyproject.toml", {}, 404),
    ("GET", "/live/A/..%2f..%2fpyproject.toml", {}, 404),
    ("GET", "/live/A/%2e%2e.ts", {}, 404),
    ("GET", "/live/h_doesnotexist1/AAAAAAAAAAAAAAAAAAAAAAAA.ts", {}, 404),
    ("GET", "/live/..%2fA/index.m3u8", {}, 404),
    # traversal through the static files
    ("GET", "/static/../pyproject.toml", {}, 404),
    ("GET", "/static/%2e%2e/pyproject.toml", {}, 404),
    ("GET", "/static/..%2fpyproject.toml", {}, 404),
    ("GET", "/static/..%2f..%2fpyproject.toml", {}, 404),
    ("GET", "/static/%252e%252e%252fpyproject.toml", {}, 404),
    ("GET", "/static/vendor/../../app.py", {}, 404),
    ("GET", "/static/..\\app.py", {}, 404),
    ("GET", "/static/..;/app.py", {}, 404),
    ("GET", "/static/%00", {}, 404),
    ("GET", "/static//etc/passwd", {}, 404),
    ("GET", "/static/hearing.js/../../app.py", {}, 404),
    ("GET", "/static/", {}, 403),
    ("GET", "/../../../../etc/passwd", {}, 404),
    ("GET", "/%2e%2e/%2e%2e/etc/passwd", {}, 404),
]
NEVER = [
    SECRET_TITLE.encode(),
    SECRET_CASE.encode(),
    LEAK.encode(),
    API_KEY.encode(),
    b"Ms Secret",
    b"[project]",  # pyproject.toml
    b"root:",  # /etc/passwd
    b"import ",  # a Python source file
    b"Traceback",
]


def test_there_are_forty_probes_or_more_over_every_route() -> None:
    assert len(PROBES) >= 40
    prefixes = {"/api/hearings", "/api/openapi.json", "/healthz", "/readyz", "/docket"}
    prefixes |= {"/join/", "/static/", "/api/hearings/A/tokens", "/api/hearings/A/tokens/P"}
    prefixes |= {"/watch/", "/live/"}
    for prefix in prefixes:
        assert any(path.startswith(prefix) for _, path, _, _ in PROBES), prefix


async def test_every_probe_is_refused_and_reveals_nothing(server: RunningServer) -> None:
    a = await server.create_hearing(title=SECRET_TITLE, case_number=SECRET_CASE)
    b = await server.create_hearing(case_number="02/2026/DS-ST")
    party, welcome = await wire_person(server, a["id"], "plaintiff", "Ms Secret")
    pid = welcome["participant"]["id"]
    token = (await server.issue_token(a["id"], "clerk", "Clerk"))["token"]
    seen: dict[tuple[int, str, str], int] = {}
    try:
        async with bystander_running(server) as bystander:
            for n, (method, template, headers, _) in enumerate(PROBES):
                path = template.replace("A", a["id"]).replace("B", b["id"]).replace("P", pid)
                path = path.replace("a_UPPER", a["id"].upper())
                sent = {k: v.replace("TOKEN", token) for k, v in headers.items()}
                body = (
                    b'{"role": "presiding_judge", "display_name": "Me"}'
                    if "POST" in method
                    else b""
                )
                answer = await raw_request(server.base_url, method, path, sent, body)
                seen[n, method, template] = answer.status
                for secret in NEVER:
                    assert secret not in answer.body, (template, secret, answer.body[:200])
                assert token not in answer.headers + answer.body.decode(errors="replace")
        assert_unharmed(bystander, "REST probes")
        assert not party.closed  # B's route did not revoke A's participant
    finally:
        await party.close()
    expected = {(n, m, p): status for n, (m, p, _, status) in enumerate(PROBES)}
    assert seen == expected
    print(f"\n[rest] {len(seen)} probes: {sorted(set(seen.values()))}")


@pytest.mark.parametrize("hearing", ["A", "h_doesnotexist1"])
async def test_the_join_page_is_the_same_bytes_for_any_hearing_id(
    server: RunningServer, hearing: str
) -> None:
    """Nothing to learn by probing ids: the page carries no hearing data (the token in the
    fragment does), and an unknown id gets the very same page, not a telling 404."""
    a = await server.create_hearing(title=SECRET_TITLE, case_number=SECRET_CASE)
    reference = await raw_request(server.base_url, "GET", "/join/h_referencepage")
    answer = await raw_request(server.base_url, "GET", f"/join/{hearing.replace('A', a['id'])}")
    assert (answer.status, answer.body) == (reference.status, reference.body) == (200, answer.body)
    assert SECRET_TITLE.encode() not in answer.body
