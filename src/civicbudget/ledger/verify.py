"""Verify an export end to end and name the first discrepancy.

Order of the checks (the first failure is reported, as ``file:line: what``):

1. the manifest: format, signature by its public key (and the expected key, if pinned),
   ``public_key.pem`` equal to it, every file's size and SHA-256, no unlisted file;
2. ``results.json``: each scope's projects, ballot rules, counting rule and winners;
3. ``entries.jsonl``: canonical, of this cycle, a known scope, a valid ballot under that
   scope's rules;
4. ``checkpoints.jsonl``: this log, sizes and times never going back, each signature,
   each root equal to the root of that prefix of the entries, a valid consistency proof
   from each checkpoint to the next, and the last covering every entry; then the batches
   (the entries between two checkpoints) each in ascending leaf-hash order and no entry
   twice, so the log's order cannot tell when a ballot was cast;
5. checkpoints saved while voting was open (``--checkpoints``), if given: each signed
   by the key and matching a prefix of the entries;
6. ``ballots/<scope>.pb``: projects, budget, rules and every ballot equal to what the
   entries of that scope say, line by line;
7. re-tally of each scope with its published rule through :mod:`civicbudget.tally`: the
   winners (in order) and ``num_votes`` equal ``results.json``; when the export has a
   theme division (:mod:`civicbudget.ledger.division`), the division is recounted from its
   entries first, every ballot's pools recomputed and checked against the caps of its rule,
   and the division scope itself is not re-tallied as a project ballot.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from civicbudget import __version__
from civicbudget.ledger.division import check_division
from civicbudget.ledger.entry import (
    BallotEntry,
    EntryError,
    ScopeSpec,
    validate_ballot,
    validate_home,
)
from civicbudget.ledger.export import (
    CHECKPOINTS,
    ENTRIES,
    RESULTS,
    Export,
    ExportError,
    read_export,
    scope_election,
)
from civicbudget.ledger.log import batch_order_problem
from civicbudget.ledger.merkle import MerkleLog, leaf_hash, verify_consistency
from civicbudget.ledger.receipt import receipt_proof, verify_receipt_proof
from civicbudget.ledger.signing import PublicKey, SignedCheckpoint, parse_time
from civicbudget.tally import Election, tally


@dataclass(frozen=True)
class ScopeSummary:
    """One scope as verified: its ballots and the re-tallied winners."""

    scope: str
    num_votes: int
    rule: str
    winners: tuple[str, ...]


@dataclass(frozen=True)
class Verified:
    """What a successful verification established."""

    cycle: str
    log_id: str
    entries: int
    checkpoints: int
    root: str
    last_time: str
    key_fingerprint: str
    scopes: tuple[ScopeSummary, ...]
    known_checkpoints: int = 0
    engine: str = ""  # what counted the published results, as the manifest records it

    def summary(self) -> str:
        """Return a short human-readable summary."""
        lines = [
            f"OK: cycle {self.cycle}, log {self.log_id}: {self.entries} entries, "
            f"{self.checkpoints} signed checkpoints, all consistent",
            f"  last checkpoint: size {self.entries}, root {self.root}, {self.last_time}",
            f"  public key fingerprint (SHA-256): {self.key_fingerprint}",
        ]
        if self.engine:
            lines.append(f"  results counted by {self.engine}; re-tallied by civicbudget {__version__}")
        if self.known_checkpoints:
            lines.append(
                f"  {self.known_checkpoints} checkpoints collected during voting match the log"
            )
        for s in self.scopes:
            if s.rule == "division":
                lines.append(f"  {s.scope}: {s.num_votes} division ballots valid and equal to "
                             "the .pb file; division and every ballot's pools recounted as published")
                continue
            lines.append(
                f"  {s.scope}: {s.num_votes} ballots valid and equal to the .pb file; "
                f"{s.rule} re-tallied: {len(s.winners)} winners as published"
            )
        return "\n".join(lines)


def _json_line(data: bytes, scope: str, key: str) -> int:
    """Return the line of ``key`` in ``scope``'s object of a pretty ``results.json``."""
    lines = data.decode("utf-8").split("\n")
    marker = f'"scope": {json.dumps(scope, ensure_ascii=False)}'
    start = next((i for i, line in enumerate(lines) if line.strip().rstrip(",") == marker), None)
    if start is None:
        return 0
    # Keys are sorted: the scope's later keys follow "scope", its earlier ones precede it.
    wanted = f'"{key}":'
    for i in list(range(start, len(lines))) + list(range(start - 1, -1, -1)):
        if lines[i].strip().startswith(wanted):
            return i + 1
    return start + 1


def check_entries(
    export: Export,
) -> tuple[dict[str, list[BallotEntry]], dict[str, list[int]]]:
    """Check every entry's cycle, scope and ballot; return the entries of each scope and
    their positions in the log."""
    specs: dict[str, ScopeSpec] = {r.spec.scope: r.spec for r in export.data.scopes}
    by_scope: dict[str, list[BallotEntry]] = {s: [] for s in specs}
    positions: dict[str, list[int]] = {s: [] for s in specs}
    cycle = export.data.cycle
    for i, entry in enumerate(export.parsed_entries):
        line = i + 1
        if entry.cycle != cycle:
            raise ExportError(
                ENTRIES, line, f"cycle {entry.cycle!r}, the export is of cycle {cycle!r}"
            )
        spec = specs.get(entry.scope)
        if spec is None:
            raise ExportError(ENTRIES, line, f"scope {entry.scope!r} is not in results.json")
        try:
            validate_ballot(spec, [list(b) if isinstance(b, tuple) else b for b in entry.ballot])
            validate_home(spec, entry)
        except EntryError as exc:
            raise ExportError(ENTRIES, line, f"invalid ballot in {entry.scope}: {exc}") from None
        by_scope[entry.scope].append(entry)
        positions[entry.scope].append(i)
    return by_scope, positions


def check_checkpoints(export: Export) -> MerkleLog:
    """Check every checkpoint against the entries; return the tree of all entries."""
    data = export.data
    tree = MerkleLog(leaf_hash(e) for e in data.entries)
    if not data.checkpoints:
        raise ExportError(CHECKPOINTS, 0, "no checkpoint: nothing vouches for the entries")
    prev = None
    prev_time = None
    for i, signed in enumerate(data.checkpoints):
        line = i + 1
        cp = signed.checkpoint
        if cp.log_id != data.log_id:
            raise ExportError(
                CHECKPOINTS, line, f"log_id {cp.log_id!r}, the manifest says {data.log_id!r}"
            )
        if not signed.verify(export.public_key):
            raise ExportError(CHECKPOINTS, line, "signature does not verify with the public key")
        when = parse_time(cp.time)
        if prev_time is not None and when < prev_time:
            raise ExportError(
                CHECKPOINTS, line, f"time {cp.time} is before the previous checkpoint's"
            )
        if cp.size > tree.size:
            raise ExportError(CHECKPOINTS, line, f"size {cp.size}, but only {tree.size} entries")
        if prev is not None and cp.size < prev.size:
            raise ExportError(CHECKPOINTS, line, f"size {cp.size} shrinks from {prev.size}")
        root = tree.root(cp.size)
        if root != cp.root:
            raise ExportError(
                CHECKPOINTS,
                line,
                f"root {cp.root.hex()} is not the root of the first {cp.size} entries ({root.hex()})",
            )
        if prev is not None:
            # Tautological for an honest reader who rebuilt both roots from the same
            # entries, but it is the proof a monitor holding only the two signed
            # checkpoints would check: run it exactly as they would.
            proof = tree.consistency_proof(prev.size, cp.size)
            if not verify_consistency(prev.size, cp.size, prev.root, cp.root, proof.path):
                raise ExportError(CHECKPOINTS, line, f"not consistent with checkpoint {line - 1}")
        prev, prev_time = cp, when
    assert prev is not None
    if prev.size != tree.size:
        raise ExportError(
            CHECKPOINTS,
            len(data.checkpoints),
            f"the last checkpoint covers {prev.size} entries, the log has {tree.size}",
        )
    leaves = [tree.leaf(i) for i in range(tree.size)]
    bad = batch_order_problem(leaves, (s.checkpoint.size for s in data.checkpoints))
    if bad is not None:
        why = ("repeats an earlier entry" if leaves[bad] in set(leaves[:bad])
               else "is out of leaf-hash order inside its batch: the order could tell when "
               "ballots were cast")
        raise ExportError(ENTRIES, bad + 1, f"entry {why}")
    return tree


def _votes_start(pb: bytes) -> int:
    """Return the 1-based line of the first ballot row in a ``.pb`` file."""
    lines = pb.decode("utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.strip().lower() == "votes":
            return i + 3  # section name, header, first row
    return 0


def _describe(projects: Sequence[str], points: Sequence[int] | None) -> str:
    if points is None:
        return ",".join(projects) or "(empty)"
    return ",".join(f"{p}:{n}" for p, n in zip(projects, points, strict=False)) or "(empty)"


def check_ballot_file(
    cycle: str,
    spec: ScopeSpec,
    entries: Sequence[BallotEntry],
    actual: Election,
    pb: bytes,
    positions: Sequence[int] | None = None,
) -> Election:
    """Check a scope's ``.pb`` against its entries (at ``positions`` in the log); return
    the expected election."""
    name = spec.file_name
    expected = scope_election(cycle, spec, entries, positions)
    if actual.vote_type != expected.vote_type:
        raise ExportError(
            name, 0, f"vote_type {actual.vote_type}, results.json says {expected.vote_type}"
        )
    if Fraction(actual.budget) != Fraction(expected.budget):
        raise ExportError(name, 0, f"budget {actual.budget}, results.json says {expected.budget}")
    want = [(p.id, Fraction(p.cost), p.name, p.category) for p in expected.projects]
    got = [(p.id, Fraction(p.cost), p.name, p.category) for p in actual.projects]
    if want != got:
        diff = next(
            (g, w)
            for g, w in zip(got + [None] * len(want), want + [None] * len(got), strict=False)
            if g != w
        )
        raise ExportError(
            name, 0, f"projects differ from results.json: {diff[0]} instead of {diff[1]}"
        )
    for key, value in expected.meta.items():
        if actual.meta.get(key) != value:
            raise ExportError(
                name, 0, f"META {key} is {actual.meta.get(key)!r}, expected {value!r}"
            )
    extra_meta = sorted(set(actual.meta) - set(expected.meta))
    if extra_meta:
        raise ExportError(name, 0, f"unexpected META keys {extra_meta}")
    first = _votes_start(pb)
    got_ballots = list(actual.ballots())
    for k, (g, w) in enumerate(zip(got_ballots, expected.ballots(), strict=False)):
        if g != w:
            entry_line = int(w.voter_id) + 1
            raise ExportError(
                name,
                first + k if first else 0,
                f"ballot of voter {g.voter_id}: {_describe(g.projects, g.points)}, but entry "
                f"{w.voter_id} ({ENTRIES} line {entry_line}) says {_describe(w.projects, w.points)}",
            )
    if len(got_ballots) != expected.num_voters:
        k = min(len(got_ballots), expected.num_voters)
        raise ExportError(
            name,
            first + k if first else 0,
            f"{len(got_ballots)} ballots, the entries of {spec.scope} hold {expected.num_voters}",
        )
    if not actual.same_as(expected):
        raise ExportError(name, 0, "differs from the ballots re-derived from the entries")
    return expected


def check_known_checkpoints(
    export: Export, tree: MerkleLog, known: Sequence[SignedCheckpoint], source: str
) -> None:
    """Check checkpoints collected elsewhere (during voting) against the exported log.

    This is what catches an insider who rewrote the log and re-signed every checkpoint
    in the export: a checkpoint published earlier no longer matches a prefix of it.
    """
    for i, signed in enumerate(known, start=1):
        cp = signed.checkpoint
        if not signed.verify(export.public_key):
            raise ExportError(source, i, "signature does not verify with the export's key")
        if cp.log_id != export.data.log_id:
            raise ExportError(source, i, f"log_id {cp.log_id!r} is not this log's")
        if cp.size > tree.size:
            raise ExportError(
                source, i, f"signed size {cp.size} but the export holds only {tree.size} entries"
            )
        if tree.root(cp.size) != cp.root:
            raise ExportError(
                source,
                i,
                f"signed root of size {cp.size} ({cp.time}) is not the root of the exported "
                "entries: the log was rewritten after this checkpoint was published",
            )


def read_checkpoints_file(path: str | Path) -> list[SignedCheckpoint]:
    """Read a file of signed checkpoints (``checkpoints.jsonl`` lines)."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ExportError(name, 0, f"cannot read: {exc.strerror}", unreadable=True) from None
    out = []
    for i, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(SignedCheckpoint.decode(line.strip()))
        except EntryError as exc:
            raise ExportError(name, i, str(exc)) from None
    return out


def _check_division(export: Export, by_scope: dict[str, list[BallotEntry]]) -> str | None:
    """Recount the export's theme division and its pools (None when it has none)."""
    if export.data.division is None:
        return None
    specs = {r.spec.scope: r.spec for r in export.data.scopes}
    try:
        scope, _division = check_division(export.data.division, specs, by_scope)
    except EntryError as exc:
        raise ExportError(RESULTS, 0, f"division: {exc}") from None
    return scope


def verify_export(
    directory: str | Path,
    expected_key: PublicKey | None = None,
    known_checkpoints: Sequence[SignedCheckpoint] = (),
    known_source: str = "known checkpoints",
) -> Verified:
    """Verify an export; return what holds or raise :class:`ExportError` at the first problem.

    ``expected_key`` pins the organiser's published key; ``known_checkpoints`` are
    checkpoints collected while voting was open, each of which must match a prefix of
    the exported log.
    """
    export = read_export(directory, expected_key)
    data = export.data
    by_scope, positions = check_entries(export)
    tree = check_checkpoints(export)
    check_known_checkpoints(export, tree, known_checkpoints, known_source)
    summaries = []
    results_bytes = export.files[RESULTS]
    division_scope = _check_division(export, by_scope)
    for result in data.scopes:
        spec = result.spec
        entries = by_scope[spec.scope]
        published = export.num_votes[spec.scope]
        if published != len(entries):
            raise ExportError(
                RESULTS,
                _json_line(results_bytes, spec.scope, "num_votes"),
                f"{spec.scope}: num_votes {published}, the log holds {len(entries)} ballots",
            )
        election = check_ballot_file(
            data.cycle,
            spec,
            entries,
            export.elections[spec.scope],
            export.files[spec.file_name],
            positions[spec.scope],
        )
        if spec.scope == division_scope:  # recounted by _check_division, not a project ballot
            if result.winners:
                raise ExportError(RESULTS, _json_line(results_bytes, spec.scope, "winners"),
                                  f"{spec.scope}: a division ballot has no winners")
            summaries.append(ScopeSummary(spec.scope, len(entries), "division", ()))
            continue
        try:
            outcome = tally(election, spec.rule, explain=False)
        except (ValueError, ArithmeticError) as exc:
            raise ExportError(
                RESULTS,
                _json_line(results_bytes, spec.scope, "rule"),
                f"{spec.scope}: the rule cannot be run: {exc}",
            ) from None
        if outcome.winners != result.winners:
            ours = f"civicbudget {__version__}"
            engines = (
                f" (counted by {data.engine}; this verifier is {ours})"
                if data.engine and data.engine != ours
                else ""
            )
            raise ExportError(
                RESULTS,
                _json_line(results_bytes, spec.scope, "winners"),
                f"{spec.scope}: published winners {list(result.winners)}, "
                f"re-tally with {outcome.rule} gives {list(outcome.winners)}{engines}",
            )
        summaries.append(ScopeSummary(spec.scope, len(entries), outcome.rule, outcome.winners))
    last = data.checkpoints[-1].checkpoint
    return Verified(
        cycle=data.cycle,
        log_id=data.log_id,
        entries=tree.size,
        checkpoints=len(data.checkpoints),
        root=tree.root().hex(),
        last_time=last.time,
        key_fingerprint=export.public_key.fingerprint,
        scopes=tuple(summaries),
        known_checkpoints=len(known_checkpoints),
        engine=data.engine,
    )


def check_receipt(export: Export, receipt: str) -> dict[str, Any]:
    """Return the inclusion proof of ``receipt`` against the export's last checkpoint.

    Raise :class:`ExportError` when the receipt is not in the log, or when the checkpoint
    does not match the entries.
    """
    tree = check_checkpoints(export)
    text = receipt.strip().lower()
    try:
        wanted = bytes.fromhex(text)
    except ValueError:
        wanted = b""
    if len(wanted) != 32:
        raise ExportError("receipt", 0, "a receipt is 64 hex digits")
    index = next((i for i, e in enumerate(export.data.entries) if leaf_hash(e) == wanted), None)
    if index is None:
        raise ExportError(ENTRIES, 0, f"no entry has receipt {text}")
    signed = export.data.checkpoints[-1]
    proof = tree.inclusion_proof(index, signed.checkpoint.size)
    out = receipt_proof(text, proof, signed, export.data.entries[index])
    out["verified"] = verify_receipt_proof(out, export.public_key)
    return out
