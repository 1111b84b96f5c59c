"""What waits on a staff member: the to-do list of the staff home and of ``GET /api/me/todo``.

One selector, ``todo_list(user)``, returns the open tasks of the running cycles in the
places the user's roles cover, each with a count, how many are late, a deadline and the
page where it is done. A task is listed only when the user may do it there and then: the
action is in their role (``accounts.permissions.ROLE_ACTIONS``), their place contains the
work, and the running stage allows it, the same three checks the services make.

Counts are aggregates grouped by cycle (about a dozen queries whatever the number of
proposals, reviews or ballots), never a loop over rows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, Min, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from civicbudget.accounts.permissions import active_assignments, scopes_for
from civicbudget.cycles.models import Cycle

#: A project without a progress report for this long is listed as waiting for one.
REPORT_EVERY_DAYS = 30

_PATH = re.compile(r"^d(?P<d>\d+)/(?:s(?P<s>\d+)/(?:c(?P<c>\d+)/)?|dep(?P<dep>\d+)/)?$")


@dataclass(frozen=True)
class TodoItem:
    """One kind of task in one cycle: ``count`` to do, ``overdue`` of them late."""

    kind: str
    label: str
    count: int
    overdue: int
    due_at: dt.datetime | None
    url: str
    cycle_id: int

    @property
    def is_overdue(self) -> bool:
        return self.overdue > 0


@dataclass
class TodoCycle:
    """The tasks of one cycle, with the running stage and when it is planned to end."""

    cycle: Cycle
    stage_name: str
    stage_ends_at: dt.datetime | None
    items: list[TodoItem] = field(default_factory=list)


def _places(paths: list[str]) -> list[dict[str, int | None]] | None:
    """Parse place paths; None means everywhere (an operator)."""
    out = []
    for path in paths:
        if path == "":
            return None
        m = _PATH.match(path)
        if m:
            out.append({k: int(v) if v else None for k, v in m.groupdict().items()})
    return out


def _scope_q(paths: list[str], *, district: str, street: str, community: str,
             community_only: Q | None = None) -> Q:
    """A filter for rows inside the places at ``paths`` (field names given per model).

    ``community_only``: what else a row must be for a community's role to cover it (a
    street-level project lies in a street, not in one of its communities)."""
    places = _places(paths)
    if places is None:
        return Q()
    q = Q(pk__in=[])
    for p in places:
        if p["dep"]:
            continue
        if p["c"]:
            q |= Q(**{community: p["c"]}) & (community_only or Q())
        elif p["s"]:
            q |= Q(**{street: p["s"]})
        else:
            q |= Q(**{district: p["d"]})
    return q


def _district_q(paths: list[str], field_name: str) -> Q:
    """Rows of districts where the user's role covers the whole district."""
    places = _places(paths)
    if places is None:
        return Q()
    ids = [p["d"] for p in places if not (p["s"] or p["c"] or p["dep"])]
    return Q(**{f"{field_name}__in": ids})


def _staff_cycles(user) -> list[Cycle]:
    """The cycles of the districts the user's roles touch (one query, stages prefetched)."""
    places = _places(scopes_for(user, "view_staff"))
    qs = Cycle.objects.select_related("district").prefetch_related("stages")
    if places is not None:
        qs = qs.filter(district_id__in={p["d"] for p in places})
    return list(qs)


def todo_list(user, *, now: dt.datetime | None = None) -> list[TodoCycle]:
    """Return what waits on ``user``, per running cycle, late tasks first; empty when nothing."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if not (active_assignments(user) or (user.is_superuser and user.is_active)):
        return []
    every = _staff_cycles(user)
    cycles = [c for c in every if c.current_stage is not None]
    by_id = {c.pk: c for c in every}

    def open_for(action: str) -> list[int]:
        return [c.pk for c in cycles if action in c.allowed_actions()]

    def stage_end(cycle_id: int) -> dt.datetime | None:
        return by_id[cycle_id].current_stage.closes_at

    def late(cycle_id: int, n: int) -> int:
        end = stage_end(cycle_id)
        return n if end is not None and end < now else 0

    items: list[TodoItem] = []

    def add(kind, label, rows, url_name, *, overdue=None, due=None):
        for row in rows:
            n = row["n"]
            if not n:
                continue
            cid = row["cycle_id"]
            items.append(TodoItem(
                kind=kind, label=label, count=n,
                overdue=overdue(row) if overdue else late(cid, n),
                due_at=due(row) if due else stage_end(cid),
                url=reverse(url_name, kwargs={"cycle_id": cid}), cycle_id=cid))

    # Late, in local days: a date field is "late" once its day has passed here.
    def _local_day_end(day: dt.date | None) -> dt.datetime | None:
        if day is None:
            return None
        return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59)))

    from civicbudget.deliberation.models import Review
    from civicbudget.delivery.models import EvaluationReport, Implementation, ProgressUpdate, Step
    from civicbudget.proposals.models import Project, Proposal
    from civicbudget.results.models import Objection, OutboxMessage
    from civicbudget.voting.models import PaperEntry

    project_place = {"district": "cycle__district_id", "street": "street_id",
                     "community": "community_id", "community_only": Q(level=Project.Level.COMMUNITY)}

    # Screening: active projects without a screening, where the role may screen.
    if ids := open_for("screen"):
        rows = (Project.objects.filter(cycle_id__in=ids, is_active=True, screening__isnull=True)
                .filter(_scope_q(scopes_for(user, "screen"), **project_place))
                .values("cycle_id").annotate(n=Count("id")))
        add("screen", _("Projects waiting for screening"), rows, "deliberation:staff")

    # Workbench: proposals not yet in any project (the workbench suggests where they go).
    if ids := open_for("merge"):
        rows = (Proposal.objects.filter(cycle_id__in=ids, project__isnull=True)
                .filter(_scope_q(scopes_for(user, "merge"), district="cycle__district_id",
                                 street="street_id", community="community_id"))
                .values("cycle_id").annotate(n=Count("id")))
        add("merge", _("Proposals waiting on the merge workbench"), rows, "proposals:staff-workbench")

    # Department reviews: the reviewer's own departments (an operator sees all).
    if ids := open_for("review"):
        places = _places(scopes_for(user, "review"))
        departments = Q() if places is None else Q(department_id__in=[p["dep"] for p in places if p["dep"]])
        rows = (Review.objects.filter(cycle_id__in=ids, opinion="").filter(departments)
                .values("cycle_id").annotate(n=Count("id"), late=Count("id", filter=Q(due_on__lt=today)),
                                             first=Min("due_on")))
        add("review", _("Department reviews due"), rows, "deliberation:staff-reviews",
            overdue=lambda r: r["late"], due=lambda r: _local_day_end(r["first"]))

    # Objections: answered for the whole district (results.services.objection_answer).
    answerable = [c.pk for c in cycles if {"reply", "publish"} & c.allowed_actions()]
    if answerable:
        reply_or_publish = scopes_for(user, "reply") + scopes_for(user, "publish")
        rows = (Objection.objects.filter(publication__cycle_id__in=answerable, answer="")
                .filter(_district_q(reply_or_publish, "publication__cycle__district_id"))
                .values(cycle_id=F("publication__cycle_id")).annotate(n=Count("id")))
        add("objections", _("Objections to answer"), rows, "results:desk")

    if ids := open_for("reply"):
        reply_paths = scopes_for(user, "reply")
        # Final states and replies are prepared for the whole district at once.
        rows = (Proposal.objects.filter(cycle_id__in=ids, outcome__isnull=True)
                .filter(_district_q(reply_paths, "cycle__district_id"))
                .values("cycle_id").annotate(n=Count("id")))
        add("decide", _("Proposals without a final state and reply"), rows, "results:desk")
        # Letters are printed per community, by whoever replies there.
        rows = (OutboxMessage.objects.filter(cycle_id__in=ids, channel=OutboxMessage.Channel.LETTER,
                                             status=OutboxMessage.Status.QUEUED)
                .filter(_scope_q(reply_paths, district="cycle__district_id",
                                 street="reply__proposal__street_id",
                                 community="reply__proposal__community_id"))
                .values("cycle_id").annotate(n=Count("id")))
        add("letters", _("Letters to print and post"), rows, "results:desk")
        # SMS and e-mail go out for the whole district from the reply desk (or the worker).
        rows = (OutboxMessage.objects.filter(
                    cycle_id__in=ids, channel__in=[OutboxMessage.Channel.SMS, OutboxMessage.Channel.EMAIL],
                    status__in=[OutboxMessage.Status.QUEUED, OutboxMessage.Status.RETRYING,
                                OutboxMessage.Status.FAILED])
                .filter(_district_q(reply_paths, "cycle__district_id"))
                .values("cycle_id").annotate(n=Count("id"),
                                             failed=Count("id", filter=Q(status=OutboxMessage.Status.FAILED))))
        add("send", _("Replies by SMS or e-mail to send"), rows, "results:desk",
            overdue=lambda r: r["failed"] or late(r["cycle_id"], r["n"]))

    # Paper ballots at the polling officer's stations: a second reading, or a conflict.
    if ids := open_for("vote"):
        rows = (PaperEntry.objects.filter(station__cycle_id__in=ids,
                                          state__in=[PaperEntry.State.WAITING, PaperEntry.State.CONFLICT])
                .filter(_scope_q(scopes_for(user, "vote"), district="station__cycle__district_id",
                                 street="station__community__street_id", community="station__community_id"))
                .values(cycle_id=F("station__cycle_id"))
                .annotate(n=Count("id", filter=Q(state=PaperEntry.State.WAITING)),
                          conflicts=Count("id", filter=Q(state=PaperEntry.State.CONFLICT))))
        rows = list(rows)
        add("paper_second", _("Paper ballots waiting for a second entry"), rows, "voting:polling")
        add("paper_conflict", _("Paper ballots whose two entries differ"),
            [{**r, "n": r["conflicts"]} for r in rows], "voting:polling",
            overdue=lambda r: r["n"])

    impl_place = {"district": "cycle__district_id", "street": "project__street_id",
                  "community": "project__community_id",
                  "community_only": Q(project__level=Project.Level.COMMUNITY)}
    if ids := open_for("implement"):
        scope = _scope_q(scopes_for(user, "implement"), **impl_place)
        running = Implementation.objects.filter(cycle_id__in=ids).exclude(step=Step.DONE).filter(scope)
        rows = (running.filter(due_on__lt=today).values("cycle_id")
                .annotate(n=Count("id"), first=Min("due_on")))
        add("overdue_projects", _("Projects past their deadline"), rows, "delivery:desk",
            overdue=lambda r: r["n"], due=lambda r: _local_day_end(r["first"]))
        recent = ProgressUpdate.objects.filter(implementation=OuterRef("pk"),
                                               at__gte=now - dt.timedelta(days=REPORT_EVERY_DAYS))
        rows = (running.filter(~Exists(recent)).values("cycle_id").annotate(n=Count("id")))
        add("progress", _("Projects without a progress report in the last 30 days"), rows, "delivery:desk")

    if ids := open_for("evaluate"):
        reported = EvaluationReport.objects.filter(implementation=OuterRef("pk"))
        rows = (Implementation.objects.filter(cycle_id__in=ids, step=Step.DONE)
                .filter(_scope_q(scopes_for(user, "evaluate"), **impl_place))
                .filter(~Exists(reported)).values("cycle_id").annotate(n=Count("id")))
        add("evaluate", _("Finished projects waiting for an evaluation"), rows, "delivery:desk")

    # District admins: a stage past its planned end waits for someone to advance it.
    manage = _places(scopes_for(user, "manage_cycles"))
    for cycle in cycles:
        end = cycle.current_stage.closes_at
        if end is not None and end < now and (
                manage is None or any(p["d"] == cycle.district_id and not (p["s"] or p["c"] or p["dep"])
                                      for p in manage)):
            items.append(TodoItem(kind="advance", label=_("Stage past its planned end: advance the cycle"),
                                  count=1, overdue=1, due_at=end,
                                  url=reverse("web:staff-cycle", kwargs={"cycle_id": cycle.pk}),
                                  cycle_id=cycle.pk))
    # ... and a configured cycle whose first stage was planned to open waits to be started.
    for cycle in every:
        stages = cycle.ordered_stages()
        opens = stages[0].opens_at if stages and cycle.status == "draft" else None
        if opens is not None and opens <= now and (
                manage is None or any(p["d"] == cycle.district_id and not (p["s"] or p["c"] or p["dep"])
                                      for p in manage)):
            items.append(TodoItem(kind="start", label=_("Cycle planned to open: start its first stage"),
                                  count=1, overdue=1, due_at=opens,
                                  url=reverse("web:staff-cycle", kwargs={"cycle_id": cycle.pk}),
                                  cycle_id=cycle.pk))

    groups: dict[int, TodoCycle] = {}
    for item in items:
        cycle = by_id[item.cycle_id]
        if item.cycle_id not in groups:
            stage = cycle.current_stage
            groups[item.cycle_id] = TodoCycle(
                cycle=cycle, stage_name=stage.display_name if stage else _("in preparation"),
                stage_ends_at=stage.closes_at if stage else None)
        groups[item.cycle_id].items.append(item)
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    for group in groups.values():
        group.items.sort(key=lambda i: (not i.is_overdue, i.due_at or far))
    return sorted(groups.values(), key=lambda g: (not any(i.is_overdue for i in g.items),
                                                  g.stage_ends_at or far, g.cycle.pk))


def todo_count(groups: list[TodoCycle]) -> int:
    return sum(i.count for g in groups for i in g.items)
