"""Writes of the deliberation steps. Each checks role, place and stage, refuses bad input
naming the field (nothing changed), and leaves an audit event.

Who does what (see docs/deliberation.md): street officers screen, route, cost and build
ballots ("screen"); department reviewers review ("review"); community and street officers
run roundtables and bodies ("deliberate"); district admins set the criteria ("configure").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicbudget.accounts.permissions import permission_require
from civicbudget.audit.services import audit_record, snapshot
from civicbudget.cycles.models import BudgetPool, Cycle
from civicbudget.deliberation.models import (
    Ballot,
    BallotItem,
    Body,
    BodyMember,
    ProjectCost,
    Promotion,
    Review,
    ReviewPhoto,
    Roundtable,
    RoundtableTally,
    Screening,
    Sitting,
    SittingResult,
    SittingVote,
    criterion_label,
)
from civicbudget.deliberation.workdays import add_working_days, parse_holidays
from civicbudget.errors import PreconditionFailed, ServiceError
from civicbudget.places.models import Community, Department, Street
from civicbudget.proposals.models import Project
from civicbudget.proposals.services import _check_photo, _photo_suffix
from civicbudget.tally.constraints import (
    CategoryBound,
    ConstraintError,
    Constraints,
    category_key,
    project_categories,
)

MAX_COST_YUAN = 10_000_000_000
REASON_MAX = 500
DEFAULT_REVIEW_DAYS = 5
DEFAULT_NOTICE_DAYS = 7
DEFAULT_SHORTLIST = {"top_n": 5}
DEFAULT_BALLOT = {"kind": "approval", "max_choices": 5}
_CRITERION_KEY = re.compile(r"^\S.{0,59}$")


# -- shared checks ----------------------------------------------------------------------------


def clean_yuan(value, *, field: str) -> int:
    """Return ``value`` as a whole positive number of yuan, or raise naming ``field``."""
    text = str(value if value is not None else "").replace(",", "").strip()
    if not re.fullmatch(r"-?\d+", text):
        raise ServiceError(_("%(field)s must be a whole number of yuan, not “%(value)s”.")
                           % {"field": field, "value": str(value)[:30]}, field=field)
    amount = int(text)
    if amount <= 0:
        raise ServiceError(_("%(field)s must be more than 0 yuan.") % {"field": field}, field=field)
    if amount > MAX_COST_YUAN:
        raise ServiceError(_("%(field)s of %(value)s yuan is not plausible.")
                           % {"field": field, "value": amount}, field=field)
    return amount


def project_pool(project: Project) -> BudgetPool | None:
    """Return the pool a project draws on: its community's, or its street's once promoted."""
    if project.level == Project.Level.COMMUNITY:
        return BudgetPool.objects.filter(cycle_id=project.cycle_id, level="community",
                                         community_id=project.community_id).first()
    return BudgetPool.objects.filter(cycle_id=project.cycle_id, level="street",
                                     street_id=project.street_id).first()


def _frozen_ballot_of(project: Project) -> Ballot | None:
    item = (BallotItem.objects.select_related("ballot")
            .filter(project=project, ballot__frozen_at__isnull=False).first())
    return item.ballot if item else None


def _refuse_if_on_frozen_ballot(project: Project) -> None:
    ballot = _frozen_ballot_of(project)
    if ballot is not None:
        raise PreconditionFailed(
            _("“%(project)s” is on the ballot of %(scope)s, frozen and published on %(when)s: "
              "it can no longer change.")
            % {"project": project.name, "scope": ballot,
               "when": timezone.localtime(ballot.frozen_at).strftime("%Y-%m-%d %H:%M")},
            code="ballot_frozen")


def _active_project(project: Project) -> None:
    if not project.is_active:
        raise ServiceError(_("“%(project)s” is no longer an active project.")
                           % {"project": project.name}, field="project")


# -- screening --------------------------------------------------------------------------------


def screening_criteria(cycle: Cycle) -> list[str]:
    return list(cycle.config.get("screening_criteria") or [])


def screening_criteria_set(*, actor, cycle: Cycle, criteria: Iterable[str]) -> list[str]:
    """Set the cycle's published screening criteria (while the cycle is being configured)."""
    permission_require(actor, "configure", cycle.district, cycle)
    cleaned: list[str] = []
    for raw in criteria:
        value = str(raw or "").strip()
        if not value:
            continue
        if not _CRITERION_KEY.match(value):
            raise ServiceError(_("A criterion has 1 to 60 characters: “%(value)s”.")
                               % {"value": value[:70]}, field="screening_criteria")
        if value in cleaned:
            raise ServiceError(_("The criterion “%(value)s” is listed twice.") % {"value": value},
                               field="screening_criteria")
        cleaned.append(value)
    if not cleaned:
        raise ServiceError(_("List at least one screening criterion."), field="screening_criteria")
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
        before = {"screening_criteria": screening_criteria(cycle)}
        cycle.config["screening_criteria"] = cleaned
        cycle.save(update_fields=["config"])
        audit_record(actor, "screening_criteria_set", cycle, before=before,
                     after={"screening_criteria": cleaned}, place=cycle.district)
    return cleaned


# -- category floors and caps of the count -----------------------------------------------------


def category_bounds(cycle: Cycle, scope_key: str = "*") -> dict[str, list[str]]:
    """Return the floors and caps (``NAME=SHARE`` lines) that count ``scope_key``'s ballot.

    ``config["category_bounds"]`` maps ``"*"`` (every ballot) or a ballot key
    (``community:12``) to ``{"min": [...], "max": [...]}``; a ballot's own entry replaces
    ``"*"``. Shares are of each ballot's budget (docs/tally.md).
    """
    table = cycle.config.get("category_bounds") or {}
    entry = table.get(scope_key) or table.get("*") or {}
    return {"min": list(entry.get("min") or []), "max": list(entry.get("max") or [])}


def parse_category_bounds(lines: Iterable[str], field: str) -> list[CategoryBound]:
    """Parse ``NAME=SHARE`` lines; raise a ServiceError naming ``field`` and the line."""
    option = "--category-min" if field == "category_min" else "--category-max"
    bounds: list[CategoryBound] = []
    for raw in lines:
        text = str(raw or "").strip()
        if not text:
            continue
        try:
            bounds.append(CategoryBound.parse(text, option))
        except ConstraintError:
            raise ServiceError(
                _("“%(value)s” is not THEME=SHARE (a share such as 0.2 or 20%%, or an amount in yuan).")
                % {"value": text[:80]}, field=field) from None
    if len(bounds) > 20:
        raise ServiceError(_("At most 20 floors or caps."), field=field)
    return bounds


def scope_rule_bounds(cycle: Cycle, scope_key: str, themes: Iterable[str]
                      ) -> tuple[tuple[CategoryBound, ...], tuple[CategoryBound, ...]]:
    """Return (floors, caps) for one ballot; a cap on a theme none of its projects has is dropped."""
    conf = category_bounds(cycle, scope_key)
    present = {c for t in themes for c in project_categories(t)}
    floors = tuple(parse_category_bounds(conf["min"], "category_min"))
    caps = tuple(b for b in parse_category_bounds(conf["max"], "category_max")
                 if category_key(b.category) in present)
    return floors, caps


def _check_ballot_bounds(ballot: Ballot, floors, caps, costs: Mapping[int, int] | None = None) -> None:
    """Raise a ServiceError naming the floor or cap that this ballot's projects cannot meet."""
    if not floors and not caps:
        return
    items = list(ballot.items.select_related("project"))
    present = {c for i in items for c in project_categories(i.project.theme)}
    caps = [b for b in caps if category_key(b.category) in present]
    budget = ballot.budget_yuan
    try:
        Constraints([(costs or {}).get(i.project_id, i.cost_yuan) for i in items],
                    [i.project.theme for i in items], budget,
                    [CategoryBound(b.category, b.amount(budget), False) for b in floors],
                    [CategoryBound(b.category, b.amount(budget), False) for b in caps]).check()
    except ConstraintError as exc:
        scope, category = str(ballot), exc.category
        messages = {
            "unknown-category": _("No project on the ballot of %(scope)s has the theme “%(category)s”."),
            "floor-above-cap": _("The floor of “%(category)s” is above its cap."),
            "floor-above-budget": _("The floor of “%(category)s” is more than the budget of %(scope)s."),
            "floor-above-projects": _("The projects of “%(category)s” on the ballot of %(scope)s cost "
                                      "less than its floor."),
        }
        message = messages.get(exc.kind, _("The floors of %(category)s cannot all be met within the "
                                           "budget of %(scope)s."))
        raise ServiceError(message % {"scope": scope, "category": category},
                           field="category_min", code="category_bounds") from None


def category_bounds_set(*, actor, cycle: Cycle, floors: Iterable[str], caps: Iterable[str],
                        scope_key: str = "*") -> dict[str, list[str]]:
    """Set the category floors and caps of the count for every ballot (``*``) or one.

    Each line is ``THEME=SHARE`` (0.2, 20%) or ``THEME=AMOUNT`` (yuan); a project counts
    toward the themes of its ``theme`` field. Refused with a field error when malformed, or
    when a ballot already prepared could not meet them.
    """
    permission_require(actor, "configure", cycle.district, cycle)
    if scope_key != "*" and not re.fullmatch(r"(street|community):\d{1,12}", scope_key):
        raise ServiceError(_("Unknown ballot."), field="scope")
    floor_lines = [str(x).strip() for x in floors if str(x or "").strip()]
    cap_lines = [str(x).strip() for x in caps if str(x or "").strip()]
    floor_b = parse_category_bounds(floor_lines, "category_min")
    cap_b = parse_category_bounds(cap_lines, "category_max")
    from civicbudget.deliberation.selectors import ballot_key, ballots_for_cycle

    table = dict(cycle.config.get("category_bounds") or {})
    for view in ballots_for_cycle(cycle, frozen_only=False):
        key = ballot_key(view)
        if scope_key not in ("*", key) or (scope_key == "*" and key in table):
            continue
        _check_ballot_bounds(Ballot.objects.get(pk=view.id), floor_b, cap_b)
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
        table = dict(cycle.config.get("category_bounds") or {})
        before = {"category_bounds": dict(table)}
        if floor_lines or cap_lines:
            table[scope_key] = {"min": floor_lines, "max": cap_lines}
        else:
            table.pop(scope_key, None)
        cycle.config["category_bounds"] = table
        cycle.save(update_fields=["config"])
        audit_record(actor, "category_bounds_set", cycle, before=before,
                     after={"category_bounds": table}, place=cycle.district)
    return {"min": floor_lines, "max": cap_lines}


# -- stakeholder weights ---------------------------------------------------------------------

#: The largest stakeholder weight a cycle may set (the ledger accepts up to 10; a district
#: that wants more than 5 should rather give the community its own budget).
MAX_STAKEHOLDER_WEIGHT = 5


def stakeholder_weight(cycle: Cycle) -> int | None:
    """Return the cycle's stakeholder weight (2..5), None when every vote counts once."""
    value = (cycle.config or {}).get("stakeholder_weight")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 2 else None


def stakeholder_weight_set(*, actor, cycle: Cycle, weight) -> int | None:
    """Set how many times a resident's vote counts for a street project serving their own
    community (``None`` or 1: once, like everyone's). Refused once voting has opened: the
    ballots are frozen with the weight (docs/voting.md#stakeholder-weights)."""
    permission_require(actor, "configure", cycle.district, cycle)
    text = str(weight if weight is not None else "").strip()
    if text in ("", "1"):
        value = None
    elif text.isascii() and text.isdigit() and 2 <= int(text) <= MAX_STAKEHOLDER_WEIGHT:
        value = int(text)
    else:
        raise ServiceError(_("The weight is a whole number from 1 to %(max)d.") % {"max": MAX_STAKEHOLDER_WEIGHT},
                           field="stakeholder_weight")
    from civicbudget.voting.models import VotingScope

    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
        if VotingScope.objects.filter(cycle=cycle).exists():
            raise PreconditionFailed(_("Voting has opened: the ballots and their weights are frozen."),
                                     code="ballot_frozen")
        before = {"stakeholder_weight": cycle.config.get("stakeholder_weight")}
        if value is None:
            cycle.config.pop("stakeholder_weight", None)
        else:
            cycle.config["stakeholder_weight"] = value
        cycle.save(update_fields=["config"])
        audit_record(actor, "stakeholder_weight_set", cycle, before=before,
                     after={"stakeholder_weight": value}, place=cycle.district)
    return value


def screening_record(*, actor, project: Project, results: Mapping[str, tuple[bool, str]],
                     now: dt.datetime | None = None) -> Screening:
    """Record pass/fail with a reason for every criterion of the cycle.

    ``results`` maps each criterion to ``(passed, reason)``. A failed criterion needs its
    reason: it is what the proposers behind the project will read.
    """
    cycle = project.cycle
    permission_require(actor, "screen", project.place, cycle, target=project)
    _active_project(project)
    criteria = screening_criteria(cycle)
    if not criteria:
        raise PreconditionFailed(_("This cycle publishes no screening criteria."),
                                 code="no_criteria")
    unknown = [k for k in results if k not in criteria]
    if unknown:
        raise ServiceError(_("“%(key)s” is not one of this cycle's screening criteria.")
                           % {"key": unknown[0]}, field=f"criteria.{unknown[0]}")
    clean: dict[str, dict] = {}
    for key in criteria:
        if key not in results:
            raise ServiceError(_("Say whether the project meets “%(criterion)s”.")
                               % {"criterion": criterion_label(key)}, field=f"criteria.{key}")
        passed, reason = results[key]
        reason = (reason or "").strip()
        if len(reason) > REASON_MAX:
            raise ServiceError(_("The reason for “%(criterion)s” has more than %(max)d characters.")
                               % {"criterion": criterion_label(key), "max": REASON_MAX},
                               field=f"criteria.{key}")
        if not passed and not reason:
            raise ServiceError(_("Give the reason the project fails “%(criterion)s”: the "
                                 "proposers will read it.") % {"criterion": criterion_label(key)},
                               field=f"criteria.{key}")
        clean[key] = {"passed": bool(passed), "reason": reason}
    failed = [k for k in criteria if not clean[k]["passed"]]
    _refuse_if_on_frozen_ballot(project)
    now = now or timezone.now()
    with transaction.atomic():
        existing = Screening.objects.select_for_update().filter(project=project).first()
        before = snapshot(existing) if existing else None
        screening = existing or Screening(project=project, cycle=cycle)
        screening.is_passed = not failed
        screening.results = clean
        screening.reason_code = failed[0] if failed else ""
        screening.reason = clean[failed[0]]["reason"] if failed else ""
        screening.screened_by = actor if getattr(actor, "is_authenticated", False) else None
        screening.screened_at = now
        screening.save()
        audit_record(actor, "screening_record", project, before=before, after=snapshot(screening),
                     place=project.place)
    return screening


# -- department review ------------------------------------------------------------------------


def review_route(*, actor, project: Project, departments: list[Department],
                 today: dt.date | None = None) -> list[Review]:
    """Route a project to departments; each is due in the cycle's working days (Longgang: 5)."""
    cycle = project.cycle
    permission_require(actor, "screen", project.place, cycle, target=project)
    _active_project(project)
    if not departments:
        raise ServiceError(_("Choose at least one department."), field="departments")
    foreign = [d for d in departments if d.district_id != cycle.district_id]
    if foreign:
        raise ServiceError(_("%(department)s is not a department of %(district)s.")
                           % {"department": foreign[0], "district": cycle.district},
                           field="departments")
    already = set(Review.objects.filter(project=project, department__in=departments)
                  .values_list("department__name", flat=True))
    if already:
        raise ServiceError(_("“%(project)s” is already routed to %(names)s.")
                           % {"project": project.name, "names": "、".join(sorted(already))},
                           field="departments", code="duplicate")
    days = int(cycle.config.get("review_due_working_days") or DEFAULT_REVIEW_DAYS)
    today = today or timezone.localdate()
    due = add_working_days(today, days, parse_holidays(cycle.config.get("holidays", [])))
    with transaction.atomic():
        reviews = []
        for department in departments:
            review = Review.objects.create(project=project, cycle=cycle, department=department,
                                           routed_by=actor, due_on=due)
            audit_record(actor, "review_route", review, after=snapshot(review), place=project.place)
            reviews.append(review)
    return reviews


def review_record(*, actor, review: Review, opinion: str, estimated_cost_yuan=None,
                  notes: str = "", photos: list | None = None,
                  now: dt.datetime | None = None) -> Review:
    """Record a department's feasibility opinion, estimate, notes and site survey photos."""
    permission_require(actor, "review", review.department, review.cycle, target=review)
    if opinion not in Review.Opinion.values:
        raise ServiceError(_("Choose an opinion: feasible, feasible with conditions or not feasible."),
                           field="opinion")
    estimate = None
    if estimated_cost_yuan not in (None, ""):
        estimate = clean_yuan(estimated_cost_yuan, field="estimated_cost_yuan")
    notes = (notes or "").strip()
    if len(notes) > 4000:
        raise ServiceError(_("The notes have more than 4000 characters."), field="notes")
    if opinion != Review.Opinion.FEASIBLE and not notes:
        raise ServiceError(_("Say in the notes what makes the project conditional or not feasible."),
                           field="notes")
    photos = list(photos or [])
    if len(photos) > 10:
        raise ServiceError(_("At most 10 photos per review."), field="photos")
    for photo in photos:
        _check_photo(photo)
    now = now or timezone.now()
    with transaction.atomic():
        before = snapshot(review)
        review.opinion, review.estimated_cost_yuan, review.notes = opinion, estimate, notes
        review.reviewed_by, review.reviewed_at = actor, now
        review.save()
        for photo in photos:
            item = ReviewPhoto(review=review)
            item.photo.save(f"r{review.pk}-{now:%H%M%S%f}{_photo_suffix(photo)}",
                            ContentFile(photo.read()), save=True)
        audit_record(actor, "review_record", review, before=before,
                     after={**snapshot(review), "photos": len(photos)},
                     place=review.department)
    return review


# -- costing ----------------------------------------------------------------------------------


def cost_set(*, actor, project: Project, amount_yuan, reason: str = "",
             now: dt.datetime | None = None) -> ProjectCost:
    """Set a project's final cost (integer yuan, more than 0, not above its pool); keep history."""
    cycle = project.cycle
    permission_require(actor, "screen", project.place, cycle, target=project)
    _active_project(project)
    amount = clean_yuan(amount_yuan, field="cost_yuan")
    pool = project_pool(project)
    if pool is None:
        raise PreconditionFailed(_("%(place)s has no pool in this cycle.") % {"place": project.place},
                                 code="no_pool")
    if amount > pool.amount_yuan:
        raise ServiceError(_("%(amount)s yuan is more than the %(pool)s yuan pool of %(place)s.")
                           % {"amount": f"{amount:,}", "pool": f"{pool.amount_yuan:,}",
                              "place": pool.place}, field="cost_yuan")
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ServiceError(_("The reason has more than %(max)d characters.") % {"max": REASON_MAX},
                           field="reason")
    _refuse_if_on_frozen_ballot(project)
    with transaction.atomic():
        previous = project.costs.first()
        cost = ProjectCost.objects.create(project=project, cycle=cycle, amount_yuan=amount,
                                          reason=reason, set_by=actor, set_at=now or timezone.now())
        audit_record(actor, "cost_set", project,
                     before={"cost_yuan": previous.amount_yuan} if previous else None,
                     after={"cost_yuan": amount, "reason": reason}, place=project.place)
    return cost


# -- roundtables ------------------------------------------------------------------------------


def shortlist_rule(cycle: Cycle) -> dict:
    rule = cycle.config.get("shortlist") or DEFAULT_SHORTLIST
    return dict(rule)


def _shortlisted(stickers: dict[int, int], rule: dict) -> set[int]:
    """Apply the cycle's rule; a tie at the cut-off keeps every tied project (no coin toss)."""
    if "min_stickers" in rule:
        least = int(rule["min_stickers"])
        return {pid for pid, n in stickers.items() if n >= least}
    top = int(rule.get("top_n", DEFAULT_SHORTLIST["top_n"]))
    ordered = sorted(stickers.values(), reverse=True)
    if len(ordered) <= top:
        return {pid for pid, n in stickers.items() if n > 0}
    cut = ordered[top - 1]
    return {pid for pid, n in stickers.items() if n >= cut and n > 0}


def roundtable_record(*, actor, cycle: Cycle, community: Community, held_on: dt.date,
                      participant_count, stickers: Mapping[int, int],
                      participants: str = "", notes: str = "",
                      promote_votes: Mapping[int, int] | None = None) -> Roundtable:
    """Record a roundtable's participants and stickers per project, and shortlist by rule.

    ``stickers`` maps project id to the smiley stickers (or a show-of-hands total) it got.
    """
    permission_require(actor, "deliberate", community, cycle)
    try:
        count = int(str(participant_count).strip())
    except ValueError:
        raise ServiceError(_("Give the number of participants as a whole number."),
                           field="participant_count") from None
    if count <= 0:
        raise ServiceError(_("A roundtable has at least one participant."), field="participant_count")
    if not isinstance(held_on, dt.date):
        raise ServiceError(_("Give the date the roundtable was held."), field="held_on")
    if not stickers:
        raise ServiceError(_("Give the stickers of at least one project."), field="stickers")
    projects = {p.pk: p for p in Project.objects.filter(
        pk__in=list(stickers), cycle=cycle, community=community, is_active=True)}
    for pid, value in stickers.items():
        if pid not in projects:
            raise ServiceError(_("Project %(id)s is not an active project of %(community)s.")
                               % {"id": pid, "community": community}, field="stickers")
        if not isinstance(value, int) or value < 0:
            raise ServiceError(_("Stickers are a whole number, 0 or more (project “%(name)s”).")
                               % {"name": projects[pid].name}, field="stickers")
        if value > count * 10:
            raise ServiceError(_("“%(name)s” got %(n)d stickers from %(count)d participants: check the count.")
                               % {"name": projects[pid].name, "n": value, "count": count},
                               field="stickers")
    promote_votes = dict(promote_votes or {})
    for pid, value in promote_votes.items():
        if pid not in projects or not isinstance(value, int) or not 0 <= value <= count:
            raise ServiceError(_("Promotion votes must name projects on the table and be 0 to the number of participants."),
                               field="promote_votes")
    rule = shortlist_rule(cycle)
    chosen = _shortlisted(dict(stickers), rule)
    with transaction.atomic():
        roundtable = Roundtable.objects.create(
            cycle=cycle, community=community, held_on=held_on, participant_count=count,
            participants=(participants or "").strip()[:20000], notes=(notes or "").strip()[:4000],
            recorded_by=actor, rule=rule,
        )
        RoundtableTally.objects.bulk_create([
            RoundtableTally(roundtable=roundtable, project_id=pid, stickers=n,
                            is_shortlisted=pid in chosen, promote_votes=promote_votes.get(pid, 0))
            for pid, n in stickers.items()
        ])
        audit_record(actor, "roundtable_record", roundtable,
                     after={"participants": count, "stickers": dict(stickers), "rule": rule,
                            "shortlisted": sorted(chosen)}, place=community)
    return roundtable


# -- promotion to street level ----------------------------------------------------------------


def project_promote(*, actor, project: Project, reason: str, note: str = "") -> Promotion:
    """Move a community project to its street's pool; its proposals and history go with it."""
    cycle = project.cycle
    permission_require(actor, "deliberate", project.street, cycle, target=project)
    _active_project(project)
    if Promotion.objects.filter(project=project).exists() or project.level != Project.Level.COMMUNITY:
        raise PreconditionFailed(_("“%(project)s” is already a street-level project.")
                                 % {"project": project.name}, code="already_promoted",
                                 field="project")
    if reason not in Promotion.Reason.values:
        raise ServiceError(_("Choose why the project moves to street level."), field="reason")
    if "street" not in cycle.levels():
        raise PreconditionFailed(_("This cycle has no street-level pools."), code="no_street_level")
    note = (note or "").strip()[:REASON_MAX]
    if reason == Promotion.Reason.ROUNDTABLE_VOTE:
        tally = (RoundtableTally.objects.filter(project=project)
                 .select_related("roundtable").order_by("-roundtable__held_on", "-id").first())
        if tally is None or tally.promote_votes * 2 <= tally.roundtable.participant_count:
            raise PreconditionFailed(
                _("No roundtable voted by more than half to move “%(project)s” to street level.")
                % {"project": project.name}, code="no_roundtable_vote")
    elif reason == Promotion.Reason.COST_ABOVE_CAP:
        cap = cycle.config.get("community_cap_yuan")
        pool = project_pool(project)
        cap = int(cap) if cap else (pool.amount_yuan if pool else None)
        cost = project.costs.first()
        # The final cost cannot exceed the community pool, so the department's estimate counts too.
        estimates = [r.estimated_cost_yuan for r in project.reviews.all() if r.estimated_cost_yuan]
        highest = max(([cost.amount_yuan] if cost else []) + estimates, default=None)
        if cap is None or highest is None or highest <= cap:
            raise PreconditionFailed(
                _("“%(project)s” costs no more than the community cap of %(cap)s yuan.")
                % {"project": project.name, "cap": f"{cap:,}" if cap else "–"},
                code="not_above_cap")
    elif not note:
        raise ServiceError(_("Name the communities the project serves."), field="note")
    _refuse_if_on_frozen_ballot(project)
    with transaction.atomic():
        before = snapshot(project, ["level", "community"])
        promotion = Promotion.objects.create(project=project, cycle=cycle,
                                             from_community_id=project.community_id,
                                             reason=reason, note=note, promoted_by=actor)
        project.level, project.community = Project.Level.STREET, None
        project.save(update_fields=["level", "community"])
        audit_record(actor, "project_promote", project, before=before,
                     after={**snapshot(project, ["level", "community"]), "reason": reason},
                     place=project.street, message=note)
    return promotion


# -- bodies and sittings (四议, deputies, menus, assemblies) ----------------------------------


def body_create(*, actor, cycle: Cycle, kind: str, name: str, members: list[tuple[str, str]],
                street: Street | None = None, community: Community | None = None) -> Body:
    """Create a deciding body with its members (name, capacity)."""
    place = community or street or cycle.district
    permission_require(actor, "deliberate", place, cycle)
    kind = (kind or "").strip()
    configured = list(cycle.config.get("bodies") or [])
    if cycle.config.get("body"):
        configured.append(cycle.config["body"].get("kind", ""))
    if configured and kind not in configured:
        raise ServiceError(_("This cycle's bodies are: %(kinds)s.") % {"kinds": ", ".join(configured)},
                           field="kind")
    if not kind:
        raise ServiceError(_("Give the body's kind."), field="kind")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ServiceError(_("Give the body a name of 1 to 100 characters."), field="name")
    cleaned = [((n or "").strip(), (c or "").strip()[:40]) for n, c in members]
    if not cleaned or any(not n or len(n) > 50 for n, _c in cleaned):
        raise ServiceError(_("List the members, each with a name of 1 to 50 characters."),
                           field="members")
    size = (cycle.config.get("body") or {}).get("size")
    if size and len(cleaned) > int(size):
        raise ServiceError(_("The body has %(n)d members; this cycle's body has at most %(size)s.")
                           % {"n": len(cleaned), "size": size}, field="members")
    with transaction.atomic():
        body = Body.objects.create(cycle=cycle, kind=kind, name=name, street=street,
                                   community=community)
        BodyMember.objects.bulk_create([BodyMember(body=body, name=n, capacity=c) for n, c in cleaned])
        audit_record(actor, "body_create", body, after={**snapshot(body), "members": len(cleaned)},
                     place=place)
    return body


def _previous_kind(cycle: Cycle, kind: str) -> str | None:
    sequence = list(cycle.config.get("bodies") or [])
    if kind in sequence and sequence.index(kind) > 0:
        return sequence[sequence.index(kind) - 1]
    return None


def sitting_open(*, actor, body: Body, attendee_ids: Iterable[int], project_ids: Iterable[int],
                 held_at: dt.datetime, round: str = "") -> Sitting:  # noqa: A002
    """Open a sitting: who is present (quorum: more than half the members), what is on the table."""
    cycle = body.cycle
    permission_require(actor, "deliberate", body.place, cycle, target=body)
    if timezone.is_naive(held_at):
        raise ServiceError(_("Give the time with its time zone."), field="held_at")
    members = {m.pk: m for m in body.members.all()}
    attendees = list(dict.fromkeys(int(i) for i in attendee_ids))
    strangers = [i for i in attendees if i not in members]
    if strangers:
        raise ServiceError(_("Attendee %(id)s is not a member of %(body)s.")
                           % {"id": strangers[0], "body": body.name}, field="attendees")
    if len(attendees) * 2 <= len(members):
        raise PreconditionFailed(
            _("No quorum: %(present)d of %(members)d members are present; more than half must be.")
            % {"present": len(attendees), "members": len(members)}, code="no_quorum",
            field="attendees")
    rounds = list(cycle.config.get("rounds") or [])
    round = (round or "").strip()  # noqa: A001
    if rounds and round not in rounds:
        raise ServiceError(_("The round must be one of: %(rounds)s.") % {"rounds": ", ".join(rounds)},
                           field="round")
    wanted = list(dict.fromkeys(int(i) for i in project_ids))
    projects = list(Project.objects.filter(pk__in=wanted, cycle=cycle, is_active=True))
    if not wanted or len(projects) != len(wanted):
        raise ServiceError(_("Put active projects of this cycle on the table."), field="projects")
    menu = cycle.config.get("menu_size")
    if menu and len(projects) > int(menu):
        raise ServiceError(_("The menu lists at most %(n)s projects.") % {"n": menu}, field="projects")
    screened_out = [p.name for p in projects if Screening.objects.filter(project=p, is_passed=False).exists()]
    if screened_out:
        raise ServiceError(_("Screened out, so not on the table: %(names)s.")
                           % {"names": "、".join(screened_out)}, field="projects")
    previous = _previous_kind(cycle, body.kind)
    if previous:
        passed = set(SittingResult.objects.filter(
            sitting__body__cycle=cycle, sitting__body__kind=previous, sitting__closed_at__isnull=False,
            is_passed=True).values_list("project_id", flat=True))
        missing = [p.name for p in projects if p.pk not in passed]
        if missing:
            raise PreconditionFailed(
                _("Not passed by the previous body (%(kind)s): %(names)s.")
                % {"kind": previous, "names": "、".join(missing)}, code="not_passed_before")
    pick = cycle.config.get("pick")
    top = cycle.config.get("select_top") or pick
    with transaction.atomic():
        sitting = Sitting.objects.create(body=body, round=round, held_at=held_at, opened_by=actor,
                                         max_choices=int(pick) if pick else None,
                                         select_top=int(top) if top else None)
        sitting.attendees.set(attendees)
        sitting.projects.set(projects)
        audit_record(actor, "sitting_open", sitting,
                     after={"present": len(attendees), "members": len(members),
                            "projects": sorted(p.pk for p in projects), "round": round},
                     place=body.place)
    return sitting


def sitting_vote(*, actor, sitting: Sitting, member_id: int, project_ids: Iterable[int]) -> int:
    """Record one present member's yes votes (each project not named is a no). Return the count."""
    body = sitting.body
    permission_require(actor, "deliberate", body.place, body.cycle, target=sitting)
    if sitting.closed_at:
        raise PreconditionFailed(_("The sitting is closed; its result is published."),
                                 code="sitting_closed")
    member = BodyMember.objects.filter(pk=member_id, body=body).first()
    if member is None:
        raise ServiceError(_("%(who)s is not a member of %(body)s: the vote is refused.")
                           % {"who": member_id, "body": body.name}, field="member",
                           code="not_a_member")
    if not sitting.attendees.filter(pk=member.pk).exists():
        raise ServiceError(_("%(who)s is not recorded as present at this sitting.")
                           % {"who": member.name}, field="member", code="not_present")
    if SittingVote.objects.filter(sitting=sitting, member=member).exists():
        raise PreconditionFailed(_("%(who)s has voted already.") % {"who": member.name},
                                 code="voted_already")
    chosen = list(dict.fromkeys(int(i) for i in project_ids))
    on_table = set(sitting.projects.values_list("pk", flat=True))
    if any(pid not in on_table for pid in chosen):
        raise ServiceError(_("Vote only for projects on the table."), field="projects")
    if sitting.max_choices and len(chosen) > sitting.max_choices:
        raise ServiceError(_("Choose at most %(k)d projects.") % {"k": sitting.max_choices},
                           field="projects")
    with transaction.atomic():
        SittingVote.objects.bulk_create([SittingVote(sitting=sitting, member=member, project_id=pid)
                                         for pid in chosen])
        audit_record(actor, "sitting_vote", sitting, after={"member": member.pk, "yes": chosen},
                     place=body.place)
    return len(chosen)


def sitting_close(*, actor, sitting: Sitting, minutes: str, now: dt.datetime | None = None) -> Sitting:
    """Count, publish minutes and result, and start the notice period (公示).

    Each project passes with more than half of those present; with ``select_top`` (Futian's
    top ten, Shanghai's pick), the top projects pass, a tie at the cut keeping every tied one.
    """
    body = sitting.body
    cycle = body.cycle
    permission_require(actor, "deliberate", body.place, cycle, target=sitting)
    if sitting.closed_at:
        raise PreconditionFailed(_("The sitting is closed already."), code="sitting_closed")
    minutes = (minutes or "").strip()
    if not minutes:
        raise ServiceError(_("Write the minutes: they are published with the result."),
                           field="minutes")
    now = now or timezone.now()
    present = sitting.attendees.count()
    yes = {p: 0 for p in sitting.projects.values_list("pk", flat=True)}
    for pid in SittingVote.objects.filter(sitting=sitting).values_list("project_id", flat=True):
        yes[pid] += 1
    ordered = sorted(yes.items(), key=lambda kv: (-kv[1], kv[0]))
    counts = [n for _pid, n in ordered]
    rows = []
    for pid, n in ordered:
        rank = counts.index(n) + 1
        # Top-N models (Futian, Shanghai) select by rank; the others need a majority present.
        passed = (n > 0 and rank <= sitting.select_top) if sitting.select_top else n * 2 > present
        rows.append(SittingResult(sitting=sitting, project_id=pid, yes=n, present=present,
                                  rank=rank, is_passed=passed))
    days = int(cycle.config.get("notice_days") or DEFAULT_NOTICE_DAYS)
    with transaction.atomic():
        SittingResult.objects.bulk_create(rows)
        sitting.minutes = minutes[:20000]
        sitting.closed_at = now
        sitting.notice_until = now + dt.timedelta(days=days)
        sitting.save(update_fields=["minutes", "closed_at", "notice_until"])
        audit_record(actor, "sitting_close", sitting,
                     after={"present": present, "passed": [r.project_id for r in rows if r.is_passed],
                            "notice_until": sitting.notice_until}, place=body.place)
    return sitting


# -- the ballot -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    level: str
    street: Street
    community: Community | None

    @classmethod
    def of(cls, place: Street | Community) -> Scope:
        if isinstance(place, Community):
            return cls("community", place.street, place)
        return cls("street", place, None)

    @property
    def place(self) -> Street | Community:
        return self.community or self.street


def ballot_candidates(cycle: Cycle, scope: Scope):
    """Projects that belong on a scope's ballot: active, passed screening, shortlisted if a
    roundtable of the community shortlisted."""
    qs = Project.objects.filter(cycle=cycle, is_active=True, level=scope.level,
                                street=scope.street, screening__is_passed=True)
    if scope.community is not None:
        qs = qs.filter(community=scope.community)
        latest = (Roundtable.objects.filter(cycle=cycle, community=scope.community)
                  .order_by("-held_on", "-id").first())
        if latest is not None:
            qs = qs.filter(pk__in=latest.tallies.filter(is_shortlisted=True).values("project_id"))
    return qs.order_by("name", "pk")


def ballot_prepare(*, actor, cycle: Cycle, place: Street | Community) -> Ballot:
    """Build (or rebuild) the draft ballot of a scope from its projects and final costs."""
    scope = Scope.of(place)
    permission_require(actor, "screen", scope.place, cycle)
    pool = BudgetPool.objects.filter(cycle=cycle, level=scope.level,
                                     **({"community": scope.community} if scope.community
                                        else {"street": scope.street})).first()
    if pool is None:
        raise PreconditionFailed(_("%(place)s has no %(level)s pool in this cycle.")
                                 % {"place": scope.place, "level": scope.level}, code="no_pool")
    projects = list(ballot_candidates(cycle, scope))
    if not projects:
        raise PreconditionFailed(_("No project of %(place)s has passed screening yet.")
                                 % {"place": scope.place}, code="no_projects")
    costs = _current_costs([p.pk for p in projects])
    missing = [p.name for p in projects if p.pk not in costs]
    if missing:
        raise ServiceError(_("Set the final cost first: %(names)s.") % {"names": "、".join(missing[:10])},
                           field="cost_yuan")
    spec = {**DEFAULT_BALLOT, **(cycle.config.get("ballot") or {})}
    lookup = {"cycle": cycle, "level": scope.level, "street": scope.street,
              "community": scope.community}
    with transaction.atomic():
        ballot = Ballot.objects.select_for_update().filter(**lookup).first()
        if ballot is not None and ballot.frozen_at:
            raise PreconditionFailed(_("The ballot of %(scope)s is frozen and published: it can no longer change.")
                                     % {"scope": ballot}, code="ballot_frozen")
        before = _ballot_state(ballot) if ballot else None
        if ballot is None:
            ballot = Ballot.objects.create(**lookup, rule=spec["kind"],
                                           max_choices=spec.get("max_choices"),
                                           points=spec.get("points"), budget_yuan=pool.amount_yuan)
        else:
            ballot.budget_yuan = pool.amount_yuan
            ballot.prepared_at = timezone.now()
            ballot.save(update_fields=["budget_yuan", "prepared_at"])
            ballot.items.all().delete()
        BallotItem.objects.bulk_create([
            BallotItem(ballot=ballot, project=p, cost_yuan=costs[p.pk], position=i)
            for i, p in enumerate(projects, start=1)
        ])
        audit_record(actor, "ballot_prepare", ballot, before=before, after=_ballot_state(ballot),
                     place=scope.place)
    return ballot


def _current_costs(project_ids: list[int]) -> dict[int, int]:
    result: dict[int, int] = {}
    for pid, amount in (ProjectCost.objects.filter(project_id__in=project_ids)
                        .order_by("project_id", "-set_at", "-id")
                        .values_list("project_id", "amount_yuan")):
        result.setdefault(pid, amount)
    return result


def _ballot_state(ballot: Ballot) -> dict:
    return {"rule": ballot.rule, "max_choices": ballot.max_choices, "points": ballot.points,
            "budget_yuan": ballot.budget_yuan,
            "items": [[i.project_id, i.cost_yuan] for i in ballot.items.order_by("position")],
            "frozen_at": ballot.frozen_at}


def _refuse_frozen(ballot: Ballot) -> None:
    if ballot.frozen_at:
        raise PreconditionFailed(_("The ballot of %(scope)s is frozen and published: it can no longer change.")
                                 % {"scope": ballot}, code="ballot_frozen")


def ballot_set_rule(*, actor, ballot: Ballot, rule: str, max_choices=None, points=None) -> Ballot:
    """Change a draft ballot's voting rule (approve up to K; within the budget; points; ranked)."""
    permission_require(actor, "screen", ballot.place, ballot.cycle, target=ballot)
    _refuse_frozen(ballot)
    if rule not in Ballot.Rule.values:
        raise ServiceError(_("Unknown voting rule “%(rule)s”.") % {"rule": rule}, field="rule")

    def _positive(value, field):
        if value in (None, ""):
            return None
        if not re.fullmatch(r"\d+", str(value).strip()) or int(value) <= 0:
            raise ServiceError(_("%(field)s must be a whole number above 0.") % {"field": field},
                               field=field)
        return int(value)

    max_choices, points = _positive(max_choices, "max_choices"), _positive(points, "points")
    if rule == Ballot.Rule.APPROVAL and not max_choices:
        raise ServiceError(_("Say how many projects a voter may approve."), field="max_choices")
    if rule == Ballot.Rule.POINTS and not points:
        raise ServiceError(_("Say how many points each voter shares out."), field="points")
    with transaction.atomic():
        ballot = Ballot.objects.select_for_update().get(pk=ballot.pk)
        _refuse_frozen(ballot)
        before = _ballot_state(ballot)
        ballot.rule, ballot.max_choices, ballot.points = rule, max_choices, points
        ballot.save(update_fields=["rule", "max_choices", "points"])
        audit_record(actor, "ballot_set_rule", ballot, before=before, after=_ballot_state(ballot),
                     place=ballot.place)
    return ballot


def ballot_freeze(*, actor, ballot: Ballot, now: dt.datetime | None = None) -> Ballot:
    """Freeze and publish a ballot; from now on any change to it is refused."""
    permission_require(actor, "screen", ballot.place, ballot.cycle, target=ballot)
    with transaction.atomic():
        ballot = Ballot.objects.select_for_update().get(pk=ballot.pk)
        _refuse_frozen(ballot)
        items = list(ballot.items.select_related("project"))
        if not items:
            raise PreconditionFailed(_("The ballot lists no project."), code="empty_ballot")
        costs = _current_costs([i.project_id for i in items])
        changed = [i.project.name for i in items if costs.get(i.project_id) != i.cost_yuan]
        if changed:
            raise PreconditionFailed(_("Costs changed since the ballot was prepared (%(names)s): prepare it again.")
                                     % {"names": "、".join(changed)}, code="ballot_stale")
        gone = [i.project.name for i in items if not i.project.is_active
                or i.project.level != ballot.level]
        if gone:
            raise PreconditionFailed(_("Projects changed since the ballot was prepared (%(names)s): prepare it again.")
                                     % {"names": "、".join(gone)}, code="ballot_stale")
        key = (f"community:{ballot.community_id}" if ballot.level == "community"
               else f"street:{ballot.street_id}")  # as selectors.ballot_key
        _check_ballot_bounds(ballot, *scope_rule_bounds(ballot.cycle, key,
                                                        [i.project.theme for i in items]))
        ballot.frozen_at, ballot.frozen_by = now or timezone.now(), actor
        ballot.save(update_fields=["frozen_at", "frozen_by"])
        audit_record(actor, "ballot_freeze", ballot, after=_ballot_state(ballot), place=ballot.place)
    return ballot

