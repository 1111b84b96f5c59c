"""Start an audit from a public seed, draw the sample, record each sheet, evaluate.

Each physical sheet is known by its box (polling station) and ballot number; its recorded
ballot is the log entry its two matching readings produced (``PaperEntry.receipt``).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from civicbudget import rla
from civicbudget.accounts.permissions import permission_require
from civicbudget.audit.services import audit_record
from civicbudget.errors import NotFound, PreconditionFailed, ServiceError
from civicbudget.ledger import parse_entry
from civicbudget.ledger.export import scope_election
from civicbudget.paperaudit.models import AuditComparison, AuditDraw, PaperAudit
from civicbudget.tally.tiebreak import tie_keys
from civicbudget.voting import logstore
from civicbudget.voting.models import (
    LogEntry,
    PaperEntry,
    PollingStation,
    ScopeResult,
    VotingScope,
    scope_keys,
)

ACTION = "paper_audit"
FIXED_CONFIDENCE = 0.95
MAX_RISK_LIMIT_PCT = 20


def scope_place(scope: VotingScope):
    """The community or street a scope's ballot belongs to (whose officers audit it)."""
    return scope.community or scope.street


def _stations(scope: VotingScope) -> list[PollingStation]:
    return [st for st in PollingStation.objects.filter(cycle_id=scope.cycle_id)
            .select_related("community").order_by("pk")
            if scope.key in scope_keys(st.community_id, st.community.street_id)]


def _logged(scope: VotingScope) -> dict[tuple[int, int], str]:
    """(station id, number) -> receipt of every logged paper sheet of the scope."""
    from civicbudget.paper.models import ScannedSheet

    rows = PaperEntry.objects.filter(
        scope=scope, state__in=(PaperEntry.State.MATCHED, PaperEntry.State.RESOLVED)).exclude(receipt="")
    logged = {(sid, n): receipt for sid, n, receipt in rows.values_list("station_id", "number", "receipt")}
    # Machine-read sheets (counted by the reader or after adjudication), numbered in their box
    # from 100,001; the desk names each by its printed sheet id too.
    scanned = (ScannedSheet.objects.filter(scope=scope, station__isnull=False, box_number__isnull=False)
               .exclude(receipt="").values_list("station_id", "box_number", "receipt"))
    logged.update({(sid, n): receipt for sid, n, receipt in scanned})
    return logged


def sheet_ids(audit: PaperAudit) -> dict[tuple[int, int], str]:
    """(station id, number) -> printed sheet id of the machine-read sheets of the audit's scope."""
    from civicbudget.paper.models import ScannedSheet

    return {(sid, n): code for sid, n, code in
            ScannedSheet.objects.filter(scope=audit.scope, box_number__isnull=False)
            .values_list("station_id", "box_number", "code")}


def manifest_of(scope: VotingScope) -> list[list]:
    """Return the ballot manifest: per box (station order), its logged sheets' numbers."""
    logged = _logged(scope)
    manifest = []
    for st in _stations(scope):
        numbers = sorted(n for sid, n in logged if sid == st.pk)
        if numbers:
            manifest.append([st.pk, f"{st.pk} {st.name}", numbers])
    return manifest


def _plan(scope: VotingScope, result: ScopeResult) -> tuple[str, str, list[rla.Assertion]]:
    """Return (method, why, assertions): greedy's assertions, or the fixed-size fallback."""
    spec = logstore.spec_from_json(scope.spec)
    try:
        rla.assertions.check_rule(rule=spec.rule.rule, utility=spec.rule.utility,
                                  vote_type=spec.vote_type, threshold=spec.rule.threshold,
                                  no_skip=spec.rule.no_skip,
                                  fund_unsupported=spec.rule.fund_unsupported)
        entries = [parse_entry(d.encode()) for d in
                   LogEntry.objects.filter(scope=scope).order_by("seq").values_list("data", flat=True)]
        election = scope_election("audit", spec, entries)
        votes = {p.id: 0 for p in spec.projects}
        for e in entries:
            for pid in e.projects():
                votes[str(pid)] += 1
        keys = tie_keys(election, spec.rule.tie_break, [votes[p.id] for p in spec.projects])
        rank = {p.id: keys[j] for j, p in enumerate(spec.projects)}
        costs = {p.id: p.cost for p in spec.projects}
        assertions = rla.greedy_assertions(costs, spec.budget, votes, [str(w) for w in result.winners], rank)
    except rla.NotReducible as exc:
        return PaperAudit.Method.FIXED, str(exc), []
    except ValueError as exc:  # the stored winners are not plain greedy's (e.g. unsupported projects)
        return PaperAudit.Method.FIXED, f"no reduction: {exc}", []
    return PaperAudit.Method.ASSERTIONS, "", assertions


def _check_box_counts(manifest: list[list], box_counts) -> dict[str, int]:
    """Check the officers' count of each box's sheets against its logged ballots.

    The manifest must describe the sheets, not only the records: a box holding more
    sheets than were logged has sheets the count never saw, which no sample of records can
    find, so the audit waits until they are entered. Fewer sheets than records is allowed:
    a sampled record without its sheet counts as the worst case.
    """
    if box_counts is None:
        return {}
    logged = {sid: (label, len(numbers)) for sid, label, numbers in manifest}
    if not isinstance(box_counts, dict) or set(box_counts) - set(logged):
        raise ServiceError(_("Count the sheets of this ballot's boxes only."), field="box_counts")
    counts = {}
    for sid, (label, n) in logged.items():
        counted = box_counts.get(sid)
        if not isinstance(counted, int) or isinstance(counted, bool) or not 0 <= counted <= 1_000_000:
            raise ServiceError(_("Give the number of sheets counted in box %(box)s.") % {"box": label},
                               field="box_counts")
        if counted > n:
            raise PreconditionFailed(
                _("Box %(box)s holds %(counted)d sheets but %(n)d are recorded: enter the missing "
                  "sheets (twice, as usual) before the audit.") % {"box": label, "counted": counted, "n": n})
        counts[str(sid)] = counted
    return counts


def audit_start(*, officer, scope: VotingScope, seed: str, rolling: str, risk_limit_pct: int = 5,
                fixed_rate_pct: int = 1, box_counts: dict[int, int] | None = None) -> PaperAudit:
    """Start the audit of a counted scope with the seed rolled in public.

    ``box_counts``: station id -> sheets of this ballot the officers counted in that box;
    see :func:`_check_box_counts`.
    """
    permission_require(officer, ACTION, scope_place(scope), scope.cycle)
    try:
        seed = rla.check_seed(seed)
    except rla.SeedError:
        raise ServiceError(_("The seed must be 20 to 200 digits rolled with dice."), field="seed") from None
    rolling = (rolling or "").strip()
    if not rolling or len(rolling) > 2000:
        raise ServiceError(_("Say who rolled the dice and who watched (1 to 2,000 characters)."),
                           field="rolling")
    if not isinstance(risk_limit_pct, int) or not 1 <= risk_limit_pct <= MAX_RISK_LIMIT_PCT:
        raise ServiceError(_("The risk limit is a whole percentage from 1 to 20."), field="risk_limit")
    if not isinstance(fixed_rate_pct, int) or not 1 <= fixed_rate_pct <= 20:
        raise ServiceError(_("The share of wrong records to detect is from 1% to 20%."), field="fixed_rate")
    result = ScopeResult.objects.filter(scope=scope).first()
    if result is None:
        raise PreconditionFailed(_("%(scope)s is not counted yet: audit after the count.") % {"scope": scope})
    manifest = manifest_of(scope)
    if not manifest:
        raise PreconditionFailed(_("%(scope)s has no logged paper ballot to audit.") % {"scope": scope})
    counted = _check_box_counts(manifest, box_counts)
    method, note, assertions = _plan(scope, result)
    paper = sum(len(m[2]) for m in manifest)
    if method == PaperAudit.Method.ASSERTIONS:
        target = rla.initial_sample_size(assertions, paper, risk_limit_pct / 100)
    else:
        target = rla.fixed_sample_size(fixed_rate_pct / 100, FIXED_CONFIDENCE)
    duplicate = ServiceError(_("%(scope)s has an audit already.") % {"scope": scope}, code="duplicate")
    if PaperAudit.objects.filter(scope=scope).exists():
        raise duplicate
    try:
        with transaction.atomic():
            audit = PaperAudit.objects.create(
                cycle=scope.cycle, scope=scope, seed=seed, rolling=rolling, risk_limit_pct=risk_limit_pct,
                method=method, method_note=note, manifest=manifest,
                assertions=[a.to_json() for a in assertions], target_size=target,
                fixed_rate_pct=fixed_rate_pct, box_counts=counted, started_by=officer)
            audit_record(officer, "paper_audit_start", audit,
                         after={"scope": scope.key, "seed": seed, "risk_limit_pct": risk_limit_pct,
                                "method": method, "target": target}, place=scope_place(scope))
            _draw(audit)
            _evaluate(audit)
    except IntegrityError:  # started by someone else a moment ago: one audit per scope
        raise duplicate from None
    return audit


def _draw(audit: PaperAudit) -> int:
    have = audit.draws.count()
    if audit.target_size <= have or audit.state != PaperAudit.State.SAMPLING:
        return 0
    manifest = [(str(sid), numbers) for sid, _label, numbers in audit.manifest]
    picks = rla.draw_sample(audit.seed, manifest, audit.target_size - have, start=have)
    AuditDraw.objects.bulk_create([AuditDraw(audit=audit, counter=d.counter, position=d.position,
                                             station_id=int(d.box), number=d.number) for d in picks])
    return len(picks)


def pending_sheets(audit: PaperAudit) -> list[tuple[PollingStation, int, int, str]]:
    """Drawn sheets not compared yet: (station, number, times drawn, printed sheet id or ""),
    by box and number; none once the audit has concluded."""
    if audit.state != PaperAudit.State.SAMPLING:
        return []
    done = set(audit.comparisons.values_list("station_id", "number"))
    counts: dict[tuple[int, int], int] = {}
    for sid, n in audit.draws.values_list("station_id", "number"):
        if (sid, n) not in done:
            counts[(sid, n)] = counts.get((sid, n), 0) + 1
    stations = PollingStation.objects.in_bulk({sid for sid, _n in counts})
    codes = sheet_ids(audit) if any(n >= 100_000 for _sid, n in counts) else {}
    return [(stations[sid], n, times, codes.get((sid, n), "")) for (sid, n), times in sorted(counts.items())]


def _record_of(audit: PaperAudit, station_id: int, number: int) -> list[str]:
    receipt = _logged(audit.scope).get((station_id, number))
    if receipt is None:
        raise NotFound(_("Sheet %(n)d of this box has no logged ballot.") % {"n": number})
    data = LogEntry.objects.values_list("data", flat=True).get(leaf=receipt)
    return sorted(str(p) for p in parse_entry(data.encode()).projects())


def audit_record_sheet(*, officer, audit: PaperAudit, station: PollingStation, number: int,
                       choices=None, found: bool = True) -> AuditComparison:
    """Record how the officers read a sampled sheet (or that it was not in its box)."""
    scope = audit.scope
    permission_require(officer, ACTION, scope_place(scope), scope.cycle)
    if audit.state != PaperAudit.State.SAMPLING:
        raise PreconditionFailed(_("This audit has concluded: %(state)s.") % {"state": audit.get_state_display()})
    if not audit.draws.filter(station=station, number=number).exists():
        raise ServiceError(_("Sheet %(n)d of %(box)s is not in the sample.") % {"n": number, "box": station.name},
                           field="number")
    project_ids = {p["id"] for p in scope.spec["projects"]}
    read: list[str] = []
    if found:
        if not isinstance(choices, list | tuple) or len(choices) > len(project_ids):
            raise ServiceError(_("List the projects marked on the sheet."), field="choices")
        read = sorted({str(c).strip() for c in choices})
        unknown = [c for c in read if c not in project_ids]
        if unknown:
            raise ServiceError(_("Not a project of this ballot: %(ids)s.") % {"ids": "、".join(unknown)},
                               field="choices")
    recorded = _record_of(audit, station.pk, number)
    sheet = frozenset(read) if found else None
    over = {}
    for a in (rla.Assertion.from_json(x) for x in audit.assertions):
        omega = rla.overstatement(a, frozenset(recorded), sheet)
        if omega:
            over[a.name] = int(omega * 2)
    with transaction.atomic():
        # Another officer may have recorded a sheet (and grown or ended the sample) meanwhile:
        # evaluate on the row as it is now, one recording at a time.
        audit = PaperAudit.objects.select_for_update().select_related("scope").get(pk=audit.pk)
        if audit.state != PaperAudit.State.SAMPLING:
            raise PreconditionFailed(_("This audit has concluded: %(state)s.") % {"state": audit.get_state_display()})
        if audit.comparisons.filter(station=station, number=number).exists():
            raise ServiceError(_("Sheet %(n)d of %(box)s is compared already.")
                               % {"n": number, "box": station.name}, code="duplicate", field="number")
        comparison = AuditComparison.objects.create(
            audit=audit, station=station, number=number, found=found, read=read, recorded=recorded,
            matches=found and read == recorded, overstatements=over, officer=officer)
        audit_record(officer, "paper_audit_record", audit,
                     after={"station": station.pk, "number": number, "matches": comparison.matches},
                     place=scope_place(scope))
        _evaluate(audit)
    return comparison


def _pairs(audit: PaperAudit) -> tuple[list, bool]:
    """(record, sheet) per pick in pick order up to the first sheet not compared; and
    whether every pick is compared."""
    compared = {(c.station_id, c.number): c for c in audit.comparisons.all()}
    pairs = []
    for sid, n in audit.draws.order_by("counter").values_list("station_id", "number"):
        c = compared.get((sid, n))
        if c is None:
            return pairs, False
        pairs.append((frozenset(c.recorded), frozenset(c.read) if c.found else None))
    return pairs, True


def _evaluate(audit: PaperAudit) -> None:
    """Update p-values and state; grow the sample when a round is done and not conclusive."""
    pairs, complete = _pairs(audit)
    paper = audit.paper_count
    if audit.method == PaperAudit.Method.FIXED:
        wrong = sum(1 for record, sheet in pairs if sheet != record)
        audit.evaluation = {"compared": len(pairs), "discrepancies": wrong,
                            "rate_pct": audit.fixed_rate_pct, "confidence": FIXED_CONFIDENCE,
                            "risk_limiting": False}
        if complete and len(pairs) >= audit.target_size:
            audit.state = PaperAudit.State.COMPARED if not wrong else PaperAudit.State.FULL_COUNT
        audit.save(update_fields=["evaluation", "state"])
        return
    assertions = [rla.Assertion.from_json(x) for x in audit.assertions]
    result = rla.evaluate(assertions, paper, pairs, risk_limit=audit.risk_limit_pct / 100)
    audit.evaluation = result.to_json()
    if result.decision == "confirmed":
        audit.state = PaperAudit.State.CONFIRMED
    elif complete and result.decision == "full_count":
        audit.state = PaperAudit.State.FULL_COUNT
    elif complete:
        audit.target_size = result.next_size
    audit.save(update_fields=["evaluation", "state", "target_size"])
    if complete and audit.state == PaperAudit.State.SAMPLING:
        _draw(audit)


def audit_for(scope: VotingScope) -> PaperAudit:
    audit = PaperAudit.objects.filter(scope=scope).select_related("scope").first()
    if audit is None:
        raise NotFound(_("%(scope)s has no audit.") % {"scope": scope})
    return audit


def public_json(audit: PaperAudit) -> dict:
    """Everything needed to re-derive the sample and the p-values (docs/audit.md)."""
    stations = {sid: label for sid, label, _n in audit.manifest}
    return {
        "scope": audit.scope.key,
        "title": audit.scope.title,
        "seed": audit.seed,
        "rolling": audit.rolling,
        "risk_limit": audit.risk_limit_pct / 100,
        "method": audit.method,
        "method_note": audit.method_note,
        "sampler": "Rivest sampler.py (2011): position = int(sha256(seed + ',' + str(i)), 16) % N + 1, with replacement",
        "manifest": [{"box": label, "station": sid, "numbers": numbers} for sid, label, numbers in audit.manifest],
        "paper_sheets": audit.paper_count,
        "box_counts": {stations.get(int(sid), sid): n for sid, n in audit.box_counts.items()},
        "assertions": audit.assertions,
        "draws": [{"counter": d.counter, "position": d.position, "box": stations.get(d.station_id),
                   "number": d.number} for d in audit.draws.all()],
        "comparisons": [{"box": stations.get(c.station_id), "number": c.number, "found": c.found,
                         "read": c.read, "recorded": c.recorded, "matches": c.matches,
                         "overstatements": c.overstatements} for c in audit.comparisons.all()],
        "state": audit.state,
        "evaluation": audit.evaluation,
        "started_at": audit.started_at.isoformat(),
    }
