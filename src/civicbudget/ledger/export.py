"""The public export of a cycle's ballot log: write it from memory, read it back.

Layout (docs/ledger.md has the full description)::

    manifest.json       format, cycle, log id, public key, counts, every file's SHA-256,
                        signed by the log key
    entries.jsonl       one canonical entry per line, in log order
    checkpoints.jsonl   one signed checkpoint per line, in order
    public_key.pem      the Ed25519 public key (SubjectPublicKeyInfo PEM)
    results.json        per scope: projects, ballot rules, counting rule, budget, winners
    ballots/<scope>.pb  the scope's ballots as a pabulib file (voter_id = entry's line - 1)

:func:`write_export` is pure apart from writing the directory: the same data, nonces and
key give the same bytes. :func:`read_export` parses and checks the *form* of every file
(hashes, manifest signature, canonical JSON, pabulib syntax) and raises
:class:`ExportError` naming the file and line of the first problem; the *meaning* (roots,
ballots, re-tally) is checked by :mod:`civicbudget.ledger.verify`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

from civicbudget.ledger.entry import (
    MONEY_RE,
    POINT_TYPES,
    BallotEntry,
    EntryError,
    ProjectSpec,
    ScopeSpec,
    canonical_json,
    format_money,
    parse_entry,
    parse_money,
)
from civicbudget.ledger.signing import (
    MANIFEST_DOMAIN,
    KeyFormatError,
    PublicKey,
    SignedCheckpoint,
    SigningKey,
)
from civicbudget.tally import (
    Ballot,
    CategoryBound,
    Election,
    PabulibError,
    Project,
    RuleSpec,
    election_from_ballots,
    format_pabulib,
    parse_pabulib,
)

FORMAT = "civicbudget-ledger/1"
MANIFEST = "manifest.json"
ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.jsonl"
PUBLIC_KEY = "public_key.pem"
RESULTS = "results.json"
MANIFEST_KEYS = frozenset(
    {"checkpoints", "cycle", "entries", "files", "format", "log_id", "public_key", "signature"}
)
# Optional: the tally engine that counted the published results (e.g. "civicbudget 0.1.0"),
# so a verifier of another version can say so when its re-count differs.
MANIFEST_OPTIONAL = frozenset({"engine"})
RULE_LIMITS = (
    "min_length",
    "max_length",
    "max_sum_cost",
    "min_points",
    "max_points",
    "max_sum_points",
)


class ExportError(Exception):
    """The first problem found in an export: ``file``, ``line`` (1-based, 0 = whole file).

    ``unreadable`` marks input that is not an export at all (no such directory, no
    manifest, an I/O error): the command line exits 2 for those and 1 for discrepancies.
    """

    def __init__(self, file: str, line: int, message: str, *, unreadable: bool = False) -> None:
        self.file = file
        self.line = line
        self.message = message
        self.unreadable = unreadable
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class ScopeResult:
    """A scope's definition and its published outcome (winners in selection order)."""

    spec: ScopeSpec
    winners: tuple[str, ...]


@dataclass(frozen=True)
class ExportData:
    """Everything an export holds, as the platform has it in memory."""

    cycle: str
    log_id: str
    entries: tuple[bytes, ...]  # canonical entry bytes, log order, no newlines
    checkpoints: tuple[SignedCheckpoint, ...]
    scopes: tuple[ScopeResult, ...]
    engine: str = ""  # what counted the published results; "" = not recorded
    # results.json's "division" (ledger.division): a theme-division ballot and its pools
    division: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Export:
    """An export read back: its data, public key, manifest and each scope's ballot file."""

    data: ExportData
    public_key: PublicKey
    manifest: Mapping[str, Any]
    parsed_entries: tuple[BallotEntry, ...]
    elections: Mapping[str, Election]  # scope -> the election of ballots/<scope>.pb
    num_votes: Mapping[str, int]  # scope -> num_votes published in results.json
    files: Mapping[str, bytes]  # every listed file's bytes (already hash-checked)
    division: Mapping[str, Any] | None = None  # results.json's "division", when it has one


# --- JSON helpers ---------------------------------------------------------------------


def pretty_json(value: Any) -> bytes:
    """Return indented, sorted, UTF-8 JSON plus a newline: readable and still unique."""
    canonical_json(value)  # refuses floats, non-JSON values and lone surrogates
    text = json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _parse_pretty(data: bytes, file: str) -> Any:
    try:
        value = json.loads(data.decode("utf-8"), parse_float=_bad_float, parse_constant=_bad_float)
    except (UnicodeDecodeError, json.JSONDecodeError, EntryError) as exc:
        line = getattr(exc, "lineno", 0)
        raise ExportError(file, line, f"not valid JSON ({exc})") from None
    try:
        again = pretty_json(value)
    except EntryError as exc:
        raise ExportError(file, 0, str(exc)) from None
    if again != data:
        raise ExportError(file, 0, "not in the canonical layout (sorted keys, indent 1, UTF-8)")
    return value


def _bad_float(text: str) -> Any:
    raise EntryError(f"floats are not allowed, found {text}")


def rule_to_json(rule: RuleSpec) -> dict[str, Any]:
    """Return a rule spec's parameters as JSON (exact thresholds as decimal strings)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(rule):
        value = getattr(rule, f.name)
        if f.name in BOUND_FIELDS:
            if not value:  # absent when empty: records written before bounds stay canonical
                continue
            value = [bound_to_json(b) for b in value]
        elif isinstance(value, Fraction | int) and not isinstance(value, bool):
            value = format_money(Fraction(value))
        out[f.name] = value
    return out


BOUND_FIELDS = ("category_min", "category_max")


def project_to_json(p: ProjectSpec) -> dict[str, Any]:
    """Return a project of a scope as JSON; ``category`` and ``serves`` only when set (canonical)."""
    out: dict[str, Any] = {"id": p.id, "cost": format_money(p.cost), "name": p.name}
    if p.category:
        out["category"] = p.category
    if p.serves:
        out["serves"] = p.serves
    return out


def bound_to_json(bound: CategoryBound) -> dict[str, Any]:
    """Return a category floor or cap as JSON: category, exact decimal value, share or not."""
    return {"category": bound.category, "share": bound.share, "value": format_money(bound.value)}


def bound_from_json(obj: Any) -> CategoryBound:
    """Rebuild a category floor or cap; raise :class:`EntryError` when malformed."""
    if (
        not isinstance(obj, dict)
        or set(obj) != {"category", "share", "value"}
        or not isinstance(obj["category"], str)
        or not obj["category"].strip()
        or len(obj["category"]) > 200
        or not isinstance(obj["share"], bool)
        or not isinstance(obj["value"], str)
        or not MONEY_RE.fullmatch(obj["value"])
        or len(obj["value"]) > 40
    ):
        raise EntryError(f"malformed category bound {obj!r}")
    return CategoryBound(obj["category"], Fraction(obj["value"]), obj["share"])


def rule_from_json(obj: Any) -> RuleSpec:
    """Rebuild a :class:`RuleSpec`; raise :class:`EntryError` for unknown parameters."""
    if not isinstance(obj, dict):
        raise EntryError("rule must be an object")
    names = {f.name for f in dataclasses.fields(RuleSpec)}
    unknown = sorted(set(obj) - names)
    if unknown:
        raise EntryError(f"unknown rule parameters {unknown}")
    kwargs = dict(obj)
    for name in BOUND_FIELDS:
        if name in kwargs:
            if not isinstance(kwargs[name], list) or len(kwargs[name]) > 100:
                raise EntryError(f"{name} must be a list of category bounds")
            kwargs[name] = tuple(bound_from_json(b) for b in kwargs[name])
    threshold = kwargs.get("threshold")
    if isinstance(threshold, str) and MONEY_RE.fullmatch(threshold):
        kwargs["threshold"] = Fraction(threshold)
    spec = RuleSpec(**kwargs)
    try:
        spec.validate()
    except ValueError as exc:
        raise EntryError(str(exc)) from None
    if rule_to_json(spec) != obj:
        raise EntryError("rule parameters are not in canonical form")
    return spec


def scope_to_json(result: ScopeResult, num_votes: int) -> dict[str, Any]:
    """Return a scope's ``results.json`` object."""
    spec = result.spec
    costs = spec.costs()
    limits = {}
    for name in RULE_LIMITS:
        value = getattr(spec, name)
        limits[name] = format_money(value) if isinstance(value, Fraction) else value
    out = {
        "scope": spec.scope,
        "ballots_file": spec.file_name,
        "vote_type": spec.vote_type,
        "budget": format_money(spec.budget),
        "projects": [project_to_json(p) for p in spec.projects],
        "ballot_rules": limits,
        "rule": rule_to_json(spec.rule),
        "num_votes": num_votes,
        "winners": list(result.winners),
        "total_cost": format_money(sum((costs[w] for w in result.winners), Fraction(0))),
    }
    if spec.stakeholder_weight is not None:  # absent otherwise: older exports stay canonical
        out["stakeholder_weight"] = spec.stakeholder_weight
    return out


def _int_or_none(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise EntryError(f"{what} must be an integer >= 0 or null")
    return value


def _weight_or_none(obj: dict) -> int | None:
    if "stakeholder_weight" not in obj:
        return None
    w = obj["stakeholder_weight"]
    if not isinstance(w, int) or isinstance(w, bool):
        raise EntryError("stakeholder_weight must be an integer")
    return w


def scope_from_json(obj: Any) -> tuple[ScopeResult, int, str]:
    """Parse a ``results.json`` scope; return the result, ``num_votes`` and ``total_cost``."""
    keys = {
        "ballot_rules",
        "ballots_file",
        "budget",
        "num_votes",
        "projects",
        "rule",
        "scope",
        "total_cost",
        "vote_type",
        "winners",
    }
    if not isinstance(obj, dict) or not keys <= set(obj) <= keys | {"stakeholder_weight"}:
        raise EntryError(f"a scope has exactly the keys {', '.join(sorted(keys))} "
                         "(and stakeholder_weight)")
    projects = obj["projects"]
    if not isinstance(projects, list):
        raise EntryError("projects must be a list")
    specs = []
    for p in projects:
        if not isinstance(p, dict) or set(p) - {"category", "serves"} != {"cost", "id", "name"}:
            raise EntryError("a project has exactly the keys cost, id, name (and category, serves)")
        if not isinstance(p["id"], str) or not isinstance(p["name"], str):
            raise EntryError("project id and name are strings")
        category = p.get("category", "")
        if "category" in p and (not isinstance(category, str) or not category):
            raise EntryError("a project's category is a non-empty string, or absent")
        serves = p.get("serves", "")
        if "serves" in p and (not isinstance(serves, str) or not serves):
            raise EntryError("a project's serves is a non-empty place key, or absent")
        specs.append(
            ProjectSpec(
                p["id"], parse_money(p["cost"], f"cost of {p['id']}"), p["name"], category,
                serves,
            )
        )
    limits = obj["ballot_rules"]
    if not isinstance(limits, dict) or set(limits) != set(RULE_LIMITS):
        raise EntryError(f"ballot_rules has exactly the keys {', '.join(sorted(RULE_LIMITS))}")
    max_sum_cost = limits["max_sum_cost"]
    min_length = _int_or_none(limits["min_length"], "min_length")
    if not isinstance(obj["scope"], str) or not isinstance(obj["vote_type"], str):
        raise EntryError("scope and vote_type are strings")
    spec = ScopeSpec(
        scope=obj["scope"],
        vote_type=obj["vote_type"],
        budget=parse_money(obj["budget"], "budget"),
        projects=tuple(specs),
        rule=rule_from_json(obj["rule"]),
        min_length=0 if min_length is None else min_length,
        max_length=_int_or_none(limits["max_length"], "max_length"),
        max_sum_cost=None if max_sum_cost is None else parse_money(max_sum_cost, "max_sum_cost"),
        min_points=_int_or_none(limits["min_points"], "min_points"),
        max_points=_int_or_none(limits["max_points"], "max_points"),
        max_sum_points=_int_or_none(limits["max_sum_points"], "max_sum_points"),
        stakeholder_weight=_weight_or_none(obj),
    ).check()
    if obj["ballots_file"] != spec.file_name:
        raise EntryError(f"ballots_file must be {spec.file_name!r}, got {obj['ballots_file']!r}")
    winners = obj["winners"]
    if not isinstance(winners, list) or not all(isinstance(w, str) for w in winners):
        raise EntryError("winners must be a list of project ids")
    costs = spec.costs()
    for w in winners:
        if w not in costs:
            raise EntryError(f"winner {w!r} is not a project of {spec.scope}")
    num_votes = _int_or_none(obj["num_votes"], "num_votes")
    total = parse_money(obj["total_cost"], "total_cost")
    if total != sum((costs[w] for w in winners), Fraction(0)):
        raise EntryError(f"total_cost {obj['total_cost']} is not the sum of the winners' costs")
    return ScopeResult(spec, tuple(winners)), num_votes or 0, obj["total_cost"]


# --- pabulib --------------------------------------------------------------------------


def scope_election(cycle: str, spec: ScopeSpec, entries: Sequence[BallotEntry],
                   positions: Sequence[int] | None = None) -> Election:
    """Return the pabulib election of a scope: its projects, budget, rules and ballots.

    ``voter_id`` is the entry's position in the log (``positions``: its line in
    ``entries.jsonl`` minus one; by default its rank among ``entries``), which ties each
    ``.pb`` line to its log entry and to nothing else.
    """
    meta = {
        "description": f"civicbudget cycle {cycle}, ballot {spec.scope}",
        "num_projects": str(len(spec.projects)),
        "num_votes": str(len(entries)),
        "budget": format_money(spec.budget),
        "vote_type": spec.vote_type,
    }
    for name in RULE_LIMITS:
        value = getattr(spec, name)
        if value is not None:
            meta[name] = format_money(value) if isinstance(value, Fraction) else str(value)
    ids = range(len(entries)) if positions is None else positions
    if spec.stakeholder_weight is not None:
        # Weighted: each approval becomes 1 point, or the weight where the project serves
        # the entry's home; the file says so, and which place each project serves.
        meta["stakeholder_weight"] = str(spec.stakeholder_weight)
        meta["vote_type"] = "scoring"
        projects = [Project(p.id, p.cost, name=p.name, category=p.category,
                            extra=MappingProxyType({"serves": p.serves}))
                    for p in spec.projects]
        ballots = [Ballot(str(i), e.projects(), spec.weighted_points(e))
                   for i, e in zip(ids, entries, strict=True)]
        return election_from_ballots(projects, spec.budget, ballots, "scoring", meta)
    projects = [Project(p.id, p.cost, name=p.name, category=p.category) for p in spec.projects]
    ballots = [Ballot(str(i), e.projects(), e.points()) for i, e in zip(ids, entries, strict=True)]
    if spec.vote_type in POINT_TYPES:
        ballots = [Ballot(b.voter_id, b.projects, b.points or ()) for b in ballots]
    return election_from_ballots(projects, spec.budget, ballots, spec.vote_type, meta)


# --- writing --------------------------------------------------------------------------


def _file_record(data: bytes) -> dict[str, Any]:
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def manifest_signed_bytes(manifest: Mapping[str, Any]) -> bytes:
    """Return the bytes the manifest signature covers: every field but ``signature``."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return MANIFEST_DOMAIN + canonical_json(body)


def build_files(data: ExportData, key: SigningKey) -> dict[str, bytes]:
    """Return every file of the export (relative path -> bytes), manifest included.

    Raise ``ValueError`` when the data do not fit together (an entry of an unknown scope,
    a checkpoint not signed by ``key``, two scopes with one file name).
    """
    public = key.public_key
    parsed = [parse_entry(e) for e in data.entries]
    specs = {r.spec.scope: r for r in data.scopes}
    if len(specs) != len(data.scopes):
        raise ValueError("a scope is listed twice")
    for r in data.scopes:
        r.spec.check()
    by_scope: dict[str, list[BallotEntry]] = {s: [] for s in specs}
    positions: dict[str, list[int]] = {s: [] for s in specs}
    for i, e in enumerate(parsed):
        if e.scope not in by_scope:
            raise ValueError(f"entry {i} is in scope {e.scope!r}, which has no definition")
        by_scope[e.scope].append(e)
        positions[e.scope].append(i)
    for cp in data.checkpoints:
        if not cp.verify(public):
            raise ValueError(f"checkpoint of size {cp.checkpoint.size} is not signed by this key")
    files: dict[str, bytes] = {
        ENTRIES: b"".join(e + b"\n" for e in data.entries),
        CHECKPOINTS: b"".join(cp.encode() + b"\n" for cp in data.checkpoints),
        PUBLIC_KEY: public.pem(),
    }
    results = {
        "format": FORMAT,
        "cycle": data.cycle,
        "scopes": [scope_to_json(specs[s], len(by_scope[s])) for s in sorted(specs)],
    }
    if data.division is not None:
        results["division"] = data.division
    files[RESULTS] = pretty_json(results)
    for s in sorted(specs):
        spec = specs[s].spec
        election = scope_election(data.cycle, spec, by_scope[s], positions[s])
        files[spec.file_name] = format_pabulib(election).encode("utf-8")
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "cycle": data.cycle,
        "log_id": data.log_id,
        "public_key": public.hex,
        "entries": len(data.entries),
        "checkpoints": len(data.checkpoints),
        "files": {name: _file_record(files[name]) for name in sorted(files)},
    }
    if data.engine:
        manifest["engine"] = data.engine
    manifest["signature"] = key.sign(manifest_signed_bytes(manifest)).hex()
    files[MANIFEST] = pretty_json(manifest)
    return files


def write_export(directory: str | Path, data: ExportData, key: SigningKey) -> dict[str, Any]:
    """Write the export of ``data`` into ``directory`` (created; must be empty or absent).

    ``key`` signs the manifest and must be the key that signed the checkpoints. Return
    the manifest. The same data and key give byte-identical files.
    """
    directory = Path(directory)
    files = build_files(data, key)
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise ValueError(f"{directory} is not empty")
    (directory / "ballots").mkdir()
    for name, content in files.items():
        (directory / name).write_bytes(content)
    return json.loads(files[MANIFEST])


# --- reading --------------------------------------------------------------------------


def _read(directory: Path, name: str) -> bytes:
    try:
        return (directory / name).read_bytes()
    except FileNotFoundError:
        raise ExportError(name, 0, "missing") from None
    except OSError as exc:
        raise ExportError(name, 0, f"cannot read: {exc.strerror}", unreadable=True) from None


def _lines(data: bytes, file: str) -> list[bytes]:
    """Split a JSON-lines file; every line ends with a newline and none is empty."""
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise ExportError(file, data.count(b"\n") + 1, "last line has no newline")
    lines = data[:-1].split(b"\n")
    for i, line in enumerate(lines, start=1):
        if not line:
            raise ExportError(file, i, "empty line")
    return lines


def read_manifest(
    directory: Path, expected_key: PublicKey | None = None
) -> tuple[dict[str, Any], PublicKey]:
    """Read and authenticate ``manifest.json``; return it and the log's public key."""
    if not directory.is_dir():
        raise ExportError(str(directory), 0, "not a directory", unreadable=True)
    if not (directory / MANIFEST).is_file():
        raise ExportError(MANIFEST, 0, "missing: this is not a ledger export", unreadable=True)
    manifest = _parse_pretty(_read(directory, MANIFEST), MANIFEST)
    if not isinstance(manifest, dict) or not MANIFEST_KEYS <= set(manifest) <= (
        MANIFEST_KEYS | MANIFEST_OPTIONAL
    ):
        raise ExportError(
            MANIFEST,
            0,
            f"needs exactly the keys {', '.join(sorted(MANIFEST_KEYS))} "
            f"(and optionally {', '.join(sorted(MANIFEST_OPTIONAL))})",
        )
    engine = manifest.get("engine", "x")
    if not isinstance(engine, str) or not 0 < len(engine) <= 100:
        raise ExportError(MANIFEST, 0, "engine must be a string of 1 to 100 characters")
    if manifest["format"] != FORMAT:
        raise ExportError(
            MANIFEST, 0, f"format {manifest['format']!r}, this verifier reads {FORMAT!r}"
        )
    for name in ("cycle", "log_id", "public_key", "signature"):
        if not isinstance(manifest[name], str) or not manifest[name]:
            raise ExportError(MANIFEST, 0, f"{name} must be a non-empty string")
    for name in ("entries", "checkpoints"):
        if (
            not isinstance(manifest[name], int)
            or isinstance(manifest[name], bool)
            or manifest[name] < 0
        ):
            raise ExportError(MANIFEST, 0, f"{name} must be a count")
    try:
        key = PublicKey.from_hex(manifest["public_key"])
    except KeyFormatError as exc:
        raise ExportError(MANIFEST, 0, f"public_key: {exc}") from None
    if key.hex != manifest["public_key"]:
        raise ExportError(MANIFEST, 0, "public_key must be lowercase hex")
    if expected_key is not None and key != expected_key:
        raise ExportError(
            MANIFEST,
            0,
            f"signed by key {key.fingerprint[:16]}..., not the expected key {expected_key.fingerprint[:16]}...",
        )
    try:
        signature = bytes.fromhex(manifest["signature"])
    except ValueError:
        raise ExportError(MANIFEST, 0, "signature is not hex") from None
    if signature.hex() != manifest["signature"] or not key.verify(
        signature, manifest_signed_bytes(manifest)
    ):
        raise ExportError(MANIFEST, 0, "the manifest signature does not verify with public_key")
    pem = _read(directory, PUBLIC_KEY)
    try:
        pem_key = PublicKey.from_pem(pem)
    except KeyFormatError as exc:
        raise ExportError(PUBLIC_KEY, 0, str(exc)) from None
    if pem_key != key:
        raise ExportError(PUBLIC_KEY, 0, "is not the key named in manifest.json")
    if pem != key.pem():
        # PEM readers skip text around the block; accept only the one canonical spelling.
        raise ExportError(PUBLIC_KEY, 0, "is not the canonical PEM of the key (extra text?)")
    return manifest, key


def check_files(directory: Path, manifest: Mapping[str, Any]) -> dict[str, bytes]:
    """Check every listed file's size and SHA-256 and that no file is unlisted."""
    files = manifest["files"]
    required = {ENTRIES, CHECKPOINTS, PUBLIC_KEY, RESULTS}
    if not isinstance(files, dict) or not required <= set(files):
        raise ExportError(MANIFEST, 0, f"files must list {', '.join(sorted(required))}")
    contents: dict[str, bytes] = {}
    for name in sorted(files):
        record = files[name]
        if (
            not isinstance(name, str)
            or name.startswith(("/", "."))
            or ".." in name
            or "\\" in name
            or (name not in required and not (name.startswith("ballots/") and name.count("/") == 1))
        ):
            raise ExportError(MANIFEST, 0, f"unexpected file name {name!r}")
        if not isinstance(record, dict) or set(record) != {"bytes", "sha256"}:
            raise ExportError(MANIFEST, 0, f"files[{name!r}] needs exactly bytes and sha256")
        data = _read(directory, name)
        if len(data) != record["bytes"]:
            raise ExportError(
                name, 0, f"has {len(data)} bytes, the manifest says {record['bytes']}"
            )
        digest = hashlib.sha256(data).hexdigest()
        if digest != record["sha256"]:
            raise ExportError(name, 0, f"SHA-256 is {digest}, the manifest says {record['sha256']}")
        contents[name] = data
    listed = set(files) | {MANIFEST}
    for root, _dirs, names in os.walk(directory):
        for n in names:
            rel = Path(root, n).relative_to(directory).as_posix()
            if rel not in listed:
                raise ExportError(rel, 0, "is not listed in manifest.json")
    return contents


def read_export(directory: str | Path, expected_key: PublicKey | None = None) -> Export:
    """Read an export and check its form; raise :class:`ExportError` at the first problem.

    Checked here: the manifest's signature (and key, when ``expected_key`` is given),
    each file's size and SHA-256, no unlisted files, canonical JSON on every line, the
    results' and the ``.pb`` files' syntax.
    """
    directory = Path(directory)
    manifest, key = read_manifest(directory, expected_key)
    contents = check_files(directory, manifest)
    cycle = manifest["cycle"]
    # results.json first: the entries are checked against its scopes afterwards.
    results = _parse_pretty(contents[RESULTS], RESULTS)
    if not isinstance(results, dict) or set(results) - {"division"} != {"cycle", "format", "scopes"}:
        raise ExportError(RESULTS, 0, "needs exactly the keys cycle, format, scopes (and division)")
    if results["format"] != FORMAT or results["cycle"] != cycle:
        raise ExportError(RESULTS, 0, "format or cycle differs from manifest.json")
    if not isinstance(results["scopes"], list):
        raise ExportError(RESULTS, 0, "scopes must be a list")
    scopes: list[ScopeResult] = []
    num_votes: dict[str, int] = {}
    for i, obj in enumerate(results["scopes"]):
        try:
            result, num_votes[obj["scope"]], _total = scope_from_json(obj)
        except EntryError as exc:
            raise ExportError(RESULTS, 0, f"scope #{i + 1}: {exc}") from None
        if scopes and result.spec.scope <= scopes[-1].spec.scope:
            raise ExportError(RESULTS, 0, f"scope #{i + 1}: scopes must be sorted and distinct")
        scopes.append(result)
    ballot_files = {r.spec.file_name for r in scopes}
    listed_ballots = {n for n in manifest["files"] if n.startswith("ballots/")}
    if ballot_files != listed_ballots:
        extra = sorted(listed_ballots - ballot_files) or sorted(ballot_files - listed_ballots)
        raise ExportError(MANIFEST, 0, f"ballot files do not match results.json scopes: {extra}")
    entry_lines = _lines(contents[ENTRIES], ENTRIES)
    if len(entry_lines) != manifest["entries"]:
        raise ExportError(
            ENTRIES, 0, f"{len(entry_lines)} lines, the manifest says {manifest['entries']}"
        )
    parsed: list[BallotEntry] = []
    for i, line in enumerate(entry_lines):
        try:
            parsed.append(parse_entry(line))
        except EntryError as exc:
            raise ExportError(ENTRIES, i + 1, str(exc)) from None
    cp_lines = _lines(contents[CHECKPOINTS], CHECKPOINTS)
    if len(cp_lines) != manifest["checkpoints"]:
        raise ExportError(
            CHECKPOINTS, 0, f"{len(cp_lines)} lines, the manifest says {manifest['checkpoints']}"
        )
    checkpoints = []
    for i, line in enumerate(cp_lines):
        try:
            checkpoints.append(SignedCheckpoint.decode(line))
        except EntryError as exc:
            raise ExportError(CHECKPOINTS, i + 1, str(exc)) from None
    elections: dict[str, Election] = {}
    for r in scopes:
        name = r.spec.file_name
        try:
            elections[r.spec.scope] = parse_pabulib(contents[name])
        except PabulibError as exc:
            raise ExportError(name, exc.line, exc.message) from None
    data = ExportData(
        cycle=cycle,
        log_id=manifest["log_id"],
        entries=tuple(entry_lines),
        checkpoints=tuple(checkpoints),
        scopes=tuple(scopes),
        engine=manifest.get("engine", ""),
        division=results.get("division"),
    )
    return Export(data, key, manifest, tuple(parsed), elections, num_votes, contents,
                  results.get("division"))
