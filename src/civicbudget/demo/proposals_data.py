"""Demo proposals at the source document's scale: 4,362 in 2017, 27,405 in 2018.

Texts are generated from requests residents make (lights, lifts, roads, cameras, canteens for
the elderly, ...) at places of each community, in several phrasings, so the merge workbench
has realistic near-duplicates to group. The same seed gives the same rows every time.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import defaultdict

from django.db import transaction

from civicbudget.cycles.models import Cycle
from civicbudget.demo.bulk import insert_rows
from civicbudget.identity import keyed_hash
from civicbudget.proposals.models import Channel, Project, Proposal, ProposerKind
from civicbudget.textmatch import analyze

# (topic, project type, needs: building|estate|road|site|none, phrasings with {p} for the place)
REQUESTS: list[tuple[str, str, str, list[str]]] = [
    ("楼道灯", "works", "building", ["{p}楼道灯坏了，晚上太黑", "{p}楼道太黑了，希望装声控灯",
                                    "建议{p}更换楼道照明灯", "{p}楼梯间一片漆黑，老人上下楼不安全"]),
    ("加装电梯", "works", "building", ["{p}老人多，希望加装电梯", "建议{p}加装电梯",
                                      "{p}住户年纪大爬楼难，申请装电梯"]),
    ("路面修缮", "works", "road", ["{p}路面坑坑洼洼，下雨积水，建议修缮", "修一修{p}的破路面",
                                  "{p}人行道砖松动，经常有人摔倒"]),
    ("安装监控", "works", "estate", ["{p}经常丢电动车，建议安装监控", "{p}装几个摄像头吧",
                                    "{p}出入口没有监控，治安差"]),
    ("路灯", "works", "road", ["{p}晚上没有路灯，建议安装", "{p}路灯坏了好久没人修",
                              "希望{p}增设路灯"]),
    ("健身器材", "goods", "site", ["{p}增设健身器材", "{p}的健身器材都坏了，换新的吧",
                                  "希望在{p}放一些老人健身设施"]),
    ("长者食堂", "services", "none", ["社区开个长者食堂，方便老人吃饭", "希望社区有老年人饭堂",
                                     "独居老人吃饭难，建议办长者食堂"]),
    ("分类垃圾箱", "goods", "estate", ["{p}垃圾桶太少，建议增设分类垃圾箱", "{p}垃圾乱堆，多放几个垃圾桶"]),
    ("充电桩", "works", "estate", ["{p}建电动车充电桩，防止飞线充电", "{p}需要电动车集中充电的地方"]),
    ("绿化补种", "works", "site", ["{p}绿化带荒了，补种花草", "{p}的树枯死了，建议补种"]),
    ("下水道", "works", "estate", ["{p}下水道经常堵，建议疏通改造", "{p}一下雨就返臭水，排水管要改造"]),
    ("四点半课堂", "services", "none", ["放学后孩子没人管，办个四点半课堂", "希望社区开设四点半学校，辅导孩子作业"]),
    ("法律咨询", "services", "none", ["请律师每月来社区免费法律咨询", "社区开展法律援助和咨询服务"]),
    ("休闲座椅", "goods", "site", ["{p}放几张休闲座椅", "{p}没地方坐，建议添置长椅"]),
    ("灭火器", "goods", "building", ["{p}楼道配灭火器", "{p}消防器材过期了，要更换"]),
    ("防溺水宣传", "services", "none", ["暑假前开展防溺水宣传，配救生圈", "社区组织孩子学游泳和防溺水知识"]),
]
ESTATE_WORDS = ["海景", "椰林", "金港", "锦绣", "阳光", "碧海", "新城", "和平", "滨江", "银湖"]
ESTATE_KINDS = ["小区", "花园", "新村", "公寓"]
ROAD_WORDS = ["海甸二东路", "人民大道", "和平南路", "白龙北路", "美舍河沿线步道", "龙昆北路",
              "海府路", "文明东路", "新埠岛环岛路", "碧海大道", "万福路", "振兴路"]
SITES = ["社区广场", "社区公园", "菜市场门口", "小学门口", "老年活动中心", "篮球场"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐符邢吉云"
GIVEN = "明华芳伟秀英丽强敏静磊洋艳勇军杰娟涛超霞平刚桂兰海燕玉珍红梅文亮斌"
CHANNELS = [(Channel.DOOR_TO_DOOR, 45), (Channel.ONLINE, 25), (Channel.COLLECTION_POINT, 10),
            (Channel.MEETING, 10), (Channel.PAPER, 7), (Channel.SOCIAL_ORG, 3)]
KINDS = [(ProposerKind.RESIDENT, 88), (ProposerKind.SOCIAL_ORG, 4), (ProposerKind.SCHOOL, 4),
         (ProposerKind.DEPUTY, 3), (ProposerKind.COMPANY, 1)]
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _weighted(rng: random.Random, options):
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _issues(rng: random.Random, community_index: int, count: int) -> list[tuple[str, str, str, list[str], str]]:
    """Return the community's issues: (key, topic, type, phrasings, place) for ``count`` of them."""
    estates = [f"{ESTATE_WORDS[(community_index + i) % len(ESTATE_WORDS)]}{ESTATE_KINDS[i % 4]}"
               for i in range(3)]
    roads = rng.sample(ROAD_WORDS, 3)
    issues, seen = [], set()
    while len(issues) < count:
        topic, kind, needs, phrasings = rng.choice(REQUESTS)
        if needs == "building":
            place = f"{rng.choice(estates)}{rng.randint(1, 18)}栋"
        elif needs == "estate":
            place = rng.choice(estates)
        elif needs == "road":
            place = rng.choice(roads)
        elif needs == "site":
            place = rng.choice(SITES)
        else:
            place = ""
        key = f"{topic}|{place}"
        if key in seen:
            continue
        seen.add(key)
        issues.append((key, topic, kind, phrasings, place))
    return issues


def load_demo_proposals(cycle: Cycle, total: int, *, seed: int, merged_streets: set[str] | None,
                        start: dt.datetime, days: int) -> tuple[int, int]:
    """Create ``total`` proposals over the cycle's communities; merge those of ``merged_streets``
    (None: all) into projects. Return (proposals, projects)."""
    rng = random.Random(seed)
    communities = list(cycle.communities.select_related("street").order_by("street__code", "name"))
    population = sum(c.population for c in communities)
    analyses: dict[str, str] = {}
    codes: set[str] = set()
    rows: list[dict] = []
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    meta: dict[tuple[int, str], tuple[str, str, str]] = {}
    remaining = total
    for index, community in enumerate(communities):
        share = (total * community.population // population if index < len(communities) - 1
                 else remaining)
        remaining -= share
        issues = _issues(rng, index, 32)
        # A few issues draw most proposals, as in every real collection.
        weights = [1 / (rank + 1) ** 0.9 for rank in range(len(issues))]
        for _ in range(share):
            key, topic, kind, phrasings, place = rng.choices(issues, weights=weights)[0]
            text = rng.choice(phrasings).format(p=place) + rng.choice(["", "", "。", "！", "，谢谢"])
            if text not in analyses:
                # Stored as the JSON text the field holds; repeated texts share the work.
                analyses[text] = json.dumps(analyze(text).to_dict(), ensure_ascii=False)
            code = "".join(rng.choice(CODE_ALPHABET) for _ in range(8))
            while code in codes:
                code = "".join(rng.choice(CODE_ALPHABET) for _ in range(8))
            codes.add(code)
            phone = f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}"
            channel = _weighted(rng, CHANNELS)
            groups[(community.pk, key)].append(len(rows))
            meta[(community.pk, key)] = (f"{place}{topic}" if place else f"社区{topic}", kind, topic)
            rows.append({
                "cycle": cycle.pk, "street": community.street_id, "community": community.pk,
                "tracking_code": code, "title": text[:30], "text": text, "project_type": kind,
                "theme": topic, "address": place, "photo": "",
                "proposer_name": rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice([1, 2]))),
                "proposer_phone": phone, "phone_hash": keyed_hash(phone, "phone"),
                "proposer_kind": _weighted(rng, KINDS), "channel": channel, "entered_by": None,
                "submitted_at": start + dt.timedelta(seconds=rng.randint(0, days * 86_400)),
                "project": None, "analysis": analyses[text], "import_key": None,
            })
    streets = {c.pk: c.street for c in communities}
    by_pk = {c.pk: c for c in communities}
    with transaction.atomic():
        insert_rows(Proposal, rows)
        ids = dict(Proposal.objects.filter(cycle=cycle).values_list("tracking_code", "pk"))
        projects = 0
        for (community_id, key), members in groups.items():
            street = streets[community_id]
            if merged_streets is not None and street.name not in merged_streets:
                continue
            name, kind, topic = meta[(community_id, key)]
            project = Project.objects.create(
                cycle=cycle, street=street, community=by_pk[community_id], name=name[:100],
                project_type=kind, theme=topic,
                description=f"由{len(members)}条居民提议合并而成。",
            )
            Proposal.objects.filter(pk__in=[ids[rows[i]["tracking_code"]] for i in members]).update(
                project=project)
            projects += 1
    return len(rows), projects
