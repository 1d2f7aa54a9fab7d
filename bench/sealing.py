# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""Sealing and opening throughput, against bare AES-256-GCM over the same chunks, in one run.

    .venv/bin/python bench/sealing.py [--mib 256] [--chunk 65536] [--repeat 3]

The baseline is one `AESGCM.encrypt` (and `decrypt`) call per chunk with the same nonce layout
and associated data and nothing else: no length field, no SHA-256, no sink. The sealed figures
add what the format costs: framing, the running SHA-256 of every byte written, buffering of
small writes, and a sink (a discarding one, then a real file in the page cache, fsync off).
Each figure is the best of `--repeat` passes, in MB/s of plaintext (10^6 bytes a second).
`core_per_recorded_stream` turns the sealing rate into the share of a core that sealing one
1.5 Mbit/s video track costs.
Prints a table, then as its last line a JSON summary.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import hashlib
import io
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from security import DataKey, SealedWriter, SealHeader, open_sealed, verify_sealed

TARGET_SEAL_MB_S = 500.0
STREAM_MB_S = 1.5e6 / 8 / 1e6  # one 1.5 Mbit/s video track, in MB/s


class NullSink(io.RawIOBase):
    """Takes every byte and keeps none: the cost of the format without the cost of a disk."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(memoryview(data))


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The shortest wall time of `repeat` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def seal_to(sink: Any, data: bytes, chunk: int, write_size: int) -> bytes:
    key = DataKey.generate("bench")
    header = SealHeader("rec-bench", "h_bench", "p_bench/video", 0, "bench", key.new_nonce_prefix())
    writer = SealedWriter(sink, key, header, chunk_bytes=chunk)
    view = memoryview(data)
    for offset in range(0, len(data), write_size):
        writer.write(view[offset : offset + write_size])
    writer.close()
    return key.secret.value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mib", type=int, default=256, help="plaintext size in MiB")
    parser.add_argument("--chunk", type=int, default=65536, help="chunk size in bytes")
    parser.add_argument("--repeat", type=int, default=3, help="passes per figure (best is kept)")
    args = parser.parse_args(argv)
    size = args.mib * 1024 * 1024
    chunk = args.chunk
    data = os.urandom(size)
    chunks = [data[i : i + chunk] for i in range(0, size, chunk)]

    key = DataKey.generate("bench")
    prefix = key.new_nonce_prefix()
    header = SealHeader("rec-bench", "h_bench", "p_bench/video", 0, "bench", prefix).encode()
    nonces = [prefix + i.to_bytes(4, "big") + b"\x00" for i in range(len(chunks))]
    sealed_chunks = [
        key.cipher.encrypt(nonce, plain, header)
        for nonce, plain in zip(nonces, chunks, strict=True)
    ]

    def baseline_encrypt() -> None:
        encrypt = key.cipher.encrypt
        for nonce, plain in zip(nonces, chunks, strict=True):
            encrypt(nonce, plain, header)  # the result is dropped: no framing, no sink

    def baseline_decrypt() -> None:
        decrypt = key.cipher.decrypt
        for nonce, sealed in zip(nonces, sealed_chunks, strict=True):
            decrypt(nonce, sealed, header)

    rows: dict[str, float] = {}
    rows["baseline: AESGCM.encrypt per chunk"] = best_of(args.repeat, baseline_encrypt)
    rows["part of the format: SHA-256 of the bytes"] = best_of(
        args.repeat, lambda: hashlib.sha256(data).digest()
    )
    rows["seal: 64 KiB writes, discarding sink"] = best_of(
        args.repeat, lambda: seal_to(NullSink(), data, chunk, 65536)
    )
    rows["seal: 4 KiB writes, discarding sink"] = best_of(
        args.repeat, lambda: seal_to(NullSink(), data, chunk, 4096)
    )
    with tempfile.TemporaryDirectory(prefix="ecourt-bench-") as folder:
        path = Path(folder) / "segment.sealed"
        raw_keys: list[bytes] = []

        def seal_file() -> None:
            with path.open("wb") as sink:
                raw_keys.append(seal_to(sink, data, chunk, 65536))

        rows["seal: 64 KiB writes, to a file (page cache)"] = best_of(args.repeat, seal_file)
        file_key = DataKey.from_bytes("bench", raw_keys[-1])
        lookup = {"bench": file_key}.__getitem__
        sealed = path.read_bytes()
        rows["baseline: AESGCM.decrypt per chunk"] = best_of(args.repeat, baseline_decrypt)
        rows["open_sealed: in memory, keeps plaintext"] = best_of(
            args.repeat, lambda: open_sealed(sealed, lookup)
        )
        rows["verify_sealed: in memory, no plaintext"] = best_of(
            args.repeat, lambda: verify_sealed(sealed, lookup)
        )
        rows["verify_sealed: from the file"] = best_of(
            args.repeat, lambda: verify_sealed(path, lookup)
        )
        overhead = len(sealed) - size

    mb_s = {name: size / seconds / 1e6 for name, seconds in rows.items()}
    print(
        f"{args.mib} MiB of plaintext in {len(chunks)} chunks of {chunk} bytes, best of "
        f"{args.repeat}; sealed size +{overhead} bytes ({100 * overhead / size:.3f} %)"
    )
    print(f"{'what':<48} {'MB/s':>8} {'s':>7}")
    for name, seconds in rows.items():
        print(f"{name:<48} {mb_s[name]:>8.0f} {seconds:>7.3f}")
    seal_mb_s = mb_s["seal: 64 KiB writes, discarding sink"]
    base_mb_s = mb_s["baseline: AESGCM.encrypt per chunk"]
    summary = {
        "seal_mb_s": round(seal_mb_s),
        "seal_small_writes_mb_s": round(mb_s["seal: 4 KiB writes, discarding sink"]),
        "seal_file_mb_s": round(mb_s["seal: 64 KiB writes, to a file (page cache)"]),
        "baseline_encrypt_mb_s": round(base_mb_s),
        "open_mb_s": round(mb_s["open_sealed: in memory, keeps plaintext"]),
        "verify_mb_s": round(mb_s["verify_sealed: in memory, no plaintext"]),
        "verify_file_mb_s": round(mb_s["verify_sealed: from the file"]),
        "baseline_decrypt_mb_s": round(mb_s["baseline: AESGCM.decrypt per chunk"]),
        "seal_vs_baseline": round(seal_mb_s / base_mb_s, 3),
        "sha256_mb_s": round(mb_s["part of the format: SHA-256 of the bytes"]),
        "core_per_recorded_stream": round(STREAM_MB_S / seal_mb_s, 6),
        "target_seal_mb_s": TARGET_SEAL_MB_S,
        "meets_target": seal_mb_s >= TARGET_SEAL_MB_S,
        "size_overhead_bytes": overhead,
        "mib": args.mib,
        "chunk_bytes": chunk,
        "python": platform.python_version(),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
