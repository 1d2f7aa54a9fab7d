"""A raw HTTP/1.1 request over a socket: the path goes out byte for byte (an HTTP client
library would normalise `..` and re-encode `%2f`, which is exactly what a probe must not)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: str
    body: bytes


async def raw_request(
    base_url: str,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 5.0,
) -> Answer:
    host, _, port = base_url.removeprefix("http://").partition(":")
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
            lines += [f"Content-Length: {len(body)}"] if body or method == "POST" else []
            lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            data = await reader.read()
        finally:
            writer.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return Answer(status, head.decode("latin-1"), rest)
