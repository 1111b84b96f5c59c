"""A tamper-evident public ballot log: RFC 6962 Merkle tree, Ed25519 checkpoints, export.

A pure library (no Django; only :mod:`civicbudget.tally`, to re-count). The platform:

* rebuilds the cycle's log at start-up: ``BallotLog.from_entries(cycle, log_id, stored)``;
* appends each accepted ballot: ``log.append_ballot(spec, choices, channel)`` returns the
  entry bytes to store and the voter's receipt (the hex leaf hash);
* signs checkpoints at intervals and at close: ``log.checkpoint(key, now)``;
* answers receipt look-ups: ``log.receipt_proof(receipt, last_checkpoint)`` (JSON that
  anyone checks offline with :func:`verify_receipt_proof`);
* after close, writes the public export: ``write_export(directory, ExportData(...), key)``.

Anyone re-checks an export with ``civicbudget ledger verify DIR`` (:func:`verify_export`).
The format is described in docs/ledger.md.
"""

from civicbudget.ledger.entry import (
    BallotEntry,
    EntryError,
    ProjectSpec,
    ScopeSpec,
    canonical_json,
    make_entry,
    parse_entry,
    validate_ballot,
)
from civicbudget.ledger.export import (
    Export,
    ExportData,
    ExportError,
    ScopeResult,
    build_files,
    read_export,
    write_export,
)
from civicbudget.ledger.log import Appended, BallotLog
from civicbudget.ledger.merkle import (
    ConsistencyProof,
    InclusionProof,
    MerkleLog,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from civicbudget.ledger.receipt import receipt_proof, verify_receipt_proof
from civicbudget.ledger.signing import (
    Checkpoint,
    KeyFormatError,
    PublicKey,
    SignedCheckpoint,
    SigningKey,
)
from civicbudget.ledger.verify import Verified, check_receipt, verify_export

__all__ = [
    "Appended",
    "BallotEntry",
    "BallotLog",
    "Checkpoint",
    "ConsistencyProof",
    "EntryError",
    "Export",
    "ExportData",
    "ExportError",
    "InclusionProof",
    "KeyFormatError",
    "MerkleLog",
    "ProjectSpec",
    "PublicKey",
    "ScopeResult",
    "ScopeSpec",
    "SignedCheckpoint",
    "SigningKey",
    "Verified",
    "build_files",
    "canonical_json",
    "check_receipt",
    "leaf_hash",
    "make_entry",
    "parse_entry",
    "read_export",
    "receipt_proof",
    "validate_ballot",
    "verify_consistency",
    "verify_export",
    "verify_inclusion",
    "verify_receipt_proof",
    "write_export",
]
