"""The reference client of the supervision board's live namespace, `/court`
(docs/protocol.md, "The supervision board, live"). Tests and integrators use it:

    board = BoardClient("http://127.0.0.1:8080", key=court_admin_key)
    await board.connect()                     # raises BoardRefused with the reason code
    row = await board.wait_for(lambda b: b.row(hearing_id), "the hearing on the board")
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

import socketio

BOARD_NAMESPACE: Final = "/court"
T = TypeVar("T")


class BoardRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class BoardClient:
    """Connects with `key` (the court administrator's key: a login, audited) or `ticket`
    (from `GET /court/ticket` of a logged-in page) and keeps the board as the server sends
    it: `hearings` by id, `webhooks`, and every event in `events`."""

    def __init__(
        self,
        base_url: str,
        *,
        key: str | None = None,
        ticket: str | None = None,
        auth: dict[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> None:
        """`auth` sends exactly that instead (to see what the server refuses)."""
        self.base_url = base_url.rstrip("/")
        if auth is None:
            auth = {"key": key} if key is not None else {"ticket": ticket}
        self._auth = auth
        self._timeout = timeout
        self.hearings: dict[str, dict[str, Any]] = {}
        self.webhooks: list[dict[str, Any]] = []
        self.node = ""
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.disconnected = False
        self._refusal: dict[str, Any] | None = None
        self._changed = asyncio.Condition()
        self._sio = socketio.AsyncClient(reconnection=False)
        self._sio.on("board", self._on_board, namespace=BOARD_NAMESPACE)
        self._sio.on("board_change", self._on_change, namespace=BOARD_NAMESPACE)
        self._sio.on("connect_error", self._on_connect_error, namespace=BOARD_NAMESPACE)
        self._sio.on("disconnect", self._on_disconnect, namespace=BOARD_NAMESPACE)

    async def connect(self) -> dict[str, dict[str, Any]]:
        """Connect and wait for the whole board; return its hearings by id."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._sio.connect(
                    self.base_url,
                    namespaces=[BOARD_NAMESPACE],
                    auth=self._auth,
                    transports=["websocket"],
                    wait_timeout=self._timeout,
                )
        except socketio.exceptions.ConnectionError as exc:
            data = (self._refusal or {}).get("data") or {}
            if isinstance(data, dict) and "code" in data:
                raise BoardRefused(str(data["code"]), str(data.get("message", ""))) from None
            raise BoardRefused("connection_failed", str(exc)) from None
        except TimeoutError:
            raise BoardRefused("connection_failed", f"{self.base_url} did not answer") from None
        await self.wait_for(lambda b: b.events or None, "the whole board")
        return self.hearings

    def row(self, hearing_id: str) -> dict[str, Any] | None:
        return self.hearings.get(hearing_id)

    async def emit(self, event: str, payload: Any) -> None:
        """Send an event (the namespace only listens: the server closes the connection)."""
        await self._sio.emit(event, payload, namespace=BOARD_NAMESPACE)

    async def wait_for(
        self, found: Callable[[BoardClient], T | None], what: str, within: float = 10.0
    ) -> T:
        """Wait until `found(self)` is not None (nor empty) and return it."""
        deadline = time.monotonic() + within
        async with self._changed:
            while not (result := found(self)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{what}: the board shows {list(self.hearings.values())}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)
            return result

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._sio.disconnect()

    async def _on_board(self, board: dict[str, Any]) -> None:
        async with self._changed:
            self.events.append(("board", board))
            self.node = str(board.get("node", ""))
            self.hearings = {str(r["hearing_id"]): r for r in board.get("hearings", [])}
            self.webhooks = list(board.get("webhooks", []))
            self._changed.notify_all()

    async def _on_change(self, change: dict[str, Any]) -> None:
        async with self._changed:
            self.events.append(("board_change", change))
            for row in change.get("hearings", []):
                self.hearings[str(row["hearing_id"])] = row
            for gone in change.get("gone", []):
                self.hearings.pop(str(gone), None)
            if "webhooks" in change:
                self.webhooks = list(change["webhooks"])
            self._changed.notify_all()

    async def _on_connect_error(self, data: Any = None) -> None:
        self._refusal = data if isinstance(data, dict) else {"data": data}

    async def _on_disconnect(self, *_reason: Any) -> None:
        async with self._changed:
            self.disconnected = True
            self._changed.notify_all()
