"""Deliberation: screening, department review, costing, roundtables, promotion, bodies, ballots."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.cycles.services import stage_advance
from civicbudget.deliberation import selectors
from civicbudget.deliberation.models import (
    Ballot,
    ProjectCost,
    Promotion,
    Review,
    RoundtableTally,
    Screening,
    SittingVote,
)
from civicbudget.deliberation.services import (
    ballot_freeze,
    ballot_prepare,
    ballot_set_rule,
    body_create,
    cost_set,
    project_promote,
    review_record,
    review_route,
    roundtable_record,
    screening_criteria_set,
    screening_record,
    sitting_close,
    sitting_open,
    sitting_vote,
)
from civicbudget.errors import PermissionDenied, PreconditionFailed, ServiceError

from factories import advance_to as _advance_to
from factories import make_cycle, make_project, staff

LATER = timezone.now() + dt.timedelta(days=3650)
MEILAN = ["in_area", "public_benefit", "within_pool", "not_planned", "feasible", "lawful",
          "no_private_benefit"]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def advance_to(cycle, kind, admin):
    return _advance_to(cycle, kind, admin, start=LATER)


def all_pass(criteria=MEILAN, **fails):
    return {k: (k not in fails, fails.get(k, "")) for k in criteria}


@pytest.fixture
def admin(world):
    return staff(Role.DISTRICT_ADMIN, world.district)


@pytest.fixture
def officer(world):
    return staff(Role.STREET_OFFICER, world.haidian)


@pytest.fixture
def screening(world, admin):
    cycle = make_cycle(world.district, streets=[world.haidian, world.renmin],
                       communities=[world.haida, world.fuan, world.baisha])
    return advance_to(cycle, "screen", admin)


def _events(action):
    return AuditEvent.objects.filter(action=action)


# -- screening ----------------------------------------------------------------------------------


def test_a_cycle_publishes_meilans_seven_criteria_from_its_template(screening):
    assert screening.config["screening_criteria"] == MEILAN


def test_a_screened_out_project_keeps_the_reason_code_of_its_first_failed_criterion(world, screening, officer):
    project = make_project(screening, world.haida, name="私家车位划线", proposals=3)

    result = screening_record(actor=officer, project=project,
                              results=all_pass(no_private_benefit="只惠及一栋楼的车主",
                                               lawful="占用消防通道"))

    assert (result.is_passed, result.reason_code, result.reason) == (False, "lawful", "占用消防通道")
    assert result.results["in_area"] == {"passed": True, "reason": ""}
    quote = selectors.screening_result_for_proposal(project.proposals.first())
    assert quote == {"project": "私家车位划线", "reason_code": "lawful", "criterion": "lawful",
                     "reason": "占用消防通道"}
    assert _events("screening_record").get().after["reason_code"] == "lawful"


def test_a_failed_criterion_without_reason_is_refused_and_nothing_is_saved(world, screening, officer):
    project = make_project(screening, world.haida)

    with pytest.raises(ServiceError) as exc:
        screening_record(actor=officer, project=project, results=all_pass(feasible=""))

    assert exc.value.field == "criteria.feasible"
    assert "feasible" in exc.value.message
    assert not Screening.objects.exists()
    assert not _events("screening_record").exists()


def test_a_missing_or_unknown_criterion_is_refused(world, screening, officer):
    project = make_project(screening, world.haida)
    partial = all_pass()
    del partial["lawful"]
    with pytest.raises(ServiceError) as missing:
        screening_record(actor=officer, project=project, results=partial)
    with pytest.raises(ServiceError) as unknown:
        screening_record(actor=officer, project=project, results={**all_pass(), "pretty": (True, "")})
    assert (missing.value.field, unknown.value.field) == ("criteria.lawful", "criteria.pretty")
    assert not Screening.objects.exists()


def test_an_officer_of_another_street_cannot_screen(world, screening):
    outsider = staff(Role.STREET_OFFICER, world.renmin)
    project = make_project(screening, world.haida)
    with pytest.raises(PermissionDenied) as exc:
        screening_record(actor=outsider, project=project, results=all_pass())
    assert "海甸街道" not in exc.value.message and "海达社区" in exc.value.message
    assert not Screening.objects.exists()


def test_criteria_are_edited_while_configuring_and_refused_once_running(world, admin):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    assert screening_criteria_set(actor=admin, cycle=cycle,
                                  criteria=["in_area", "惠及多数居民", " "]) == ["in_area", "惠及多数居民"]
    with pytest.raises(ServiceError) as empty:
        screening_criteria_set(actor=admin, cycle=cycle, criteria=["", " "])
    assert empty.value.field == "screening_criteria"
    advance_to(cycle, "collect", admin)
    with pytest.raises(PermissionDenied):
        screening_criteria_set(actor=admin, cycle=cycle, criteria=["lawful"])
    cycle.refresh_from_db()
    assert cycle.config["screening_criteria"] == ["in_area", "惠及多数居民"]


# -- department review --------------------------------------------------------------------------


def test_a_review_is_due_in_five_working_days_skipping_the_weekend(world, screening, officer):
    project = make_project(screening, world.haida)
    friday = dt.date(2030, 3, 1)
    assert friday.weekday() == 4

    (review,) = review_route(actor=officer, project=project, departments=[world.department],
                             today=friday)

    assert review.due_on == dt.date(2030, 3, 8)
    assert _events("review_route").count() == 1


def test_the_cycles_holidays_do_not_count_as_working_days(world, screening, officer):
    screening.config["holidays"] = ["2030-03-04"]
    screening.save()
    project = make_project(screening, world.haida)
    (review,) = review_route(actor=officer, project=project, departments=[world.department],
                             today=dt.date(2030, 3, 1))
    assert review.due_on == dt.date(2030, 3, 11)


def test_the_reviewer_records_opinion_estimate_notes_and_photos(world, screening, officer):
    project = make_project(screening, world.haida)
    (review,) = review_route(actor=officer, project=project, departments=[world.department])
    reviewer = staff(Role.DEPARTMENT_REVIEWER, world.department)

    review_record(actor=reviewer, review=review, opinion="conditional", estimated_cost_yuan="86,000",
                  notes="需先迁移电表箱", photos=[SimpleUploadedFile("site.png", PNG)])

    review.refresh_from_db()
    assert (review.opinion, review.estimated_cost_yuan, review.notes) == ("conditional", 86_000, "需先迁移电表箱")
    assert review.reviewed_by == reviewer
    assert review.photos.count() == 1


def test_a_reviewer_outside_the_department_and_a_fake_photo_are_refused(world, screening, officer):
    other = world.district.departments.create(name="区园林局")
    project = make_project(screening, world.haida)
    (review,) = review_route(actor=officer, project=project, departments=[world.department])
    outsider = staff(Role.DEPARTMENT_REVIEWER, other)

    with pytest.raises(PermissionDenied) as exc:
        review_record(actor=outsider, review=review, opinion="feasible")
    assert "区园林局" in exc.value.message and "区住建局" in exc.value.message
    reviewer = staff(Role.DEPARTMENT_REVIEWER, world.department)
    with pytest.raises(ServiceError) as photo:
        review_record(actor=reviewer, review=review, opinion="feasible",
                      photos=[SimpleUploadedFile("x.png", b"<script>")])
    assert photo.value.field == "photo"
    with pytest.raises(ServiceError) as cost:
        review_record(actor=reviewer, review=review, opinion="feasible", estimated_cost_yuan=0)
    assert cost.value.field == "estimated_cost_yuan"
    review.refresh_from_db()
    assert (review.opinion, review.reviewed_at, review.photos.count()) == ("", None, 0)


def test_overdue_reviews_are_listed_for_the_street_office(world, screening, officer):
    late = make_project(screening, world.haida, name="迟到")
    done = make_project(screening, world.fuan, name="已答复")
    (r1,) = review_route(actor=officer, project=late, departments=[world.department],
                         today=dt.date(2030, 3, 1))
    (r2,) = review_route(actor=officer, project=done, departments=[world.department],
                         today=dt.date(2030, 3, 1))
    review_record(actor=staff(Role.DEPARTMENT_REVIEWER, world.department), review=r2,
                  opinion="feasible")
    assert list(selectors.overdue_reviews(screening, today=dt.date(2030, 3, 9))) == [r1]
    assert list(selectors.overdue_reviews(screening, today=dt.date(2030, 3, 8))) == []
    assert list(selectors.overdue_reviews(screening, street_id=world.renmin.pk,
                                          today=dt.date(2030, 3, 9))) == []


def test_routing_twice_to_the_same_department_is_refused(world, screening, officer):
    project = make_project(screening, world.haida)
    review_route(actor=officer, project=project, departments=[world.department])
    with pytest.raises(ServiceError) as exc:
        review_route(actor=officer, project=project, departments=[world.department])
    assert exc.value.field == "departments"
    assert Review.objects.count() == 1


# -- costing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [0, -5, "12.5", "abc", "", 300_001])
def test_a_bad_cost_is_refused_and_nothing_changes(world, screening, officer, amount):
    project = make_project(screening, world.haida)
    cost_set(actor=officer, project=project, amount_yuan=120_000)

    with pytest.raises(ServiceError) as exc:
        cost_set(actor=officer, project=project, amount_yuan=amount)

    assert exc.value.field == "cost_yuan"
    assert list(ProjectCost.objects.values_list("amount_yuan", flat=True)) == [120_000]
    assert _events("cost_set").count() == 1


def test_every_cost_change_is_kept_with_its_author(world, screening, officer, admin):
    project = make_project(screening, world.haida)
    cost_set(actor=officer, project=project, amount_yuan=120_000, reason="住建局估价")
    cost_set(actor=admin, project=project, amount_yuan="98,000", reason="招标限价")

    history = [(c.amount_yuan, c.set_by, c.reason) for c in selectors.cost_history(project)]
    assert history == [(98_000, admin, "招标限价"), (120_000, officer, "住建局估价")]
    assert selectors.current_costs(screening) == {project.pk: 98_000}
    assert _events("cost_set").order_by("at", "id").last().before == {"cost_yuan": 120_000}


def test_a_street_project_may_cost_up_to_the_street_pool(world, screening, officer):
    project = make_project(screening, street=world.haidian, name="海甸溪步道")
    cost_set(actor=officer, project=project, amount_yuan=1_050_000)
    with pytest.raises(ServiceError):
        cost_set(actor=officer, project=project, amount_yuan=1_050_001)
    assert selectors.current_costs(screening) == {project.pk: 1_050_000}


# -- roundtables and promotion ------------------------------------------------------------------


def test_a_roundtable_shortlists_the_top_n_keeping_ties_at_the_cut(world, screening):
    screening.config["shortlist"] = {"top_n": 2}
    screening.save()
    community_officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    a, b, c, d = (make_project(screening, world.haida, name=n) for n in "甲乙丙丁")

    table = roundtable_record(actor=community_officer, cycle=screening, community=world.haida,
                              held_on=dt.date(2030, 4, 2), participant_count=40,
                              stickers={a.pk: 31, b.pk: 17, c.pk: 17, d.pk: 2})

    shortlisted = {t.project.name for t in table.tallies.filter(is_shortlisted=True)}
    assert shortlisted == {"甲", "乙", "丙"}
    assert table.rule == {"top_n": 2}


def test_a_roundtable_with_a_minimum_sticker_rule(world, screening, officer):
    screening.config["shortlist"] = {"min_stickers": 10}
    screening.save()
    a, b = make_project(screening, world.haida, name="甲"), make_project(screening, world.haida, name="乙")
    table = roundtable_record(actor=officer, cycle=screening, community=world.haida,
                              held_on=dt.date(2030, 4, 2), participant_count=25,
                              stickers={a.pk: 10, b.pk: 9})
    assert [t.project_id for t in table.tallies.filter(is_shortlisted=True)] == [a.pk]


def test_a_roundtable_with_bad_counts_is_refused(world, screening, officer):
    a = make_project(screening, world.haida)
    elsewhere = make_project(screening, world.baisha)
    cases = [({"participant_count": 0, "stickers": {a.pk: 1}}, "participant_count"),
             ({"participant_count": 10, "stickers": {a.pk: -1}}, "stickers"),
             ({"participant_count": 10, "stickers": {elsewhere.pk: 1}}, "stickers"),
             ({"participant_count": "ten", "stickers": {a.pk: 1}}, "participant_count")]
    for kwargs, field in cases:
        with pytest.raises(ServiceError) as exc:
            roundtable_record(actor=officer, cycle=screening, community=world.haida,
                              held_on=dt.date(2030, 4, 2), **kwargs)
        assert exc.value.field == field
    assert not RoundtableTally.objects.exists()


def test_a_costly_project_moves_to_the_street_pool_with_its_proposals_once(world, screening, officer):
    project = make_project(screening, world.haida, name="海达片区雨污分流", proposals=4)
    Review.objects.create(project=project, cycle=screening, department=world.department,
                          due_on=dt.date(2030, 3, 8), opinion="feasible",
                          estimated_cost_yuan=640_000, reviewed_at=timezone.now())

    promotion = project_promote(actor=officer, project=project, reason="cost_above_cap")

    project.refresh_from_db()
    assert (project.level, project.community_id, project.street) == ("street", None, world.haidian)
    assert promotion.from_community == world.haida
    assert project.proposals.count() == 4
    assert project.reviews.count() == 1
    with pytest.raises(PreconditionFailed) as twice:
        project_promote(actor=officer, project=project, reason="several_communities", note="福安")
    assert twice.value.code == "already_promoted"
    assert Promotion.objects.count() == 1
    assert _events("project_promote").count() == 1


def test_promotion_needs_its_reason_to_hold(world, screening, officer):
    cheap = make_project(screening, world.haida, name="便宜")
    cost_set(actor=officer, project=cheap, amount_yuan=20_000)
    with pytest.raises(PreconditionFailed) as cap:
        project_promote(actor=officer, project=cheap, reason="cost_above_cap")
    with pytest.raises(PreconditionFailed) as vote:
        project_promote(actor=officer, project=cheap, reason="roundtable_vote")
    with pytest.raises(ServiceError) as note:
        project_promote(actor=officer, project=cheap, reason="several_communities")
    assert (cap.value.code, vote.value.code, note.value.field) == ("not_above_cap",
                                                                    "no_roundtable_vote", "note")
    community_officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    with pytest.raises(PermissionDenied):
        project_promote(actor=community_officer, project=cheap, reason="several_communities",
                        note="海达、福安")
    cheap.refresh_from_db()
    assert cheap.level == "community" and not Promotion.objects.exists()


def test_a_roundtable_vote_promotes(world, screening, officer):
    project = make_project(screening, world.haida, name="老年食堂")
    roundtable_record(actor=officer, cycle=screening, community=world.haida,
                      held_on=dt.date(2030, 4, 2), participant_count=30,
                      stickers={project.pk: 20}, promote_votes={project.pk: 16})
    assert project_promote(actor=officer, project=project, reason="roundtable_vote").reason == "roundtable_vote"


# -- bodies and sittings ------------------------------------------------------------------------


@pytest.fixture
def shenzhen(world, admin):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida],
                       template_key="shenzhen_4yi4gongkai", community_pool=2_000_000)
    return advance_to(cycle, "deliberate", admin)


def _body(cycle, actor, kind="community_joint_meeting", n=5, community=None, street=None):
    return body_create(actor=actor, cycle=cycle, kind=kind, name=f"{kind}",
                       members=[(f"成员{i}", "居民代表") for i in range(n)], community=community,
                       street=street)


def test_a_sitting_without_quorum_is_refused(world, shenzhen, officer):
    body = _body(shenzhen, officer, community=world.haida)
    project = make_project(shenzhen, world.haida)
    members = list(body.members.values_list("pk", flat=True))

    with pytest.raises(PreconditionFailed) as exc:
        sitting_open(actor=officer, body=body, attendee_ids=members[:2], project_ids=[project.pk],
                     held_at=LATER)

    assert (exc.value.code, exc.value.field) == ("no_quorum", "attendees")
    assert "2 of 5" in exc.value.message
    assert not body.sittings.exists()


def test_a_project_passes_with_more_than_half_of_those_present(world, shenzhen, officer):
    body = _body(shenzhen, officer, community=world.haida)
    a, b = make_project(shenzhen, world.haida, name="甲"), make_project(shenzhen, world.haida, name="乙")
    m = list(body.members.values_list("pk", flat=True))
    sitting = sitting_open(actor=officer, body=body, attendee_ids=m[:4], project_ids=[a.pk, b.pk],
                           held_at=LATER)
    for member in m[:3]:
        sitting_vote(actor=officer, sitting=sitting, member_id=member, project_ids=[a.pk])
    sitting_vote(actor=officer, sitting=sitting, member_id=m[3], project_ids=[b.pk])

    sitting_close(actor=officer, sitting=sitting, minutes="到会4人，表决如下。",
                  now=timezone.now() - dt.timedelta(days=30))

    results = {r.project.name: (r.yes, r.present, r.is_passed) for r in sitting.results.all()}
    assert results == {"甲": (3, 4, True), "乙": (1, 4, False)}


def test_a_vote_by_someone_not_in_the_body_or_absent_is_refused(world, shenzhen, officer):
    body = _body(shenzhen, officer, community=world.haida)
    other = _body(shenzhen, officer, community=world.haida)
    project = make_project(shenzhen, world.haida)
    m = list(body.members.values_list("pk", flat=True))
    sitting = sitting_open(actor=officer, body=body, attendee_ids=m[:3], project_ids=[project.pk],
                           held_at=LATER)
    with pytest.raises(ServiceError) as stranger:
        sitting_vote(actor=officer, sitting=sitting, member_id=other.members.first().pk,
                     project_ids=[project.pk])
    with pytest.raises(ServiceError) as absent:
        sitting_vote(actor=officer, sitting=sitting, member_id=m[4], project_ids=[project.pk])
    assert (stranger.value.code, absent.value.code) == ("not_a_member", "not_present")
    assert not SittingVote.objects.exists()


def test_the_notice_period_holds_the_stage_and_minutes_are_required(world, shenzhen, officer, admin):
    body = _body(shenzhen, officer, community=world.haida)
    project = make_project(shenzhen, world.haida)
    m = list(body.members.values_list("pk", flat=True))
    sitting = sitting_open(actor=officer, body=body, attendee_ids=m, project_ids=[project.pk],
                           held_at=LATER)
    with pytest.raises(ServiceError) as minutes:
        sitting_close(actor=officer, sitting=sitting, minutes=" ")
    assert minutes.value.field == "minutes"
    closed = sitting_close(actor=officer, sitting=sitting, minutes="一致通过", now=LATER)

    # The notice period is judged at the moment of the transition, not by the wall clock.
    with pytest.raises(PreconditionFailed) as exc:
        stage_advance(actor=admin, cycle=shenzhen, now=closed.notice_until - dt.timedelta(minutes=1))
    assert "notice_running" in [d["code"] for d in exc.value.details]
    assert shenzhen.current_stage.kind == "deliberate"
    stage_advance(actor=admin, cycle=shenzhen, now=closed.notice_until + dt.timedelta(minutes=1),
                  reason="notice over")
    shenzhen.refresh_from_db()
    assert shenzhen.current_stage.kind != "deliberate"


# -- the ballot ---------------------------------------------------------------------------------


def _ready(cycle, community, officer, names_costs):
    projects = []
    for name, cost in names_costs:
        p = make_project(cycle, community, name=name)
        screening_record(actor=officer, project=p, results=all_pass())
        cost_set(actor=officer, project=p, amount_yuan=cost)
        projects.append(p)
    return projects


def test_a_frozen_ballot_lists_screened_costed_projects_and_refuses_every_change(world, screening, officer):
    a, b = _ready(screening, world.haida, officer, [("楼道灯", 80_000), ("健身路径", 150_000)])
    out = make_project(screening, world.haida, name="私家花园")
    screening_record(actor=officer, project=out, results=all_pass(no_private_benefit="私人受益"))

    ballot = ballot_prepare(actor=officer, cycle=screening, place=world.haida)
    assert selectors.ballot_for(screening, world.haida) is None
    ballot_freeze(actor=officer, ballot=ballot, now=LATER)

    view = selectors.ballot_for(screening, world.haida)
    assert sorted((i.name, i.cost_yuan) for i in view.items) == [("健身路径", 150_000), ("楼道灯", 80_000)]
    assert (view.rule, view.max_choices, view.budget_yuan, view.frozen_at) == ("approval", 5, 300_000, LATER)
    refusals = [
        lambda: ballot_set_rule(actor=officer, ballot=ballot, rule="budget"),
        lambda: ballot_prepare(actor=officer, cycle=screening, place=world.haida),
        lambda: ballot_freeze(actor=officer, ballot=ballot),
        lambda: cost_set(actor=officer, project=a, amount_yuan=1),
        lambda: screening_record(actor=officer, project=b, results=all_pass(lawful="违法")),
    ]
    for refuse in refusals:
        with pytest.raises(PreconditionFailed) as exc:
            refuse()
        assert exc.value.code == "ballot_frozen"
    assert selectors.ballot_for(screening, world.haida) == view
    assert selectors.current_costs(screening)[a.pk] == 80_000


def test_a_ballot_needs_every_cost_and_goes_stale_when_one_changes(world, screening, officer):
    (a,) = _ready(screening, world.haida, officer, [("楼道灯", 80_000)])
    b = make_project(screening, world.haida, name="未定价")
    screening_record(actor=officer, project=b, results=all_pass())
    with pytest.raises(ServiceError) as exc:
        ballot_prepare(actor=officer, cycle=screening, place=world.haida)
    assert exc.value.field == "cost_yuan" and "未定价" in exc.value.message
    assert not Ballot.objects.exists()
    cost_set(actor=officer, project=b, amount_yuan=10_000)
    ballot = ballot_prepare(actor=officer, cycle=screening, place=world.haida)
    cost_set(actor=officer, project=a, amount_yuan=90_000)
    with pytest.raises(PreconditionFailed) as stale:
        ballot_freeze(actor=officer, ballot=ballot)
    assert stale.value.code == "ballot_stale"
    ballot.refresh_from_db()
    assert ballot.frozen_at is None


def test_a_bad_voting_rule_is_refused(world, screening, officer):
    _ready(screening, world.haida, officer, [("楼道灯", 80_000)])
    ballot = ballot_prepare(actor=officer, cycle=screening, place=world.haida)
    for kwargs, field in [({"rule": "dictator"}, "rule"),
                          ({"rule": "approval", "max_choices": 0}, "max_choices"),
                          ({"rule": "points"}, "points")]:
        with pytest.raises(ServiceError) as exc:
            ballot_set_rule(actor=officer, ballot=ballot, **kwargs)
        assert exc.value.field == field
    ballot.refresh_from_db()
    assert (ballot.rule, ballot.max_choices) == ("approval", 5)
    assert ballot_set_rule(actor=officer, ballot=ballot, rule="budget").rule == "budget"


def test_voting_cannot_open_before_every_ballot_is_frozen(world, screening, officer, admin):
    _ready(screening, world.haida, officer, [("楼道灯", 80_000)])
    renmin_officer = staff(Role.STREET_OFFICER, world.renmin)
    _ready(screening, world.baisha, renmin_officer, [("小广场", 90_000)])
    haida = ballot_prepare(actor=officer, cycle=screening, place=world.haida)
    ballot_freeze(actor=officer, ballot=haida)

    with pytest.raises(PreconditionFailed) as exc:
        stage_advance(actor=admin, cycle=screening, now=LATER)
    assert [d["code"] for d in exc.value.details] == ["ballot_missing"]

    baisha = ballot_prepare(actor=renmin_officer, cycle=screening, place=world.baisha)
    with pytest.raises(PreconditionFailed) as draft:
        stage_advance(actor=admin, cycle=screening, now=LATER)
    assert [d["code"] for d in draft.value.details] == ["ballot_not_frozen"]
    ballot_freeze(actor=renmin_officer, ballot=baisha)
    assert stage_advance(actor=admin, cycle=screening, now=LATER).kind == "vote"
    assert sorted(b.scope_name for b in selectors.ballots_for_cycle(screening)) == ["海达社区", "白沙坊社区"]


def test_a_roundtable_shortlist_limits_the_community_ballot(world, screening, officer):
    screening.config["shortlist"] = {"top_n": 1}
    screening.save()
    a, b = _ready(screening, world.haida, officer, [("甲", 10_000), ("乙", 20_000)])
    roundtable_record(actor=officer, cycle=screening, community=world.haida,
                      held_on=dt.date(2030, 4, 1), participant_count=20, stickers={a.pk: 3, b.pk: 9})
    ballot = ballot_prepare(actor=officer, cycle=screening, place=world.haida)
    assert [i.project.name for i in ballot.items.all()] == ["乙"]


# -- every template, collection to ballot or decided list ----------------------------------------


def test_meilan_whole_cycle_to_frozen_ballots_at_both_levels(world, admin, officer):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan])
    advance_to(cycle, "screen", admin)
    a, b, c = _ready(cycle, world.haida, officer, [("楼道灯", 60_000), ("健身", 90_000), ("雨污分流", 280_000)])
    Review.objects.create(project=c, cycle=cycle, department=world.department, due_on=dt.date(2030, 1, 8),
                          opinion="feasible", estimated_cost_yuan=900_000, reviewed_at=timezone.now())
    project_promote(actor=officer, project=c, reason="cost_above_cap")
    cost_set(actor=officer, project=c, amount_yuan=900_000)
    _ready(cycle, world.fuan, officer, [("读书角", 40_000)])
    for place in (world.haida, world.fuan, world.haidian):
        ballot_freeze(actor=officer, ballot=ballot_prepare(actor=officer, cycle=cycle, place=place))

    assert stage_advance(actor=admin, cycle=cycle, now=LATER).kind == "vote"
    street = selectors.ballot_for(cycle, world.haidian)
    assert [(i.name, i.cost_yuan) for i in street.items] == [("雨污分流", 900_000)]
    assert street.budget_yuan == 1_050_000
    assert len(selectors.ballots_for_cycle(cycle)) == 3
    # The voting app opened one scope per frozen ballot, from ``selectors.voting_ballots``.
    from civicbudget.voting.models import VotingScope

    scopes = {s.key: s.spec for s in VotingScope.objects.filter(cycle=cycle)}
    assert sorted(scopes) == sorted([f"community:{world.haida.pk}", f"community:{world.fuan.pk}",
                                     f"street:{world.haidian.pk}"])
    assert scopes[f"street:{world.haidian.pk}"]["projects"] == [
        {"id": str(c.pk), "cost": "900000", "name": "雨污分流"}]
    assert scopes[f"community:{world.haida.pk}"]["max_length"] == 5


def test_shenzhen_four_deliberations_each_by_more_than_half(world, admin, officer):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida],
                       template_key="shenzhen_4yi4gongkai", community_pool=2_000_000)
    cycle.config["screening_criteria"] = MEILAN
    cycle.save()
    advance_to(cycle, "deliberate", admin)
    a, b = _ready(cycle, world.haida, officer, [("长者饭堂", 500_000), ("篮球场", 300_000)])
    past = timezone.now() - dt.timedelta(days=30)
    passed = [a.pk, b.pk]
    for kind, stage, yes in [("community_joint_meeting", None, {a.pk: 4, b.pk: 4}),
                             ("street_review_panel", "review", {a.pk: 3, b.pk: 3}),
                             ("residents_council", "decide", {a.pk: 5, b.pk: 2})]:
        if stage:
            advance_to(cycle, stage, admin)
        body = _body(cycle, officer, kind=kind, community=world.haida)
        m = list(body.members.values_list("pk", flat=True))
        sitting = sitting_open(actor=officer, body=body, attendee_ids=m, project_ids=passed,
                               held_at=past)
        for i, member in enumerate(m):
            sitting_vote(actor=officer, sitting=sitting, member_id=member,
                         project_ids=[p for p in passed if yes[p] > i])
        sitting_close(actor=officer, sitting=sitting, minutes=f"{kind} 纪要", now=past)
        passed = [r.project_id for r in sitting.results.filter(is_passed=True)]
    assert [p.name for p in selectors.decided_projects(cycle)] == ["长者饭堂"]
    council = _body(cycle, officer, kind="residents_council", community=world.haida)
    with pytest.raises(PreconditionFailed) as skipped:
        panel = _body(cycle, officer, kind="street_review_panel", community=world.haida)
        extra = make_project(cycle, world.haida, name="未经社区商议")
        sitting_open(actor=officer, body=panel, attendee_ids=panel.members.values_list("pk", flat=True),
                     project_ids=[extra.pk], held_at=past)
    assert skipped.value.code == "not_passed_before"
    assert council.sittings.count() == 0


def test_futian_hundred_deputies_pick_the_top_ten(world, admin, officer):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[],
                       template_key="futian_deputies", street_pool=50_000_000)
    advance_to(cycle, "screen", admin)
    projects = [make_project(cycle, street=world.haidian, name=f"项目{i:02d}") for i in range(14)]
    advance_to(cycle, "decide", admin)
    with pytest.raises(ServiceError) as too_many:
        _body(cycle, admin, kind="deputies", n=101)
    assert too_many.value.field == "members"
    body = _body(cycle, admin, kind="deputies", n=100)
    m = list(body.members.values_list("pk", flat=True))
    sitting = sitting_open(actor=admin, body=body, attendee_ids=m[:90],
                           project_ids=[p.pk for p in projects], held_at=LATER)
    for i, member in enumerate(m[:90]):
        # Deputy i votes for the projects whose index is at least i % 14: later ones get more.
        sitting_vote(actor=admin, sitting=sitting, member_id=member,
                     project_ids=[p.pk for j, p in enumerate(projects) if j >= i % 14])
    sitting_close(actor=admin, sitting=sitting, minutes="票选结果", now=timezone.now() - dt.timedelta(days=30))
    assert [p.name for p in selectors.decided_projects(cycle)] == [f"项目{i:02d}" for i in range(13, 3, -1)]


def test_shanghai_government_lists_n_and_representatives_pick_k(world, admin, officer):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida],
                       template_key="shanghai_menu", community_pool=2_000_000)
    cycle.config.update({"menu_size": 4, "pick": 2, "screening_criteria": MEILAN})
    cycle.save()
    advance_to(cycle, "menu", admin)
    menu = _ready(cycle, world.haida, officer, [(f"菜单{i}", 100_000 * (i + 1)) for i in range(5)])
    advance_to(cycle, "decide", admin)
    body = _body(cycle, officer, kind="representatives", community=world.haida)
    m = list(body.members.values_list("pk", flat=True))
    with pytest.raises(ServiceError) as long_menu:
        sitting_open(actor=officer, body=body, attendee_ids=m, project_ids=[p.pk for p in menu],
                     held_at=LATER)
    assert long_menu.value.field == "projects"
    sitting = sitting_open(actor=officer, body=body, attendee_ids=m,
                           project_ids=[p.pk for p in menu[:4]], held_at=LATER)
    with pytest.raises(ServiceError) as three:
        sitting_vote(actor=officer, sitting=sitting, member_id=m[0], project_ids=[p.pk for p in menu[:3]])
    assert three.value.field == "projects"
    for member in m:
        sitting_vote(actor=officer, sitting=sitting, member_id=member, project_ids=[menu[1].pk, menu[3].pk])
    sitting_close(actor=officer, sitting=sitting, minutes="点单", now=timezone.now() - dt.timedelta(days=9))
    assert [p.name for p in selectors.decided_projects(cycle)] == ["菜单1", "菜单3"]


def test_maizidian_sixty_people_in_five_rounds(world, admin, officer):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan],
                       template_key="maizidian_assembly")
    advance_to(cycle, "decide", admin)
    projects = [make_project(cycle, street=world.haidian, name=n) for n in ("社区花园", "停车治理", "助老服务")]
    body = _body(cycle, officer, kind="assembly", n=60, street=world.haidian)
    m = list(body.members.values_list("pk", flat=True))
    past = timezone.now() - dt.timedelta(days=30)
    with pytest.raises(ServiceError) as bad_round:
        sitting_open(actor=officer, body=body, attendee_ids=m, project_ids=[projects[0].pk],
                     held_at=past, round="lottery")
    assert bad_round.value.field == "round"
    for round_ in cycle.config["rounds"]:
        sitting = sitting_open(actor=officer, body=body, attendee_ids=m[:55],
                               project_ids=[p.pk for p in projects], held_at=past, round=round_)
        if round_ in ("secret_ballot", "second_ballot", "final_vote"):
            for i, member in enumerate(m[:55]):
                sitting_vote(actor=officer, sitting=sitting, member_id=member,
                             project_ids=[projects[0].pk] + ([projects[2].pk] if i < 30 else []))
        sitting_close(actor=officer, sitting=sitting, minutes=f"第{round_}轮", now=past)
    assert [p.name for p in selectors.decided_projects(cycle)] == ["社区花园", "助老服务"]
