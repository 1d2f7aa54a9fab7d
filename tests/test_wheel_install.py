"""The wheel as a user installs it: built by tools/build-wheel, installed in a fresh venv on the
locked dependencies (tools/wheel-venv), and run from a directory outside the checkout.

tools/run-tests makes that venv before the tests and names it in ECOURT_WHEEL_VENV (the
media tests' namespace has no network to install from); without it, the fixture makes one.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sysconfig
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from signaling.client import HearingClient
from tests.conftest import API_KEY, free_port
from tests.session_support import decodes_video_from, in_session_publishing

ROOT = Path(__file__).resolve().parents[1]
TOKEN_KEY = "wheel-test-token-key-of-32-chars-or-more"
C_PATH = "sent by the C fan-out (media/_srtp_native)"
PYTHON_PATH = "sent by Python (media/forwarder.py"


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("ECOURT_WHEEL_VENV")
    if given:
        return Path(given)
    where = tmp_path_factory.mktemp("wheel-check")
    made = subprocess.run(
        ["bash", "tools/wheel-venv", str(where), str(ROOT / ".venv" / "bin" / "python")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert made.returncode == 0, f"tools/wheel-venv failed:\n{made.stderr[-3000:]}"
    return where / "venv"


def wheel_file(venv: Path) -> Path:
    (wheel,) = (venv.parent / "dist").glob("ecourt-*.whl")
    return wheel


def test_the_wheel_holds_every_module_and_data_file_of_the_checkout(wheel_venv: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    packages = {name.split("/")[0] for name in tracked if name.endswith("/__init__.py")}
    shipped = {
        name
        for name in tracked
        if name.split("/")[0] in packages - {"tests", "bench"} and not name.endswith((".c", ".h"))
    }
    with zipfile.ZipFile(wheel_file(wheel_venv)) as wheel:
        held = set(wheel.namelist())
    assert shipped - held == set()
    assert {"web/static/vendor/socket.io.min.js", "web/static/vendor/hls.min.js"} <= held
    assert not any(name.startswith(("tests/", "bench/")) for name in held)


def test_the_wheel_is_tagged_for_this_platform_exactly_when_it_holds_the_c_module(
    wheel_venv: Path,
) -> None:
    wheel = wheel_file(wheel_venv)
    with zipfile.ZipFile(wheel) as archive:
        native = [n for n in archive.namelist() if n.startswith("media/_srtp_native")]
        tags = archive.read("ecourt-0.1.0.dist-info/WHEEL").decode()
    if any(name.endswith(".so") for name in native):
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        assert f"media/_srtp_native{suffix}" in native
        platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        assert wheel.name.endswith(f"-cp311-cp311-{platform}.whl"), wheel.name
        assert "Root-Is-Purelib: false" in tags
    else:
        assert os.environ.get("ECOURT_REQUIRE_NATIVE") != "1", "the wheel has no C module"
        assert wheel.name.endswith("-py3-none-any.whl"), wheel.name
        assert "Root-Is-Purelib: true" in tags


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    """A working directory that is not the checkout nor inside it."""
    assert ROOT not in tmp_path.parents
    yield tmp_path


@dataclass
class InstalledServer:
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def clean_environment(**extra: str) -> dict[str, str]:
    """The environment without the checkout's venv, path or settings."""
    dropped = ("ECOURT_", "PYTHON", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    return env | extra


@asynccontextmanager
async def installed_server(venv: Path, cwd: Path) -> AsyncIterator[InstalledServer]:
    port = free_port()
    log = cwd / "server.log"
    env = clean_environment(
        ECOURT_API_KEY=API_KEY,
        ECOURT_TOKEN_KEY=TOKEN_KEY,
        ECOURT_DATA_DIR=str(cwd / "data"),
        ECOURT_KEYRING=str(cwd / "keyring.json"),
        ECOURT_PORT=str(port),
    )
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            str(venv / "bin" / "ecourt"), "serve", cwd=cwd, env=env, stdout=sink, stderr=sink
        )
    server = InstalledServer(f"http://127.0.0.1:{port}", log)
    try:
        await wait_ready(server, process)
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            async with asyncio.timeout(30):
                await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def wait_ready(server: InstalledServer, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                pytest.fail(f"the installed server exited:\n{server.log_text()[-3000:]}")
            try:
                async with http.get(f"{server.url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail(f"the installed server never became ready:\n{server.log_text()[-3000:]}")


def test_the_installed_ecourt_is_the_wheel_not_the_checkout(
    wheel_venv: Path, outside: Path
) -> None:
    found = subprocess.run(
        [
            str(wheel_venv / "bin" / "python"),
            "-c",
            "import web, recording.livestream; print(web.__file__)",
        ],
        cwd=outside,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    location = Path(found.stdout.strip())
    assert wheel_venv in location.parents
    assert location.parent != ROOT / "web"


async def test_the_installed_server_answers_serves_the_page_assets_and_names_its_forwarding_path(
    wheel_venv: Path, outside: Path
) -> None:
    async with installed_server(wheel_venv, outside) as server, aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/healthz") as response:
            assert response.status == 200
        for name in ("socket.io.min.js", "hls.min.js"):
            async with http.get(f"{server.url}/static/vendor/{name}") as response:
                assert response.status == 200, name
                assert "javascript" in response.content_type
                assert len(await response.read()) > 10_000
        async with http.get(f"{server.url}/join/h_missing") as response:
            assert response.status in (200, 404)
        log = server.log_text()
    assert (C_PATH in log) != (PYTHON_PATH in log), log[-2000:]
    if os.environ.get("ECOURT_REQUIRE_NATIVE") == "1":
        assert C_PATH in log, "the wheel was built without the C fan-out"


async def rest(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with http.post(url, json=body, headers=headers) as response:
        assert response.status == 201, await response.text()
        result: dict[str, Any] = await response.json()
        return result


@pytest.mark.media
async def test_a_two_party_hearing_carries_media_through_the_installed_server(
    wheel_venv: Path, outside: Path
) -> None:
    clients: list[HearingClient] = []
    async with installed_server(wheel_venv, outside) as server, aiohttp.ClientSession() as http:
        try:
            hearing = await rest(
                http,
                f"{server.url}/api/hearings",
                {
                    "type": "trial",
                    "case_number": "01/2026/DS-ST",
                    "title": "Nguyen v. Tran",
                    "scheduled_at": "2026-11-29T09:00:00+07:00",
                    "public": False,
                },
            )
            url = f"{server.url}/api/hearings/{hearing['id']}/tokens"
            tokens = [
                (await rest(http, url, {"role": role, "display_name": name}))["token"]
                for role, name in (("presiding_judge", "Judge Le"), ("plaintiff", "Ms Nguyen"))
            ]
            judge, party = await in_session_publishing(server.url, tokens, clients)
            for viewer, publisher in ((judge, party), (party, judge)):
                await decodes_video_from(viewer, publisher, 3)
        finally:
            for client in clients:
                await client.close()


def build_without_a_compiler(out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = clean_environment(CC="/bin/false", LDSHARED="/bin/false", **env)
    environ["PATH"] = os.environ["PATH"]
    return subprocess.run(
        ["bash", "tools/build-wheel", str(ROOT / ".venv" / "bin" / "python"), str(out)],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_without_a_compiler_the_build_goes_on_to_a_pure_wheel(tmp_path: Path) -> None:
    built = build_without_a_compiler(tmp_path / "dist")
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("ecourt-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert not [n for n in archive.namelist() if n.endswith(".so")]
        assert "Root-Is-Purelib: true" in archive.read("ecourt-0.1.0.dist-info/WHEEL").decode()
        assert "web/static/vendor/hls.min.js" in archive.namelist()
    refused = build_without_a_compiler(tmp_path / "strict", ECOURT_REQUIRE_NATIVE="1")
    assert refused.returncode != 0
    assert "the C fan-out did not build" in refused.stdout + refused.stderr
