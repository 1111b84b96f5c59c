"""Ed25519 keys and signed checkpoints (log id, size, root hash, time).

Ed25519 through the ``cryptography`` package (docs/decisions/0004): deterministic
signatures (no nonce to get wrong), 32-byte public keys that fit on a poster as hex.

Every signed message starts with a domain-separation line (``civicbudget-ledger
checkpoint v1``), so a signature over a checkpoint can never be replayed as a signature
over a manifest, or over anything else the same key might sign.

A :class:`SigningKey` never shows its private half: its ``repr`` names only the public
key's fingerprint, and the private key leaves it only through :meth:`SigningKey.to_pem`,
which the platform calls to store the key (encrypted with a passphrase when one is given).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from civicbudget.ledger.entry import EntryError, canonical_json, parse_canonical

CHECKPOINT_DOMAIN = b"civicbudget-ledger checkpoint v1\n"
MANIFEST_DOMAIN = b"civicbudget-ledger manifest v1\n"
SIGNATURE_SIZE = 64


class KeyFormatError(ValueError):
    """A key that cannot be read (bad PEM, wrong length, not Ed25519)."""


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key (32 raw bytes)."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise KeyFormatError(f"an Ed25519 public key has 32 bytes, got {len(self.raw)}")

    @property
    def hex(self) -> str:
        """Return the raw key as 64 lowercase hex digits (what the public page shows)."""
        return self.raw.hex()

    @property
    def fingerprint(self) -> str:
        """Return SHA-256 of the raw key, hex: a short, unambiguous name for the key."""
        return hashlib.sha256(self.raw).hexdigest()

    def pem(self) -> bytes:
        """Return the key as a SubjectPublicKeyInfo PEM (``-----BEGIN PUBLIC KEY-----``)."""
        return self._key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def _key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.raw)

    def verify(self, signature: bytes, message: bytes) -> bool:
        """Return True when ``signature`` is this key's signature of ``message``."""
        if len(signature) != SIGNATURE_SIZE:
            return False
        try:
            self._key().verify(signature, message)
        except InvalidSignature:
            return False
        return True

    @classmethod
    def from_pem(cls, data: bytes) -> PublicKey:
        """Read a PEM public key; raise :class:`KeyFormatError` unless it is Ed25519."""
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise KeyFormatError("not a readable PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFormatError("not an Ed25519 public key")
        return cls(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    @classmethod
    def from_hex(cls, text: str) -> PublicKey:
        """Read 64 hex digits."""
        text = text.strip()
        if len(text) != 64:
            raise KeyFormatError("a hex Ed25519 public key has 64 hex digits")
        try:
            return cls(bytes.fromhex(text))
        except ValueError:
            raise KeyFormatError("not hex") from None

    @classmethod
    def load(cls, data: bytes | str) -> PublicKey:
        """Read a key given either as PEM or as 64 hex digits."""
        raw = data.encode() if isinstance(data, str) else data
        if b"-----BEGIN" in raw:
            return cls.from_pem(raw)
        try:
            return cls.from_hex(raw.decode("ascii"))
        except UnicodeDecodeError:
            raise KeyFormatError("neither PEM nor hex") from None


@dataclass(frozen=True, repr=False)
class SigningKey:
    """An Ed25519 private key; ``repr`` and ``str`` show only the public fingerprint."""

    _key: Ed25519PrivateKey = field(compare=False)

    @classmethod
    def generate(cls) -> SigningKey:
        """Return a new random key (from the operating system's CSPRNG)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """Return the key of a 32-byte seed (for tests and reproducible examples only)."""
        if len(seed) != 32:
            raise KeyFormatError("an Ed25519 seed has 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_pem(cls, data: bytes, password: bytes | None = None) -> SigningKey:
        """Read a PKCS#8 PEM private key (encrypted when ``password`` is given)."""
        try:
            key = serialization.load_pem_private_key(data, password=password)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            # Never echo the input or the library's message: either could quote key bytes.
            raise KeyFormatError("not a readable Ed25519 private key (or wrong password)") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFormatError("not an Ed25519 private key")
        return cls(key)

    def to_pem(self, password: bytes | None = None) -> bytes:
        """Return the private key as PKCS#8 PEM, encrypted when ``password`` is given."""
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
        )

    @property
    def public_key(self) -> PublicKey:
        """Return the public half."""
        return PublicKey(
            self._key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        )

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def sign_checkpoint(self, checkpoint: Checkpoint) -> SignedCheckpoint:
        """Sign a checkpoint."""
        return SignedCheckpoint(checkpoint, self.sign(checkpoint.signed_bytes()))

    def __repr__(self) -> str:
        return f"SigningKey(public fingerprint {self.public_key.fingerprint[:16]}...)"

    __str__ = __repr__


def format_time(when: dt.datetime) -> str:
    """Return ISO-8601 with its UTC offset, to the second; refuse a naive datetime."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("checkpoint time needs a time zone")
    return when.isoformat(timespec="seconds")


def parse_time(text: Any) -> dt.datetime:
    """Parse a checkpoint time; raise :class:`EntryError` unless ISO-8601 with an offset."""
    if not isinstance(text, str):
        raise EntryError("time must be a string")
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise EntryError(f"time {text!r} is not ISO-8601") from None
    if when.tzinfo is None:
        raise EntryError(f"time {text!r} has no time zone")
    if format_time(when) != text:
        raise EntryError(f"time {text!r} is not in canonical form ({format_time(when)})")
    return when


@dataclass(frozen=True)
class Checkpoint:
    """A statement "log ``log_id`` had ``size`` entries with root ``root`` at ``time``"."""

    log_id: str
    size: int
    root: bytes
    time: str

    def fields(self) -> dict[str, Any]:
        """Return the JSON fields (root in hex)."""
        return {
            "log_id": self.log_id,
            "root": self.root.hex(),
            "size": self.size,
            "time": self.time,
        }

    def signed_bytes(self) -> bytes:
        """Return the exact bytes the key signs: a domain line, then canonical JSON."""
        return CHECKPOINT_DOMAIN + canonical_json(self.fields())


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint and its Ed25519 signature."""

    checkpoint: Checkpoint
    signature: bytes

    def verify(self, key: PublicKey) -> bool:
        """Return True when the signature is ``key``'s."""
        return key.verify(self.signature, self.checkpoint.signed_bytes())

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object of a ``checkpoints.jsonl`` line."""
        return {**self.checkpoint.fields(), "signature": self.signature.hex()}

    def encode(self) -> bytes:
        """Return the canonical line (without newline)."""
        return canonical_json(self.to_json())

    @classmethod
    def decode(cls, data: bytes) -> SignedCheckpoint:
        """Parse a canonical ``checkpoints.jsonl`` line; raise :class:`EntryError`."""
        obj = parse_canonical(data)
        keys = {"log_id", "root", "signature", "size", "time"}
        if not isinstance(obj, dict) or set(obj) != keys:
            raise EntryError(f"a checkpoint has exactly the keys {', '.join(sorted(keys))}")
        if not isinstance(obj["log_id"], str) or not obj["log_id"]:
            raise EntryError("log_id must be a non-empty string")
        size = obj["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise EntryError("size must be an integer >= 0")
        root = _hex(obj["root"], 32, "root")
        signature = _hex(obj["signature"], SIGNATURE_SIZE, "signature")
        parse_time(obj["time"])
        return cls(Checkpoint(obj["log_id"], size, root, obj["time"]), signature)


def _hex(value: Any, size: int, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size or value != value.lower():
        raise EntryError(f"{what} must be {2 * size} lowercase hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise EntryError(f"{what} is not hex") from None
