"""Tokens, keys, signatures and the audit log. The only importer of `cryptography`."""

from security.audit import (
    AuditLog,
    AuditSink,
    ChainHead,
    FileAuditSink,
    MemoryAuditSink,
)
from security.audit_errors import (
    AuditEntryRefused,
    AuditError,
    AuditLogClosed,
    AuditTampered,
    MalformedAuditLine,
)
from security.audit_record import AuditEntry, Checkpoint
from security.audit_verify import AuditProblem, Finding, VerifyReport, verify, verify_file
from security.ed25519 import SigningKey, SigningKeyInvalid
from security.errors import SecurityError, TokenRefusal, TokenRefused
from security.secret import Secret
from security.tokens import Grant, TokenSigner

__all__ = [
    "AuditEntry",
    "AuditEntryRefused",
    "AuditError",
    "AuditLog",
    "AuditLogClosed",
    "AuditProblem",
    "AuditSink",
    "AuditTampered",
    "ChainHead",
    "Checkpoint",
    "FileAuditSink",
    "Finding",
    "Grant",
    "MalformedAuditLine",
    "MemoryAuditSink",
    "Secret",
    "SecurityError",
    "SigningKey",
    "SigningKeyInvalid",
    "TokenRefusal",
    "TokenRefused",
    "TokenSigner",
    "VerifyReport",
    "verify",
    "verify_file",
]
