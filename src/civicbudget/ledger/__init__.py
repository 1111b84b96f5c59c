"""Tamper-evident ballot log (RFC 6962 Merkle tree), signed checkpoints, receipts, verifier."""
