"""The node's public keys, for whoever verifies its records: the audit checkpoint key
(`ecourt audit verify --public-key`) and the recording manifest key (`ecourt recording verify
--trust`). Served at `GET /api/keys/public` without the API key (they are public), and printed
by `ecourt keys public`, which reads the data directory and never makes a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from security import SecurityError, SigningKey
from security.ed25519 import key_id
from web.audit import AUDIT_KEY_FILE
from web.keys import AUDIT, RECORDINGS
from web.recordings import RECORDING_KEY_FILE

PATH = "/api/keys/public"


@dataclass(frozen=True, slots=True)
class PublicKey:
    purpose: str
    """`audit` (checkpoints of every hearing's audit log) or `recording` (manifests)."""
    public_key: bytes

    @classmethod
    def of(cls, purpose: str, key: SigningKey) -> PublicKey:
        return cls(purpose, key.public_key)

    def json(self) -> dict[str, str]:
        return {
            "algorithm": "ed25519",
            "public_key": self.public_key.hex(),
            "key_id": key_id(self.public_key),
        }


class KeyNotMade(SecurityError):
    """The data directory holds no such key yet, or it cannot be read."""

    code = "key_not_made"


def read_public_keys(data_dir: Path) -> tuple[PublicKey, ...]:
    """The keys kept in `data_dir`, loaded from their files (never created here)."""
    keys = []
    for purpose, name in (("audit", AUDIT_KEY_FILE), ("recording", RECORDING_KEY_FILE)):
        path = data_dir / name
        if not path.exists():
            raise KeyNotMade(
                f"{path} does not exist yet: the server makes the {purpose} key when it starts"
            )
        try:
            keys.append(PublicKey.of(purpose, SigningKey.load(path)))
        except OSError as exc:
            raise KeyNotMade(f"cannot read {path}: {exc.strerror or exc}") from exc
    return tuple(keys)


async def public_keys(request: web.Request) -> web.Response:
    keys = (
        PublicKey.of("audit", request.app[AUDIT].key),
        PublicKey.of("recording", request.app[RECORDINGS].signing_key),
    )
    return web.json_response({key.purpose: key.json() for key in keys})


async def _make_keys(app: web.Application) -> None:
    """Both keys exist from the first start on, so `ecourt keys public` finds them."""
    _ = app[AUDIT].key, app[RECORDINGS].signing_key


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, public_keys)
    app.on_startup.append(_make_keys)
