"""Create and configure cycles, set budget pools, and advance stages.

Advancing is the one way a cycle moves: ``stage_advance`` checks the preconditions of
leaving the running stage and entering the next, and says which one failed. Other apps
add their own preconditions with ``register_precondition`` (e.g. a frozen ballot before
voting opens).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicbudget.accounts.permissions import permission_require
from civicbudget.audit.services import audit_record, snapshot
from civicbudget.cycles.models import BudgetPool, Cycle, Stage
from civicbudget.cycles.templates import templates
from civicbudget.errors import PreconditionFailed, ServiceError
from civicbudget.params import is_number
from civicbudget.places.models import Community, District, Street

MAX_POOL_YUAN = 10_000_000_000  # ten billion yuan: anything above is a typing error


@dataclass(frozen=True)
class Failure:
    code: str
    message: str


#: (moment, kind) -> checks; moment is "leave" or "enter". A check returns failures.
Precondition = Callable[[Cycle, Stage, dt.datetime], list[Failure]]
_PRECONDITIONS: dict[tuple[str, str], list[Precondition]] = {}


#: (moment, kind) -> actions run inside the advancing transaction, after the stamps
#: (e.g. freeze the ballots when voting opens, count when it closes).
Hook = Callable[[Cycle, Stage, dt.datetime], None]
_HOOKS: dict[tuple[str, str], list[Hook]] = {}


def register_transition_hook(moment: str, kind: str, hook: Hook) -> None:
    """Run ``hook(cycle, stage, now)`` when a stage of ``kind`` is left or entered."""
    if moment not in {"leave", "enter"}:
        raise ValueError(moment)
    if hook not in _HOOKS.setdefault((moment, kind), []):
        _HOOKS[(moment, kind)].append(hook)


def register_precondition(moment: str, kind: str, check: Precondition) -> None:
    """Add a check run when a stage of ``kind`` is left or entered.

    ``check(cycle, stage, now)`` returns the failures; ``now`` is the moment of the transition.
    """
    if moment not in {"leave", "enter"}:
        raise ValueError(moment)
    _PRECONDITIONS.setdefault((moment, kind), []).append(check)


def cycle_create(*, actor, district: District, template_key: str, name: str, year: int,
                 name_en: str = "", starts_on: dt.date | None = None,
                 total_budget_yuan: int | None = None) -> Cycle:
    """Create a cycle with its stage rows laid out from a template."""
    permission_require(actor, "manage_cycles", district)
    template = templates().get(template_key)
    if template is None:
        raise ServiceError(_("Unknown template “%(key)s”.") % {"key": template_key},
                           field="template_key")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ServiceError(_("Give the cycle a name of 1 to 200 characters."), field="name")
    if not 2000 <= int(year) <= 2100:
        raise ServiceError(_("The year %(year)s is out of range.") % {"year": year}, field="year")
    if total_budget_yuan is not None and not 0 < int(total_budget_yuan) <= MAX_POOL_YUAN * 100:
        raise ServiceError(_("The total budget must be a positive number of yuan."),
                           field="total_budget_yuan")
    if Cycle.objects.filter(district=district, name=name).exists():
        raise ServiceError(_("%(district)s already has a cycle named %(name)s.")
                           % {"district": district, "name": name}, field="name", code="duplicate")
    tz = timezone.get_current_timezone()
    start = starts_on or timezone.localdate()
    with transaction.atomic():
        cycle = Cycle.objects.create(
            district=district, name=name, name_en=name_en, year=year, template_key=template_key,
            config=copy.deepcopy(template.config), total_budget_yuan=total_budget_yuan,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        day = start
        for order, spec in enumerate(template.stages, start=1):
            opens = dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)
            day = day + dt.timedelta(days=spec.days)
            closes = dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)
            Stage.objects.create(cycle=cycle, order=order, kind=spec.kind, name=spec.name,
                                 name_en=spec.name_en, opens_at=opens, closes_at=closes)
        audit_record(actor, "cycle_create", cycle, after=snapshot(cycle), place=district)
    return cycle


def cycle_set_participants(*, actor, cycle: Cycle, streets: list[Street],
                           communities: list[Community]) -> Cycle:
    """Set which streets and communities take part (while the cycle is configured)."""
    permission_require(actor, "configure", cycle.district, cycle)
    bad = [s for s in streets if s.district_id != cycle.district_id]
    bad += [c for c in communities if c.street.district_id != cycle.district_id]
    if bad:
        raise ServiceError(_("%(place)s is not in %(district)s.")
                           % {"place": bad[0], "district": cycle.district}, field="communities")
    street_ids = {s.pk for s in streets}
    orphans = [c for c in communities if c.street_id not in street_ids]
    if orphans:
        raise ServiceError(_("%(community)s takes part but its street %(street)s does not.")
                           % {"community": orphans[0], "street": orphans[0].street},
                           field="communities")
    before = {"streets": sorted(cycle.streets.values_list("pk", flat=True)),
              "communities": sorted(cycle.communities.values_list("pk", flat=True))}
    with transaction.atomic():
        cycle.streets.set(streets)
        cycle.communities.set(communities)
        # A pool for a place that no longer takes part would be money nobody can vote on.
        cycle.pools.filter(level="street").exclude(street__in=streets).delete()
        cycle.pools.filter(level="community").exclude(community__in=communities).delete()
        audit_record(actor, "cycle_set_participants", cycle, before=before,
                     after={"streets": sorted(street_ids),
                            "communities": sorted(c.pk for c in communities)},
                     place=cycle.district)
    return cycle


def _clean_amount(amount: int | str) -> int:
    text = str(amount).replace(",", "").strip()
    if not is_number(text, minimum=-(2**63)):
        raise ServiceError(_("The amount must be a whole number of yuan, not “%(value)s”.")
                           % {"value": amount}, field="amount_yuan")
    value = int(text)
    if value <= 0:
        raise ServiceError(_("The amount must be more than 0 yuan."), field="amount_yuan")
    if value > MAX_POOL_YUAN:
        raise ServiceError(_("The amount %(value)s yuan is not plausible for one pool.")
                           % {"value": value}, field="amount_yuan")
    return value


def pool_set(*, actor, cycle: Cycle, place: Street | Community, amount_yuan: int | str) -> BudgetPool:
    """Create or change the budget pool of a participating street or community."""
    permission_require(actor, "configure", place, cycle)
    amount = _clean_amount(amount_yuan)
    if isinstance(place, Street):
        level, lookup = BudgetPool.Level.STREET, {"street": place}
        if "street" not in cycle.levels():
            raise ServiceError(_("This cycle has no street-level pools."), field="level")
        if not cycle.streets.filter(pk=place.pk).exists():
            raise ServiceError(_("%(place)s does not take part in this cycle.") % {"place": place})
    else:
        level, lookup = BudgetPool.Level.COMMUNITY, {"community": place}
        if "community" not in cycle.levels():
            raise ServiceError(_("This cycle has no community-level pools."), field="level")
        if not cycle.communities.filter(pk=place.pk).exists():
            raise ServiceError(_("%(place)s does not take part in this cycle.") % {"place": place})
    with transaction.atomic():
        pool = BudgetPool.objects.select_for_update().filter(cycle=cycle, level=level, **lookup).first()
        before = snapshot(pool) if pool else None
        others = (cycle.pools.exclude(pk=pool.pk) if pool else cycle.pools.all())
        total = sum(others.values_list("amount_yuan", flat=True)) + amount
        if cycle.total_budget_yuan is not None and total > cycle.total_budget_yuan:
            raise ServiceError(
                _("The pools would add up to %(total)s yuan, more than the cycle's %(budget)s.")
                % {"total": f"{total:,}", "budget": f"{cycle.total_budget_yuan:,}"},
                field="amount_yuan",
            )
        if pool is None:
            pool = BudgetPool.objects.create(cycle=cycle, level=level, amount_yuan=amount, **lookup)
        else:
            pool.amount_yuan = amount
            pool.save(update_fields=["amount_yuan"])
        audit_record(actor, "pool_set", pool, before=before, after=snapshot(pool), place=place)
    return pool


def stage_reschedule(*, actor, stage: Stage, opens_at: dt.datetime | None,
                     closes_at: dt.datetime | None) -> Stage:
    """Change a stage's planned window (not the stamps of what already happened)."""
    permission_require(actor, "manage_cycles", stage.cycle.district)
    if stage.finished_at:
        raise ServiceError(_("The stage is over: its window can no longer change."))
    for value, name in ((opens_at, "opens_at"), (closes_at, "closes_at")):
        if value is not None and timezone.is_naive(value):
            raise ServiceError(_("Give the time with its time zone."), field=name)
    if opens_at and closes_at and closes_at <= opens_at:
        raise ServiceError(_("The stage must close after it opens."), field="closes_at")
    before = snapshot(stage)
    with transaction.atomic():
        stage.opens_at, stage.closes_at = opens_at, closes_at
        stage.save(update_fields=["opens_at", "closes_at"])
        audit_record(actor, "stage_reschedule", stage, before=before, after=snapshot(stage),
                     place=stage.cycle.district)
    return stage


def _launch_ready(cycle: Cycle, stage: Stage, now: dt.datetime) -> list[Failure]:
    failures = []
    levels = cycle.levels()
    streets = list(cycle.streets.all())
    communities = list(cycle.communities.all())
    if not streets and not communities:
        failures.append(Failure("no_participants", _("No street or community takes part yet.")))
    pools = list(cycle.pools.all())
    if "street" in levels:
        have = {p.street_id for p in pools if p.level == "street"}
        missing = [s.name for s in streets if s.pk not in have]
        if missing:
            failures.append(Failure("street_pool_missing", _("No street-level pool for: %(names)s.")
                                    % {"names": "、".join(missing)}))
    if "community" in levels:
        have = {p.community_id for p in pools if p.level == "community"}
        missing = [c.name for c in communities if c.pk not in have]
        if missing:
            failures.append(Failure("community_pool_missing",
                                    _("No community-level pool for: %(names)s.")
                                    % {"names": "、".join(missing)}))
    return failures


register_precondition("leave", "launch", _launch_ready)


def _check_transition(cycle: Cycle, leaving: Stage | None, entering: Stage | None,
                      now: dt.datetime) -> list[Failure]:
    failures: list[Failure] = []
    if leaving is not None:
        for check in _PRECONDITIONS.get(("leave", leaving.kind), []):
            failures.extend(check(cycle, leaving, now))
    if entering is not None:
        for check in _PRECONDITIONS.get(("enter", entering.kind), []):
            failures.extend(check(cycle, entering, now))
    return failures


def stage_advance(*, actor, cycle: Cycle, reason: str = "", now: dt.datetime | None = None,
                  expected_stage_id: int | None = None) -> Stage | None:
    """Finish the running stage and start the next; return the stage now running.

    A draft cycle starts its first stage. Closing a stage before its planned close needs
    a reason, which goes in the audit trail. Raises ``PreconditionFailed`` listing every
    failed precondition. ``expected_stage_id`` (the stage the caller saw running, 0 for a
    draft) makes a double click or two officials at once move the cycle only one step.
    """
    permission_require(actor, "manage_cycles", cycle.district)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            # Lock the cycle so two officials pressing "advance" at once move it one step.
            cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
            stages = list(cycle.stages.order_by("order"))
            current = next((s for s in stages if s.started_at and not s.finished_at), None)
            if current is None and stages and stages[-1].finished_at:
                raise PreconditionFailed(_("The cycle is finished: there is no next stage."),
                                         code="cycle_finished")
            if current is None:
                entering = stages[0] if stages else None
            else:
                following = [s for s in stages if s.order > current.order]
                entering = following[0] if following else None
            if entering is None and current is None:
                raise PreconditionFailed(_("The cycle has no stages."), code="no_stages")
            if expected_stage_id is not None and expected_stage_id != (current.pk if current else 0):
                raise PreconditionFailed(
                    _("The cycle has moved on already: “%(stage)s” is running now.")
                    % {"stage": current.name if current else _("draft")},
                    code="stage_moved_on",
                )
            failures = []
            if current is not None and current.closes_at and now < current.closes_at and not reason.strip():
                failures.append(Failure(
                    "closes_later",
                    _("“%(stage)s” is planned to close on %(when)s; give a reason to close it early.")
                    % {"stage": current.name,
                       "when": timezone.localtime(current.closes_at).strftime("%Y-%m-%d %H:%M")},
                ))
            failures.extend(_check_transition(cycle, current, entering, now))
            if failures:
                raise PreconditionFailed(
                    _("The cycle cannot move on: %(reasons)s") % {"reasons": " ".join(f.message for f in failures)},
                    details=[{"code": f.code, "message": f.message} for f in failures],
                )
            before = {"stage": current.kind if current else None}
            if current is not None:
                current.finished_at = now
                current.save(update_fields=["finished_at"])
            if entering is not None:
                entering.started_at = now
                entering.save(update_fields=["started_at"])
            if current is not None:
                for hook in _HOOKS.get(("leave", current.kind), []):
                    hook(cycle, current, now)
            if entering is not None:
                for hook in _HOOKS.get(("enter", entering.kind), []):
                    hook(cycle, entering, now)
            audit_record(actor, "stage_advance", cycle, before=before,
                         after={"stage": entering.kind if entering else None}, place=cycle.district,
                         message=reason.strip()[:1000])
    except PreconditionFailed as exc:
        # Recorded after the rollback, so the refusal stays in the trail.
        audit_record(actor, "stage_advance", cycle, outcome="denied", place=cycle.district,
                     message=exc.message)
        raise
    return entering
