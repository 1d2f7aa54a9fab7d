"""The server's logs: one event per line, as text or as JSON (ECOURT_LOG_FORMAT=json).

A JSON line has `time` (UTC, ISO 8601), `level`, `logger`, `event` (the message), and, for
what happens while a participant's request is handled, `hearing` and `participant`: ids,
which are pseudonyms (docs/security.md: no name ever reaches a log). A traceback stays inside
the line (`exc`). Every configured secret (API, token, metrics key, TURN credential) and any
`Bearer` credential is replaced by stars before a line is written, in either format.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from security import Secret
from signaling.logs import log_context
from web.settings import Settings

REDACTED = "********"
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")


class Redact(logging.Filter):
    """Formats the message once and removes every secret from it."""

    def __init__(self, secrets: Iterable[Secret]) -> None:
        super().__init__()
        self._secrets = [s.value.decode("utf-8", "replace") for s in secrets if s.value]

    def filter(self, record: logging.LogRecord) -> bool:
        message = _BEARER.sub(rf"\g<1>{REDACTED}", record.getMessage())
        for secret in self._secrets:
            message = message.replace(secret, REDACTED)
        record.msg, record.args = message, None
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        whose = log_context()
        if whose is not None:
            line["hearing"], line["participant"] = whose
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextLines(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        whose = log_context()
        return text if whose is None else f"{text} [hearing={whose[0]} participant={whose[1]}]"


def configure_logging(settings: Settings, level: int = logging.INFO) -> logging.Handler:
    """One handler on the root logger, to stderr, in the configured format."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if settings.log_format == "json" else TextLines())
    secrets = [
        settings.api_key,
        settings.token_key,
        settings.metrics_key,
        settings.turn_credential,
        settings.court_admin_key,
    ]
    handler.addFilter(Redact(s for s in secrets if s is not None))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
