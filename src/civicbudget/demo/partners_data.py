"""The demo's Xihu-style cycle (幸福微实事, 三单, on Xihu's 2017-2018 dates): paper proposals typed in and merged, a vote,
then the service winners offered for orders to three social organisations.

Runs through the services (registration, approval, offers, bids, the choice, delivery
reports), so the demo shows exactly what officers and organisations would do; small enough
to keep the demo's start within its budget.
"""

from __future__ import annotations

import datetime as dt
import random

from civicbudget.cycles.models import Cycle
from civicbudget.cycles.services import cycle_create
from civicbudget.delivery import services as delivery
from civicbudget.delivery.models import Implementation
from civicbudget.identity import credit_check_char
from civicbudget.partners import services as partners

# name, first 17 characters of the credit code, services, qualifications
ORGANISATIONS = [
    ("海南青禾社会工作服务中心", "52460108MJ0000101", "长者食堂运营、居家养老上门服务、独居老人探访",
     "民办非企业单位，4A级社会组织，持证社工12名"),
    ("海口椰城助老服务中心", "52460108MJ0000202", "长者食堂、助餐配送、老年活动中心运营",
     "民办非企业单位，3A级社会组织"),
    ("海南大学校友会社区服务队", "51460000MJ0000303", "四点半课堂、青少年托管、社区文化活动",
     "社会团体，与白龙街道6个社区签订合作协议"),
]
PLANS = ["中央厨房配送，社区设就餐点，每日午餐", "社区自办食堂，兼送餐上门", "志愿者结对，每周上门服务",
         "专职社工驻点，按周排班", "联合社区卫生站开展服务"]


def load_demo_partners(*, operator, officer, district, street, communities) -> Cycle:
    """A Xihu-style cycle in ``street``: typed-in proposals, a vote, implementation, three
    organisations and bids on every service winner (the first two chosen, the rest open)."""
    from civicbudget.demo.data import _at, _configure, _run_stages
    from civicbudget.demo.deliberation_data import load_demo_deliberation
    from civicbudget.demo.proposals_data import load_demo_proposals
    from civicbudget.demo.voting_data import load_demo_votes

    rng = random.Random(2017)
    cycle = cycle_create(actor=operator, district=district, template_key="xihu_xingfu",
                         name="2017 幸福微实事（三单试点）", name_en="2017 Happiness Micro-Projects (three orders)",
                         year=2017, starts_on=dt.date(2017, 9, 1), total_budget_yuan=None)
    Cycle.objects.filter(pk=cycle.pk).update(description=(
        "借鉴南昌西湖区“幸福微实事”：六步走，入户收集的纸质提议录机后整合；服务类项目由社会组织接单实施"
        "（百姓点单、政府买单、社会组织接单）。"))
    _configure(operator, cycle, [street], communities, 1_200_000, 300_000)
    _run_stages(operator, cycle, _at(2017, 9, 1), until="screen")
    load_demo_proposals(cycle, 320, seed=2019, merged_streets=None, start=_at(2017, 10, 8), days=50)
    load_demo_deliberation(cycle, seed=2019, actor=operator, start=dt.date(2017, 12, 2), finished=True)
    vote = _run_stages(operator, cycle, _at(2017, 9, 1), until="vote")
    load_demo_votes(cycle, 800, seed=2019, start=vote.started_at, hours=10 * 24)
    implement = _run_stages(operator, cycle, _at(2017, 9, 1), until="implement")
    now = implement.started_at + dt.timedelta(days=3)

    orgs = []
    for index, (name, first17, services, qualifications) in enumerate(ORGANISATIONS):
        org = partners.organisation_register(
            district=district, street_id=str(street.pk), name=name, credit_code=first17 + credit_check_char(first17),
            services=services, community_ids=[c.pk for c in communities], qualifications=qualifications,
            contact_name=["黄社工", "陈主任", "林同学"][index], contact_phone=f"1380013800{index}",
            now=implement.started_at - dt.timedelta(days=20))
        org, _key = partners.organisation_decide(actor=officer, organisation=org, approve=True,
                                                 reason="登记证书、年检和服务记录齐全", now=now)
        orgs.append(org)
    for community in communities[:2]:
        partners.partnership_add(actor=officer, organisation=orgs[2], community=community,
                                 since_on=dt.date(2017, 10, 29), note="高校校友会与社区签订合作协议")
    services_won = list(Implementation.objects.filter(cycle=cycle, project__project_type="services")
                        .select_related("project__street", "project__community", "cycle")
                        .order_by("project__name"))
    for number, impl in enumerate(services_won):
        offer = partners.offer_open(actor=officer, implementation=impl,
                                    bids_close_on=(now + dt.timedelta(days=14)).date(), now=now)
        bids = []
        for org in orgs:
            price = impl.allocation_yuan * rng.randint(80, 99) // 100
            bids.append(partners.bid_submit(
                organisation=org, offer=offer, plan=rng.choice(PLANS), price_yuan=price,
                starts_on=(now + dt.timedelta(days=30)).date(), ends_on=(now + dt.timedelta(days=300)).date(),
                schedule="签约后一个月内开始服务，按月报告进度", team=f"社工{rng.randint(2, 5)}名、志愿者{rng.randint(5, 20)}名",
                has_conflict=org is orgs[2] and number == 0,
                conflict="服务队负责人是该社区居委会委员" if org is orgs[2] and number == 0 else "",
                now=now + dt.timedelta(days=2)))
        if number < 2:
            chosen = min(bids, key=lambda b: b.price_yuan)
            partners.offer_choose(actor=officer, offer=offer, bid_id=chosen.pk,
                                  reason="报价最低且方案覆盖独居老人送餐；团队有同类项目经验",
                                  now=now + dt.timedelta(days=15))
            impl.refresh_from_db()
            contractor = partners.Contractor(chosen.organisation)
            delivery.spending_record(actor=contractor, implementation=impl, amount_yuan=chosen.price_yuan // 3,
                                     payee="食材及耗材供应商", description="首季度服务支出",
                                     spent_on=(now + dt.timedelta(days=60)).date())
            delivery.progress_add(actor=contractor, implementation=impl, text="服务已开展，每日按时开餐、送餐",
                                  percent=30, now=now + dt.timedelta(days=60))
    return cycle
