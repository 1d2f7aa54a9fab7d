"""`ecourt serve` with Redis starts only on a Redis that keeps its data over its own restart
(an append-only file, or an RDB save rule), unless ECOURT_REDIS_VOLATILE=1 says the operator
knows: real redis-server processes of the test's own, and the host's (which keeps nothing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from signaling.errors import StoreUnusable
from signaling.redis_store import redis_persistence
from tests.cluster_support import REPO, redis_server
from tests.conftest import free_port, test_settings
from web.stores import check_redis_persists

HOST_REDIS = "redis://127.0.0.1:6379/0"  # started by tools/install-test-deps without persistence


def test_a_redis_with_an_append_only_file_persists(tmp_path: Path) -> None:
    with redis_server(
        persistence=("--appendonly", "yes", "--save", "", "--dir", str(tmp_path))
    ) as port:
        assert redis_persistence(f"redis://127.0.0.1:{port}/0", timeout=5) is None


def test_a_redis_with_an_rdb_save_rule_persists(tmp_path: Path) -> None:
    with redis_server(
        persistence=("--appendonly", "no", "--save", "60 1", "--dir", str(tmp_path))
    ) as port:
        assert redis_persistence(f"redis://127.0.0.1:{port}/0", timeout=5) is None


def test_a_redis_that_keeps_nothing_on_disk_is_named_as_such() -> None:
    with redis_server() as port:
        problem = redis_persistence(f"redis://127.0.0.1:{port}/0", timeout=5)
    assert problem is not None and "no append-only file and no RDB save rule" in problem


def test_a_redis_that_does_not_answer_cannot_be_vouched_for() -> None:
    problem = redis_persistence(f"redis://127.0.0.1:{free_port()}/0", timeout=1)
    assert problem is not None and problem.startswith("cannot check that Redis")


def test_volatile_redis_is_accepted_only_when_the_operator_says_so(tmp_path: Path) -> None:
    with redis_server() as port:
        url = f"redis://127.0.0.1:{port}/0"
        with pytest.raises(StoreUnusable, match="ECOURT_REDIS_VOLATILE"):
            check_redis_persists(test_settings(redis_url=url, data_dir=tmp_path))
        check_redis_persists(test_settings(redis_url=url, data_dir=tmp_path, redis_volatile=True))
    check_redis_persists(test_settings(data_dir=tmp_path))  # embedded: nothing to check


def serve(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "ECOURT_REDIS_VOLATILE"} | {
        "ECOURT_DATA_DIR": str(tmp_path / "data"),
        "ECOURT_KEYRING": str(tmp_path / "keyring.json"),
        "PYTHONPATH": str(REPO),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "web.cli", "serve", *args],
        env=environment,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_ecourt_serve_refuses_a_redis_without_persistence_in_one_line(tmp_path: Path) -> None:
    refused = serve(tmp_path, "--workers", "1", "--port", "0", ECOURT_REDIS_URL=HOST_REDIS)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith(
        "ecourt: error: store_unusable: Redis (ECOURT_REDIS_URL) keeps no"
    )
    assert "ECOURT_REDIS_VOLATILE=1" in refused.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was made


def test_ecourt_serve_with_many_workers_refuses_it_before_starting_any(tmp_path: Path) -> None:
    port = str(free_port())
    refused = serve(
        tmp_path,
        "--workers",
        "2",
        "--port",
        port,
        ECOURT_REDIS_URL=HOST_REDIS,
        ECOURT_REDIS_VOLATILE="0",
    )
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "keeps no append-only file" in refused.stderr and "workers" not in refused.stdout
