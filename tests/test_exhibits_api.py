"""The case-management system's exhibits API: upload (streamed, checked by content, numbered
by side, hashed, sealed at rest), list and get, and the clerk's or a judge's decision, each
step audited with the exhibit's hash; every bad upload refused with its code, and the
memory an upload takes bounded whatever the file's size."""

from __future__ import annotations

import hashlib
import json
import os
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests import exhibit_samples as samples
from tests.conftest import RunningServer, running_server
from web.keys import AUDIT, EXHIBITS


async def person(server: RunningServer, hearing_id: str, role: str) -> str:
    issued = await server.issue_token(hearing_id, role, f"A {role}")
    return str(issued["participant_id"])


async def upload(
    server: RunningServer,
    hearing_id: str,
    participant_id: str,
    data: bytes | AsyncIterator[bytes],
    **query: str,
) -> tuple[int, dict[str, Any]]:
    params = {"participant_id": participant_id, "title": "Exhibit"} | query
    async with server.session.post(
        f"{server.base_url}/api/hearings/{hearing_id}/exhibits",
        params=params,
        data=data,
        headers=server.headers,
    ) as response:
        return response.status, await response.json()


async def decide(
    server: RunningServer, hearing_id: str, exhibit_id: str, participant_id: str, decision: str
) -> tuple[int, dict[str, Any]]:
    async with server.session.post(
        f"{server.base_url}/api/hearings/{hearing_id}/exhibits/{exhibit_id}/decision",
        json={"participant_id": participant_id, "decision": decision},
        headers=server.headers,
    ) as response:
        return response.status, await response.json()


async def get(server: RunningServer, path: str) -> tuple[int, dict[str, Any]]:
    async with server.session.get(f"{server.base_url}{path}", headers=server.headers) as response:
        return response.status, await response.json()


def custody(server: RunningServer, hearing_id: str) -> list[dict[str, Any]]:
    lines = server.app[AUDIT].custody_path(hearing_id).read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["type"] == "entry"]


async def test_an_upload_is_numbered_by_side_hashed_sealed_and_audited(
    server: RunningServer,
) -> None:
    hearing = (await server.create_hearing())["id"]
    plaintiff = await person(server, hearing, "plaintiff")
    respondent = await person(server, hearing, "respondent")
    lawyer = await person(server, hearing, "party_lawyer")
    document = samples.clean_pdf(pages=4)
    status, first = await upload(server, hearing, plaintiff, document, title="The contract")
    assert status == 201, first
    assert (first["number"], first["kind"], first["pages"]) == ("P-1", "pdf", 4)
    assert first["sha256"] == hashlib.sha256(document).hexdigest()
    assert (first["submitted_by"], first["state"]) == (plaintiff, "submitted")
    status, second = await upload(server, hearing, respondent, samples.png(), title="A photo")
    assert (status, second["number"]) == (201, "D-1")
    status, third = await upload(server, hearing, lawyer, samples.mp3(), side="P")
    assert (status, third["number"], third["kind"]) == (201, "P-2", "mp3")
    status, listed = await get(server, f"/api/hearings/{hearing}/exhibits")
    assert [e["number"] for e in listed["exhibits"]] == ["P-1", "P-2", "D-1"]
    status, one = await get(server, f"/api/hearings/{hearing}/exhibits/{first['id']}")
    assert status == 200 and one == first
    sealed = server.app[EXHIBITS].directory / hearing / first["id"] / "content.seal"
    assert document[:64] not in sealed.read_bytes()  # sealed at rest, no plaintext left
    assert not any((server.app[EXHIBITS].directory / hearing / "incoming").iterdir())
    entries = [e for e in custody(server, hearing) if e["action"] == "exhibit_submitted"]
    assert (entries[0]["details"]["number"], entries[0]["details"]["sha256"]) == (
        "P-1",
        first["sha256"],
    )


async def test_a_lawyer_must_say_the_side_and_a_witness_does_not_submit(
    server: RunningServer,
) -> None:
    hearing = (await server.create_hearing())["id"]
    lawyer = await person(server, hearing, "party_lawyer")
    witness = await person(server, hearing, "witness")
    plaintiff = await person(server, hearing, "plaintiff")
    assert (await upload(server, hearing, lawyer, samples.png()))[0] == 400
    assert (await upload(server, hearing, witness, samples.png()))[0] == 403
    assert (await upload(server, hearing, plaintiff, samples.png(), side="D"))[0] == 400
    status, body = await upload(server, hearing, "p_nobody12", samples.png())
    assert (status, body["error"]["code"]) == (401, "unauthorized")


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda: b"MZ" + bytes(100), 415, "exhibit_type_refused"),
        (samples.pdf_with_javascript, 415, "exhibit_pdf_javascript"),
        (samples.zip_file, 415, "exhibit_type_refused"),
        (samples.png_bomb, 415, "exhibit_image_too_large"),
        (samples.truncated_pdf, 415, "exhibit_pdf_truncated"),
        (lambda: samples.clean_pdf() + samples.zip_file(1000), 415, "exhibit_polyglot"),
        (lambda: b"", 400, "exhibit_empty"),
    ],
)
async def test_each_bad_upload_is_refused_with_its_code_audited_and_nothing_kept(
    server: RunningServer, make: Any, status: int, code: str
) -> None:
    hearing = (await server.create_hearing())["id"]
    plaintiff = await person(server, hearing, "plaintiff")
    data = make()
    answer, body = await upload(server, hearing, plaintiff, data)
    assert (answer, body["error"]["code"]) == (status, code)
    assert (await get(server, f"/api/hearings/{hearing}/exhibits"))[1] == {"exhibits": []}
    [entry] = [e for e in custody(server, hearing) if e["action"] == "exhibit_submitted"]
    assert entry["result"] == code
    assert entry["details"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert not any((server.app[EXHIBITS].directory / hearing / "incoming").iterdir())


async def test_an_oversize_upload_is_refused_declared_or_streamed(tmp_path: Path) -> None:
    async with running_server(tmp_path / "data", exhibit_max_bytes=64 * 1024) as server:
        hearing = (await server.create_hearing())["id"]
        plaintiff = await person(server, hearing, "plaintiff")
        big = samples.big_pdf(100 * 1024)
        status, body = await upload(server, hearing, plaintiff, big)
        assert (status, body["error"]["code"]) == (413, "exhibit_too_large")

        async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for start in range(0, len(big), 8192):
                yield big[start : start + 8192]

        status, body = await upload(server, hearing, plaintiff, chunked())
        assert (status, body["error"]["code"]) == (413, "exhibit_too_large")
        status, body = await upload(server, hearing, plaintiff, samples.big_pdf(32 * 1024))
        assert status == 201, body


async def test_the_clerk_admits_once_and_a_party_cannot(server: RunningServer) -> None:
    hearing = (await server.create_hearing())["id"]
    plaintiff = await person(server, hearing, "plaintiff")
    clerk = await person(server, hearing, "clerk")
    judge = await person(server, hearing, "presiding_judge")
    _, exhibit = await upload(server, hearing, plaintiff, samples.clean_pdf())
    status, body = await decide(server, hearing, exhibit["id"], plaintiff, "admit")
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, admitted = await decide(server, hearing, exhibit["id"], clerk, "admit")
    assert status == 200 and admitted["state"] == "admitted"
    [decision] = admitted["decisions"]
    status, body = await decide(server, hearing, exhibit["id"], judge, "refuse")
    assert (status, body["error"]["code"]) == (409, "exhibit_already_decided")
    entries = {e["hash"]: e for e in custody(server, hearing)}
    entry = entries[decision["audit_hash"]]
    assert (entry["action"], entry["actor"], entry["target"]) == (
        "exhibit_admitted",
        clerk,
        exhibit["id"],
    )
    assert entry["details"]["sha256"] == exhibit["sha256"]
    status, body = await get(server, f"/api/hearings/{hearing}/exhibits/x-0000000000000000")
    assert (status, body["error"]["code"]) == (404, "exhibit_not_found")
    other = (await server.create_hearing())["id"]
    status, body = await get(server, f"/api/hearings/{other}/exhibits/{exhibit['id']}")
    assert (status, body["error"]["code"]) == (404, "exhibit_not_found")


async def test_a_50_mb_upload_is_streamed_in_bounded_memory(server: RunningServer) -> None:
    hearing = (await server.create_hearing())["id"]
    plaintiff = await person(server, hearing, "plaintiff")
    document = samples.big_pdf(50 * 1024 * 1024 - 4096)

    async def pieces() -> AsyncIterator[bytes]:
        view = memoryview(document)
        for start in range(0, len(document), 256 * 1024):
            yield bytes(view[start : start + 256 * 1024])

    tracemalloc.start()
    try:
        status, body = await upload(server, hearing, plaintiff, pieces())
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 201, body
    assert body["sha256"] == hashlib.sha256(document).hexdigest()
    print(f"peak traced memory during a {len(document)} byte upload: {peak / 2**20:.1f} MiB")
    assert peak < 16 * 2**20  # the client's and the server's pieces, never the file


async def test_an_upload_a_crash_left_half_checked_is_deleted_when_the_node_starts(
    tmp_path: Path,
) -> None:
    incoming = tmp_path / "data" / "exhibits" / "h_abcdefgh" / "incoming"
    incoming.mkdir(parents=True)
    stale, fresh = incoming / "0000.part", incoming / "1111.part"
    stale.write_bytes(samples.clean_pdf())
    fresh.write_bytes(samples.clean_pdf())
    old = time.time() - 3600
    os.utime(stale, (old, old))
    async with running_server(tmp_path / "data"):
        assert not stale.exists()  # plaintext is never left at rest
        assert fresh.exists()  # another node may be checking it now
