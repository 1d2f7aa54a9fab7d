# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""The floor under any forwarder on this machine: what the kernel alone charges the sending
process for one 1200-byte UDP datagram on loopback, with nothing else done per packet.

    bash tools/in-netns .venv/bin/python bench/udp_floor.py [--ks 16 --seconds 10]

A sender process does what `bench/forwarding.py`'s server does per incoming packet (157 a
second), minus everything but the system calls: it sends one datagram to each of K sockets
that another process (asyncio, like the bench's clients) reads. The sender's CPU time per
second, divided by K, is the cost per forwarded stream of the kernel's send path. On loopback
that path also delivers into the receiver's socket and wakes the receiver, so it is the
figure a loopback bench charges any SFU, in any language. It runs twice: `sendto` per
datagram, and the same loop with no send at all (the pacing loop's own cost). Prints a
table, then a JSON summary as its last line.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import time
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event

from bench.forwarding import loopback_only

RATE = 157
"""Packets a second of the forwarding bench's 1.5 Mbit/s VP8 clip."""
SIZE = 1200


def receive(k: int, ports: Connection, stop: Event) -> None:
    """K UDP sockets on 127.0.0.1, read by an asyncio loop until told to stop."""

    class Drain(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            pass

    async def run() -> None:
        loop = asyncio.get_running_loop()
        addresses = []
        for _ in range(k):
            transport, _ = await loop.create_datagram_endpoint(Drain, local_addr=("127.0.0.1", 0))
            addresses.append(transport.get_extra_info("sockname")[:2])
        ports.send(addresses)
        await loop.run_in_executor(None, stop.wait)

    asyncio.run(run())


def send(addresses: list[tuple[str, int]], seconds: float, really: bool) -> float:
    """Cores this process uses sending one datagram to every address, RATE times a second."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in addresses]
    for s in sockets:
        s.setblocking(False)
    data = os.urandom(SIZE)
    pairs = list(zip(sockets, addresses, strict=True))
    start_cpu, start = time.process_time(), time.monotonic()
    due = start
    while (now := time.monotonic()) - start < seconds:
        if really:
            for s, address in pairs:
                try:  # noqa: SIM105  (a context manager per datagram would be measured too)
                    s.sendto(data, address)
                except BlockingIOError:
                    pass
        due += 1 / RATE
        if due > now:
            time.sleep(due - now)
    cores = (time.process_time() - start_cpu) / (time.monotonic() - start)
    for s in sockets:
        s.close()
    return cores


def measure(k: int, seconds: float) -> dict[str, float]:
    ports, child_end = multiprocessing.Pipe()
    stop = multiprocessing.Event()
    receiver = multiprocessing.Process(target=receive, args=(k, child_end, stop), daemon=True)
    receiver.start()
    try:
        addresses = ports.recv()
        idle = send(addresses, seconds, really=False)
        busy = send(addresses, seconds, really=True)
    finally:
        stop.set()
        receiver.join(5)
        if receiver.is_alive():
            receiver.kill()
    per_stream = (busy - idle) / k
    return {
        "k": k,
        "pacing_cores": round(idle, 5),
        "sending_cores": round(busy, 5),
        "core_per_stream": round(per_stream, 5),
        "us_per_datagram": round(per_stream / RATE * 1e6, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ks", type=lambda t: [int(k) for k in t.split(",")], default=[16])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    if not loopback_only():
        print("run it inside the loopback namespace: bash tools/in-netns ...", file=sys.stderr)
        return 2
    print(f"{'K':>3}  {'pacing cores':>12}  {'sending cores':>13}  {'core/stream':>11}  µs/dgram")
    rows = []
    for k in args.ks:
        row = measure(k, args.seconds)
        rows.append(row)
        print(
            f"{k:>3}  {row['pacing_cores']:>12.4f}  {row['sending_cores']:>13.4f}"
            f"  {row['core_per_stream']:>11.5f}  {row['us_per_datagram']:>11.2f}"
        )
    print(json.dumps({"rows": rows, "rate": RATE, "size": SIZE}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
