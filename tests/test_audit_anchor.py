"""The audit checkpoint store as an anchor: every checkpoint a hearing's log writes is kept in
the store (in memory, or the real Redis on 127.0.0.1:6379), and a node that opens the log
again refuses a file that was cut back, deleted or rewritten and signed again, even though
such a file verifies on its own (whoever writes the disk can read the key beside it)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from redis.asyncio import Redis

from hearing.model import new_hearing_id
from security import (
    AuditBehindStore,
    AuditCheckpointStore,
    AuditLog,
    AuditStoreUnavailable,
    CheckpointMirror,
    FileAuditSink,
    MemoryAuditCheckpoints,
    verify_file,
)
from signaling.redis_store import RedisAuditCheckpoints
from tests.cluster_support import redis_process
from tests.conftest import free_port
from web.audit import AuditLogs

REDIS_URL = "redis://127.0.0.1:6379/0"
JUDGE = "p_judge001"


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[AuditCheckpointStore]:
    if request.param == "memory":
        yield MemoryAuditCheckpoints()
        return
    redis = Redis.from_url(REDIS_URL)
    prefix = f"ecourt-test-{secrets.token_hex(6)}:"
    try:
        yield RedisAuditCheckpoints(redis, prefix)
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def record(log: AuditLog, entries: int) -> None:
    for n in range(entries):
        log.record(JUDGE, "phase", details={"phase": "in_session", "n": n})


async def written(logs: AuditLogs, hid: str, *, runs: int = 2, close: bool = False) -> Path:
    """The hearing's log after `runs` runs of three entries and a checkpoint each, released
    (or closed) and its checkpoints stored."""
    log = await logs.open(hid)
    for _ in range(runs):
        record(log, 3)
        log.checkpoint()
    if close:
        log.close()
    else:
        log.release()
    assert await logs.flush()
    return logs.path(hid)


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


async def test_every_checkpoint_of_a_hearings_log_is_kept_in_the_store(
    tmp_path: Path, store: AuditCheckpointStore
) -> None:
    logs, hid = AuditLogs(tmp_path, store), new_hearing_id()
    path = await written(logs, hid, runs=3)
    kept = await store.latest(hid, logs.key.key_id)
    report = verify_file(path, logs.key.public_key)
    assert kept is not None and (kept.seq, kept.hash) == (9, report.last_hash)
    assert lines_of(path)[-1] == kept.to_line()


async def test_an_intact_log_is_continued_and_the_store_follows_it(
    tmp_path: Path, store: AuditCheckpointStore
) -> None:
    logs, hid = AuditLogs(tmp_path, store), new_hearing_id()
    await written(logs, hid)
    again = await logs.open(hid)  # a restart, or the next node on the shared data directory
    assert again.head.seq == 6
    record(again, 2)
    again.release()
    assert await logs.flush()
    kept = await store.latest(hid, logs.key.key_id)
    assert kept is not None and kept.seq == 8
    assert verify_file(logs.path(hid), logs.key.public_key).ok


async def test_a_log_with_entries_after_its_stored_checkpoint_is_continued(
    tmp_path: Path, store: AuditCheckpointStore
) -> None:
    """A crash after entries but before their checkpoint: the file is ahead, which is fine."""
    logs, hid = AuditLogs(tmp_path, store), new_hearing_id()
    path = await written(logs, hid)
    head = verify_file(path, logs.key.public_key).head
    ahead = AuditLog(hid, FileAuditSink(path), logs.key, head=head)
    record(ahead, 2)  # no checkpoint: the node died here
    assert (await logs.open(hid)).head.seq == 8


async def test_a_log_cut_back_to_an_earlier_checkpoint_is_refused_though_it_verifies_alone(
    tmp_path: Path, store: AuditCheckpointStore
) -> None:
    logs, hid = AuditLogs(tmp_path, store), new_hearing_id()
    path = await written(logs, hid)
    path.write_bytes(b"".join(lines_of(path)[:4]))  # entries 1-3 and their checkpoint
    assert verify_file(path, logs.key.public_key).ok
    with pytest.raises(AuditBehindStore) as refused:
        await logs.open(hid)
    assert refused.value.code == "audit_rolled_back"
    assert "entries end at 3" in str(refused.value)
    assert len(lines_of(path)) == 4  # nothing was written to it


async def test_a_deleted_log_is_refused(tmp_path: Path, store: AuditCheckpointStore) -> None:
    logs, hid = AuditLogs(tmp_path, store), new_hearing_id()
    (await written(logs, hid)).unlink()
    with pytest.raises(AuditBehindStore) as refused:
        await logs.open(hid)
    assert refused.value.code == "audit_rolled_back"


async def test_a_log_rewritten_and_signed_again_is_refused_though_it_verifies_alone(
    tmp_path: Path, store: AuditCheckpointStore
) -> None:
    logs, hid = AuditLogs(tmp_path, store), new_hearing_id()
    path = await written(logs, hid)
    path.unlink()  # the same number of entries, other ones, signed with the key on the disk
    forged = AuditLog(hid, FileAuditSink(path), logs.key)
    for _ in range(2):
        forged.record(JUDGE, "phase", details={"phase": "recess"})
        record(forged, 2)
        forged.checkpoint()
    forged.release()
    assert verify_file(path, logs.key.public_key).ok
    with pytest.raises(AuditBehindStore) as refused:
        await logs.open(hid)
    assert refused.value.code == "audit_diverged"


async def test_a_closed_log_that_lost_its_final_checkpoint_is_refused(
    tmp_path: Path, store: AuditCheckpointStore
) -> None:
    logs, hid = AuditLogs(tmp_path, store), new_hearing_id()
    path = await written(logs, hid, close=True)
    path.write_bytes(b"".join(lines_of(path)[:-1]))
    assert verify_file(path, logs.key.public_key).ok  # an open log, as far as the file says
    with pytest.raises(AuditBehindStore) as refused:
        await logs.open(hid)
    assert refused.value.code == "audit_rolled_back"


async def test_a_stored_checkpoint_signed_by_another_key_is_not_this_logs(
    tmp_path: Path, store: AuditCheckpointStore
) -> None:
    """Another node's key signs another chain: it is kept apart and never compared."""
    ours, theirs = AuditLogs(tmp_path / "a", store), AuditLogs(tmp_path / "b", store)
    hid = new_hearing_id()
    await written(theirs, hid, runs=3)
    await written(ours, hid, runs=1)
    assert (await ours.open(hid)).head.seq == 3


async def test_a_log_is_not_opened_when_the_checkpoint_store_does_not_answer(
    tmp_path: Path,
) -> None:
    redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    logs = AuditLogs(tmp_path, RedisAuditCheckpoints(redis, "ecourt-test:"))
    try:
        with pytest.raises(AuditStoreUnavailable) as refused:
            await logs.open(new_hearing_id())
        assert refused.value.code == "audit_store_unavailable"
    finally:
        await redis.aclose()


async def test_checkpoints_written_while_redis_is_away_reach_it_when_it_returns(
    tmp_path: Path,
) -> None:
    hid = new_hearing_id()
    with redis_process() as server:
        redis = Redis.from_url(f"redis://127.0.0.1:{server.port}/0", socket_timeout=0.3)
        try:
            store = RedisAuditCheckpoints(redis, "ecourt-test:")
            mirror = CheckpointMirror(store, asyncio.get_running_loop(), retry=0.1)
            log = AuditLog(hid, FileAuditSink(tmp_path / "log.jsonl"), AuditLogs(tmp_path).key)
            log.watch_checkpoints(mirror.put)
            server.pause()
            record(log, 3)
            await asyncio.to_thread(log.checkpoint)  # from another thread, as a recorder would
            record(log, 2)
            last = log.checkpoint()
            assert not await mirror.flush(timeout=1.0)
            assert mirror.failures > 0
            server.resume()
            assert await mirror.flush()
            assert await store.latest(hid, last.key_id) == last
        finally:
            server.resume()
            await redis.aclose()


async def test_a_stored_checkpoint_with_a_bad_signature_refuses_the_log(
    tmp_path: Path, store: AuditCheckpointStore
) -> None:
    logs, hid = AuditLogs(tmp_path, store), new_hearing_id()
    await written(logs, hid)
    kept = await store.latest(hid, logs.key.key_id)
    assert kept is not None
    await store.put(replace(kept, sig="0" * 128))  # the same seq: it replaces
    with pytest.raises(AuditBehindStore) as refused:
        await logs.open(hid)
    assert refused.value.code == "audit_anchor_invalid"


async def test_a_stored_checkpoint_that_is_not_one_refuses_the_log(tmp_path: Path) -> None:
    redis = Redis.from_url(REDIS_URL)
    prefix, hid = f"ecourt-test-{secrets.token_hex(6)}:", new_hearing_id()
    logs = AuditLogs(tmp_path, RedisAuditCheckpoints(redis, prefix))
    try:
        await redis.hset(f"{prefix}audit:{hid}", logs.key.key_id, b"not a checkpoint")
        with pytest.raises(AuditBehindStore) as refused:
            await logs.open(hid)
        assert refused.value.code == "audit_anchor_invalid"
        assert not logs.path(hid).exists()
    finally:
        await redis.delete(f"{prefix}audit:{hid}")
        await redis.aclose()
