"""The ballot log the platform appends to: entries, receipts, proofs and checkpoints.

:class:`BallotLog` ties a :class:`~civicbudget.ledger.merkle.MerkleLog` to the entries of
one cycle. The platform keeps the entry bytes in its database (they are what gets
exported) and rebuilds the log from them at start-up with :meth:`BallotLog.from_entries`
(about a second per few hundred thousand entries).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from civicbudget.ledger.entry import (
    CONTROL_RE,
    CYCLE_RE,
    BallotEntry,
    EntryError,
    ScopeSpec,
    make_entry,
    parse_entry,
)
from civicbudget.ledger.merkle import InclusionProof, MerkleLog, leaf_hash
from civicbudget.ledger.receipt import receipt_proof
from civicbudget.ledger.signing import Checkpoint, SignedCheckpoint, SigningKey, format_time


@dataclass(frozen=True)
class Appended:
    """What an append returns: the entry, its exact bytes, its index and the receipt."""

    entry: BallotEntry
    data: bytes
    index: int
    receipt: str  # hex leaf hash


class BallotLog:
    """The append-only ballot log of one cycle (not thread-safe: serialise appends)."""

    def __init__(self, cycle: str, log_id: str) -> None:
        if not CYCLE_RE.fullmatch(cycle) or not log_id or CONTROL_RE.search(log_id):
            raise ValueError("cycle must be a short id and log_id a non-empty line of text")
        self.cycle = cycle
        self.log_id = log_id
        self.tree = MerkleLog()
        self.entries: list[bytes] = []
        self._by_receipt: dict[bytes, int] = {}

    @classmethod
    def from_entries(cls, cycle: str, log_id: str, entries: Iterable[bytes]) -> BallotLog:
        """Rebuild a log from stored entry bytes, checking each is canonical and in order."""
        log = cls(cycle, log_id)
        for data in entries:
            entry = parse_entry(data)
            log._check(entry)
            log._append(data)
        return log

    def __len__(self) -> int:
        return len(self.entries)

    def _check(self, entry: BallotEntry) -> None:
        if entry.cycle != self.cycle:
            raise EntryError(f"entry of cycle {entry.cycle!r} in the log of {self.cycle!r}")
        if entry.seq != len(self.entries):
            raise EntryError(f"entry seq {entry.seq}, expected {len(self.entries)}")

    def _append(self, data: bytes) -> int:
        h = leaf_hash(data)
        index = self.tree.append_hash(h)
        self.entries.append(data)
        self._by_receipt[h] = index
        return index

    def append_ballot(
        self,
        spec: ScopeSpec,
        choices: Sequence[str] | Mapping[str, int],
        channel: str,
        nonce: str | None = None,
    ) -> Appended:
        """Validate a ballot against its scope, log it and return the receipt.

        Raise :class:`~civicbudget.ledger.entry.EntryError` (nothing is logged) when the
        ballot breaks the scope's rules.
        """
        entry = make_entry(self.cycle, spec, choices, channel, len(self.entries), nonce)
        data = entry._encode_checked()
        index = self._append(data)
        return Appended(entry, data, index, self.tree.leaf(index).hex())

    def receipt_index(self, receipt: str) -> int | None:
        """Return the index of the entry with this receipt (hex leaf hash), or None."""
        try:
            h = bytes.fromhex(receipt.strip())
        except ValueError:
            return None
        return self._by_receipt.get(h)

    def proof(self, receipt: str, size: int | None = None) -> InclusionProof | None:
        """Return the inclusion proof of a receipt in the tree of ``size`` entries.

        ``size`` is normally the latest signed checkpoint's; None when the receipt is
        unknown or its entry came after ``size``.
        """
        index = self.receipt_index(receipt)
        size = len(self.entries) if size is None else size
        if index is None or index >= size:
            return None
        return self.tree.inclusion_proof(index, size)

    def receipt_proof(self, receipt: str, signed: SignedCheckpoint) -> dict[str, Any] | None:
        """Return the public page's JSON for a receipt against a signed checkpoint of
        this log (see :mod:`civicbudget.ledger.receipt`), or None when the receipt is not
        covered by that checkpoint.
        """
        proof = self.proof(receipt, signed.checkpoint.size)
        if proof is None:
            return None
        return receipt_proof(
            self.tree.leaf(proof.index).hex(), proof, signed, self.entries[proof.index]
        )

    def checkpoint(self, key: SigningKey, when: dt.datetime) -> SignedCheckpoint:
        """Sign a checkpoint of the whole log as it is now (``when`` must carry a zone)."""
        cp = Checkpoint(self.log_id, len(self.entries), self.tree.root(), format_time(when))
        return key.sign_checkpoint(cp)
