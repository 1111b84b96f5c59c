"""Load the demo district: the same rows every time (a fixed seed, fixed dates).

Figures follow the source document: Meilan 2017 ran in 2 streets and 13 communities
(6,000,000 yuan, 135,000 residents), 2018 in 4 streets and 24 communities
(12,000,000 yuan, 219,000 residents); 1,050,000 yuan per street pool.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Max

from civicbudget.accounts.models import Role, User
from civicbudget.accounts.security import DEMO_PASSWORD
from civicbudget.accounts.services import role_grant
from civicbudget.cycles.models import Cycle
from civicbudget.cycles.services import (
    cycle_create,
    cycle_set_participants,
    pool_set,
    stage_advance,
    stage_reschedule,
)
from civicbudget.deliberation.models import Ballot
from civicbudget.demo.after_data import load_demo_after
from civicbudget.demo.deliberation_data import load_demo_deliberation
from civicbudget.demo.proposals_data import load_demo_proposals
from civicbudget.demo.voting_data import load_demo_votes
from civicbudget.places.models import Community, District, Street
from civicbudget.places.services import community_create, department_create, street_create

DISTRICT_NAME = "美兰区"
TZ = ZoneInfo("Asia/Shanghai")

# street -> communities; the first two streets ran in 2017, the first four in 2018.
STREETS: list[tuple[str, list[str]]] = [
    ("海甸街道", ["海甸社区", "海达社区", "福安社区", "万福社区", "沿江社区", "金甸社区", "新埠社区"]),
    ("人民路街道", ["白沙坊社区", "东坡社区", "海联社区", "人民社区", "红星社区", "美舍河社区"]),
    ("白龙街道", ["白龙社区", "龙舌坡社区", "振兴社区", "美兰社区", "五岳社区", "琼苑社区"]),
    ("和平南街道", ["和平社区", "文庄社区", "金花社区", "侨中社区", "东湖社区"]),
    ("博爱街道", ["博爱社区", "振东社区", "解放社区", "中山社区"]),
    ("海府路街道", ["海府社区", "文明社区", "椰海社区", "琼华社区"]),
    ("蓝天街道", ["蓝天社区", "飞云社区", "海秀社区", "明珠社区"]),
    ("白沙街道", ["白沙社区", "三角池社区", "流水坡社区"]),
    ("日月广场街道", ["国兴社区", "大英社区", "滨海社区"]),
]
DEPARTMENTS = ["区住房和城乡建设局", "区园林环卫局", "区民政局", "区教育局", "区城市管理局",
               "区财政局", "区卫生健康委员会", "区文化旅游和体育局"]


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str
    place: str


def _populations(rng: random.Random, names: list[str], total: int) -> list[int]:
    weights = [rng.uniform(0.6, 1.4) for _ in names]
    scale = total / sum(weights)
    values = [int(w * scale) for w in weights]
    values[0] += total - sum(values)
    return values


def _shares(population: dict[str, int], names: list[str], total: int) -> dict[str, int]:
    """Split ``total`` over ``names`` in proportion to their population."""
    whole = sum(population[n] for n in names)
    values = {n: population[n] * total // whole for n in names}
    values[names[0]] += total - sum(values.values())
    return values


def _at(year: int, month: int, day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(year, month, day, hour, 0, tzinfo=TZ)


def demo_exists() -> bool:
    return District.objects.filter(name=DISTRICT_NAME).exists()


@transaction.atomic
def load_demo(proposal_scale: float | None = None) -> list[Login]:
    """Create the demo district, its staff and three cycles; return the staff logins.

    ``proposal_scale`` (default 1, or ``CIVICBUDGET_DEMO_SCALE``) shrinks the proposal
    counts for quick test runs; 1 is the source document's scale.
    """
    if settings.PRODUCTION:
        # Never demo accounts with a published password in a production database.
        raise RuntimeError("The demo data is not loaded under CIVICBUDGET_ENV=production.")
    if proposal_scale is None:
        proposal_scale = float(os.environ.get("CIVICBUDGET_DEMO_SCALE", "1"))
    rng = random.Random(2018)
    # One hash for the shared demo password: hashing is slow on purpose, nine times over.
    password_hash = make_password(DEMO_PASSWORD)
    operator = User.objects.create(username="operator", password=password_hash, full_name="平台运维",
                                   is_superuser=True, is_staff=True)
    district = District.objects.create(name=DISTRICT_NAME, code="460108", population=620_000)
    logins = [Login("operator", DEMO_PASSWORD, "operator", "全平台")]

    # 2017 communities cover 135,000 residents, the 2018 additions 84,000 more (219,000).
    first = [c for _, cs in STREETS[:2] for c in cs]
    added = [c for _, cs in STREETS[2:4] for c in cs]
    rest = [c for _, cs in STREETS[4:] for c in cs]
    population = dict(zip(first, _populations(rng, first, 135_000), strict=True))
    population |= dict(zip(added, _populations(rng, added, 84_000), strict=True))
    population |= dict(zip(rest, _populations(rng, rest, 620_000 - 219_000), strict=True))
    # Residents of voting age, the base of turnout. The source gives the turnout (2017: 28,484
    # voters, about 28.2%; 2018: 41,352, 23.55%) but not its base; these totals (101,007 and
    # 175,592 in all) reproduce both rates. The other streets' figures are not known.
    eligible = _shares(population, first, 101_007) | _shares(population, added, 175_592 - 101_007)

    streets: list[Street] = []
    communities: dict[str, Community] = {}
    for index, (street_name, community_names) in enumerate(STREETS, start=1):
        street = street_create(
            actor=operator, district=district, name=street_name, code=f"460108{index:03d}",
            population=sum(population[c] for c in community_names),
        )
        streets.append(street)
        for number, name in enumerate(community_names, start=1):
            communities[name] = community_create(
                actor=operator, street=street, name=name, population=population[name],
                eligible_population=eligible.get(name, 0), code=f"460108{index:03d}{number:03d}",
            )
    departments = [department_create(actor=operator, district=district, name=n) for n in DEPARTMENTS]

    def staff(username: str, full_name: str, role: str, place) -> None:
        user = User.objects.create(username=username, password=password_hash, full_name=full_name)
        role_grant(actor=operator, user=user, role=role, place=place)
        logins.append(Login(username, DEMO_PASSWORD, Role(role).label, str(place)))

    staff("meilan-admin", "王主任", Role.DISTRICT_ADMIN, district)
    staff("haidian-officer", "李科长", Role.STREET_OFFICER, streets[0])
    staff("renminlu-officer", "陈科长", Role.STREET_OFFICER, streets[1])
    staff("haida-officer", "周书记", Role.COMMUNITY_OFFICER, communities["海达社区"])
    staff("baishafang-officer", "吴主任", Role.COMMUNITY_OFFICER, communities["白沙坊社区"])
    staff("zhujian-reviewer", "郑工", Role.DEPARTMENT_REVIEWER, departments[0])
    staff("haidian-polling", "孙老师", Role.POLLING_OFFICER, streets[0])
    staff("haidian-polling2", "何老师", Role.POLLING_OFFICER, streets[0])
    staff("observer", "林代表", Role.OBSERVER, district)
    staff("bailong-officer", "赵科长", Role.STREET_OFFICER, streets[2])

    # 2017: finished, every stage stamped on its historical date.
    # The description says what the cycle is, never how it came out: figures (projects,
    # voters, implemented) come from the data, one selector for cards and statistics.
    c2017 = cycle_create(actor=operator, district=district, template_key="meilan_full_pb",
                         name="2017 双创微实事", name_en="2017 Civilised-City Micro-Projects",
                         year=2017, starts_on=dt.date(2017, 3, 1), total_budget_yuan=6_000_000)
    Cycle.objects.filter(pk=c2017.pk).update(description=(
        "海口市美兰区首个完整的参与式预算项目：海甸、人民路两个街道、13个社区，"
        "每个街道105万元用于街道层面项目，每个社区30万元用于社区层面项目。"
    ))
    _configure(operator, c2017, streets[:2], [communities[c] for c in first], 1_050_000, 300_000)
    _run_stages(operator, c2017, _at(2017, 3, 1), until="screen")
    load_demo_proposals(c2017, max(50, int(4_362 * proposal_scale)), seed=2017, merged_streets=None,
                        start=_at(2017, 3, 15), days=30)
    load_demo_deliberation(c2017, seed=2017, actor=operator, start=dt.date(2017, 4, 20), finished=True)
    # Voting opens on the frozen ballots (the voting app copies them), 28,484 residents vote,
    # and leaving the voting stage counts every scope.
    vote = _run_stages(operator, c2017, _at(2017, 3, 1), until="vote")
    load_demo_votes(c2017, max(100, int(28_484 * proposal_scale)), seed=2017, start=vote.started_at,
                    hours=7 * 24)
    _run_stages(operator, c2017, _at(2017, 3, 1), until=None)
    load_demo_after(c2017, seed=2017, actor=operator)

    # 2018: in progress, in its voting stage.
    c2018 = cycle_create(actor=operator, district=district, template_key="meilan_full_pb",
                         name="2018 社区更新微实事", name_en="2018 Community Renewal Micro-Projects",
                         year=2018, starts_on=dt.date(2018, 3, 1), total_budget_yuan=12_000_000)
    Cycle.objects.filter(pk=c2018.pk).update(description=(
        "第二季：海甸、人民路、白龙、和平南四个街道，24个社区，投入资金1,200万元，覆盖人口21.9万。"
    ))
    _configure(operator, c2018, streets[:4], [communities[c] for c in first + added],
               1_050_000, 325_000)
    _run_stages(operator, c2018, _at(2018, 3, 1), until="screen")
    load_demo_proposals(c2018, max(200, int(27_405 * proposal_scale)), seed=2018, merged_streets=None,
                        start=_at(2018, 3, 15), days=30)
    load_demo_deliberation(c2018, seed=2018, actor=operator, start=dt.date(2018, 4, 20), finished=True)
    # Voting is under way: online and at polling points (haidian-polling runs 海甸街道's).
    vote = _run_stages(operator, c2018, _at(2018, 3, 1), until="vote")
    # The ballots were frozen after the planned close of the vote, so the district publishes
    # a new week-long window, as it would: "opens 5月21日 09:00, closes 5月28日 18:00".
    closes = (vote.started_at.astimezone(ZoneInfo(settings.TIME_ZONE)) + dt.timedelta(days=7)).replace(
        hour=18, minute=0, second=0, microsecond=0)
    vote = stage_reschedule(actor=operator, stage=vote, opens_at=vote.started_at, closes_at=closes)
    load_demo_votes(c2018, max(100, int(6_000 * proposal_scale)), seed=2018, start=vote.started_at,
                    hours=3 * 24)

    # A Xihu-style cycle (幸福微实事, 三单) in 白龙街道 on Xihu's 2017-2018 dates, its service
    # winners taken by social organisations.
    from civicbudget.demo.partners_data import load_demo_partners

    bailong = User.objects.get(username="bailong-officer")
    load_demo_partners(operator=operator, officer=bailong, district=district, street=streets[2],
                       communities=[communities[c] for c in STREETS[2][1]])

    # A small 2019 pilot of the theme-division ballot (demo/fairness_data.py), counted and
    # published, in 海甸街道.
    from civicbudget.demo.fairness_data import load_demo_division

    load_demo_division(operator=operator, officer=User.objects.get(username="haidian-officer"),
                       district=district, street=streets[0])
    # Two more 2019 pilots of the fairer counts (docs/voting.md): a floor for elderly and
    # disability projects with stakeholder weights in 人民路街道, and a group budget that only
    # the disabled persons' federation's members decide, in 和平南街道.
    from civicbudget.demo.fairness_data import load_demo_group, load_demo_priority

    load_demo_priority(operator=operator, officer=User.objects.get(username="renminlu-officer"),
                       district=district, street=streets[1],
                       communities=[communities[c] for c in STREETS[1][1][:3]])
    load_demo_group(operator=operator, officer=operator, district=district, street=streets[3],
                    community=communities[STREETS[3][1][0]])
    return logins


def _configure(actor, cycle, streets, communities, street_pool: int, community_pool: int) -> None:
    cycle_set_participants(actor=actor, cycle=cycle, streets=streets, communities=communities)
    for street in streets:
        pool_set(actor=actor, cycle=cycle, place=street, amount_yuan=street_pool)
    for community in communities:
        pool_set(actor=actor, cycle=cycle, place=community, amount_yuan=community_pool)


def _run_stages(actor, cycle, start: dt.datetime, until: str | None):
    """Move the cycle on at each planned close until a stage of kind ``until`` runs (or the end).

    A draft cycle starts at ``start``. Voting never opens before the last ballot was frozen.
    """
    cycle.refresh_from_db()
    stage = cycle.current_stage
    if cycle.status == "draft":
        now = start
        stage = stage_advance(actor=actor, cycle=cycle, now=now)
    else:
        now = stage.started_at if stage else start
    while stage is not None and stage.kind != until:
        now = max(now, stage.closes_at) if stage.closes_at else now + dt.timedelta(days=7)
        following = cycle.stages.filter(order=stage.order + 1).first()
        if following is not None and following.kind == "vote":
            frozen = Ballot.objects.filter(cycle=cycle).aggregate(last=Max("frozen_at"))["last"]
            if frozen is not None:
                now = max(now, frozen + dt.timedelta(days=1))
        stage = stage_advance(actor=actor, cycle=cycle, now=now)
    return stage
