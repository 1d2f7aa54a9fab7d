"""The `ecourt` command: `token` signs join links; `serve --demo` opens a trial you can join."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from hearing import Role
from security import AuditLog, FileAuditSink, Secret, SigningKey, TokenSigner
from web.audit import AuditLogs
from web.cli import main

ROOT = Path(__file__).resolve().parents[1]
TOKEN_KEY = "cli-test-token-key-of-at-least-32-chars"
SIGNER = TokenSigner(Secret(TOKEN_KEY.encode()))
REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_URL = "redis://127.0.0.1:6379/0"
LINE = re.compile(r"^\s+([A-Za-z ]+):\s+(\S+)")


# -- ecourt token -------------------------------------------------------------------------------


def run_token(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(["token", *args])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def test_token_prints_a_token_signed_with_the_token_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECOURT_TOKEN_KEY", TOKEN_KEY)
    code, out, _ = run_token(
        capsys,
        "--hearing",
        "h_abcdef",
        "--role",
        "witness",
        "--name",
        " Ana  Lopez",
        "--ttl",
        "600",
    )
    assert code == 0
    grant = SIGNER.verify(out.strip(), "h_abcdef")
    assert grant.participant.role is Role.WITNESS
    assert grant.participant.display_name == "Ana Lopez"
    assert grant.expires_at - grant.issued_at == 600


def test_token_without_a_token_key_fails_and_prints_no_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ECOURT_TOKEN_KEY", raising=False)
    code, out, err = run_token(capsys, "--hearing", "h_abcdef", "--role", "clerk", "--name", "J")
    assert code == 2
    assert out == ""
    assert "ECOURT_TOKEN_KEY" in err


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("--hearing", "h!", "--role", "clerk", "--name", "J"), "hearing_id"),
        (("--hearing", "h_abcdef", "--role", "clerk", "--name", "  "), "display_name"),
        (("--hearing", "h_abcdef", "--role", "king", "--name", "J"), "--role"),
        (("--hearing", "h_abcdef", "--role", "clerk", "--name", "J", "--ttl", "59"), "--ttl"),
        (("--hearing", "h_abcdef", "--role", "clerk", "--name", "J", "--ttl", "x"), "--ttl"),
    ],
)
def test_token_refuses_bad_arguments_saying_which(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    complaint: str,
) -> None:
    monkeypatch.setenv("ECOURT_TOKEN_KEY", TOKEN_KEY)
    code, out, err = run_token(capsys, *args)
    assert code == 2
    assert out == ""
    assert complaint in err


# -- ecourt serve --demo, as a real process -----------------------------------------------------


@dataclass
class Demo:
    links: dict[str, str]
    output: str


@asynccontextmanager
async def demo_server(tmp_path: Path, **env: str) -> AsyncIterator[Demo]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ECOURT_")}
    environ |= {"ECOURT_TOKEN_KEY": TOKEN_KEY, "ECOURT_DATA_DIR": str(tmp_path)} | env
    log = (tmp_path / "stderr.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "web.cli",
        "serve",
        "--demo",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        cwd=ROOT,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=log,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any(line.strip().startswith("Open the judge's link") for line in lines):
                line = await process.stdout.readline()
                if not line:
                    pytest.fail(f"the server exited before printing how to join: {lines}")
                lines.append(line.decode())
        links = {m[1]: m[2] for m in map(LINE.match, lines) if m}
        yield Demo(links=links, output="".join(lines))
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(30):
                await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
            log.close()
    assert process.returncode == 0, (tmp_path / "stderr.log").read_text()


async def test_serve_demo_prints_join_links_that_work(tmp_path: Path) -> None:
    async with demo_server(tmp_path) as demo, aiohttp.ClientSession() as http:
        base = demo.links["base URL"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
        assert not base.endswith(":0")
        hearing_id = demo.links["hearing"]
        cast = {
            "presiding judge": Role.PRESIDING_JUDGE,
            "clerk": Role.CLERK,
            "plaintiff": Role.PLAINTIFF,
            "respondent": Role.RESPONDENT,
        }
        for label, role in cast.items():
            page, _, fragment = demo.links[label].partition("#token=")
            assert page == f"{base}/join/{hearing_id}"
            assert SIGNER.verify(fragment, hearing_id).participant.role is role
            async with http.get(page) as response:
                assert response.status == 200
        assert demo.links["public docket"] == f"{base}/docket"
        assert demo.links["public stream"] == f"{base}/watch/{hearing_id}"
        headers = {"Authorization": f"Bearer {demo.links['API key']}"}
        async with http.get(f"{base}/api/hearings/{hearing_id}", headers=headers) as response:
            assert response.status == 200
            hearing = await response.json()
        assert (hearing["type"], hearing["public"]) == ("trial", True)
        async with http.get(f"{base}/docket") as response:
            assert hearing["case_number"] in await response.text()
        # in the court's language (ECOURT_LANGUAGE, vi by default), with the delay it has
        assert "tranh chấp hợp đồng" in hearing["title"]
        assert "30 s behind" in demo.output


async def test_serve_demo_in_english_says_the_delay_the_court_set(tmp_path: Path) -> None:
    env = {"ECOURT_LANGUAGE": "en", "ECOURT_LIVESTREAM_DELAY_SECONDS": "45"}
    async with demo_server(tmp_path, **env) as demo:
        assert "Rivera v. Okafor" in demo.output
        assert "45 s behind" in demo.output and "30 s behind" not in demo.output


async def test_serve_demo_never_prints_an_api_key_the_operator_chose(tmp_path: Path) -> None:
    chosen = "operator-chosen-api-key-0123456789"
    async with (
        demo_server(tmp_path, ECOURT_API_KEY=chosen) as demo,
        aiohttp.ClientSession() as http,
    ):
        assert chosen not in demo.output
        assert "API key" not in demo.links
        url = f"{demo.links['base URL']}/api/hearings/{demo.links['hearing']}"
        async with http.get(url, headers={"Authorization": f"Bearer {chosen}"}) as response:
            assert response.status == 200


# -- ecourt audit verify ------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def test_serve_on_a_port_in_use_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECOURT_DATA_DIR", str(tmp_path))
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code, _, err = run_cli(capsys, "serve", "--host", "127.0.0.1", "--port", str(port))
    assert code == 2
    assert err == f"ecourt: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def closed_audit_log(path: Path, key: SigningKey) -> Path:
    log = AuditLog("h_hearing1", FileAuditSink(path), key, checkpoint_every=3)
    for _ in range(5):
        log.record("p_judge001", "admit", target="p_witness1")
    log.record("p_witness1", "phase", result="forbidden")
    log.close()
    return path


def test_audit_verify_passes_an_intact_log_and_fails_an_edited_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = SigningKey.generate()
    path = closed_audit_log(tmp_path / "audit.jsonl", key)
    code, out, _ = run_cli(
        capsys, "audit", "verify", str(path), "--public-key", key.public_key.hex()
    )
    assert code == 0, out

    path.write_bytes(path.read_bytes().replace(b'"admit"', b'"denyy"', 1))
    code, out, _ = run_cli(
        capsys, "audit", "verify", str(path), "--public-key", key.public_key.hex()
    )
    assert code == 1
    assert "edited" in out.lower()


def test_audit_verify_refuses_a_bad_key_or_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = closed_audit_log(tmp_path / "audit.jsonl", SigningKey.generate())
    code, _, err = run_cli(capsys, "audit", "verify", str(path), "--public-key", "abcd")
    assert code == 2 and "64 hex digits" in err
    missing = str(tmp_path / "nothing.jsonl")
    code, _, err = run_cli(capsys, "audit", "verify", missing, "--public-key", "00" * 32)
    assert code == 2 and "cannot read" in err


async def write_two_checkpoints(logs: AuditLogs, hid: str) -> None:
    """A log of a hearing still open, with two checkpoints, both in the store."""
    log = await logs.open(hid)
    for _ in range(2):
        log.record("p_judge001", "admit", target="p_witness1")
        log.checkpoint()
    log.release()
    assert await logs.flush()


async def test_audit_verify_against_the_embedded_records_finds_a_log_cut_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hearing.model import new_hearing_id
    from signaling.sqlite_store import Database, SqliteAuditCheckpoints

    database = Database.in_data_dir(tmp_path)  # as the server keeps them, while it runs
    try:
        logs, hid = AuditLogs(tmp_path, SqliteAuditCheckpoints(database)), new_hearing_id()
        await write_two_checkpoints(logs, hid)
        monkeypatch.delenv("ECOURT_REDIS_URL", raising=False)
        monkeypatch.setenv("ECOURT_DATA_DIR", str(tmp_path))
        path, public = logs.path(hid), logs.key.public_key.hex()
        verify = ("audit", "verify", str(path), "--public-key", public, "--open")
        code, out, _ = await asyncio.to_thread(run_cli, capsys, *verify, "--against-store")
        assert code == 0, out
        path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:2]))
        code, out, _ = await asyncio.to_thread(run_cli, capsys, *verify, "--against-store")
        assert code == 1 and "audit_rolled_back" in out
    finally:
        await logs.close()
        await database.close()


async def test_audit_verify_against_the_store_finds_a_log_cut_back_that_verifies_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis.asyncio import Redis

    from hearing.model import new_hearing_id
    from signaling.redis_store import RedisAuditCheckpoints

    prefix = f"ecourt-test-{secrets.token_hex(6)}:"
    redis = Redis.from_url(REDIS_URL)
    try:
        logs, hid = AuditLogs(tmp_path, RedisAuditCheckpoints(redis, prefix)), new_hearing_id()
        await write_two_checkpoints(logs, hid)
        monkeypatch.setenv("ECOURT_REDIS_URL", REDIS_URL)
        monkeypatch.setenv("ECOURT_REDIS_PREFIX", prefix)
        path, public = logs.path(hid), logs.key.public_key.hex()
        verify = ("audit", "verify", str(path), "--public-key", public, "--open")
        code, out, _ = await asyncio.to_thread(run_cli, capsys, *verify, "--against-store")
        assert code == 0, out

        path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:2]))
        code, out, _ = await asyncio.to_thread(run_cli, capsys, *verify)
        assert code == 0, out  # the file alone cannot tell
        code, out, _ = await asyncio.to_thread(run_cli, capsys, *verify, "--against-store")
        assert code == 1 and "audit_rolled_back" in out

        monkeypatch.delenv("ECOURT_REDIS_URL")
        monkeypatch.setenv("ECOURT_DATA_DIR", str(tmp_path / "no-records"))
        code, _, err = await asyncio.to_thread(run_cli, capsys, *verify, "--against-store")
        assert code == 2 and "ECOURT_REDIS_URL" in err and "ECOURT_DATA_DIR" in err
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
