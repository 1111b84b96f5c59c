"""The demo's theme-division pilot: 美兰区 2019 "主题分配试点" (template_key meilan_full_pb,
name_en "2019 Theme-Division Pilot").

A street ballot (海甸街道, 1,050,000 yuan, ten projects over four themes), one community's
ballot (the template has both levels: 300,000 yuan, three projects) and a division ballot
over the four themes; a few hundred demo voters cast both through the voting service,
as residents would online, and the cycle is walked to its end, so the count (division first,
then the street ballot under the theme pools), the results page and the public export
(``civicbudget ledger export --cycle ID DIR && civicbudget ledger verify DIR``) all exist.
Small on purpose: a few seconds of the demo's start.
"""

from __future__ import annotations

import datetime as dt
import random

from civicbudget.cycles.models import Cycle
from civicbudget.cycles.services import cycle_create, cycle_set_participants, pool_set
from civicbudget.deliberation.division import theme_division_set
from civicbudget.deliberation.services import (
    ballot_freeze,
    ballot_prepare,
    cost_set,
    screening_criteria,
    screening_record,
)
from civicbudget.proposals.models import Project, Proposal
from civicbudget.voting import logstore
from civicbudget.voting import services as voting
from civicbudget.voting.idcard import id_check_char
from civicbudget.voting.models import VotingScope

NAME = "2019 主题分配试点"
THEMES = ["养老助残", "文体活动", "环境卫生", "公共安全"]
# (name, theme, cost in yuan, how much voters like it: a weight of the approval draw)
PROJECTS = [
    ("长者食堂扩建", "养老助残", 220_000, 0.5), ("无障碍坡道改造", "养老助残", 120_000, 0.35),
    ("社区篮球场翻新", "文体活动", 260_000, 0.8), ("全民健身路径", "文体活动", 180_000, 0.7),
    ("社区文化墙", "文体活动", 90_000, 0.6), ("垃圾分类亭", "环境卫生", 150_000, 0.45),
    ("背街小巷清洁", "环境卫生", 100_000, 0.4), ("楼道灯更换", "公共安全", 80_000, 0.55),
    ("电动车充电棚", "公共安全", 200_000, 0.5), ("监控补盲", "公共安全", 160_000, 0.3),
]
COMMUNITY_PROJECTS = [("长者活动室", "养老助残", 60_000, 0.5), ("儿童游乐角", "文体活动", 50_000, 0.7),
                      ("绿化补种", "环境卫生", 40_000, 0.5)]
# Each voter's leaning: how they split 100% (whole percents) across THEMES, before noise.
LEANINGS = [(40, 20, 20, 20), (15, 50, 15, 20), (20, 20, 40, 20), (20, 15, 20, 45), (25, 25, 25, 25)]


def _split(rng: random.Random) -> dict[str, int]:
    base = rng.choice(LEANINGS)
    raw = [max(0, b + rng.randint(-10, 10)) for b in base]
    points = [round(100 * r / sum(raw)) for r in raw]
    points[points.index(max(points))] += 100 - sum(points)  # whole percents adding up to 100
    return {f"t{j}": p for j, p in enumerate(points, start=1) if p}


def load_demo_division(*, operator, officer, district, street, voters: int = 300,
                       seed: int = 2019) -> Cycle:
    """Create, vote, count and publish the pilot; return the cycle."""
    from civicbudget.demo.data import _at, _run_stages  # the demo's own stage walker

    rng = random.Random(seed)
    cycle = cycle_create(actor=operator, district=district, template_key="meilan_full_pb",
                         name=NAME, name_en="2019 Theme-Division Pilot", year=2019,
                         starts_on=dt.date(2019, 3, 1), total_budget_yuan=1_350_000)
    Cycle.objects.filter(pk=cycle.pk).update(description=(
        "试点：海甸街道一个社区的居民先把135万元按百分比分给养老助残、文体活动、环境卫生、公共安全四类主题，"
        "再为街道和社区项目投票；每类主题的项目最多得到它分到的比例。"))
    community = street.communities.order_by("pk").first()
    cycle_set_participants(actor=operator, cycle=cycle, streets=[street], communities=[community])
    pool_set(actor=operator, cycle=cycle, place=street, amount_yuan=1_050_000)
    pool_set(actor=operator, cycle=cycle, place=community, amount_yuan=300_000)
    theme_division_set(actor=operator, cycle=cycle, themes=THEMES, rule="independent-markets")
    _run_stages(operator, cycle, _at(2019, 3, 1), until="screen")
    criteria = screening_criteria(cycle)
    rows = [(r, None) for r in PROJECTS] + [(r, community) for r in COMMUNITY_PROJECTS]
    for i, ((name, theme, cost, _like), place) in enumerate(rows):
        project = Project.objects.create(
            cycle=cycle, street=street, community=place, name=name, theme=theme,
            level=Project.Level.COMMUNITY if place else Project.Level.STREET)
        Proposal.objects.create(cycle=cycle, street=street, community=community,
                                tracking_code=f"D2019{i:05d}", title=name, text=f"建议：{name}",
                                proposer_name="居民", channel="paper", project=project)
        screening_record(actor=officer, project=project, results={k: (True, "") for k in criteria})
        cost_set(actor=officer, project=project, amount_yuan=cost)
    for place in (street, community):
        ballot_freeze(actor=officer, ballot=ballot_prepare(actor=officer, cycle=cycle, place=place))
    _run_stages(operator, cycle, _at(2019, 3, 1), until="vote")
    division = VotingScope.objects.get(cycle=cycle, key__startswith="division:")
    ballots = [(scope, logstore.spec_from_json(scope.spec))
               for scope in VotingScope.objects.filter(cycle=cycle).exclude(key__startswith="division:")]
    likes = {str(p.pk): like for p in Project.objects.filter(cycle=cycle)
             for n, _t, _c, like in PROJECTS + COMMUNITY_PROJECTS if n == p.name}
    for i in range(voters):
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 50 * 365))
        first17 = f"460108{born:%Y%m%d}{i % 1000:03d}"
        voter = voting.voter_identify(
            cycle=cycle, doc_type="id_card", doc_number=first17 + id_check_char(first17),
            community_id=community.pk, basis="live", phone=f"139{i:08d}")
        voting.ballot_cast(voter=voter, scope=division, choices=_split(rng))
        for scope, spec in ballots:
            chosen = [p.id for p in spec.projects if rng.random() < likes[p.id]]
            if spec.max_length:
                chosen = chosen[:spec.max_length]
            voting.ballot_cast(voter=voter, scope=scope, choices=chosen or [spec.projects[0].id])
    _run_stages(operator, cycle, _at(2019, 3, 1), until=None)
    return Cycle.objects.get(pk=cycle.pk)


# -- 2019 关爱优先试点: a category floor and stakeholder weights ------------------------------

PRIORITY_NAME = "2019 关爱优先试点"
# (name, community index or None for "serves several communities", theme, cost, base liking)
PRIORITY_PROJECTS = [
    ("白沙坊长者助餐点", 0, "养老助残", 90_000, 0.25), ("东坡社区无障碍通道", 1, "养老助残", 80_000, 0.2),
    ("海联社区康复角", 2, "养老助残", 70_000, 0.2), ("白沙坊篮球场翻新", 0, "文体活动", 150_000, 0.55),
    ("东坡健身步道", 1, "文体活动", 120_000, 0.5), ("海联社区停车棚", 2, "公共安全", 110_000, 0.5),
    ("三社区路灯联网", None, "公共安全", 140_000, 0.45), ("街道口袋公园", None, "环境卫生", 160_000, 0.5),
]
# Each community also keeps a small project on its own ballot.
PRIORITY_LOCAL = [("楼道灯更换", "公共安全", 40_000), ("垃圾分类亭", "环境卫生", 50_000), ("儿童游乐角", "文体活动", 45_000)]
PRIORITY_FLOOR = "养老助残=0.3"


def load_demo_priority(*, operator, officer, district, street, communities, voters: int = 240,
                       seed: int = 20191) -> Cycle:
    """A street ballot counted with a floor for elderly and disability projects (at least 30%
    of the street's 600,000 yuan) and a stakeholder weight of 2: a resident's vote for a
    project promoted from their own community counts twice. Voted online, counted, published.
    """
    from civicbudget.deliberation.services import (
        category_bounds_set,
        project_promote,
        stakeholder_weight_set,
    )
    from civicbudget.demo.data import _at, _run_stages

    rng = random.Random(seed)
    cycle = cycle_create(actor=operator, district=district, template_key="meilan_full_pb",
                         name=PRIORITY_NAME, name_en="2019 Care-First Pilot", year=2019,
                         starts_on=dt.date(2019, 4, 1), total_budget_yuan=1_080_000)
    Cycle.objects.filter(pk=cycle.pk).update(description=(
        "试点：人民路街道60万元的街道项目中，至少30%留给养老助残类项目；"
        "居民为本社区提出的项目投票，这一票按两票计。"))
    cycle_set_participants(actor=operator, cycle=cycle, streets=[street], communities=communities)
    pool_set(actor=operator, cycle=cycle, place=street, amount_yuan=600_000)
    for community in communities:
        pool_set(actor=operator, cycle=cycle, place=community, amount_yuan=160_000)
    cycle.refresh_from_db()
    cycle.config["community_cap_yuan"] = 60_000  # above it, a community's project goes to the street
    cycle.save(update_fields=["config"])
    stakeholder_weight_set(actor=operator, cycle=cycle, weight="2")
    # The floor is the street ballot's: the communities' ballots have no such projects.
    category_bounds_set(actor=operator, cycle=cycle, floors=[PRIORITY_FLOOR], caps=[],
                        scope_key=f"street:{street.pk}")
    _run_stages(operator, cycle, _at(2019, 4, 1), until="screen")
    criteria = screening_criteria(cycle)
    serves: dict[str, int | None] = {}
    for i, (name, home, theme, cost, _like) in enumerate(PRIORITY_PROJECTS):
        community = communities[home if home is not None else 0]
        project = Project.objects.create(cycle=cycle, street=street, community=community, name=name,
                                         theme=theme, level=Project.Level.COMMUNITY)
        Proposal.objects.create(cycle=cycle, street=street, community=community,
                                tracking_code=f"P2019{i:05d}", title=name, text=f"建议：{name}",
                                proposer_name="居民", channel="paper", project=project)
        cost_set(actor=officer, project=project, amount_yuan=cost)
        if home is None:
            project_promote(actor=officer, project=project, reason="several_communities",
                            note="、".join(c.name for c in communities))
        else:
            project_promote(actor=officer, project=project, reason="cost_above_cap")
        screening_record(actor=officer, project=project, results={k: (True, "") for k in criteria})
        serves[str(project.pk)] = communities[home].pk if home is not None else None
    for i, (community, (name, theme, cost)) in enumerate(zip(communities, PRIORITY_LOCAL, strict=False)):
        project = Project.objects.create(cycle=cycle, street=street, community=community, name=name,
                                         theme=theme, level=Project.Level.COMMUNITY)
        Proposal.objects.create(cycle=cycle, street=street, community=community,
                                tracking_code=f"P2019{100 + i:05d}", title=name, text=f"建议：{name}",
                                proposer_name="居民", channel="paper", project=project)
        screening_record(actor=officer, project=project, results={k: (True, "") for k in criteria})
        cost_set(actor=officer, project=project, amount_yuan=cost)
    for place in (street, *communities):
        ballot_freeze(actor=officer, ballot=ballot_prepare(actor=officer, cycle=cycle, place=place))
    _run_stages(operator, cycle, _at(2019, 4, 1), until="vote")
    scope = VotingScope.objects.get(cycle=cycle, key=f"street:{street.pk}")
    spec = logstore.spec_from_json(scope.spec)
    local = {int(s.key.split(":")[1]): (s, logstore.spec_from_json(s.spec))
             for s in VotingScope.objects.filter(cycle=cycle, key__startswith="community:")}
    likes = {str(p.pk): like for p in Project.objects.filter(cycle=cycle)
             for n, _h, _t, _c, like in PRIORITY_PROJECTS if n == p.name}
    for i in range(voters):
        community = communities[i % len(communities)]
        born = dt.date(1945, 1, 1) + dt.timedelta(days=rng.randrange(0, 55 * 365))
        first17 = f"460108{born:%Y%m%d}{500 + i % 500:03d}"
        voter = voting.voter_identify(
            cycle=cycle, doc_type="id_card", doc_number=first17 + id_check_char(first17),
            community_id=community.pk, basis="live", phone=f"137{i:08d}")
        # Residents favour what their own community asked for.
        chosen = [p.id for p in spec.projects
                  if rng.random() < likes[p.id] + (0.35 if serves[p.id] == community.pk else 0)]
        rng.shuffle(chosen)
        chosen = chosen[:spec.max_length] if spec.max_length else chosen
        voting.ballot_cast(voter=voter, scope=scope, choices=chosen or [spec.projects[-1].id])
        own_scope, own_spec = local[community.pk]
        voting.ballot_cast(voter=voter, scope=own_scope, choices=[own_spec.projects[0].id])
    _run_stages(operator, cycle, _at(2019, 4, 1), until=None)
    return Cycle.objects.get(pk=cycle.pk)


# -- 2019 助残微实事: a group budget -----------------------------------------------------------

GROUP_NAME = "2019 助残微实事"
GROUP = "区残联登记会员"
GROUP_PROJECTS = [("助听器适配服务", "养老助残", 120_000, 0.6), ("盲道修复", "养老助残", 150_000, 0.5),
                  ("轮椅借用点", "养老助残", 60_000, 0.55), ("康复训练班", "养老助残", 100_000, 0.45),
                  ("无障碍卫生间改造", "养老助残", 180_000, 0.4)]


def load_demo_group(*, operator, officer, district, street, community, members: int = 260,
                    voters: int = 180, seed: int = 20192) -> Cycle:
    """A budget decided by a registered group, not a place: only the members of the district
    disabled persons' federation on the imported list (keyed hashes only) may vote on the
    500,000 yuan street ballot; counted and published as usual."""
    from civicbudget.demo.data import _at, _run_stages
    from civicbudget.voting.electorate import electorate_set, members_import

    rng = random.Random(seed)
    cycle = cycle_create(actor=operator, district=district, template_key="meilan_full_pb",
                         name=GROUP_NAME, name_en="2019 Disability Micro-Projects", year=2019,
                         starts_on=dt.date(2019, 5, 1), total_budget_yuan=500_000)
    Cycle.objects.filter(pk=cycle.pk).update(description=(
        "区残联50万元的助残预算由登记会员投票决定：只有会员名单上的居民可以投票。"))
    cycle_set_participants(actor=operator, cycle=cycle, streets=[street], communities=[community])
    cycle.refresh_from_db()
    # One ballot for the whole group: a street-level pool only; members pick the community
    # they live in when they register, as every voter does.
    cycle.config["levels"] = ["street"]
    cycle.save(update_fields=["config"])
    electorate_set(actor=operator, cycle=cycle, kind="group", name=GROUP)
    pool_set(actor=operator, cycle=cycle, place=street, amount_yuan=500_000)
    numbers = []
    for i in range(members):
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 60 * 365))
        first17 = f"460108{born:%Y%m%d}{i % 1000:03d}"
        numbers.append(first17 + id_check_char(first17))
    members_import(actor=operator, cycle=cycle, filename="members.csv",
                   data=("证件号码\n" + "\n".join(numbers) + "\n").encode())
    _run_stages(operator, cycle, _at(2019, 5, 1), until="screen")
    criteria = screening_criteria(cycle)
    for i, (name, theme, cost, _like) in enumerate(GROUP_PROJECTS):
        project = Project.objects.create(cycle=cycle, street=street, name=name, theme=theme,
                                         level=Project.Level.STREET)
        Proposal.objects.create(cycle=cycle, street=street, community=community,
                                tracking_code=f"G2019{i:05d}", title=name, text=f"建议：{name}",
                                proposer_name="残联会员", channel="paper", project=project)
        screening_record(actor=officer, project=project, results={k: (True, "") for k in criteria})
        cost_set(actor=officer, project=project, amount_yuan=cost)
    ballot_freeze(actor=officer, ballot=ballot_prepare(actor=officer, cycle=cycle, place=street))
    _run_stages(operator, cycle, _at(2019, 5, 1), until="vote")
    (scope,) = VotingScope.objects.filter(cycle=cycle)
    spec = logstore.spec_from_json(scope.spec)
    likes = {str(p.pk): like for p in Project.objects.filter(cycle=cycle)
             for n, _t, _c, like in GROUP_PROJECTS if n == p.name}
    for i, number in enumerate(rng.sample(numbers, voters)):
        voter = voting.voter_identify(cycle=cycle, doc_type="id_card", doc_number=number,
                                      community_id=community.pk, basis="live", phone=f"136{i:08d}")
        chosen = [p.id for p in spec.projects if rng.random() < likes[p.id]]
        chosen = chosen[:spec.max_length] if spec.max_length else chosen
        voting.ballot_cast(voter=voter, scope=scope, choices=chosen or [spec.projects[0].id])
    _run_stages(operator, cycle, _at(2019, 5, 1), until=None)
    return Cycle.objects.get(pk=cycle.pk)
