"""A verifier fetches the node's public keys (REST or `ecourt keys public`) and checks the
node's records with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from signaling.client import HearingClient
from tests.conftest import RunningServer, running_server
from tests.test_cli import run_cli
from web.audit import AUDIT_KEY_FILE
from web.keys import AUDIT


async def fetch_keys(server: RunningServer) -> dict[str, dict[str, str]]:
    async with server.session.get(f"{server.base_url}/api/keys/public") as response:
        assert response.status == 200
        keys: dict[str, dict[str, str]] = await response.json()
        return keys


async def test_the_public_keys_are_served_without_the_api_key_and_no_private_part(
    server: RunningServer,
) -> None:
    keys = await fetch_keys(server)
    assert set(keys) == {"audit", "recording"}
    for key in keys.values():
        assert key["algorithm"] == "ed25519"
        assert len(bytes.fromhex(key["public_key"])) == 32
    assert keys["audit"]["public_key"] != keys["recording"]["public_key"]
    assert keys["audit"]["public_key"] == server.app[AUDIT].key.public_key.hex()


async def test_an_audit_log_verifies_with_the_key_the_node_publishes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    async with running_server(data) as server:
        hearing = await server.create_hearing()
        issued = await server.issue_token(hearing["id"], "presiding_judge", "Judge Le")
        judge = HearingClient(server.base_url, issued["token"])
        try:
            await judge.connect()
            await judge.request("phase", {"phase": "in_session"})
        finally:
            await judge.close()
        log = server.app[AUDIT].path(hearing["id"])
        published = (await fetch_keys(server))["audit"]["public_key"]
    # the node has stopped: the (still open) log ends with a checkpoint signed by its key

    monkeypatch.setenv("ECOURT_DATA_DIR", str(data))
    code, out, _ = run_cli(capsys, "keys", "public", "--audit")
    assert (code, out.strip()) == (0, published)
    code, out, err = run_cli(
        capsys, "audit", "verify", str(log), "--public-key", published, "--open"
    )
    assert code == 0, out + err
    other = "ab" * 32
    code, _, _ = run_cli(capsys, "audit", "verify", str(log), "--public-key", other, "--open")
    assert code == 1


def test_keys_public_on_a_data_dir_without_keys_says_so_and_makes_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECOURT_DATA_DIR", str(tmp_path / "empty"))
    code, out, err = run_cli(capsys, "keys", "public")
    assert code == 2
    assert out == ""
    assert AUDIT_KEY_FILE in err and "Traceback" not in err
    assert not (tmp_path / "empty").exists()


def test_keys_public_on_an_unreadable_key_file_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    (data / AUDIT_KEY_FILE).mkdir(parents=True)  # a directory where the key file should be
    monkeypatch.setenv("ECOURT_DATA_DIR", str(data))
    code, out, err = run_cli(capsys, "keys", "public")
    assert (code, out) == (2, "")
    assert "cannot read" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
