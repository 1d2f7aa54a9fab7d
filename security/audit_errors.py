"""Errors of the audit log. Each carries a stable `code`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from security.errors import SecurityError

if TYPE_CHECKING:
    from security.audit_verify import VerifyReport


class AuditError(SecurityError):
    """Root of every error raised by the audit log."""

    code = "audit_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuditEntryRefused(AuditError):
    """An entry the log will not write: a bad field, or details that could leak a secret."""

    code = "audit_entry_refused"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class AuditLogClosed(AuditError):
    """The log was closed with its final checkpoint; nothing more is written to it."""

    code = "audit_log_closed"


class AuditFenced(AuditLogClosed):
    """This node no longer holds the hearing (its lease's local deadline passed, or another
    node took it with a newer epoch): it writes nothing more to the hearing's log."""

    code = "audit_fenced"


class AuditWriteFailed(AuditError):
    """The log's file refused a write (a full or failing disk): the entry is not in the log.
    The log counts these (`AuditLog.failures`); the supervision board shows them."""

    code = "audit_write_failed"


class AuditStaleEpoch(AuditError):
    """A store refused a write from an older epoch than one it already took: the writer had
    lost the hearing to another node (`docs/cluster.md`)."""

    code = "audit_stale_epoch"


class MalformedAuditLine(AuditError):
    """A line that is not a well-formed, canonical audit record."""

    code = "audit_line_malformed"


class AuditTampered(AuditError):
    """Verification found problems; `report` says which and where."""

    code = "audit_tampered"

    def __init__(self, report: VerifyReport) -> None:
        super().__init__(report.summary())
        self.report = report


class AuditBehindStore(AuditError):
    """A log file that is shorter than, or disagrees with, the checkpoint of it kept in the
    audit checkpoint store: cut back, rolled back or rewritten by someone with the disk. A node
    refuses to continue it. `code` is the problem found (`audit_rolled_back`,
    `audit_diverged` or `audit_anchor_invalid`); `report`, when the file was read, has the
    rest."""

    def __init__(self, code: str, message: str, report: VerifyReport | None = None) -> None:
        super().__init__(message)
        self.report = report
        self._code = code

    @property
    def code(self) -> str:  # type: ignore[override]
        return self._code


class AuditStoreUnavailable(AuditError):
    """The audit checkpoint store did not answer, so a log cannot be checked against it."""

    code = "audit_store_unavailable"
