"""The cycle's ballot log in the database, with :mod:`civicbudget.ledger` doing the hashing.

A cast ballot is *staged*: its entry and leaf hash (the receipt) are made at once and it
waits in the open batch (``PendingBallot``), in the transaction that records the
participation. :func:`batch_flush` writes a due batch in ascending leaf-hash order and signs
a checkpoint at its end, so the log's order says nothing finer than the batch about when a
ballot was cast. Roots and proofs come from the stored leaf hashes; each process keeps a
Merkle tree cache that it only ever extends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from fractions import Fraction

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from civicbudget.ledger import MerkleLog, ProjectSpec, ScopeSpec, SigningKey, make_entry
from civicbudget.ledger.export import BOUND_FIELDS, bound_from_json, bound_to_json
from civicbudget.ledger.merkle import leaf_hash
from civicbudget.ledger.signing import Checkpoint, SignedCheckpoint, format_time
from civicbudget.tally import RuleSpec
from civicbudget.voting.models import (
    BallotLog,
    LogCheckpoint,
    LogEntry,
    PendingBallot,
)

logger = logging.getLogger(__name__)

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


def _rule_from_json(rule: dict) -> RuleSpec:
    rule = dict(rule)
    for name in BOUND_FIELDS:
        if name in rule:
            rule[name] = tuple(bound_from_json(b) for b in rule[name])
    return RuleSpec(**rule)


def spec_from_json(data: dict) -> ScopeSpec:
    rule = data.get("rule") or {}
    return ScopeSpec(
        scope=data["scope"], vote_type=data["vote_type"], budget=Fraction(data["budget"]),
        projects=tuple(ProjectSpec(p["id"], Fraction(p["cost"]), p.get("name", ""), p.get("category", ""),
                                   p.get("serves", ""))
                       for p in data["projects"]),
        rule=_rule_from_json(rule), min_length=data.get("min_length", 1),
        max_length=data.get("max_length"),
        max_sum_cost=Fraction(data["max_sum_cost"]) if data.get("max_sum_cost") is not None else None,
        min_points=data.get("min_points"), max_points=data.get("max_points"),
        max_sum_points=data.get("max_sum_points"),
        stakeholder_weight=data.get("stakeholder_weight"),
    )


def spec_to_json(spec: ScopeSpec) -> dict:
    rule = {k: v for k, v in spec.rule.__dict__.items() if k not in BOUND_FIELDS}
    for name in BOUND_FIELDS:  # category floors and caps: only when there are some
        if getattr(spec.rule, name):
            rule[name] = [bound_to_json(b) for b in getattr(spec.rule, name)]
    return {
        "scope": spec.scope, "vote_type": spec.vote_type, "budget": str(spec.budget),
        "projects": [{"id": p.id, "cost": str(p.cost), "name": p.name,
                      **({"category": p.category} if p.category else {}),
                      **({"serves": p.serves} if p.serves else {})} for p in spec.projects],
        "rule": rule, "min_length": spec.min_length, "max_length": spec.max_length,
        "max_sum_cost": str(spec.max_sum_cost) if spec.max_sum_cost is not None else None,
        "min_points": spec.min_points, "max_points": spec.max_points,
        "max_sum_points": spec.max_sum_points,
        **({"stakeholder_weight": spec.stakeholder_weight} if spec.stakeholder_weight else {}),
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


@dataclass(frozen=True)
class Staged:
    """A ballot accepted into the open batch: its entry bytes and leaf hash (the receipt)."""

    data: str
    leaf: str


def stage_entry(cycle_id: int, spec: ScopeSpec, choices, channel: str, home: str | None = None) -> Staged:
    """Build and check the log entry of a ballot; its receipt is known from now on.

    ``home`` is the voter's community key, kept only where stakeholder weights apply.
    Raise ``civicbudget.ledger.EntryError`` when the ballot breaks its scope's rules.
    """
    entry = make_entry(f"cycle-{cycle_id}", spec, choices, _ledger_channel(channel), home=home)
    data = entry._encode_checked()
    return Staged(data.decode(), leaf_hash(data).hex())


def stage(cycle_id: int, scope_id: int, staged: Staged, channel: str,
          station_id: int | None = None) -> None:
    """Put a ballot in the cycle's open batch; call inside the transaction that records
    the participation (online) or the matching paper readings."""
    PendingBallot.objects.create(leaf=staged.leaf, cycle_id=cycle_id, scope_id=scope_id,
                                 channel=channel, station_id=station_id, data=staged.data)
    BallotLog.objects.filter(cycle_id=cycle_id, pending_since__isnull=True).update(
        pending_since=timezone.now())


@dataclass(frozen=True)
class BatchPolicy:
    """When the open batch is written: at ``size`` ballots, or once it has waited
    ``minutes`` and holds at least ``minimum`` (a smaller batch would hide too little);
    everything left is written when the vote closes."""

    size: int = 100
    minutes: int = 10
    minimum: int = 10

    @classmethod
    def of(cls, config: dict | None) -> BatchPolicy:
        config = config or {}

        def bounded(key: str, default: int, low: int, high: int) -> int:
            try:
                value = int(config.get(key, default))
            except (TypeError, ValueError):
                return default
            return min(max(value, low), high)

        size = bounded("ballot_batch_size", cls.size, 1, 100_000)
        return cls(size=size, minutes=bounded("ballot_batch_minutes", cls.minutes, 0, 24 * 60),
                   minimum=min(bounded("ballot_batch_min", cls.minimum, 1, 100_000), size))

    def due(self, waiting: int, since: dt.datetime | None, now: dt.datetime) -> bool:
        if waiting >= self.size:
            return True
        return (waiting >= self.minimum and since is not None
                and now - since >= dt.timedelta(minutes=self.minutes))


def batch_flush(cycle_id: int, *, now: dt.datetime | None = None, force: bool = False,
                policy: BatchPolicy | None = None) -> LogCheckpoint | None:
    """Write the cycle's open batch to the log if it is due (or ``force``), in ascending
    leaf-hash order, and sign a checkpoint at its end; return it, or None if nothing was
    written.

    The log row is locked first, so flushes and paper appends never interleave; a ballot
    committed while a flush runs simply waits for the next batch.
    """
    from civicbudget.cycles.models import Cycle

    now = now or timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql" and not force:
            # A flush already running writes these ballots or leaves them for the next one:
            # a ballot that made the batch due does not queue behind it.
            log = (BallotLog.objects.select_for_update(skip_locked=True)
                   .filter(cycle_id=cycle_id).first())
            if log is None:
                return None
        else:
            # Take the write lock first (SQLite's too), then read what waits.
            if not BallotLog.objects.filter(cycle_id=cycle_id).update(size=F("size")):
                return None
            log = BallotLog.objects.select_for_update().get(cycle_id=cycle_id)
        rows = sorted(PendingBallot.objects.filter(cycle_id=cycle_id)
                      .values_list("leaf", "data", "scope_id", "channel", "station_id"))
        if not rows:
            if log.pending_since is not None:
                BallotLog.objects.filter(pk=log.pk).update(pending_since=None)
            return None
        if not force:
            policy = policy or BatchPolicy.of(Cycle.objects.values_list("config", flat=True)
                                              .get(pk=cycle_id))
            if not policy.due(len(rows), log.pending_since, now):
                return None
        LogEntry.objects.bulk_create(
            [LogEntry(log_id=log.pk, seq=log.size + i, data=data, leaf=leaf, scope_id=scope_id,
                      channel=channel, station_id=station_id)
             for i, (leaf, data, scope_id, channel, station_id) in enumerate(rows)],
            batch_size=500)
        leaves = [r[0] for r in rows]
        for i in range(0, len(leaves), 500):
            PendingBallot.objects.filter(leaf__in=leaves[i:i + 500]).delete()
        left = PendingBallot.objects.filter(cycle_id=cycle_id).exists()
        BallotLog.objects.filter(pk=log.pk).update(size=log.size + len(rows),
                                                   pending_since=now if left else None)
        return checkpoint(log, now)


def maybe_flush(cycle_id: int, waiting: int, since: dt.datetime | None, config: dict | None,
                now: dt.datetime | None = None) -> None:
    """After a ballot joined the open batch (``waiting`` ballots in it now): write the
    batch if it is due, once the answer to the ballot is sent (in a request) or at once.
    Cheap when it is not due: no query at all."""
    now = now or timezone.now()
    policy = BatchPolicy.of(config)
    if policy.due(waiting, since, now):
        after_response(lambda: batch_flush(cycle_id, now=now, policy=policy))


# Work to do once the response has gone out, so the voter whose ballot made a batch due does
# not wait for the batch to be written (Django sends request_finished when the server closes
# the response, after the last byte).
_deferred = threading.local()


def after_response(job) -> None:
    """Run ``job`` when the current request's response is closed, or now outside a request."""
    jobs = getattr(_deferred, "jobs", None)
    if jobs is None:
        job()
    else:
        jobs.append(job)


def _request_started(**_kwargs) -> None:
    _deferred.jobs = []


def _request_finished(**_kwargs) -> None:
    jobs, _deferred.jobs = getattr(_deferred, "jobs", None), None
    for job in jobs or ():
        try:
            job()
        except Exception:  # a batch not written now is written by the next ballot or at close
            logger.exception("writing a ballot batch after the response failed")


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
    # Checkpoints read in the district's local time, like every other time shown, and never
    # go back: a flush that started earlier may sign after a later one.
    now = now or timezone.now()
    last = LogCheckpoint.objects.filter(log=log).order_by("-size").values_list("at", flat=True).first()
    now = timezone.localtime(max(now, last) if last else now)
    root = tree(log, log.size).root()
    signed = signing_key(log).sign_checkpoint(Checkpoint(log.log_id, log.size, root, format_time(now)))
    cp, _ = LogCheckpoint.objects.get_or_create(log=log, size=log.size, defaults={
        "root": root.hex(), "at": now, "encoded": signed.encode().decode()})
    return cp


def signed(cp: LogCheckpoint) -> SignedCheckpoint:
    return SignedCheckpoint.decode(cp.encoded.encode())


def receipt_proof(log: BallotLog, receipt: str) -> dict | None:
    """Return the public inclusion proof of a written receipt against the latest checkpoint
    (signing one if none covers it yet), without the entry: a receipt proves that a ballot
    is in the log, never what it says. None if the receipt is not in the log (yet)."""
    from civicbudget.ledger import receipt_proof as make_proof

    entry = LogEntry.objects.filter(log=log, leaf=receipt.strip().lower()).first()
    if entry is None:
        return None
    cp = LogCheckpoint.objects.filter(log=log, size__gt=entry.seq).order_by("size").last()
    if cp is None:
        cp = checkpoint(log)
    t = tree(log, cp.size)
    proof = make_proof(entry.leaf, t.inclusion_proof(entry.seq, cp.size), signed(cp))
    # The batch: from the checkpoint before the entry to the first one after it.
    first = (LogCheckpoint.objects.filter(log=log, size__lte=entry.seq).order_by("-size")
             .values_list("size", flat=True).first()) or 0
    closing = LogCheckpoint.objects.filter(log=log, size__gt=entry.seq).order_by("size").first()
    proof["batch"] = {"first": first, "size": closing.size - first,
                      "written": signed(closing).checkpoint.time}
    return proof


def receipt_status(log: BallotLog, receipt: str, now: dt.datetime | None = None) -> dict | None:
    """Where a receipt stands: ``{"state": "logged", "proof": ...}`` once its batch is
    written, ``{"state": "pending", ...}`` while it waits in the open batch (the batch is
    written first if it is due), None if the log has no such receipt."""
    receipt = (receipt or "").strip().lower()
    if len(receipt) != 64:
        return None
    if PendingBallot.objects.filter(cycle_id=log.cycle_id, leaf=receipt).exists():
        from civicbudget.cycles.models import Cycle

        config = Cycle.objects.values_list("config", flat=True).get(pk=log.cycle_id)
        policy = BatchPolicy.of(config)
        batch_flush(log.cycle_id, now=now, policy=policy)
        if PendingBallot.objects.filter(cycle_id=log.cycle_id, leaf=receipt).exists():
            return {"state": "pending", "receipt": receipt, "batch_size": policy.size,
                    "batch_minutes": policy.minutes, "batch_min": policy.minimum}
    proof = receipt_proof(log, receipt)
    return {"state": "logged", "receipt": receipt, "proof": proof} if proof else None
