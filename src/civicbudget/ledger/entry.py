"""Log entries: canonical JSON, the ballot entry, a scope's ballot rules and their check.

An entry is one accepted ballot and nothing that points to the voter::

    {"ballot":["p3","p7"],"channel":"online","cycle":"2018","nonce":"<32 hex>","scope":"community:12"}

*Canonical* means one byte string per value: keys sorted, no spaces, UTF-8 (not ``\\u``
escapes), integers only (no floats: amounts are exact decimal strings). The verifier
re-encodes every line and refuses any other spelling, so the bytes hashed into the log
are the only possible bytes for that ballot.

The nonce (128 random bits) keeps a receipt from being brute-forced back to its ballot:
without it, a ballot of a scope with 20 projects has few enough possible entries that
anyone could hash them all and read every receipt. It also makes every entry unique.

An entry carries no position and no time: its leaf hash (the receipt) is known the moment
the ballot is cast, and the log takes entries in shuffled batches (see
:mod:`civicbudget.ledger.log`), so where an entry sits says nothing finer than its batch.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from civicbudget.tally import RuleSpec
from civicbudget.tally.constraints import CategoryBound, Constraints

# pabulib's vote types (the ones civicbudget.tally counts); points ballots carry points.
VOTE_TYPES = ("approval", "choose-1", "cumulative", "ordinal", "scoring")
POINT_TYPES = ("cumulative", "scoring")
CHANNELS = ("online", "paper")
NONCE_RE = re.compile(r"[0-9a-f]{32}")
# Scopes become file names (``community:12`` -> ``ballots/community_12.pb``): no "_", no
# "/" and no leading dot, so the mapping is one-to-one and cannot leave the directory.
SCOPE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*(?::[A-Za-z0-9][A-Za-z0-9.-]*)*")
# Project ids go into pabulib's ``vote`` column, separated by commas and semicolons.
PROJECT_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# Cycle ids appear in file contents (pabulib META): keep them to one safe token.
CYCLE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
# Project names go into pabulib rows, which are lines: no control characters.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")
MAX_STAKEHOLDER_WEIGHT = 10
MONEY_RE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?")


class EntryError(ValueError):
    """An entry, a ballot or a canonical-JSON value that is not acceptable."""


def _place_ok(place: Any) -> bool:
    return isinstance(place, str) and len(place) <= 64 and SCOPE_RE.fullmatch(place) is not None


# --- canonical JSON -------------------------------------------------------------------


def _check_value(value: Any, where: str = "value") -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return
    if isinstance(value, float):
        raise EntryError(f"{where}: floats are not allowed (use an exact decimal string)")
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise EntryError(f"{where}: keys must be strings")
            _check_value(v, f"{where}.{k}")
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_value(v, f"{where}[{i}]")
        return
    raise EntryError(f"{where}: {type(value).__name__} is not a JSON value")


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 JSON of ``value`` (sorted keys, no spaces, no floats)."""
    _check_value(value)
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise EntryError("a string holds a lone surrogate, which UTF-8 cannot encode") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise EntryError(f"key {k!r} appears twice")
        out[k] = v
    return out


def _no_float(text: str) -> Any:
    raise EntryError(f"floats are not allowed, found {text}")


def parse_canonical(data: bytes) -> Any:
    """Parse canonical JSON; raise :class:`EntryError` unless ``data`` is exactly canonical."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EntryError(f"not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_float,
        )
    except json.JSONDecodeError as exc:
        raise EntryError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    # json.loads above can only have produced JSON values without floats, so re-encode
    # without canonical_json's type walk (a third of the verifier's parsing time).
    again = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        encoded = again.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate written as a \u escape
        raise EntryError("not in canonical form (an escaped lone surrogate)") from None
    if encoded != data:
        raise EntryError("not in canonical form (sorted keys, no spaces, UTF-8, no escapes)")
    return value


# --- exact money ----------------------------------------------------------------------


def format_money(value: Fraction | int) -> str:
    """Return an exact, canonical decimal string (``150000``, ``1234.5``) for ``value``."""
    value = Fraction(value)
    if value < 0:
        raise EntryError(f"negative amount {value}")
    d, twos, fives = value.denominator, 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    if d != 1:
        raise EntryError(f"{value} has no finite decimal form")
    places = max(twos, fives)
    if places == 0:
        return str(value.numerator)
    scaled = value * 10**places
    digits = str(scaled.numerator).rjust(places + 1, "0")
    return f"{digits[:-places]}.{digits[-places:]}"


def parse_money(text: Any, what: str = "amount") -> Fraction:
    """Parse a canonical decimal string written by :func:`format_money`."""
    if not isinstance(text, str) or not MONEY_RE.fullmatch(text):
        raise EntryError(f'{what} must be a decimal string like "150000" or "12.5", got {text!r}')
    return Fraction(text)


# --- scopes and ballot rules ------------------------------------------------------------


@dataclass(frozen=True)
class ProjectSpec:
    """A project on a scope's ballot: an id, an exact cost, a display name, its categories.

    ``category``: comma-separated categories (pabulib's column), what category floors and
    caps of the rule count; empty for none. ``serves``: the place the project serves (a
    place key such as ``community:12``), whose residents' votes count
    ``ScopeSpec.stakeholder_weight`` times for it; empty for none.
    """

    id: str
    cost: Fraction
    name: str = ""
    category: str = ""
    serves: str = ""


@dataclass(frozen=True)
class ScopeSpec:
    """One ballot scope (a community's or a street's ballot) and the rules of its ballots.

    ``vote_type`` is pabulib's (approval, choose-1, ordinal, cumulative, scoring).
    ``min_length`` / ``max_length`` bound the number of projects on a ballot,
    ``max_sum_cost`` the total cost of the projects chosen ("within the pool's budget"),
    ``min_points`` / ``max_points`` each project's points and ``max_sum_points`` their sum
    (points ballots only). ``rule`` is how the scope is counted.

    ``stakeholder_weight`` (2..10, approval and choose-1 ballots): a voter whose entry names
    their place (``BallotEntry.home``) counts that many times for the projects that serve
    it, once for the others; the ballots are then counted as pabulib ``scoring`` ballots
    (points = 1 or the weight), with a points utility (see docs/tally.md).
    """

    scope: str
    vote_type: str
    budget: Fraction
    projects: tuple[ProjectSpec, ...]
    rule: RuleSpec = RuleSpec()
    min_length: int = 1
    max_length: int | None = None
    max_sum_cost: Fraction | None = None
    min_points: int | None = None
    max_points: int | None = None
    max_sum_points: int | None = None
    stakeholder_weight: int | None = None

    def check(self) -> ScopeSpec:
        """Return self when the definition is coherent; raise :class:`EntryError` otherwise."""
        if not SCOPE_RE.fullmatch(self.scope):
            raise EntryError(f"scope {self.scope!r}: letters, digits, '.', '-' and ':' only")
        if self.vote_type not in VOTE_TYPES:
            raise EntryError(f"scope {self.scope}: unknown vote type {self.vote_type!r}")
        if not self.projects:
            raise EntryError(f"scope {self.scope}: no projects")
        seen: set[str] = set()
        for p in self.projects:
            if not PROJECT_ID_RE.fullmatch(p.id):
                raise EntryError(f"scope {self.scope}: bad project id {p.id!r}")
            if p.id in seen:
                raise EntryError(f"scope {self.scope}: project {p.id} listed twice")
            if p.cost <= 0:
                raise EntryError(f"scope {self.scope}: project {p.id} costs {p.cost}")
            if not isinstance(p.name, str) or CONTROL_RE.search(p.name):
                raise EntryError(f"scope {self.scope}: project {p.id}: name has control characters")
            if (
                not isinstance(p.category, str)
                or len(p.category) > 200
                or CONTROL_RE.search(p.category)
                or ";" in p.category
            ):
                raise EntryError(f"scope {self.scope}: project {p.id}: bad category")
            if not isinstance(p.serves, str) or (p.serves and not _place_ok(p.serves)):
                raise EntryError(f"scope {self.scope}: project {p.id}: bad place {p.serves!r}")
            seen.add(p.id)
        if self.stakeholder_weight is not None:
            self._check_weight()
        if self.budget < 0 or self.min_length < 0:
            raise EntryError(f"scope {self.scope}: negative budget or min_length")
        if self.max_length is not None and self.max_length < self.min_length:
            raise EntryError(f"scope {self.scope}: max_length < min_length")
        try:
            self.rule.validate()
            if self.rule.constrained:
                self.constraints().check()
        except ValueError as exc:
            raise EntryError(f"scope {self.scope}: {exc}") from None
        return self

    def _check_weight(self) -> None:
        w = self.stakeholder_weight
        if not isinstance(w, int) or isinstance(w, bool) or not 2 <= w <= MAX_STAKEHOLDER_WEIGHT:
            raise EntryError(f"scope {self.scope}: stakeholder_weight must be 2..{MAX_STAKEHOLDER_WEIGHT}")
        if self.vote_type not in ("approval", "choose-1"):
            raise EntryError(f"scope {self.scope}: stakeholder weights apply to approval ballots only")
        if not any(p.serves for p in self.projects):
            raise EntryError(f"scope {self.scope}: stakeholder_weight but no project serves a place")
        # The weighted ballots are points ballots: the rule must count points (as it
        # would count votes or cost on the unweighted ballots), never cardinality.
        if self.rule.utility not in ("points", "points-cost") or self.rule.rule == "phragmen":
            raise EntryError(f"scope {self.scope}: a weighted ballot is counted with the "
                             "points or points-cost utility, and not by Phragmén")

    def weighted_points(self, entry: BallotEntry) -> tuple[int, ...]:
        """Return each chosen project's points on a weighted scope: the weight where the
        project serves the entry's home, 1 elsewhere."""
        w = self.stakeholder_weight or 1
        serves = {p.id: p.serves for p in self.projects}
        return tuple(w if entry.home and serves.get(pid) == entry.home else 1
                     for pid in entry.projects())

    def constraints(self) -> Constraints:
        """Return the rule's category floors and caps over this scope's projects and budget."""
        b = self.budget
        return Constraints(
            [p.cost for p in self.projects],
            [p.category for p in self.projects],
            b,
            [CategoryBound(x.category, x.amount(b), False) for x in self.rule.category_min],
            [CategoryBound(x.category, x.amount(b), False) for x in self.rule.category_max],
        )

    @property
    def file_name(self) -> str:
        """Return the scope's pabulib file inside the export (``ballots/community_12.pb``)."""
        return "ballots/" + self.scope.replace(":", "_") + ".pb"

    def costs(self) -> dict[str, Fraction]:
        """Return project id -> cost."""
        return {p.id: p.cost for p in self.projects}


def validate_ballot(spec: ScopeSpec, ballot: Any) -> None:
    """Raise :class:`EntryError` unless ``ballot`` is a valid ballot of ``spec``.

    Approval and choose-1 ballots are lists of distinct project ids in sorted order (order
    means nothing there, and a fixed order leaks nothing about how the voter clicked);
    ordinal ballots list distinct ids best first; points ballots are ``[id, points]``
    pairs sorted by id.
    """
    if not isinstance(ballot, list):
        raise EntryError("ballot must be a list")
    costs = spec.costs()
    points_type = spec.vote_type in POINT_TYPES
    ids: list[str] = []
    points: list[int] = []
    for item in ballot:
        if points_type:
            if (
                not isinstance(item, list)
                or len(item) != 2
                or not isinstance(item[0], str)
                or not isinstance(item[1], int)
                or isinstance(item[1], bool)
            ):
                raise EntryError(
                    f"{spec.vote_type} ballot items are [project id, points], got {item!r}"
                )
            ids.append(item[0])
            points.append(item[1])
        else:
            if not isinstance(item, str):
                raise EntryError(f"{spec.vote_type} ballot items are project ids, got {item!r}")
            ids.append(item)
    for pid in ids:
        if pid not in costs:
            raise EntryError(f"project {pid!r} is not on the ballot of {spec.scope}")
    if len(set(ids)) != len(ids):
        raise EntryError("a project is named twice")
    if spec.vote_type != "ordinal" and ids != sorted(ids):
        raise EntryError("projects must be in sorted order")
    if spec.vote_type == "choose-1" and len(ids) > 1:
        raise EntryError(f"choose-1 ballot names {len(ids)} projects")
    if len(ids) < spec.min_length:
        raise EntryError(f"{len(ids)} projects chosen, at least {spec.min_length} required")
    if spec.max_length is not None and len(ids) > spec.max_length:
        raise EntryError(f"{len(ids)} projects chosen, at most {spec.max_length} allowed")
    if spec.max_sum_cost is not None:
        total = sum((costs[p] for p in ids), Fraction(0))
        if total > spec.max_sum_cost:
            raise EntryError(
                f"projects cost {format_money(total)} in total, over {format_money(spec.max_sum_cost)}"
            )
    if points_type:
        low = spec.min_points if spec.min_points is not None else 1
        for pid, pt in zip(ids, points, strict=True):
            if pt < low:
                raise EntryError(f"{pt} points for {pid}, at least {low} required")
            if spec.max_points is not None and pt > spec.max_points:
                raise EntryError(f"{pt} points for {pid}, at most {spec.max_points} allowed")
        if spec.max_sum_points is not None and sum(points) > spec.max_sum_points:
            raise EntryError(
                f"{sum(points)} points in total, at most {spec.max_sum_points} allowed"
            )


# --- entries --------------------------------------------------------------------------


@dataclass(frozen=True)
class BallotEntry:
    """One accepted ballot as logged: no voter, only the scope, the choices and a nonce.

    ``ballot`` holds project ids, or ``(id, points)`` pairs for points ballots. There is
    deliberately no position and no time: see the module docstring. ``home`` is set only on
    a scope with stakeholder weights, and only when the ballot chose a project serving the
    voter's place: it names that place and nothing finer, so that anyone can recount the
    weights (docs/voting.md#stakeholder-weights).
    """

    cycle: str
    scope: str
    ballot: tuple[Any, ...]
    channel: str
    nonce: str
    home: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object of the entry."""
        ballot = [list(b) if isinstance(b, tuple | list) else b for b in self.ballot]
        obj = {
            "ballot": ballot,
            "channel": self.channel,
            "cycle": self.cycle,
            "nonce": self.nonce,
            "scope": self.scope,
        }
        if self.home is not None:
            obj["home"] = self.home
        return obj

    def encode(self) -> bytes:
        """Return the canonical bytes hashed into the log."""
        return canonical_json(self.to_json())

    def _encode_checked(self) -> bytes:
        # For entries whose every field has just been checked (make_entry): the same
        # bytes as encode() without re-walking the value for floats, which was half the
        # cost of an append.
        return json.dumps(
            self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")

    def projects(self) -> tuple[str, ...]:
        """Return the project ids of the ballot in ballot order."""
        return tuple(b[0] if isinstance(b, tuple | list) else b for b in self.ballot)

    def points(self) -> tuple[int, ...] | None:
        """Return the points of a points ballot, else None."""
        if self.ballot and isinstance(self.ballot[0], tuple | list):
            return tuple(b[1] for b in self.ballot)
        return None


ENTRY_KEYS = frozenset({"ballot", "channel", "cycle", "nonce", "scope"})
OPTIONAL_ENTRY_KEYS = frozenset({"home"})


def validate_home(spec: ScopeSpec, entry: BallotEntry) -> None:
    """Raise :class:`EntryError` unless the entry's ``home`` fits its scope: present only
    on a weighted scope, and then only naming a place that a chosen project serves."""
    if entry.home is None:
        return
    if spec.stakeholder_weight is None:
        raise EntryError(f"scope {spec.scope} has no stakeholder weights: the entry names no home")
    serves = {p.id: p.serves for p in spec.projects}
    if not any(serves.get(pid) == entry.home for pid in entry.projects()):
        raise EntryError(f"home {entry.home!r}: no project chosen serves it")


def new_nonce() -> str:
    """Return a fresh 128-bit nonce in lowercase hex."""
    return secrets.token_hex(16)


def make_entry(
    cycle: str,
    spec: ScopeSpec,
    choices: Sequence[str] | Mapping[str, int],
    channel: str,
    nonce: str | None = None,
    home: str | None = None,
) -> BallotEntry:
    """Build and validate the entry of a ballot.

    ``home`` is the voter's place key (``community:12``); it is kept only on a scope with
    stakeholder weights and when a chosen project serves it, and dropped otherwise.

    ``choices`` is a sequence of project ids (best first for ordinal ballots) or, for
    points ballots, a mapping id -> points. Approval, choose-1 and points ballots are put
    in sorted order here. Raise :class:`EntryError` when the ballot breaks the scope's rules.
    """
    if spec.vote_type in POINT_TYPES:
        if not isinstance(choices, Mapping):
            raise EntryError(f"{spec.vote_type} ballots need a mapping project id -> points")
        ballot: list[Any] = [[pid, choices[pid]] for pid in sorted(choices)]
    else:
        if isinstance(choices, Mapping | str):
            raise EntryError(f"{spec.vote_type} ballots need a sequence of project ids")
        ballot = list(choices) if spec.vote_type == "ordinal" else sorted(choices)
    entry = BallotEntry(
        cycle=cycle,
        scope=spec.scope,
        ballot=tuple(tuple(b) if isinstance(b, list) else b for b in ballot),
        channel=channel,
        nonce=nonce if nonce is not None else new_nonce(),
    )
    if home is not None and spec.stakeholder_weight is not None:
        serves = {p.id: p.serves for p in spec.projects}
        if any(serves.get(pid) == home for pid in entry.projects()):
            entry = BallotEntry(entry.cycle, entry.scope, entry.ballot, entry.channel, entry.nonce, home)
    check_entry_fields(entry.to_json())
    validate_ballot(spec, ballot)
    return entry


def check_entry_fields(obj: Any) -> BallotEntry:
    """Check an entry object's keys and field types; return it as a :class:`BallotEntry`."""
    if not isinstance(obj, dict):
        raise EntryError("an entry is a JSON object")
    if not ENTRY_KEYS <= set(obj) <= ENTRY_KEYS | OPTIONAL_ENTRY_KEYS:
        missing = sorted(ENTRY_KEYS - set(obj))
        extra = sorted(set(obj) - ENTRY_KEYS - OPTIONAL_ENTRY_KEYS)
        raise EntryError(f"entry keys: missing {missing}, unexpected {extra}")
    if "home" in obj and not _place_ok(obj["home"]):
        raise EntryError(f"bad home {obj['home']!r}")
    if not isinstance(obj["cycle"], str) or not CYCLE_RE.fullmatch(obj["cycle"]):
        raise EntryError(
            f"cycle must be a short id (letters, digits, . _ : -), got {obj['cycle']!r}"
        )
    if not isinstance(obj["scope"], str) or not SCOPE_RE.fullmatch(obj["scope"]):
        raise EntryError(f"bad scope {obj['scope']!r}")
    if obj["channel"] not in CHANNELS:
        raise EntryError(f"channel must be one of {', '.join(CHANNELS)}, got {obj['channel']!r}")
    if not isinstance(obj["nonce"], str) or not NONCE_RE.fullmatch(obj["nonce"]):
        raise EntryError("nonce must be 32 lowercase hex digits")
    if not isinstance(obj["ballot"], list):
        raise EntryError("ballot must be a list")
    return BallotEntry(
        cycle=obj["cycle"],
        scope=obj["scope"],
        ballot=tuple(tuple(b) if isinstance(b, list) else b for b in obj["ballot"]),
        channel=obj["channel"],
        nonce=obj["nonce"],
        home=obj.get("home"),
    )


def parse_entry(data: bytes) -> BallotEntry:
    """Parse one canonical entry (without its newline); raise :class:`EntryError`."""
    return check_entry_fields(parse_canonical(data))
