"""The CLI's own error, apart from `web/cli.py` so that its command modules can raise it."""

from __future__ import annotations


class CliError(Exception):
    """A command that cannot run as asked."""
