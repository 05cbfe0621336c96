"""capstore: the CAP trade-off as a replicated key-value store over Redis nodes (domain core).

The app layer builds `RedisNode`s (one per Redis node, each with its breaker and the network
timeout), a `HybridClock` named after the app instance, and either a `CPCoordinator` or an
`APCoordinator`; `FaultProxy` injects faults; `history` + `linearizability` check client histories.
Semantics: docs/adr/0100-capstore-semantics.md.
"""

from capstore.ap import APCoordinator, APReadResult, APWriteAck
from capstore.backup import BackupInfo, backup_node, enable_aof
from capstore.breaker import Breaker, NullBreaker
from capstore.cp import CPCoordinator, CPReadResult, CPWriteAck
from capstore.errors import (
    CannotHonourSession,
    CapstoreError,
    CPReadUnavailable,
    CPWriteRefused,
    InvalidInput,
    InvalidSessionToken,
    InvalidVersion,
    NodeError,
    NodeTimeout,
    NodeUnavailable,
    NoNodeAvailable,
    WriteOutcome,
)
from capstore.events import EventSink
from capstore.faults import FaultMode, FaultProxy
from capstore.node import RedisNode
from capstore.records import Record, validate_key, validate_value
from capstore.session import SessionSigner, SessionToken
from capstore.versioning import HybridClock, Version

__all__ = [
    "APCoordinator",
    "APReadResult",
    "APWriteAck",
    "BackupInfo",
    "Breaker",
    "CPCoordinator",
    "CPReadResult",
    "CPReadUnavailable",
    "CPWriteAck",
    "CPWriteRefused",
    "CannotHonourSession",
    "CapstoreError",
    "EventSink",
    "FaultMode",
    "FaultProxy",
    "HybridClock",
    "InvalidInput",
    "InvalidSessionToken",
    "InvalidVersion",
    "NoNodeAvailable",
    "NodeError",
    "NodeTimeout",
    "NodeUnavailable",
    "NullBreaker",
    "Record",
    "RedisNode",
    "SessionSigner",
    "SessionToken",
    "Version",
    "WriteOutcome",
    "backup_node",
    "enable_aof",
    "validate_key",
    "validate_value",
]
