"""Tokens, keys, signatures, sealed recordings, the key ring and the audit log.

The only importer of `cryptography`.
"""

from security.audit import (
    AuditLog,
    AuditSink,
    ChainHead,
    FileAuditSink,
    MemoryAuditSink,
)
from security.audit_errors import (
    AuditBehindStore,
    AuditEntryRefused,
    AuditError,
    AuditFenced,
    AuditLogClosed,
    AuditStaleEpoch,
    AuditStoreUnavailable,
    AuditTampered,
    AuditWriteFailed,
    MalformedAuditLine,
)
from security.audit_record import AuditEntry, Checkpoint
from security.audit_store import (
    AuditCheckpointStore,
    CheckpointMirror,
    MemoryAuditCheckpoints,
    checkpoint_from_line,
)
from security.audit_verify import (
    ANCHOR_PROBLEMS,
    AuditProblem,
    Finding,
    VerifyReport,
    verify,
    verify_file,
)
from security.datakey import DataKey
from security.ed25519 import SigningKey, SigningKeyInvalid
from security.errors import SecurityError, TokenRefusal, TokenRefused
from security.keyring import KeyRing, WrappedKey, key_path_outside
from security.seal_errors import (
    KeyRingError,
    KeyRingProblem,
    SealBroken,
    SealChunkInvalid,
    SealClosed,
    SealHeaderInvalid,
    SealIncomplete,
    SealKeyUnknown,
    SealNonceReused,
    SealRefused,
    SealTrailingData,
)
from security.sealing import (
    FORMAT_VERSION,
    OpenedSegment,
    SealedWriter,
    SealHeader,
    SealSinkFailed,
    SealSummary,
    SealVerified,
    open_sealed,
    verify_sealed,
)
from security.secret import Secret
from security.tokens import Grant, TokenSigner, token_id
from security.webhook_signature import (
    WebhookSignatureInvalid,
    sign_delivery,
    verify_delivery,
)

__all__ = [
    "ANCHOR_PROBLEMS",
    "FORMAT_VERSION",
    "AuditBehindStore",
    "AuditCheckpointStore",
    "AuditEntry",
    "AuditEntryRefused",
    "AuditError",
    "AuditFenced",
    "AuditLog",
    "AuditLogClosed",
    "AuditProblem",
    "AuditSink",
    "AuditStaleEpoch",
    "AuditStoreUnavailable",
    "AuditTampered",
    "AuditWriteFailed",
    "ChainHead",
    "Checkpoint",
    "CheckpointMirror",
    "DataKey",
    "FileAuditSink",
    "Finding",
    "Grant",
    "KeyRing",
    "KeyRingError",
    "KeyRingProblem",
    "MalformedAuditLine",
    "MemoryAuditCheckpoints",
    "MemoryAuditSink",
    "OpenedSegment",
    "SealBroken",
    "SealChunkInvalid",
    "SealClosed",
    "SealHeader",
    "SealHeaderInvalid",
    "SealIncomplete",
    "SealKeyUnknown",
    "SealNonceReused",
    "SealRefused",
    "SealSinkFailed",
    "SealSummary",
    "SealTrailingData",
    "SealVerified",
    "SealedWriter",
    "Secret",
    "SecurityError",
    "SigningKey",
    "SigningKeyInvalid",
    "TokenRefusal",
    "TokenRefused",
    "TokenSigner",
    "VerifyReport",
    "WebhookSignatureInvalid",
    "WrappedKey",
    "checkpoint_from_line",
    "key_path_outside",
    "open_sealed",
    "sign_delivery",
    "token_id",
    "verify",
    "verify_delivery",
    "verify_file",
    "verify_sealed",
]
