"""An append-only RFC 6962 Merkle tree log: roots, inclusion and consistency proofs.

Hashing follows RFC 6962 section 2.1: a leaf is ``SHA-256(0x00 || entry)``, an inner node
``SHA-256(0x01 || left || right)``; a tree of ``n`` leaves splits at the largest power of
two smaller than ``n``. The domain-separation bytes make a leaf hash impossible to pass off
as an inner node (second-preimage attacks on the tree).

:class:`MerkleLog` keeps the hash of every *complete, aligned* subtree, level by level
(``levels[h][i]`` is the hash of leaves ``[i * 2**h, (i + 1) * 2**h)``), in flat
``bytearray`` buffers: about 64 bytes per leaf in total. Every subtree the RFC's
algorithms ask for is then a handful of stored hashes joined on the right, so a root at
any past size costs O(log n) hashes and a proof O(log^2 n) at worst, never O(n).

Proof verification uses the iterative algorithms of RFC 9162 sections 2.1.3.2 and
2.1.4.2, which check proofs produced exactly as RFC 6962 section 2.1.1 and 2.1.2 define
them (the proof format did not change between the two RFCs).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
#: The root of the empty tree is the hash of the empty string (RFC 6962 section 2.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 inner-node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """Return the largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


class ProofError(ValueError):
    """A proof was asked for sizes or indices the log cannot prove."""


@dataclass(frozen=True)
class InclusionProof:
    """The audit path of leaf ``index`` in the tree of the first ``tree_size`` leaves."""

    index: int
    tree_size: int
    path: tuple[bytes, ...]


@dataclass(frozen=True)
class ConsistencyProof:
    """The proof that the tree of ``old_size`` leaves is a prefix of that of ``new_size``."""

    old_size: int
    new_size: int
    path: tuple[bytes, ...]


class MerkleLog:
    """An append-only Merkle tree of leaf hashes (deliberately mutable: it is a log).

    Not thread-safe: the caller serialises appends (the platform holds a database lock
    while it appends, so the order of the log is the order of the commits).
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        # levels[h] holds the concatenated hashes of complete subtrees of 2**h leaves.
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        for h in leaf_hashes:
            self.append_hash(h)

    @classmethod
    def from_entries(cls, entries: Iterable[bytes]) -> MerkleLog:
        """Build a log from raw entries (each is hashed as a leaf)."""
        log = cls()
        for entry in entries:
            log.append(entry)
        return log

    def __len__(self) -> int:
        return self._size

    @property
    def size(self) -> int:
        """Return the number of leaves."""
        return self._size

    def append(self, entry: bytes) -> bytes:
        """Append a raw entry; return its leaf hash (the voter's receipt)."""
        h = leaf_hash(entry)
        self.append_hash(h)
        return h

    def append_hash(self, h: bytes) -> int:
        """Append an already computed leaf hash; return its index."""
        if len(h) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, got {len(h)}")
        index = self._size
        levels = self._levels
        levels[0] += h
        self._size += 1
        # Completing a subtree of 2**(k+1) leaves creates its parent: carry like a counter.
        n, level = self._size, 0
        while n % 2 == 0:
            buf = levels[level]
            parent = node_hash(bytes(buf[-2 * HASH_SIZE : -HASH_SIZE]), bytes(buf[-HASH_SIZE:]))
            level += 1
            if level == len(levels):
                levels.append(bytearray())
            levels[level] += parent
            n //= 2
        return index

    def leaf(self, index: int) -> bytes:
        """Return the leaf hash at ``index``."""
        if not 0 <= index < self._size:
            raise IndexError(f"leaf {index} outside a log of {self._size}")
        return bytes(self._levels[0][index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def _stored(self, level: int, i: int) -> bytes:
        return bytes(self._levels[level][i * HASH_SIZE : (i + 1) * HASH_SIZE])

    def _subtree(self, lo: int, hi: int) -> bytes:
        """Return MTH(D[lo:hi]) for ``lo < hi <= size``.

        Every range the RFC's algorithms visit starts at a multiple of its own left split,
        so the left part is always a stored complete subtree; only the ragged right edge
        is hashed, O(log n) hashes at most.
        """
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:
            return self._stored(n.bit_length() - 1, lo // n)
        if n == 1:
            return self.leaf(lo)
        k = _split(n)
        return node_hash(self._subtree(lo, lo + k), self._subtree(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        """Return the root hash of the first ``size`` leaves (default: all of them)."""
        size = self._size if size is None else size
        if not 0 <= size <= self._size:
            raise ProofError(f"no tree of size {size} in a log of {self._size}")
        if size == 0:
            return EMPTY_ROOT
        return self._subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """Return the audit path PATH(index, D[0:size]) of RFC 6962 section 2.1.1."""
        size = self._size if size is None else size
        if not 0 <= size <= self._size:
            raise ProofError(f"no tree of size {size} in a log of {self._size}")
        if not 0 <= index < size:
            raise ProofError(f"leaf {index} is not in the tree of size {size}")
        path: list[bytes] = []
        lo, hi = 0, size
        # Walk down from the root, collecting siblings; the RFC lists them bottom-up.
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                path.append(self._subtree(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._subtree(lo, lo + k))
                lo = lo + k
        path.reverse()
        return InclusionProof(index, size, tuple(path))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """Return PROOF(old_size, D[0:new_size]) of RFC 6962 section 2.1.2.

        ``old_size == 0`` or ``old_size == new_size`` give the empty proof (the RFC leaves
        the empty old tree undefined; every tree extends it).
        """
        new_size = self._size if new_size is None else new_size
        if not 0 <= new_size <= self._size:
            raise ProofError(f"no tree of size {new_size} in a log of {self._size}")
        if not 0 <= old_size <= new_size:
            raise ProofError(f"cannot prove size {old_size} against the smaller size {new_size}")
        if old_size in (0, new_size):
            return ConsistencyProof(old_size, new_size, ())
        path: list[bytes] = []
        m, lo, hi, whole = old_size, 0, new_size, True
        # SUBPROOF(m, D[lo:hi], whole), unrolled; hashes come out in the RFC's order
        # once reversed (each recursive call's proof precedes the hash added at its level).
        while m != hi - lo:
            k = _split(hi - lo)
            if m <= k:
                path.append(self._subtree(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._subtree(lo, lo + k))
                m -= k
                lo = lo + k
                whole = False
        if not whole:
            path.append(self._subtree(lo, hi))
        path.reverse()
        return ConsistencyProof(old_size, new_size, tuple(path))


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the root of a list of leaf hashes (O(n); for one-off use and tests)."""
    return MerkleLog(leaf_hashes).root()


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """Return True when ``path`` proves leaf hash ``leaf`` at ``index`` under ``root``.

    RFC 9162 section 2.1.3.2.
    """
    if not 0 <= index < tree_size or any(len(p) != HASH_SIZE for p in path):
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                # The leaf's subtree is the right edge here: skip levels with no sibling.
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> bool:
    """Return True when ``path`` proves the old tree is a prefix of the new one.

    RFC 9162 section 2.1.4.2, plus the trivial cases: an empty old tree (empty proof) and
    equal sizes (empty proof, equal roots).
    """
    if not 0 <= old_size <= new_size or any(len(p) != HASH_SIZE for p in path):
        return False
    if old_size == 0:
        return not path
    if old_size == new_size:
        return not path and old_root == new_root
    if not path:
        return False
    proof = list(path)
    if old_size & (old_size - 1) == 0:
        # A complete old tree is itself a node of the new one and is not in the proof.
        proof.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
