"""The token key a node keeps in its data directory when the operator set none
(ECOURT_TOKEN_KEY): links issued before a restart must still open their hearing after it, as
the hearing itself is still there (`signaling/sqlite_store.py`). A key made per process would
refuse every earlier link as `token_forged`."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from security import Secret
from web.settings import SettingsError

FILE_NAME = "token.key"
KEY_CHARACTERS = 64  # hex: 32 random bytes, used as ECOURT_TOKEN_KEY would be


def kept_token_key(data_dir: Path) -> Secret:
    """`<data dir>/token.key` (0600), made on first use; a file that is not such a key is
    refused, never replaced (links issued with it would stop working)."""
    path = data_dir / FILE_NAME
    if path.exists():
        return _read(path)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        made = data_dir / f".{FILE_NAME}.{secrets.token_hex(4)}"
        descriptor = os.open(made, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(KEY_CHARACTERS // 2))
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(made, path)  # whole or not at all; a key made meanwhile by another wins
        except FileExistsError:
            pass
        finally:
            made.unlink()
    except OSError as exc:
        raise SettingsError(f"cannot keep a token key in {data_dir}: {exc.strerror}") from exc
    return _read(path)


def _read(path: Path) -> Secret:
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read the token key {path}") from exc
    if len(text) != KEY_CHARACTERS or any(c not in "0123456789abcdef" for c in text):
        raise SettingsError(f"{path} is not a token key (64 hex digits); set ECOURT_TOKEN_KEY")
    return Secret(text.encode())
