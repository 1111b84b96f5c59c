"""Cycles: templates as data, pools in integer yuan, stage advance with preconditions."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.cycles.models import BudgetPool, Cycle, Stage
from civicbudget.cycles.services import (
    cycle_create,
    cycle_set_participants,
    pool_set,
    stage_advance,
    stage_reschedule,
)
from civicbudget.cycles.stages import KIND_ACTIONS
from civicbudget.cycles.templates import templates
from civicbudget.errors import PermissionDenied, PreconditionFailed, ServiceError

from factories import make_cycle, operator, staff

LATER = timezone.now() + dt.timedelta(days=3650)


def test_every_model_of_the_source_document_ships_as_a_template():
    keys = set(templates())
    assert {"meilan_full_pb", "shenzhen_4yi4gongkai", "futian_deputies", "shanghai_menu",
            "maizidian_assembly"} <= keys
    meilan = templates()["meilan_full_pb"]
    assert [s.name for s in meilan.stages] == [
        "项目启动", "征集提议", "项目筛选", "项目投票", "项目公示", "集中回复", "项目实施", "项目评价"]
    for template in templates().values():
        assert all(s.kind in KIND_ACTIONS for s in template.stages)
        assert template.stages[0].kind == "launch"


@pytest.mark.parametrize("key", sorted(templates()))
def test_cycle_created_from_each_template_has_its_stage_rows(world, key):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    cycle = cycle_create(actor=admin, district=world.district, template_key=key,
                         name=f"2030 {key}", year=2030, starts_on=dt.date(2030, 3, 1))
    stages = list(cycle.stages.order_by("order"))
    assert [s.kind for s in stages] == [s.kind for s in templates()[key].stages]
    assert stages[0].opens_at == dt.datetime(2030, 3, 1, tzinfo=timezone.get_current_timezone())
    assert all(a.closes_at == b.opens_at for a, b in zip(stages, stages[1:], strict=False))
    assert cycle.status == "draft"
    assert cycle.config == templates()[key].config
    assert AuditEvent.objects.filter(action="cycle_create", object_id=str(cycle.pk)).exists()


def test_unknown_template_and_bad_year_are_refused(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    with pytest.raises(ServiceError) as info:
        cycle_create(actor=admin, district=world.district, template_key="nope", name="x", year=2030)
    assert info.value.field == "template_key"
    with pytest.raises(ServiceError) as info:
        cycle_create(actor=admin, district=world.district, template_key="meilan_full_pb",
                     name="x", year=1900)
    assert info.value.field == "year"
    assert Cycle.objects.count() == 0


def test_pools_are_integer_yuan_and_checked(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida],
                       total=1_500_000)
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    pool = BudgetPool.objects.get(cycle=cycle, level="community")
    for bad in (0, -5, "1.5", "abc", 10**12):
        with pytest.raises(ServiceError) as info:
            pool_set(actor=admin, cycle=cycle, place=world.haida, amount_yuan=bad)
        assert info.value.field == "amount_yuan"
    with pytest.raises(ServiceError, match="add up to"):
        pool_set(actor=admin, cycle=cycle, place=world.haida, amount_yuan=500_000)
    pool.refresh_from_db()
    assert pool.amount_yuan == 300_000
    pool_set(actor=admin, cycle=cycle, place=world.haida, amount_yuan="450,000")
    pool.refresh_from_db()
    assert pool.amount_yuan == 450_000


def test_pool_for_a_place_not_taking_part_is_refused(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    with pytest.raises(ServiceError, match="does not take part"):
        pool_set(actor=admin, cycle=cycle, place=world.fuan, amount_yuan=1000)


def test_participating_community_needs_its_street(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    with pytest.raises(ServiceError, match="its street"):
        cycle_set_participants(actor=operator(), cycle=cycle, streets=[world.haidian],
                               communities=[world.haida, world.baisha])
    assert set(cycle.communities.all()) == {world.haida}


def test_advance_walks_through_every_stage_and_stamps_it(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    kinds = []
    now = LATER
    for _ in range(8):
        now = now + dt.timedelta(days=400)
        kinds.append(stage_advance(actor=admin, cycle=cycle, now=now).kind)
    assert kinds == ["launch", "collect", "screen", "vote", "publish", "reply", "implement", "evaluate"]
    assert stage_advance(actor=admin, cycle=cycle, now=now + dt.timedelta(days=400)) is None
    cycle.refresh_from_db()
    assert cycle.status == "finished"
    assert Stage.objects.filter(cycle=cycle, finished_at__isnull=True).count() == 0
    with pytest.raises(PreconditionFailed, match="finished"):
        stage_advance(actor=admin, cycle=cycle)
    assert AuditEvent.objects.filter(action="stage_advance", outcome="ok").count() == 9


def test_leaving_launch_needs_every_pool(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    cycle_set_participants(actor=admin, cycle=cycle, streets=[world.haidian],
                           communities=[world.haida, world.fuan])
    stage_advance(actor=admin, cycle=cycle, now=LATER)  # draft -> launch
    with pytest.raises(PreconditionFailed) as info:
        stage_advance(actor=admin, cycle=cycle, now=LATER + dt.timedelta(days=30))
    assert [d["code"] for d in info.value.details] == ["community_pool_missing"]
    assert "福安社区" in info.value.message
    cycle.refresh_from_db()
    assert cycle.current_stage.kind == "launch"
    assert AuditEvent.objects.filter(action="stage_advance", outcome="denied").count() == 1


def test_closing_a_stage_early_needs_a_reason(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida],
                       starts_on=dt.date(2040, 1, 1))
    stage_advance(actor=admin, cycle=cycle)
    with pytest.raises(PreconditionFailed) as info:
        stage_advance(actor=admin, cycle=cycle)
    assert info.value.details[0]["code"] == "closes_later"
    stage = stage_advance(actor=admin, cycle=cycle, reason="区领导小组决定提前征集")
    assert stage.kind == "collect"
    assert AuditEvent.objects.filter(action="stage_advance", message="区领导小组决定提前征集").exists()


def test_a_stale_advance_is_refused(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    launch = stage_advance(actor=admin, cycle=cycle, now=LATER, expected_stage_id=0)
    stage_advance(actor=admin, cycle=cycle, now=LATER + dt.timedelta(days=30),
                  expected_stage_id=launch.pk)
    with pytest.raises(PreconditionFailed, match="moved on"):
        stage_advance(actor=admin, cycle=cycle, now=LATER + dt.timedelta(days=31),
                      expected_stage_id=launch.pk)
    cycle.refresh_from_db()
    assert cycle.current_stage.kind == "collect"


def test_only_district_admins_advance(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    officer = staff(Role.STREET_OFFICER, world.haidian)
    with pytest.raises(PermissionDenied):
        stage_advance(actor=officer, cycle=cycle, now=LATER)
    cycle.refresh_from_db()
    assert cycle.status == "draft"


def test_pools_cannot_change_once_collection_runs(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    stage_advance(actor=admin, cycle=cycle, now=LATER)
    stage_advance(actor=admin, cycle=cycle, now=LATER + dt.timedelta(days=30))
    cycle.refresh_from_db()
    with pytest.raises(PermissionDenied, match="Collect proposals"):
        pool_set(actor=admin, cycle=cycle, place=world.haida, amount_yuan=1)
    assert BudgetPool.objects.get(cycle=cycle, community=world.haida).amount_yuan == 300_000


def test_reschedule_checks_order_and_timezone(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    stage = cycle.stages.get(order=2)
    start = timezone.now()
    with pytest.raises(ServiceError, match="close after"):
        stage_reschedule(actor=admin, stage=stage, opens_at=start, closes_at=start)
    with pytest.raises(ServiceError, match="time zone"):
        stage_reschedule(actor=admin, stage=stage, opens_at=dt.datetime(2030, 1, 1), closes_at=None)
    stage_reschedule(actor=admin, stage=stage, opens_at=start, closes_at=start + dt.timedelta(days=9))
    stage.refresh_from_db()
    assert stage.closes_at - stage.opens_at == dt.timedelta(days=9)


@pytest.mark.django_db(transaction=True)
def test_concurrent_advances_move_the_cycle_one_step(world):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("in-memory SQLite cannot be shared between threads")
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    launch = stage_advance(actor=admin, cycle=cycle, now=LATER)
    results = []

    def press():
        try:
            results.append(stage_advance(actor=admin, cycle=cycle, reason="同时按下",
                                         expected_stage_id=launch.pk).kind)
        except Exception as exc:  # noqa: BLE001
            results.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cycle.refresh_from_db()
    started = cycle.stages.filter(started_at__isnull=False).count()
    # The row lock serialises the presses; the second sees the cycle moved on.
    assert sorted(results) == ["PreconditionFailed", "collect"]
    assert started == 2
