"""Demo deliberation rows: screening, department reviews, costs, roundtables, promotions, ballots.

Written with bulk inserts on fixed dates (the rows record what happened in 2017/2018); the
services are what staff use, and the tests exercise them. Meilan 2017 ended with 74 projects
chosen from community and street ballots; the figures here are of that shape.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from django.db import transaction
from django.db.models import Count

from civicbudget.cycles.models import BudgetPool, Cycle
from civicbudget.deliberation.models import (
    Ballot,
    BallotItem,
    ProjectCost,
    Promotion,
    Review,
    Roundtable,
    RoundtableTally,
    Screening,
)
from civicbudget.places.models import Department
from civicbudget.proposals.models import Project

FAIL_REASONS = {
    "not_planned": ["已列入市政道路改造计划，由区住建局实施", "已纳入老旧小区改造计划"],
    "no_private_benefit": ["仅惠及个别住户，不属于公共受益", "涉及私人产权设施"],
    "within_pool": ["估算造价超出社区资金池"],
    "feasible": ["现场不具备施工条件", "涉及地下管网迁改，年内无法完成"],
    "lawful": ["涉及违章建筑，不符合规划要求"],
    "in_area": ["项目地点不在本社区辖区内"],
}
COST_RANGES = {"works": (60_000, 280_000), "services": (20_000, 120_000), "goods": (10_000, 90_000)}
DEPARTMENT_FOR = {"works": "区住房和城乡建设局", "services": "区民政局", "goods": "区城市管理局"}


def _at(day: dt.date, hour: int, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=tz)


def load_demo_deliberation(cycle: Cycle, *, seed: int, actor, start: dt.date, finished: bool) -> None:
    """Screen, review and cost the cycle's projects; for a finished cycle also hold the
    roundtables, promote costly projects and freeze a ballot per pool (``start`` + 0..50 days)."""
    from civicbudget.demo.data import TZ

    rng = random.Random(seed)
    criteria = list(cycle.config.get("screening_criteria") or [])
    projects = list(Project.objects.filter(cycle=cycle, is_active=True)
                    .select_related("street", "community").order_by("pk"))
    if not finished:
        # Screening under way: the street that merged has screened about half its projects.
        projects = projects[: len(projects) // 2]
    departments = {d.name: d for d in Department.objects.filter(district=cycle.district)}
    counts = dict(Project.objects.filter(cycle=cycle).annotate(n=Count("proposals"))
                  .values_list("pk", "n"))
    screenings, costs, reviews = [], [], []
    passed: list[Project] = []
    cost_of: dict[int, int] = {}
    for index, p in enumerate(projects):
        screened_at = _at(start + dt.timedelta(days=index % 10), 10, TZ)
        results = {k: {"passed": True, "reason": ""} for k in criteria}
        failed = None
        if rng.random() < 0.14:
            failed = rng.choice(list(FAIL_REASONS))
            results[failed] = {"passed": False, "reason": rng.choice(FAIL_REASONS[failed])}
        screenings.append(Screening(
            project=p, cycle=cycle, is_passed=failed is None, results=results,
            reason_code=failed or "", reason=results[failed]["reason"] if failed else "",
            screened_by=actor, screened_at=screened_at))
        if failed:
            continue
        passed.append(p)
        low, high = COST_RANGES.get(p.project_type, COST_RANGES["works"])
        estimate = rng.randrange(low, high, 1_000)
        due = start + dt.timedelta(days=14)
        department = departments.get(DEPARTMENT_FOR.get(p.project_type, ""))
        if department is not None:
            answered = finished or rng.random() < 0.7
            reviews.append(Review(
                project=p, cycle=cycle, department=department, routed_by=actor,
                routed_at=screened_at, due_on=due,
                opinion=(rng.choice(["feasible"] * 4 + ["conditional"]) if answered else ""),
                estimated_cost_yuan=estimate if answered else None,
                notes="现场勘查：具备实施条件" if answered else "",
                reviewed_at=_at(due - dt.timedelta(days=2), 15, TZ) if answered else None))
        if finished or rng.random() < 0.5:
            # The government prices it: the estimate, rounded down to a tender ceiling.
            final = max(1_000, estimate // 1_000 * 1_000 - rng.choice([0, 0, 5_000, 10_000]))
            costs.append(ProjectCost(project=p, cycle=cycle, amount_yuan=final, set_by=actor,
                                     reason="职能部门估价", set_at=_at(due, 11, TZ)))
            cost_of[p.pk] = final
    with transaction.atomic():
        Screening.objects.bulk_create(screenings, batch_size=1000)
        Review.objects.bulk_create(reviews, batch_size=1000)
        ProjectCost.objects.bulk_create(costs, batch_size=1000)
        if finished:
            _roundtables_promotions_ballots(cycle, rng, actor, start, passed, cost_of, counts, TZ)


def _roundtables_promotions_ballots(cycle, rng, actor, start, passed, cost_of, counts, tz) -> None:
    by_community: dict[int, list[Project]] = defaultdict(list)
    for p in passed:
        if p.level == "community":
            by_community[p.community_id].append(p)
    # Per street, the three most asked-for projects go to the street pool (Meilan: wide,
    # popular or costly projects); their cost is set again at street scale.
    promoted: dict[int, list[Project]] = defaultdict(list)
    by_street: dict[int, list[Project]] = defaultdict(list)
    for p in passed:
        by_street[p.street_id].append(p)
    promotions, street_costs = [], []
    for street_id, items in by_street.items():
        for rank, p in enumerate(sorted(items, key=lambda x: (x.project_type != "works",
                                                           -counts.get(x.pk, 0), x.pk))[:3]):
            reason = "cost_above_cap" if rank == 0 else "roundtable_vote"
            promotions.append(Promotion(project=p, cycle=cycle, from_community_id=p.community_id,
                                        reason=reason, promoted_by=actor,
                                        promoted_at=_at(start + dt.timedelta(days=25), 16, tz),
                                        note="惠及全街道居民" if reason == "roundtable_vote" else ""))
            amount = rng.randrange(320_000, 450_000, 10_000)
            street_costs.append(ProjectCost(project=p, cycle=cycle, amount_yuan=amount, set_by=actor,
                                            reason="升为街道项目后重新核价",
                                            set_at=_at(start + dt.timedelta(days=26), 11, tz)))
            cost_of[p.pk] = amount
            promoted[street_id].append(p)
            by_community[p.community_id] = [x for x in by_community[p.community_id] if x.pk != p.pk]
    Promotion.objects.bulk_create(promotions)
    ProjectCost.objects.bulk_create(street_costs)
    promoted_ids = [p.pk for ps in promoted.values() for p in ps]
    Project.objects.filter(pk__in=promoted_ids).update(level="street", community=None)

    rule = {"top_n": 5}
    held_on = start + dt.timedelta(days=20)
    tables = {}
    for community_id in by_community:
        participants = rng.randint(35, 90)
        tables[community_id] = Roundtable(
            cycle=cycle, community_id=community_id, held_on=held_on, participant_count=participants,
            notes="居民代表、楼长、驻区单位代表参加，每人5枚笑脸贴纸。", recorded_by=actor, rule=rule,
            recorded_at=_at(held_on, 20, tz))
    Roundtable.objects.bulk_create(list(tables.values()))
    tallies, shortlisted = [], defaultdict(list)
    for community_id, items in by_community.items():
        table = tables[community_id]
        stickers = {p.pk: min(table.participant_count * 5, counts.get(p.pk, 0) * rng.randint(2, 4)
                              + rng.randint(0, 12)) for p in items}
        ranked = sorted(stickers.values(), reverse=True)
        cut = ranked[min(4, len(ranked) - 1)] if ranked else 0
        for p in items:
            chosen = stickers[p.pk] >= cut and stickers[p.pk] > 0
            tallies.append(RoundtableTally(roundtable=table, project=p, stickers=stickers[p.pk],
                                           is_shortlisted=chosen))
            if chosen:
                shortlisted[community_id].append(p)
    RoundtableTally.objects.bulk_create(tallies, batch_size=1000)

    frozen_at = _at(start + dt.timedelta(days=30), 9, tz)
    spec = cycle.config.get("ballot") or {"kind": "approval", "max_choices": 5}
    pools = list(BudgetPool.objects.filter(cycle=cycle).select_related("community"))
    ballots, lists = [], []
    for pool in pools:
        if pool.level == "community":
            items = shortlisted.get(pool.community_id, [])
            street_id = pool.community.street_id if pool.community_id else None
        else:
            items = promoted.get(pool.street_id, [])
            street_id = pool.street_id
        items = [p for p in items if p.pk in cost_of]
        if not items:
            continue
        ballots.append(Ballot(cycle=cycle, level=pool.level, street_id=street_id,
                              community_id=pool.community_id, rule=spec.get("kind", "approval"),
                              max_choices=spec.get("max_choices"), budget_yuan=pool.amount_yuan,
                              prepared_at=frozen_at - dt.timedelta(days=1), frozen_at=frozen_at,
                              frozen_by=actor))
        lists.append(sorted(items, key=lambda p: (p.name, p.pk)))
    Ballot.objects.bulk_create(ballots)
    BallotItem.objects.bulk_create([
        BallotItem(ballot=b, project=p, cost_yuan=cost_of[p.pk], position=i)
        for b, items in zip(ballots, lists, strict=True) for i, p in enumerate(items, start=1)
    ])
