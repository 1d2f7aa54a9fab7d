"""A signing key made on first use, by several nodes starting at once on one data directory:
every one of them ends up with the same key, and none refuses to start."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from security import SigningKey


def _made(path: str, start: object, out: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    key = SigningKey.load_or_create(Path(path))
    out.put(key.public_key.hex())  # type: ignore[attr-defined]


def test_nodes_starting_at_once_all_take_the_one_key_that_was_made(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for round_ in range(5):
        path = tmp_path / f"audit-{round_}.key"
        start, out = context.Event(), context.Queue()
        nodes = [context.Process(target=_made, args=(str(path), start, out)) for _ in range(6)]
        for node in nodes:
            node.start()
        start.set()
        for node in nodes:
            node.join(30)
            assert node.exitcode == 0
        keys = {out.get(timeout=5) for _ in nodes}
        assert keys == {SigningKey.load(path).public_key.hex()}
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            f"audit-{n}.key" for n in range(round_ + 1)
        )  # no candidate file left behind
