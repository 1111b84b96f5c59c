"""Implement selected projects, record money, collect ratings, reports, flags and verdicts.

Every staff write checks role + place + stage (``implement`` or ``evaluate``) and is audited.
Spending never passes the allocation: a payment above it is refused until an allocation
change is approved at district level, and the check runs under a row lock so two clerks
paying at once cannot both slip under the line.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from civicbudget.accounts.permissions import permission_require
from civicbudget.audit.services import audit_record, snapshot
from civicbudget.cycles.models import Cycle
from civicbudget.delivery.models import (
    STEP_ORDER,
    AllocationChange,
    AuditFlag,
    CoFunding,
    DeputyVerdict,
    EvaluationReport,
    Implementation,
    Milestone,
    ParticipationCost,
    ProgressUpdate,
    Rating,
    Spending,
    Step,
)
from civicbudget.errors import PermissionDenied, PreconditionFailed, ServiceError
from civicbudget.identity import IdentifierError, canonical_phone, keyed_hash
from civicbudget.proposals.models import Project, ProjectType, Proposal
from civicbudget.proposals.services import _check_photo
from civicbudget.voting.models import ScopeResult, Voter, VotingScope

MAX_YUAN = 1_000_000_000
SERVICE_DEFAULT_DAYS = 365


def _yuan(value, field: str, *, allow_zero: bool = False) -> int:
    try:
        amount = int(str(value).replace(",", "").strip())
    except (TypeError, ValueError):
        raise ServiceError(_("“%(value)s” is not a whole number of yuan.") % {"value": str(value)[:30]},
                           field=field) from None
    if amount < (0 if allow_zero else 1) or amount > MAX_YUAN:
        raise ServiceError(_("The amount must be between 1 and %(max)s yuan.") % {"max": f"{MAX_YUAN:,}"},
                           field=field)
    return amount


def due_on_for(project_type: str, start: dt.date, contract_ends_on: dt.date | None = None) -> dt.date:
    """Works and goods are finished within the year; services within their contract."""
    if project_type == ProjectType.SERVICES:
        return contract_ends_on or start + dt.timedelta(days=SERVICE_DEFAULT_DAYS)
    return dt.date(start.year, 12, 31)


def _winner_costs(cycle: Cycle) -> dict[int, int]:
    costs: dict[int, int] = {}
    specs = dict(VotingScope.objects.filter(cycle=cycle).values_list("id", "spec"))
    for scope_id, winners in ScopeResult.objects.filter(scope__cycle=cycle).values_list("scope_id", "winners"):
        by_id = {p["id"]: p["cost"] for p in specs[scope_id].get("projects", [])}
        for w in winners:
            costs[int(w)] = int(float(by_id[w]))
    if not specs:
        from civicbudget.deliberation.selectors import current_costs, decided_projects

        current = current_costs(cycle)
        for p in decided_projects(cycle):
            costs[p.pk] = current.get(p.pk, 0)
    return costs


def implementations_open(*, actor, cycle: Cycle, now: dt.datetime | None = None) -> list[Implementation]:
    """Open an implementation for every selected project that has none (idempotent)."""
    if actor is not None:
        permission_require(actor, "implement", cycle.district, cycle)
    now = now or timezone.now()
    start = timezone.localtime(now).date()
    costs = _winner_costs(cycle)
    have = set(Implementation.objects.filter(cycle=cycle).values_list("project_id", flat=True))
    rows = []
    for project in Project.objects.filter(pk__in=[p for p in costs if p not in have]):
        rows.append(Implementation(project=project, cycle=cycle, body_id=project.street_id,
                                   allocation_yuan=costs[project.pk], started_at=now,
                                   due_on=due_on_for(project.project_type, start)))
    with transaction.atomic():
        Implementation.objects.bulk_create(rows, ignore_conflicts=True)
        created = list(Implementation.objects.filter(cycle=cycle, project_id__in=[r.project_id for r in rows]))
        Milestone.objects.bulk_create([Milestone(implementation=i, step=Step.APPROVAL, at=now) for i in created])
        if created:
            audit_record(actor, "implementations_open", cycle, place=cycle.district,
                         after={"projects": [i.project_id for i in created]})
    return created


def _require(actor, action: str, impl: Implementation) -> None:
    if getattr(actor, "is_contractor", False):
        _contractor_require(actor, action, impl)
        return
    permission_require(actor, action, impl.project.place, impl.cycle, target=impl)


def _contractor_require(contractor, action: str, impl: Implementation) -> None:
    """An organisation that took a project's order (partners.services.Contractor) reports on
    that project, and only that one, while the stage allows implementing."""
    from civicbudget.accounts.permissions import stage_refusal

    reason = (_("An organisation only reports on implementation.") if action != "implement"
              else contractor.refusal(impl) or stage_refusal(action, impl.cycle))
    if reason is not None:
        audit_record(contractor, action, impl, outcome="denied", place=impl.project.place, message=reason)
        raise PermissionDenied(reason)


def _user(actor):
    """The staff user behind ``actor`` for ``recorded_by`` columns (None for an organisation)."""
    return None if getattr(actor, "is_contractor", False) else actor


def implementation_advance(*, actor, implementation: Implementation, step: str, note: str = "",
                           contract_ends_on: dt.date | None = None, acceptance_group: str = "",
                           now: dt.datetime | None = None) -> Implementation:
    """Move a project to its next step (approval → … → acceptance → done)."""
    _require(actor, "implement", implementation)
    now = now or timezone.now()
    if step not in STEP_ORDER:
        raise ServiceError(_("Unknown step “%(step)s”.") % {"step": step[:30]}, field="step")
    if getattr(actor, "is_contractor", False) and step not in actor.steps:
        reason = _("Your organisation reports delivery; acceptance and completion are recorded by the "
                   "officers with the residents' supervision group.")
        audit_record(actor, "implement", implementation, outcome="denied", message=reason,
                     place=implementation.project.place)
        raise PermissionDenied(reason, field="step")
    current = STEP_ORDER.index(implementation.step)
    if STEP_ORDER.index(step) != current + 1:
        raise ServiceError(_("The project is at “%(now)s”: the next step is “%(next)s”.") % {
            "now": Step(implementation.step).label,
            "next": Step(STEP_ORDER[min(current + 1, len(STEP_ORDER) - 1)]).label}, field="step")
    before = snapshot(implementation, ["step", "due_on", "contract_ends_on", "accepted_at"])
    is_service = implementation.project.project_type == ProjectType.SERVICES
    if step == Step.CONTRACT and is_service:
        if contract_ends_on is None:
            raise ServiceError(_("A service project's contract needs its end date."), field="contract_ends_on")
        implementation.contract_ends_on = contract_ends_on
        implementation.due_on = contract_ends_on
    if step == Step.DONE:
        group = (acceptance_group or "").strip()
        if not group:
            raise ServiceError(_("Name the residents' supervision group that accepted the project."),
                               field="acceptance_group")
        implementation.acceptance_group = group[:2000]
        implementation.accepted_at = now
    implementation.step = step
    with transaction.atomic():
        implementation.save()
        Milestone.objects.create(implementation=implementation, step=step, at=now, note=note[:500],
                                 recorded_by=_user(actor))
        audit_record(actor, "implementation_advance", implementation, before=before,
                     after=snapshot(implementation, ["step", "due_on", "contract_ends_on", "accepted_at"]),
                     place=implementation.project.place, message=note[:1000])
        if step == Step.DONE:
            from civicbudget.notifications.services import project_notify

            project_notify(project=implementation.project, event="finished")  # and asks for a rating
    return implementation


def progress_add(*, actor, implementation: Implementation, text: str, percent, photo=None,
                 now: dt.datetime | None = None) -> ProgressUpdate:
    """Publish a progress update, with a photo checked to be a real image of at most 5 MB."""
    _require(actor, "implement", implementation)
    text = (text or "").strip()
    if not text:
        raise ServiceError(_("Describe the progress."), field="text")
    try:
        percent = int(percent)
    except (TypeError, ValueError):
        raise ServiceError(_("Give the percentage done, 0 to 100."), field="percent") from None
    if not 0 <= percent <= 100:
        raise ServiceError(_("Give the percentage done, 0 to 100."), field="percent")
    _check_photo(photo)
    update = ProgressUpdate(implementation=implementation, text=text[:4000], percent=percent,
                            at=now or timezone.now(), recorded_by=_user(actor))
    if photo is not None:
        update.photo.save(getattr(photo, "name", "photo.jpg").rsplit("/", 1)[-1][:80], photo, save=False)
    update.save()
    audit_record(actor, "progress_add", implementation, after={"update": update.pk, "percent": percent},
                 place=implementation.project.place)
    return update


def spent_yuan(implementation: Implementation) -> int:
    return implementation.spendings.aggregate(s=Sum("amount_yuan"))["s"] or 0


def spending_record(*, actor, implementation: Implementation, amount_yuan, payee: str,
                    description: str, spent_on: dt.date) -> Spending:
    """Record a payment; refused when it would take spending above the allocation."""
    _require(actor, "implement", implementation)
    amount = _yuan(amount_yuan, "amount_yuan")
    payee = (payee or "").strip()
    if not payee:
        raise ServiceError(_("Name who was paid."), field="payee")
    description = (description or "").strip()
    if not description:
        raise ServiceError(_("Say what the payment was for."), field="description")
    if spent_on is None:
        raise ServiceError(_("Give the date of payment."), field="spent_on")
    with transaction.atomic():
        locked = Implementation.objects.select_for_update().get(pk=implementation.pk)
        spent = spent_yuan(locked)
        if spent + amount > locked.allocation_yuan:
            raise ServiceError(
                _("Paying %(amount)s yuan would take spending to %(total)s yuan, above the allocation "
                  "of %(allocation)s yuan (%(left)s yuan left). An allocation change must be approved first.")
                % {"amount": f"{amount:,}", "total": f"{spent + amount:,}",
                   "allocation": f"{locked.allocation_yuan:,}", "left": f"{locked.allocation_yuan - spent:,}"},
                field="amount_yuan", code="above_allocation")
        spending = Spending.objects.create(implementation=locked, amount_yuan=amount, payee=payee[:100],
                                           description=description[:300], spent_on=spent_on,
                                           recorded_by=_user(actor))
        audit_record(actor, "spending_record", implementation, after=snapshot(spending),
                     place=implementation.project.place)
    return spending


def allocation_change_approve(*, actor, implementation: Implementation, to_yuan, reason: str) -> AllocationChange:
    """Approve a new allocation (district level): the only way to spend beyond the old one."""
    permission_require(actor, "implement", implementation.cycle.district, implementation.cycle,
                       target=implementation)
    to = _yuan(to_yuan, "to_yuan")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Give the reason for the change."), field="reason")
    with transaction.atomic():
        locked = Implementation.objects.select_for_update().get(pk=implementation.pk)
        if to < spent_yuan(locked):
            raise ServiceError(_("The new allocation is below what has been spent already."), field="to_yuan")
        change = AllocationChange.objects.create(implementation=locked, from_yuan=locked.allocation_yuan,
                                                 to_yuan=to, reason=reason[:500], approved_by=actor)
        locked.allocation_yuan = to
        locked.save(update_fields=["allocation_yuan"])
        audit_record(actor, "allocation_change_approve", locked,
                     before={"allocation_yuan": change.from_yuan}, after={"allocation_yuan": to},
                     place=locked.cycle.district, message=reason[:1000])
    implementation.allocation_yuan = to
    return change


def cofunding_record(*, actor, implementation: Implementation, source: str, funder: str, amount_yuan,
                     received_on: dt.date) -> CoFunding:
    _require(actor, "implement", implementation)
    if source not in CoFunding.Source.values:
        raise ServiceError(_("Choose residents, a company or a foundation."), field="source")
    funder = (funder or "").strip()
    if not funder:
        raise ServiceError(_("Name the funder."), field="funder")
    row = CoFunding.objects.create(implementation=implementation, source=source, funder=funder[:100],
                                   amount_yuan=_yuan(amount_yuan, "amount_yuan"), received_on=received_on)
    audit_record(actor, "cofunding_record", implementation, after=snapshot(row),
                 place=implementation.project.place)
    return row


def rater_is_eligible(implementation: Implementation, phone_hash: str) -> bool:
    """A resident may rate when they voted or proposed in the project's street that cycle."""
    street = implementation.project.street_id
    cycle = implementation.cycle_id
    return (Voter.objects.filter(cycle_id=cycle, community__street_id=street, phone_hash=phone_hash).exists()
            or Proposal.objects.filter(cycle_id=cycle, street_id=street, phone_hash=phone_hash).exists())


def rating_submit(*, implementation: Implementation, phone: str, code: str, score, comment: str = "",
                  client: str = "", source: str = "", now: dt.datetime | None = None) -> Rating:
    """Take one resident's 1-5 rating of a finished project, identified by an SMS code.

    Attempts are limited per client address and per phone before the code is checked.
    """
    from civicbudget import ratelimit
    from civicbudget.voting.services import otp_verify

    now = now or timezone.now()
    if not implementation.is_finished:
        raise PreconditionFailed(_("The project is not finished yet: it can be rated after acceptance."),
                                 field="project", code="not_finished")
    try:
        score = int(score)
    except (TypeError, ValueError):
        raise ServiceError(_("Give a rating from 1 to 5."), field="score") from None
    if not 1 <= score <= 5:
        raise ServiceError(_("Give a rating from 1 to 5."), field="score")
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise ServiceError(_("The comment has more than 500 characters."), field="comment")
    try:
        normalized = canonical_phone(phone, mobile_only=True)
    except IdentifierError as exc:
        raise ServiceError(str(exc), field="phone") from None
    phone_hash = keyed_hash(normalized, "phone")
    if client:
        ratelimit.require(f"rating:{ratelimit.who('client', client)}", window=ratelimit.HOUR,
                          limit=ratelimit.limit_for("rating_per_client_per_hour"), now=now,
                          message=_("Too many ratings from this network in the last hour; try again later."))
    ratelimit.require(f"rating:phone:{phone_hash[:40]}", window=ratelimit.DAY,
                      limit=ratelimit.limit_for("rating_per_phone_per_day"), now=now, field="phone",
                      message=_("Too many ratings from this phone today; try again tomorrow."))
    if not otp_verify(phone=normalized, code=code, now=now):
        raise ServiceError(_("The code is wrong or has expired; ask for a new one."), field="code")
    if not rater_is_eligible(implementation, phone_hash):
        raise PermissionDenied(_("Only residents who voted or made a proposal in %(street)s this cycle "
                                 "can rate this project.") % {"street": implementation.project.street.name},
                               field="phone")
    try:
        with transaction.atomic():
            rating = Rating.objects.create(implementation=implementation, phone_hash=phone_hash,
                                           score=score, comment=comment, at=now, source=source[:40])
    except IntegrityError:
        raise ServiceError(_("You have rated this project already: one rating per resident."),
                           field="phone", code="already_rated") from None
    return rating


def report_add(*, actor, cycle: Cycle, evaluator: str, score, summary: str,
               implementation: Implementation | None = None) -> EvaluationReport:
    """Publish a third-party evaluation report with its 0-100 score."""
    permission_require(actor, "evaluate", implementation.project.place if implementation else cycle.district,
                       cycle)
    evaluator = (evaluator or "").strip()
    if not evaluator:
        raise ServiceError(_("Name the evaluator."), field="evaluator")
    try:
        score = int(score)
    except (TypeError, ValueError):
        raise ServiceError(_("Give a score from 0 to 100."), field="score") from None
    if not 0 <= score <= 100:
        raise ServiceError(_("Give a score from 0 to 100."), field="score")
    summary = (summary or "").strip()
    if not summary:
        raise ServiceError(_("Summarise the report."), field="summary")
    report = EvaluationReport.objects.create(cycle=cycle, implementation=implementation,
                                             evaluator=evaluator[:100], score=score, summary=summary,
                                             recorded_by=actor)
    audit_record(actor, "report_add", report, after=snapshot(report), place=cycle.district)
    return report


def flag_raise(*, actor, implementation: Implementation, severity: str, finding: str) -> AuditFlag:
    _require(actor, "evaluate", implementation)
    if severity not in AuditFlag.Severity.values:
        raise ServiceError(_("Choose a severity."), field="severity")
    finding = (finding or "").strip()
    if not finding:
        raise ServiceError(_("Describe the finding."), field="finding")
    flag = AuditFlag.objects.create(implementation=implementation, severity=severity, finding=finding,
                                    raised_by=actor)
    audit_record(actor, "flag_raise", flag, after=snapshot(flag), place=implementation.project.place)
    return flag


def flag_resolve(*, actor, flag: AuditFlag, resolution: str, now: dt.datetime | None = None) -> AuditFlag:
    """Record how an audit flag was dealt with; the flag and its resolution both stay public."""
    _require(actor, "evaluate", flag.implementation)
    resolution = (resolution or "").strip()
    if not resolution:
        raise ServiceError(_("Describe how the finding was resolved."), field="resolution")
    before = snapshot(flag, ["resolution", "resolved_at"])
    flag.resolution = resolution[:4000]
    flag.resolved_at = now or timezone.now()
    flag.save(update_fields=["resolution", "resolved_at"])
    audit_record(actor, "flag_resolve", flag, before=before, after=snapshot(flag, ["resolution", "resolved_at"]),
                 place=flag.implementation.project.place)
    return flag


def verdict_record(*, actor, implementation: Implementation, deputy: str, verdict: str) -> DeputyVerdict:
    """Record a deputy's verdict on delivery (福田 票评); a second verdict replaces the first."""
    _require(actor, "evaluate", implementation)
    deputy = (deputy or "").strip()
    if not deputy:
        raise ServiceError(_("Name the deputy."), field="deputy")
    if verdict not in DeputyVerdict.Verdict.values:
        raise ServiceError(_("Choose satisfied, fairly satisfied or not satisfied."), field="verdict")
    row, _created = DeputyVerdict.objects.update_or_create(implementation=implementation, deputy=deputy[:50],
                                                           defaults={"verdict": verdict})
    audit_record(actor, "verdict_record", implementation, after={"deputy": deputy, "verdict": verdict},
                 place=implementation.project.place)
    return row


def cost_record(*, actor, cycle: Cycle, kind: str, description: str, amount_yuan,
                hours=None) -> ParticipationCost:
    """Record what participation itself cost (published as cost per participant)."""
    permission_require(actor, "manage_cycles", cycle.district)
    if kind not in ParticipationCost.Kind.values:
        raise ServiceError(_("Choose the kind of cost."), field="kind")
    description = (description or "").strip()
    if not description:
        raise ServiceError(_("Describe the cost."), field="description")
    if hours not in (None, ""):
        try:
            hours = int(hours)
        except (TypeError, ValueError):
            raise ServiceError(_("Give whole hours."), field="hours") from None
    else:
        hours = None
    row = ParticipationCost.objects.create(cycle=cycle, kind=kind, description=description[:200],
                                           hours=hours, amount_yuan=_yuan(amount_yuan, "amount_yuan"),
                                           recorded_by=actor)
    audit_record(actor, "cost_record", cycle, after=snapshot(row), place=cycle.district)
    return row
