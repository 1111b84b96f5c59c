"""The ballot log the platform appends to: entries, receipts, proofs and checkpoints.

:class:`BallotLog` ties a :class:`~civicbudget.ledger.merkle.MerkleLog` to the entries of
one cycle. The platform keeps the entry bytes in its database (they are what gets
exported) and rebuilds the log from them at start-up with :meth:`BallotLog.from_entries`
(about a second per few hundred thousand entries).

Ballots enter the log in **batches**: :meth:`BallotLog.append_ballot` validates a ballot and
returns its receipt at once, but the entry waits in the open batch; :meth:`close_batch`
writes the batch in ascending order of leaf hash, and every checkpoint closes the batch
first. A leaf hash is uniform and unknown before the ballot is cast (the entry holds a
fresh random nonce), so the order inside a batch is a shuffle that anyone can re-check
(:func:`batch_order_problem`) and that says nothing about who voted when.
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
    """What an append returns: the entry, its exact bytes and the receipt (its position is
    decided when its batch is written)."""

    entry: BallotEntry
    data: bytes
    receipt: str  # hex leaf hash


def batch_order_problem(leaves: Sequence[bytes], batch_ends: Iterable[int]) -> int | None:
    """Return the index of the first entry that breaks the batch order, or None.

    ``batch_ends`` are the log sizes at which batches closed (every checkpoint's size):
    inside each batch the leaves must rise strictly, and no leaf may appear twice in the log.
    """
    ends = sorted({e for e in batch_ends if 0 < e <= len(leaves)} | {len(leaves)})
    start = 0
    for end in ends:
        for i in range(start + 1, end):
            if leaves[i] <= leaves[i - 1]:
                return i
        start = end
    seen: set[bytes] = set()
    for i, leaf in enumerate(leaves):
        if leaf in seen:
            return i
        seen.add(leaf)
    return None


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
        self.pending: dict[bytes, bytes] = {}  # the open batch: leaf hash -> entry bytes

    @classmethod
    def from_entries(cls, cycle: str, log_id: str, entries: Iterable[bytes]) -> BallotLog:
        """Rebuild a log from stored entry bytes (in log order), checking each is canonical,
        of this cycle and not a repeat."""
        log = cls(cycle, log_id)
        for data in entries:
            entry = parse_entry(data)
            log._check(entry)
            if leaf_hash(data) in log._by_receipt:
                raise EntryError(f"entry {len(log.entries)} repeats an earlier entry")
            log._append(data)
        return log

    def __len__(self) -> int:
        """The number of entries written (the open batch is not counted)."""
        return len(self.entries)

    def _check(self, entry: BallotEntry) -> None:
        if entry.cycle != self.cycle:
            raise EntryError(f"entry of cycle {entry.cycle!r} in the log of {self.cycle!r}")

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
        home: str | None = None,
    ) -> Appended:
        """Validate a ballot against its scope, put it in the open batch and return the
        receipt (written to the log by :meth:`close_batch` or the next checkpoint).

        Raise :class:`~civicbudget.ledger.entry.EntryError` (nothing is logged) when the
        ballot breaks the scope's rules. ``home``: the voter's place, kept only where the
        scope has stakeholder weights.
        """
        entry = make_entry(self.cycle, spec, choices, channel, nonce, home)
        data = entry._encode_checked()
        h = leaf_hash(data)
        if h in self.pending or h in self._by_receipt:
            raise EntryError("this entry (the same nonce) is in the log already")
        self.pending[h] = data
        return Appended(entry, data, h.hex())

    def close_batch(self) -> int:
        """Write the open batch in ascending leaf order; return how many entries it held."""
        batch = sorted(self.pending.items())
        for _h, data in batch:
            self._append(data)
        self.pending.clear()
        return len(batch)

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

    def receipt_proof(
        self, receipt: str, signed: SignedCheckpoint, *, with_entry: bool = False
    ) -> dict[str, Any] | None:
        """Return the public page's JSON for a receipt against a signed checkpoint of
        this log (see :mod:`civicbudget.ledger.receipt`), or None when the receipt is not
        covered by that checkpoint. The entry (the choices) is left out unless asked for:
        a receipt proves inclusion, not content.
        """
        proof = self.proof(receipt, signed.checkpoint.size)
        if proof is None:
            return None
        entry = self.entries[proof.index] if with_entry else None
        return receipt_proof(self.tree.leaf(proof.index).hex(), proof, signed, entry)

    def checkpoint(self, key: SigningKey, when: dt.datetime) -> SignedCheckpoint:
        """Close the open batch and sign a checkpoint of the whole log (``when`` must carry
        a zone)."""
        format_time(when)  # refuse a naive time before anything changes
        self.close_batch()
        cp = Checkpoint(self.log_id, len(self.entries), self.tree.root(), format_time(when))
        return key.sign_checkpoint(cp)
