"""`ecourt exhibits export` writes the admitted exhibits, decrypted, with a signed index, and
`ecourt exhibits verify` checks them offline; a flipped byte, a swapped exhibit, an edited
index, a file added or taken away are each refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests import exhibit_samples as samples
from tests.conftest import running_server
from tests.test_cli_recording import run_cli
from tests.test_exhibits_api import custody, decide, person, upload
from web.keys import RECORDINGS


@pytest.fixture
async def exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[Path, str, dict[str, bytes]]:
    """A hearing with P-1 and D-1 admitted and P-2 refused, exported by the CLI."""
    files = {"P-1.pdf": samples.clean_pdf(pages=2), "D-1.png": samples.png(), "P-2": b""}
    async with running_server(tmp_path / "data") as server:
        hearing = (await server.create_hearing())["id"]
        plaintiff = await person(server, hearing, "plaintiff")
        respondent = await person(server, hearing, "respondent")
        clerk = await person(server, hearing, "clerk")
        made: list[dict[str, Any]] = []
        for who, data in ((plaintiff, files["P-1.pdf"]), (respondent, files["D-1.png"])):
            made.append((await upload(server, hearing, who, data))[1])
        made.append((await upload(server, hearing, plaintiff, samples.jpeg()))[1])
        for exhibit, decision in zip(made, ("admit", "admit", "refuse"), strict=True):
            assert (await decide(server, hearing, exhibit["id"], clerk, decision))[0] == 200
        key = server.app[RECORDINGS].signing_key.public_key.hex()
        del files["P-2"]
        monkeypatch.setenv("ECOURT_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("ECOURT_KEYRING", str(tmp_path / "data-keyring.json"))
        out = tmp_path / "out"
        code, printed, err = run_cli(capsys, "exhibits", "export", hearing, str(out))
        assert code == 0, err
        assert "exported 2 exhibits: P-1, D-1" in printed
        actions = [e["action"] for e in custody(server, hearing)]
        assert actions[-1] == "exhibits_exported"
    return out, key, files


def verify(capsys: pytest.CaptureFixture[str], out: Path, *trust: str) -> tuple[int, str]:
    code, printed, _err = run_cli(capsys, "exhibits", "verify", str(out), *trust)
    return code, printed


def test_the_export_holds_the_admitted_exhibits_as_submitted_and_verifies(
    exported: tuple[Path, str, dict[str, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    out, key, files = exported
    assert sorted(p.name for p in out.iterdir()) == ["D-1.png", "P-1.pdf", "index.json"]
    for name, data in files.items():
        assert (out / name).read_bytes() == data
    index = json.loads((out / "index.json").read_text())["index"]
    assert [e["number"] for e in index["exhibits"]] == ["P-1", "D-1"]
    assert all(e["decisions"][-1]["state"] == "admitted" for e in index["exhibits"])
    code, printed = verify(capsys, out, "--trust", key)
    assert code == 0 and ": valid (2 exhibits" in printed
    assert verify(capsys, out)[0] == 4  # signed, but nobody named the key
    assert verify(capsys, out, "--trust", "ab" * 32)[0] == 1


def test_a_flipped_byte_is_refused(
    exported: tuple[Path, str, dict[str, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    out, key, _files = exported
    data = bytearray((out / "P-1.pdf").read_bytes())
    data[len(data) // 2] ^= 0x01
    (out / "P-1.pdf").write_bytes(bytes(data))
    code, printed = verify(capsys, out, "--trust", key)
    assert code == 1 and "exhibit_hash_mismatch: P-1.pdf" in printed


def test_a_swapped_exhibit_is_refused(
    exported: tuple[Path, str, dict[str, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    out, key, _files = exported
    (out / "P-1.pdf").write_bytes(samples.clean_pdf(pages=3))  # another valid document
    code, printed = verify(capsys, out, "--trust", key)
    assert code == 1 and "exhibit_hash_mismatch: P-1.pdf" in printed


def test_an_edited_index_is_refused(
    exported: tuple[Path, str, dict[str, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    out, key, _files = exported
    document = json.loads((out / "index.json").read_text())
    pdf = out / "P-1.pdf"
    pdf.write_bytes(samples.clean_pdf(pages=3))
    entry = document["index"]["exhibits"][0]
    entry["sha256"] = hashlib.sha256(pdf.read_bytes()).hexdigest()
    entry["size"] = pdf.stat().st_size  # the hashes made to agree with the swapped file
    (out / "index.json").write_text(json.dumps(document))
    code, printed = verify(capsys, out, "--trust", key)
    assert code == 1 and "index_signature_invalid" in printed
    assert "exhibit_hash_mismatch" not in printed


def test_a_file_added_or_taken_away_is_refused(
    exported: tuple[Path, str, dict[str, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    out, key, _files = exported
    (out / "D-1.png").rename(out / "D-2.png")
    code, printed = verify(capsys, out, "--trust", key)
    assert code == 1
    assert "exhibit_missing: D-1.png" in printed and "exhibit_unlisted: D-2.png" in printed


async def test_an_export_refuses_a_directory_that_holds_something(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ECOURT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ECOURT_KEYRING", str(tmp_path / "keyring.json"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("x")
    code, _out, err = run_cli(capsys, "exhibits", "export", "h_abcdefgh", str(tmp_path / "out"))
    assert code == 2 and "exhibit_index_invalid" in err


async def test_an_exhibit_altered_at_rest_is_not_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_server(tmp_path / "data") as server:
        hearing = (await server.create_hearing())["id"]
        plaintiff = await person(server, hearing, "plaintiff")
        clerk = await person(server, hearing, "clerk")
        exhibit = (await upload(server, hearing, plaintiff, samples.clean_pdf()))[1]
        await decide(server, hearing, exhibit["id"], clerk, "admit")
    sealed = tmp_path / "data" / "exhibits" / hearing / exhibit["id"] / "content.seal"
    data = bytearray(sealed.read_bytes())
    data[-20] ^= 0x01
    sealed.write_bytes(bytes(data))
    monkeypatch.setenv("ECOURT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ECOURT_KEYRING", str(tmp_path / "data-keyring.json"))
    code, _out, err = run_cli(capsys, "exhibits", "export", hearing, str(tmp_path / "out"))
    assert code == 2 and "exhibit_tampered" in err
    assert not (tmp_path / "out" / "index.json").exists()
