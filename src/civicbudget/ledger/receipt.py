"""A receipt's proof as JSON: what the public receipt page returns, and its check.

The object is self-contained: the receipt, its position, the audit path and the signed
checkpoint it is proved against. Anyone holding the organiser's public key can check it
offline with :func:`verify_receipt_proof`, without the rest of the log::

    {"receipt": "<64 hex>", "index": 41, "tree_size": 300, "audit_path": ["<64 hex>", ...],
     "checkpoint": {"log_id": ..., "root": ..., "signature": ..., "size": 300, "time": ...},
     "entry": "{...the canonical entry...}"}      # optional, and left out by the platform

The platform's receipt page leaves ``entry`` out: a receipt proves that a ballot is in the
log, never what it says, so a vote buyer cannot use the page as proof of a choice.
"""

from __future__ import annotations

from typing import Any

from civicbudget.ledger.entry import EntryError, canonical_json
from civicbudget.ledger.merkle import InclusionProof, leaf_hash, verify_inclusion
from civicbudget.ledger.signing import PublicKey, SignedCheckpoint


def receipt_proof(
    receipt: str, proof: InclusionProof, signed: SignedCheckpoint, entry: bytes | None = None
) -> dict[str, Any]:
    """Return the JSON object proving ``receipt`` is in the log under ``signed``."""
    if proof.tree_size != signed.checkpoint.size:
        raise ValueError("the proof is not for the checkpoint's tree size")
    out: dict[str, Any] = {
        "receipt": receipt,
        "index": proof.index,
        "tree_size": proof.tree_size,
        "audit_path": [h.hex() for h in proof.path],
        "checkpoint": signed.to_json(),
    }
    if entry is not None:
        out["entry"] = entry.decode("utf-8")
    return out


def verify_receipt_proof(obj: Any, key: PublicKey) -> bool:
    """Return True when ``obj`` (from :func:`receipt_proof`) holds under ``key``.

    Checks the checkpoint's signature, that the proof is for the checkpoint's size and
    root, the audit path, and (when present) that the entry hashes to the receipt.
    """
    try:
        if not isinstance(obj, dict):
            return False
        signed = SignedCheckpoint.decode(canonical_json(obj["checkpoint"]))
        receipt = bytes.fromhex(obj["receipt"])
        path = [bytes.fromhex(h) for h in obj["audit_path"]]
        index, size = obj["index"], obj["tree_size"]
        if not isinstance(index, int) or not isinstance(size, int) or isinstance(index, bool):
            return False
        if "entry" in obj and leaf_hash(obj["entry"].encode("utf-8")) != receipt:
            return False
    except (KeyError, TypeError, ValueError, AttributeError, EntryError):
        return False
    return (
        signed.verify(key)
        and size == signed.checkpoint.size
        and verify_inclusion(receipt, index, size, path, signed.checkpoint.root)
    )
