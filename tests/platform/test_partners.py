"""Social organisations (三单): credit codes, registration, approval, orders, bids, the choice,
delivery by the chosen organisation, its public track record; and the new templates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.cycles.templates import templates
from civicbudget.delivery import services as delivery
from civicbudget.delivery.models import Implementation, Milestone, Rating, Spending, Step
from civicbudget.errors import PermissionDenied, PreconditionFailed, ServiceError
from civicbudget.identity import (
    IdentifierError,
    canonical_credit_code,
    credit_check_char,
    keyed_hash,
)
from civicbudget.partners import selectors, services
from civicbudget.partners.models import Bid, Offer, Organisation
from civicbudget.proposals.models import Project

from factories import advance_to, make_cycle, make_project, run_stage, staff

GOOD = "91350100M000100Y43"  # the example of GB 32100-2015


def code(first17: str) -> str:
    return first17 + credit_check_char(first17)


# -- the credit code ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [GOOD, "91350100m000100y43", "9135 0100-M000 100Y43",
                                 "９１３５０１００Ｍ０００１００Ｙ４３", "\u00a091350100M000100Y43\u200b"])
def test_credit_code_has_one_spelling(raw):
    assert canonical_credit_code(raw) == GOOD


@pytest.mark.parametrize(("raw", "says"), [
    ("91350100M000100Y44", "check character"),
    ("91350100M000100Y4", "18 characters"),
    ("91350100M0001O0Y43", "never holds the letters"),      # the letter O for a zero
    ("9135010OM000100Y43", "never holds the letters"),
    ("91A50100M000100Y43", "administrative division"),
    ("٩1350100M000100Y43", "not allowed"),                  # an Arabic-Indic nine
    ("९1350100M000100Y43", "not allowed"),                  # a Devanagari nine
    ("91350100М000100Y43", "not allowed"),                  # a Cyrillic М
    ("9" * 70, "too long"),
])
def test_bad_credit_codes_are_refused_naming_the_field(raw, says):
    with pytest.raises(IdentifierError, match=says) as info:
        canonical_credit_code(raw)
    assert info.value.field == "credit_code"


def test_check_character_covers_the_whole_alphabet():
    # Every check value 0-30 is reachable and round-trips.
    seen = {credit_check_char(f"9144030070846{n:04d}") for n in range(400)}
    assert len(seen) == 31
    assert canonical_credit_code(code("91440300708461136")) == "91440300708461136T"


# -- a world with a Xihu-style cycle in its implementation stage --------------------------------


def _register(world, name="青禾社工", first17="91460108MA5T00001", communities=None, client="1.2.3.4"):
    return services.organisation_register(
        district=world.district, street_id=str(world.haidian.pk), name=name, credit_code=code(first17),
        services="居家养老、长者食堂运营", community_ids=[str(c.pk) for c in (communities or [world.haida])],
        qualifications="民办非企业单位，3A级社会组织", contact_name="黄社工", contact_phone="+86 138-0013-8000",
        client=client)


def _approved(world, officer, **kw):
    org = _register(world, **kw)
    org, key = services.organisation_decide(actor=officer, organisation=org, approve=True, reason="资质齐全")
    return org, key


@pytest.fixture
def orders(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan],
                       template_key="xihu_xingfu")
    project = make_project(cycle, world.haida, name="长者食堂运营", proposals=2)
    Project.objects.filter(pk=project.pk).update(project_type="services")
    impl = Implementation.objects.create(project=Project.objects.get(pk=project.pk), cycle=cycle,
                                         body=world.haidian, allocation_yuan=200_000,
                                         due_on=dt.date(2031, 12, 31))
    run_stage(cycle, "implement")
    officer = staff(Role.STREET_OFFICER, world.haidian)
    a, key_a = _approved(world, officer)
    b, key_b = _approved(world, officer, name="椰城助老服务中心", first17="52460108MJ0000002")
    c, _key = _approved(world, officer, name="福安邻里互助会", first17="52460108MJ0000003",
                        communities=[world.fuan])
    impl = Implementation.objects.select_related("project__street", "project__community", "cycle").get(pk=impl.pk)
    offer = services.offer_open(actor=officer, implementation=impl,
                                bids_close_on=timezone.localdate() + dt.timedelta(days=10))
    return type("Orders", (), {"cycle": cycle, "impl": impl, "officer": officer, "a": a, "b": b, "c": c,
                               "key_a": key_a, "key_b": key_b, "offer": offer})


def _bid(org, offer, price=180_000, **kw):
    data = {"plan": "每日午餐、送餐上门", "price_yuan": price, "starts_on": "2031-03-01", "ends_on": "2031-12-31",
            "schedule": "3月开业，全年运营", "team": "社工2名、厨师3名", "has_conflict": False, "conflict": ""}
    data.update(kw)
    return services.bid_submit(organisation=org, offer=offer, **data)


# -- registration and approval ------------------------------------------------------------------


def test_registration_over_http_refuses_a_bad_code_and_writes_nothing(world):
    url = f"/districts/{world.district.pk}/organisations/register/"
    form = {"name": "青禾社工", "credit_code": "91350100M000100Y44", "street": world.haidian.pk,
            "services": "养老服务", "communities": [world.haida.pk], "contact_name": "黄社工",
            "contact_phone": "13800138000"}
    response = Client().post(url, form)
    assert response.status_code == 400
    assert "统一社会信用代码的校验位不符" in response.content.decode()
    assert Organisation.objects.count() == 0
    form["credit_code"] = "９１３５０１００ｍ０００１００ｙ４３"
    response = Client().post(url, form)
    assert response.status_code == 200
    org = Organisation.objects.get()
    assert (org.credit_code, org.contact_phone, org.status) == (GOOD, "13800138000", "pending")
    # The contact's phone is in no audit row.
    assert not AuditEvent.objects.filter(after__icontains="13800138000").exists()
    assert AuditEvent.objects.filter(action="organisation_register").count() == 1


def test_registration_inputs_are_bounded_and_name_their_field(world):
    with pytest.raises(ServiceError) as info:
        services.organisation_register(district=world.district, street_id=str(world.haidian.pk), name="x" * 101,
                                       credit_code=GOOD, services="s", community_ids=[world.haida.pk],
                                       contact_name="黄", contact_phone="13800138000")
    assert info.value.field == "name"
    with pytest.raises(ServiceError) as info:
        services.organisation_register(district=world.district, street_id=str(world.haidian.pk), name="x",
                                       credit_code=GOOD, services="s", community_ids=[world.other_community.pk],
                                       contact_name="黄", contact_phone="13800138000")
    assert info.value.field == "communities"
    with pytest.raises(ServiceError) as info:
        services.organisation_register(district=world.district, street_id=str(world.haidian.pk), name="x",
                                       credit_code=GOOD, services="s", community_ids=[world.haida.pk],
                                       contact_name="黄", contact_phone="12345")
    assert info.value.field == "contact_phone"
    _register(world, first17=GOOD[:17])
    with pytest.raises(ServiceError) as info:
        _register(world, name="另一家", first17=GOOD[:17])
    assert (info.value.field, info.value.code) == ("credit_code", "duplicate")
    assert Organisation.objects.count() == 1


def test_approval_needs_a_reason_and_the_right_place_and_is_audited(world):
    org = _register(world)
    officer = staff(Role.STREET_OFFICER, world.haidian)
    with pytest.raises(ServiceError) as info:
        services.organisation_decide(actor=officer, organisation=org, approve=True, reason=" ")
    assert info.value.field == "reason"
    for outsider in (staff(Role.STREET_OFFICER, world.renmin), staff(Role.COMMUNITY_OFFICER, world.haida)):
        with pytest.raises(PermissionDenied):
            services.organisation_decide(actor=outsider, organisation=org, approve=True, reason="好")
    org.refresh_from_db()
    assert org.status == "pending"
    org, key = services.organisation_decide(actor=officer, organisation=org, approve=True, reason="资质齐全")
    assert org.status == "approved" and key and key not in org.key_hash
    assert services.organisation_by_key(key) == org
    event = AuditEvent.objects.get(action="organisation_approve")
    assert event.message == "资质齐全" and key not in str(event.after)
    with pytest.raises(PreconditionFailed):
        services.organisation_decide(actor=officer, organisation=org, approve=False, reason="改主意")
    rejected = _register(world, name="乙", first17="52460108MJ0000009")
    services.organisation_decide(actor=staff(Role.DISTRICT_ADMIN, world.district), organisation=rejected,
                                 approve=False, reason="登记证书过期")
    assert services.organisation_by_key(key) == org
    new_key = services.organisation_key_issue(actor=officer, organisation=org)
    assert services.organisation_by_key(key) is None and services.organisation_by_key(new_key) == org


def test_community_partners(world):
    officer = staff(Role.STREET_OFFICER, world.haidian)
    org, _key = _approved(world, officer)
    services.partnership_add(actor=officer, organisation=org, community=world.haida, since_on=dt.date(2017, 10, 29),
                             note="高校校友会结对")
    with pytest.raises(ServiceError):
        services.partnership_add(actor=officer, organisation=org, community=world.haida,
                                 since_on=dt.date(2018, 1, 1))
    with pytest.raises(PermissionDenied):
        services.partnership_add(actor=officer, organisation=org, community=world.baisha,
                                 since_on=dt.date(2018, 1, 1))
    record = selectors.track_record(org)
    assert record["partner_of"] == [{"community": "海达社区", "since_on": dt.date(2017, 10, 29)}]


# -- orders ------------------------------------------------------------------------------------------


def test_only_service_projects_of_a_three_orders_cycle_are_offered(world, orders):
    works = make_project(orders.cycle, world.haida, name="楼道灯")
    impl = Implementation.objects.create(project=works, cycle=orders.cycle, body=world.haidian,
                                         allocation_yuan=50_000, due_on=dt.date(2031, 12, 31))
    with pytest.raises(PreconditionFailed, match="service"):
        services.offer_open(actor=orders.officer, implementation=impl, bids_close_on=timezone.localdate())
    with pytest.raises(ServiceError) as info:
        services.offer_open(actor=orders.officer, implementation=orders.impl, bids_close_on=timezone.localdate())
    assert info.value.code == "duplicate"
    meilan = make_cycle(world.district, streets=[world.haidian], communities=[world.haida], name="美兰 2031")
    p = make_project(meilan, world.haida, name="长者食堂")
    Project.objects.filter(pk=p.pk).update(project_type="services")
    other = Implementation.objects.create(project=Project.objects.get(pk=p.pk), cycle=meilan, body=world.haidian,
                                          allocation_yuan=50_000, due_on=dt.date(2031, 12, 31))
    run_stage(meilan, "implement")
    with pytest.raises(PreconditionFailed, match="三单"):
        services.offer_open(actor=orders.officer, implementation=other, bids_close_on=timezone.localdate())


def test_price_above_the_allocation_is_refused(orders):
    with pytest.raises(ServiceError) as info:
        _bid(orders.a, orders.offer, price=200_001)
    assert (info.value.field, info.value.code) == ("price_yuan", "above_allocation")
    for bad in ("0", "-5", "1.5", "abc"):
        with pytest.raises(ServiceError) as info:
            _bid(orders.a, orders.offer, price=bad)
        assert info.value.field == "price_yuan"
    assert Bid.objects.count() == 0
    assert _bid(orders.a, orders.offer, price=200_000).price_yuan == 200_000


def test_a_declared_conflict_needs_its_description(orders):
    with pytest.raises(ServiceError) as info:
        _bid(orders.a, orders.offer, has_conflict=True)
    assert info.value.field == "conflict"
    bid = _bid(orders.a, orders.offer, has_conflict=True, conflict="理事长系社区居委会委员")
    assert bid.has_conflict and bid.conflict


def test_an_organisation_bids_only_where_it_serves(orders):
    with pytest.raises(PermissionDenied):
        _bid(orders.c, orders.offer)  # serves 福安社区, the project is in 海达社区
    assert AuditEvent.objects.filter(action="bid_submit", outcome="denied",
                                     actor_label=f"organisation:{orders.c.pk}").count() == 1


def test_an_organisation_never_sees_another_organisations_bids(orders):
    _bid(orders.a, orders.offer, price=150_000, plan="甲方案：中央厨房配送")
    _bid(orders.b, orders.offer, price=170_000, plan="乙方案：社区自办食堂")
    desk_a = Client()
    assert desk_a.post("/organisations/desk/", {"action": "enter", "key": orders.key_a}).status_code == 302
    page = desk_a.get("/organisations/desk/").content.decode()
    assert "甲方案" in page and "150,000" in page
    assert "乙方案" not in page and "170,000" not in page and orders.b.name not in page
    assert desk_a.post("/organisations/desk/", {"action": "enter", "key": "wrong"}).status_code == 400


def test_a_new_access_key_ends_the_old_keys_sessions(orders):
    desk = Client()
    desk.post("/organisations/desk/", {"action": "enter", "key": orders.key_a})
    assert orders.a.name in desk.get("/organisations/desk/").content.decode()
    assert orders.key_a not in str(dict(desk.session))
    new_key = services.organisation_key_issue(actor=orders.officer, organisation=orders.a)
    page = desk.get("/organisations/desk/").content.decode()
    assert orders.a.name not in page and 'name="key"' in page
    assert desk.post("/organisations/desk/", {"action": "enter", "key": orders.key_a}).status_code == 400
    assert desk.post("/organisations/desk/", {"action": "enter", "key": new_key}).status_code == 302


def test_the_choice_needs_a_reason_closes_bids_and_makes_the_contract(orders):
    _bid(orders.a, orders.offer, price=150_000)
    bid_b = _bid(orders.b, orders.offer, price=170_000, has_conflict=True, conflict="负责人系楼长")
    with pytest.raises(ServiceError) as info:
        services.offer_choose(actor=orders.officer, offer=orders.offer, bid_id=bid_b.pk, reason="")
    assert info.value.field == "reason"
    community_officer = staff(Role.COMMUNITY_OFFICER, orders.impl.project.community)
    with pytest.raises(PermissionDenied):
        services.offer_choose(actor=community_officer, offer=orders.offer, bid_id=bid_b.pk, reason="好")
    assert Offer.objects.get().status == "open"
    offer = services.offer_choose(actor=orders.officer, offer=orders.offer, bid_id=bid_b.pk,
                                  reason="方案含送餐上门，覆盖独居老人；价格在预算内")
    assert (offer.status, offer.chosen_bid_id) == ("awarded", bid_b.pk)
    impl = Implementation.objects.get(pk=orders.impl.pk)
    assert impl.step == Step.CONTRACT and impl.contract_ends_on == dt.date(2031, 12, 31)
    assert list(Milestone.objects.filter(implementation=impl).values_list("step", flat=True)) == [
        "budget_review", "tender", "contract"]
    with pytest.raises(PreconditionFailed) as info:
        _bid(orders.a, offer, price=140_000)
    assert info.value.code == "bids_closed"
    with pytest.raises(PreconditionFailed):
        services.offer_choose(actor=orders.officer, offer=offer, bid_id=bid_b.pk, reason="再选")
    assert Bid.objects.get(organisation=orders.a).price_yuan == 150_000
    # The public project page names the organisation, the reason and the declared conflict.
    page = Client().get(f"/projects/{impl.project_id}/progress/").content.decode()
    assert orders.b.name in page and "覆盖独居老人" in page and "负责人系楼长" in page


def test_the_chosen_organisation_reports_through_the_delivery_services_and_no_other(world, orders):
    bid = _bid(orders.a, orders.offer, price=150_000)
    services.offer_choose(actor=orders.officer, offer=orders.offer, bid_id=bid.pk, reason="价格最低，经验丰富")
    desk = Client()
    desk.post("/organisations/desk/", {"action": "enter", "key": orders.key_a})
    response = desk.post("/organisations/desk/do/", {"action": "spend", "implementation": orders.impl.pk,
                                                     "amount_yuan": "60000", "payee": "食材供应商",
                                                     "description": "一季度食材", "spent_on": "2031-04-01"})
    assert response.status_code == 302
    desk.post("/organisations/desk/do/", {"action": "progress", "implementation": orders.impl.pk,
                                          "text": "已开餐，日均80人", "percent": "40"})
    desk.post("/organisations/desk/do/", {"action": "delivered", "implementation": orders.impl.pk, "note": "全年服务完成"})
    impl = Implementation.objects.get(pk=orders.impl.pk)
    assert impl.step == Step.DELIVERY and impl.updates.get().percent == 40
    spending = Spending.objects.get()
    assert (spending.amount_yuan, spending.recorded_by) == (60_000, None)
    assert AuditEvent.objects.filter(action="spending_record", actor_label=f"organisation:{orders.a.pk}").exists()
    # Acceptance stays with the officers; another organisation, or another project, is refused.
    before = Milestone.objects.count()
    with pytest.raises(PermissionDenied):
        delivery.implementation_advance(actor=services.Contractor(orders.a), implementation=impl,
                                        step=Step.ACCEPTANCE)
    desk_b = Client()
    desk_b.post("/organisations/desk/", {"action": "enter", "key": orders.key_b})
    response = desk_b.post("/organisations/desk/do/", {"action": "spend", "implementation": orders.impl.pk,
                                                       "amount_yuan": "1", "payee": "x", "description": "x",
                                                       "spent_on": "2031-04-01"})
    assert response.status_code == 403
    assert Spending.objects.count() == 1 and Milestone.objects.count() == before
    assert AuditEvent.objects.filter(action="implement", outcome="denied",
                                     actor_label=f"organisation:{orders.b.pk}").exists()
    # Outside the implementation stage the desk refuses too.
    run_stage(orders.cycle, "evaluate")
    with pytest.raises(PermissionDenied):
        delivery.spending_record(actor=services.Contractor(orders.a), implementation=impl, amount_yuan=1,
                                 payee="x", description="x", spent_on=dt.date(2031, 5, 1))


def test_track_record_figures_page_and_api_agree(world, orders):
    bid = _bid(orders.a, orders.offer, price=180_000)
    services.offer_choose(actor=orders.officer, offer=orders.offer, bid_id=bid.pk, reason="唯一合格方案")
    impl = Implementation.objects.select_related("project__street", "project__community", "cycle").get(
        pk=orders.impl.pk)
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    contractor = services.Contractor(orders.a)
    delivery.spending_record(actor=contractor, implementation=impl, amount_yuan=190_000, payee="供应商",
                             description="全年运营", spent_on=dt.date(2031, 6, 1))
    delivery.allocation_change_approve(actor=admin, implementation=impl, to_yuan=230_000, reason="用餐人数翻倍")
    impl.refresh_from_db()
    delivery.spending_record(actor=contractor, implementation=impl, amount_yuan=25_000, payee="供应商",
                             description="追加", spent_on=dt.date(2031, 9, 1))
    Rating.objects.bulk_create([Rating(implementation=impl, phone_hash=keyed_hash(f"1390000000{i}", "phone"),
                                       score=s) for i, s in enumerate([5, 4, 4])])
    record = selectors.track_record(orders.a)
    (row,) = record["projects"]
    assert (row["allocation_voted_yuan"], row["allocation_yuan"], row["price_yuan"], row["spent_yuan"],
            row["overrun_yuan"], row["rating"], row["ratings"]) == (200_000, 230_000, 180_000, 215_000,
                                                                   15_000, 4.33, 3)
    assert record["totals"] == {"projects": 1, "finished": 0, "price_yuan": 180_000,
                                "allocation_voted_yuan": 200_000, "spent_yuan": 215_000, "overruns": 1,
                                "overrun_yuan": 15_000, "ratings": 3, "rating": 4.33}
    api = Client().get(f"/api/organisations/{orders.a.pk}").json()
    assert api["totals"] == record["totals"] and api["projects"][0]["overrun_yuan"] == 15_000
    page = Client().get(f"/organisations/{orders.a.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "15,000" in page and "4.33" in page and "唯一合格方案" in page
    assert orders.a.contact_phone not in page and orders.a.contact_phone not in str(api)
    assert selectors.track_record(orders.b)["totals"]["projects"] == 0
    # A pending or rejected organisation has no public page.
    pending = _register(world, name="待审", first17="52460108MJ0000007")
    assert Client().get(f"/organisations/{pending.pk}/").status_code == 404
    assert Client().get(f"/api/organisations/{pending.pk}").status_code == 404


# -- templates ------------------------------------------------------------------------------------


def test_the_missing_models_ship_as_templates():
    keys = set(templates())
    assert {"xihu_xingfu", "paris_budget_participatif", "newyork_council_districts"} <= keys
    xihu = templates()["xihu_xingfu"]
    assert [s.kind for s in xihu.stages] == ["launch", "collect", "screen", "vote", "implement", "evaluate"]
    assert [s.dates[:7] for s in xihu.stages] == ["2017-09", "2017-10", "2017-11", "2018-01", "2018-03", "2018-12"]
    assert xihu.config["partner_delivery"] and xihu.config["paper_entry"] and xihu.config["cofunding"]
    paris = templates()["paris_budget_participatif"]
    assert next(s for s in paris.stages if s.kind == "vote").days == 13
    assert paris.config["levels"] == ["street", "community"] and paris.config["reference"]["voters_fourth_year"] == 168000
    ny = templates()["newyork_council_districts"]
    assert ny.config["levels"] == ["street"] and set(ny.config["partner_roles"]) == {"outreach", "evaluation"}


def test_api_lists_the_new_templates_beside_the_six():
    keys = {t["key"] for t in Client().get("/api/cycle-templates").json()}
    assert len(keys) >= 9 and {"xihu_xingfu", "paris_budget_participatif", "newyork_council_districts"} <= keys


@pytest.mark.parametrize("key", ["xihu_xingfu", "paris_budget_participatif", "newyork_council_districts"])
def test_each_new_template_runs_through_all_its_stages(world, key):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan],
                       template_key=key)
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    seen = []
    for spec in templates()[key].stages:
        advance_to(cycle, spec.kind, admin)
        cycle.refresh_from_db()
        seen.append(cycle.current_stage.kind)
        assert cycle.allowed_actions()  # every stage opens something
    assert seen == [s.kind for s in templates()[key].stages]
    from civicbudget.cycles.services import stage_advance

    stage_advance(actor=admin, cycle=cycle, now=timezone.now() + dt.timedelta(days=20000))
    cycle.refresh_from_db()
    assert cycle.status == "finished"


def test_xihu_cycle_paper_proposals_are_typed_in(world, staff_client):
    """Paper proposals typed in and merged (录机) work in a Xihu cycle as in Meilan's."""
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida],
                       template_key="xihu_xingfu")
    run_stage(cycle, "collect")
    officer = staff_client(staff(Role.COMMUNITY_OFFICER, world.haida))
    response = officer.post(f"/staff/cycles/{cycle.pk}/entry/", {
        "community": world.haida.pk, "text": "楼道灯坏了，请修理", "title": "修楼道灯", "project_type": "works",
        "address": "", "proposer_name": "王五", "phone": "13900003333", "proposer_kind": "resident",
        "channel": "paper"})
    assert response.status_code == 302
    from civicbudget.proposals.models import Proposal

    assert Proposal.objects.filter(cycle=cycle, channel="paper").count() == 1


# -- the demo -------------------------------------------------------------------------------------


def test_demo_runs_a_xihu_style_cycle_with_organisations_and_bids(db, settings, tmp_path):
    from civicbudget.cycles.models import Cycle
    from civicbudget.demo.data import load_demo

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    load_demo(proposal_scale=0.02)
    cycle = Cycle.objects.get(template_key="xihu_xingfu")
    assert cycle.current_stage.kind == "implement"
    winners = Implementation.objects.filter(cycle=cycle, project__project_type="services")
    assert winners.count() >= 2
    assert Organisation.objects.filter(status="approved").count() == 3
    offers = Offer.objects.filter(implementation__cycle=cycle)
    assert offers.count() == winners.count()
    assert all(o.bids.count() == 3 for o in offers)
    assert offers.filter(status="awarded").count() == 2
    for offer in offers.filter(status="awarded"):
        assert offer.reason and offer.implementation.step == Step.CONTRACT
        assert Spending.objects.filter(implementation=offer.implementation).exists()
    chosen = offers.filter(status="awarded").first().chosen_bid.organisation
    assert selectors.track_record(chosen)["totals"]["projects"] >= 1
    assert Client().get(f"/organisations/{chosen.pk}/").status_code == 200
    # Every demo account (bailong-officer approved the organisations) is a known demo name:
    # production refuses them and the demo guard recognises its own database.
    from civicbudget.accounts.models import User
    from civicbudget.accounts.security import DEMO_USERNAMES

    assert set(User.objects.values_list("username", flat=True)) <= set(DEMO_USERNAMES)
