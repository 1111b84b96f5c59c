"""The cycle's ballot log in the database, with :mod:`civicbudget.ledger` doing the hashing.

Every process may append: an append locks the log row, takes the next sequence number,
stores the entry and its leaf hash (the receipt) and bumps the size, in the transaction
that records the participation. Roots and proofs come from the stored leaf hashes; each
process keeps a Merkle tree cache that it only ever extends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from civicbudget.ledger import MerkleLog, ProjectSpec, ScopeSpec, SigningKey, make_entry
from civicbudget.ledger.merkle import leaf_hash
from civicbudget.ledger.signing import Checkpoint, SignedCheckpoint, format_time
from civicbudget.tally import RuleSpec
from civicbudget.voting.models import BallotLog, LogCheckpoint, LogEntry, VotingScope

CHECKPOINT_EVERY = 1000


def _key_password() -> bytes:
    # The private key is stored encrypted under a key derived from the server secret.
    return hashlib.sha256(b"civicbudget-ledger\x00" + settings.SECRET_KEY.encode()).hexdigest().encode()


def log_for(cycle) -> BallotLog:
    """Return the cycle's log, creating it (and its signing key) on first use."""
    log = BallotLog.objects.filter(cycle=cycle).first()
    if log is not None:
        return log
    key = SigningKey.generate()
    with transaction.atomic():
        log, _ = BallotLog.objects.get_or_create(cycle=cycle, defaults={
            "log_id": f"civicbudget/{cycle.district_id}/cycle-{cycle.pk}",
            "public_key": key.public_key.hex,
            "private_key_pem": key.to_pem(_key_password()).decode(),
        })
    return log


def signing_key(log: BallotLog) -> SigningKey:
    return SigningKey.from_pem(log.private_key_pem.encode(), _key_password())


def cycle_label(cycle) -> str:
    return f"cycle-{cycle.pk}"  # as append() writes it into every entry


def spec_from_json(data: dict) -> ScopeSpec:
    rule = data.get("rule") or {}
    return ScopeSpec(
        scope=data["scope"], vote_type=data["vote_type"], budget=Fraction(data["budget"]),
        projects=tuple(ProjectSpec(p["id"], Fraction(p["cost"]), p.get("name", ""))
                       for p in data["projects"]),
        rule=RuleSpec(**rule), min_length=data.get("min_length", 1),
        max_length=data.get("max_length"),
        max_sum_cost=Fraction(data["max_sum_cost"]) if data.get("max_sum_cost") is not None else None,
        min_points=data.get("min_points"), max_points=data.get("max_points"),
        max_sum_points=data.get("max_sum_points"),
    )


def spec_to_json(spec: ScopeSpec) -> dict:
    rule = {k: v for k, v in spec.rule.__dict__.items()}
    return {
        "scope": spec.scope, "vote_type": spec.vote_type, "budget": str(spec.budget),
        "projects": [{"id": p.id, "cost": str(p.cost), "name": p.name} for p in spec.projects],
        "rule": rule, "min_length": spec.min_length, "max_length": spec.max_length,
        "max_sum_cost": str(spec.max_sum_cost) if spec.max_sum_cost is not None else None,
        "min_points": spec.min_points, "max_points": spec.max_points,
        "max_sum_points": spec.max_sum_points,
    }


@dataclass(frozen=True)
class Appended:
    """What an append stored: the entry's sequence number and its leaf hash (the receipt)."""

    seq: int
    leaf: str


_specs: dict[int, tuple[str, ScopeSpec]] = {}
_specs_lock = threading.Lock()


def scope_spec(scope_id: int, data: dict | str) -> ScopeSpec:
    """Return the parsed spec of a scope, parsed once per process while it stays the same.

    An open scope's spec is frozen, and every ballot needs it parsed (fractions and all), so
    each process keeps the last parse per scope and compares the stored value before reuse.
    """
    # A dict is compared by its canonical text, so a later change to that very dict in
    # memory cannot leave a stale parse behind.
    key = data if isinstance(data, str) else json.dumps(data, sort_keys=True)
    cached = _specs.get(scope_id)
    if cached is not None and cached[0] == key:
        return cached[1]
    spec = spec_from_json(json.loads(data) if isinstance(data, str) else data)
    with _specs_lock:
        if len(_specs) > 1024:
            _specs.clear()
        _specs[scope_id] = (key, spec)
    return spec


@cache
def _append_sql() -> tuple[str, str]:
    log_table = BallotLog._meta.db_table
    entry_table = LogEntry._meta.db_table
    return (
        # One statement takes the row lock and the next sequence number (PostgreSQL and
        # SQLite 3.35+ both return the updated row).
        f"UPDATE {log_table} SET size = size + 1 WHERE cycle_id = %s RETURNING id, size",  # noqa: S608
        f"INSERT INTO {entry_table} (log_id, seq, data, leaf, scope_id, channel, station_id) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
    )


def append(log: BallotLog | None, scope: VotingScope, choices, channel: str,
           station=None) -> Appended:
    """Append one ballot to the log of the scope's cycle; call inside the transaction that
    records the participation (``log`` may be None: the cycle names it).

    Raise ``civicbudget.ledger.EntryError`` when the ballot breaks its scope's rules.
    """
    return append_raw(scope.cycle_id, scope.pk, scope_spec(scope.pk, scope.spec), choices,
                      channel, station.pk if station is not None else None)


def append_raw(cycle_id: int, scope_id: int, spec: ScopeSpec, choices, channel: str,
               station_id: int | None = None) -> Appended:
    """:func:`append` by ids, in plain SQL: it runs once per ballot, on the hot path."""
    update, insert = _append_sql()
    with connection.cursor() as cursor:
        cursor.execute(update, [cycle_id])
        row = cursor.fetchone()
        if row is None:
            raise RuntimeError(f"cycle {cycle_id} has no ballot log: open its scopes first")
        log_id, size = row
        seq = size - 1
        entry = make_entry(f"cycle-{cycle_id}", spec, choices, _ledger_channel(channel), seq)
        data = entry._encode_checked()
        leaf = leaf_hash(data).hex()
        cursor.execute(insert, [log_id, seq, data.decode(), leaf, scope_id, channel, station_id])
    return Appended(seq, leaf)


def entry_prefix(cycle_id: int, spec: ScopeSpec, choices, channel: str) -> str:
    """Return the entry's canonical JSON up to its sequence number, for a database that
    appends the number itself (the entry ends ``"seq":N}``: ``seq`` is the last key).

    Raise ``civicbudget.ledger.EntryError`` when the ballot breaks its scope's rules.
    """
    data = make_entry(f"cycle-{cycle_id}", spec, choices, _ledger_channel(channel), 0)._encode_checked()
    if not data.endswith(b',"seq":0}'):
        raise RuntimeError("the ledger's entry encoding no longer ends with its sequence number")
    return data[:-2].decode()


def _ledger_channel(channel: str) -> str:
    return "online" if channel == "online" else "paper"


_trees: dict[int, MerkleLog] = {}
_trees_lock = threading.Lock()


def tree(log: BallotLog, size: int) -> MerkleLog:
    """Return a Merkle tree of the log's first ``size`` entries (cached, extended on demand)."""
    with _trees_lock:
        cached = _trees.get(log.pk)
        if cached is not None and len(cached):
            # The cache is only ever extended; if the stored leaf at its end differs (a test
            # database rolled back, a restored back-up), start again from the database.
            last = (LogEntry.objects.filter(log=log, seq=len(cached) - 1)
                    .values_list("leaf", flat=True).first())
            if last is None or bytes.fromhex(last) != cached.leaf(len(cached) - 1):
                cached = None
        if cached is None or len(cached) > size:
            cached = MerkleLog()
        if len(cached) < size:
            leaves = (LogEntry.objects.filter(log=log, seq__gte=len(cached), seq__lt=size)
                      .order_by("seq").values_list("seq", "leaf"))
            for seq, leaf in leaves:
                if seq != len(cached):
                    raise RuntimeError(f"ballot log {log.pk} has a gap at {len(cached)}")
                cached.append_hash(bytes.fromhex(leaf))
        _trees[log.pk] = cached
        if len(cached) != size:
            raise RuntimeError(f"ballot log {log.pk} holds {len(cached)} entries, expected {size}")
        return cached


def checkpoint(log: BallotLog, now: dt.datetime | None = None) -> LogCheckpoint:
    """Sign a checkpoint of the log as it is now (or return the one of that size)."""
    log.refresh_from_db()
    existing = LogCheckpoint.objects.filter(log=log, size=log.size).first()
    if existing:
        return existing
    # Checkpoints read in the district's local time, like every other time shown.
    now = timezone.localtime(now or timezone.now())
    root = tree(log, log.size).root()
    signed = signing_key(log).sign_checkpoint(Checkpoint(log.log_id, log.size, root, format_time(now)))
    cp, _ = LogCheckpoint.objects.get_or_create(log=log, size=log.size, defaults={
        "root": root.hex(), "at": now, "encoded": signed.encode().decode()})
    return cp


def signed(cp: LogCheckpoint) -> SignedCheckpoint:
    return SignedCheckpoint.decode(cp.encoded.encode())


def receipt_proof(log: BallotLog, receipt: str) -> dict | None:
    """Return the public inclusion proof of a receipt against the latest checkpoint that
    covers it (signing a new checkpoint if none does yet), or None if unknown."""
    from civicbudget.ledger import receipt_proof as make_proof

    entry = LogEntry.objects.filter(log=log, leaf=receipt.strip().lower()).first()
    if entry is None:
        return None
    cp = LogCheckpoint.objects.filter(log=log, size__gt=entry.seq).order_by("size").last()
    if cp is None:
        cp = checkpoint(log)
    t = tree(log, cp.size)
    return make_proof(entry.leaf, t.inclusion_proof(entry.seq, cp.size), signed(cp),
                      entry.data.encode())
