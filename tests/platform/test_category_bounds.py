"""Theme floors and caps of the count: configured on the cycle, checked at the ballot's freeze,
carried by the ballot's spec into the ledger, honoured and explained by the count, recounted."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from django.test import Client
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.cycles.services import stage_advance
from civicbudget.deliberation import selectors
from civicbudget.deliberation.services import (
    ballot_freeze,
    ballot_prepare,
    category_bounds,
    category_bounds_set,
    cost_set,
    screening_criteria,
    screening_record,
)
from civicbudget.errors import ServiceError
from civicbudget.proposals.models import Project
from civicbudget.voting import services as voting
from civicbudget.voting.idcard import id_check_char
from civicbudget.voting.models import ScopeResult, VotingScope
from civicbudget.voting.selectors import result_tables

from factories import make_cycle, make_project, staff, walk_to

PAST = timezone.now() - dt.timedelta(days=400)


@pytest.fixture
def admin(world):
    return staff(Role.DISTRICT_ADMIN, world.district)


@pytest.fixture
def officer(world):
    return staff(Role.STREET_OFFICER, world.haidian)


@pytest.fixture
def cycle(world):
    return make_cycle(world.district, streets=[world.haidian], communities=[world.haida])


def _ready(cycle, world, officer, rows):
    out = []
    for name, theme, cost in rows:
        p = make_project(cycle, world.haida, name=name)
        Project.objects.filter(pk=p.pk).update(theme=theme)
        screening_record(actor=officer, project=p,
                         results={k: (True, "") for k in screening_criteria(cycle)})
        cost_set(actor=officer, project=p, amount_yuan=cost)
        out.append(p)
    return out


def test_floors_and_caps_are_configured_and_malformed_lines_refused(cycle, admin):
    with pytest.raises(ServiceError) as refused:
        category_bounds_set(actor=admin, cycle=cycle, floors=["养老助残=0.3"], caps=["一半"])
    assert refused.value.field == "category_max" and "一半" in refused.value.message
    with pytest.raises(ServiceError) as refused:
        category_bounds_set(actor=admin, cycle=cycle, floors=["养老助残=-1"], caps=[])
    assert refused.value.field == "category_min"
    assert category_bounds(cycle) == {"min": [], "max": []}
    category_bounds_set(actor=admin, cycle=cycle, floors=[" 养老助残=30% ", ""], caps=["文体=100000"])
    cycle.refresh_from_db()
    assert category_bounds(cycle) == {"min": ["养老助残=30%"], "max": ["文体=100000"]}
    assert category_bounds(cycle, "community:999") == category_bounds(cycle)
    assert AuditEvent.objects.filter(action="category_bounds_set").exists()


def test_a_ballot_that_cannot_meet_the_floor_is_not_frozen(world, cycle, admin, officer):
    category_bounds_set(actor=admin, cycle=cycle, floors=["养老助残=0.5"], caps=[])
    walk_to(cycle, admin, "screen", now=PAST)
    _ready(cycle, world, officer, [("长者食堂", "养老助残", 90_000), ("篮球场", "文体", 100_000)])
    ballot = ballot_prepare(actor=officer, cycle=cycle, place=world.haida)
    with pytest.raises(ServiceError) as refused:
        ballot_freeze(actor=officer, ballot=ballot)
    assert refused.value.field == "category_min" and refused.value.code == "category_bounds"
    assert "养老助残" in refused.value.message
    ballot.refresh_from_db()
    assert ballot.frozen_at is None


def test_the_count_honours_the_floor_explains_it_and_recounts(world, cycle, admin, officer, settings,
                                                             tmp_path):
    settings.DATA_DIR = tmp_path
    category_bounds_set(actor=admin, cycle=cycle, floors=["养老助残=0.4"], caps=["文体=0.5"])
    walk_to(cycle, admin, "screen", now=PAST)
    food, lights, court, pitch = _ready(cycle, world, officer, [
        ("长者食堂", "养老助残", 130_000), ("楼道灯", "安全", 100_000),
        ("篮球场", "文体", 100_000), ("足球场", "文体", 60_000)])
    ballot_freeze(actor=officer, ballot=ballot_prepare(actor=officer, cycle=cycle,
                                                         place=world.haida))
    (spec,) = [b["spec"] for b in selectors.voting_ballots(cycle)]
    assert {p["name"]: p.get("category") for p in spec["projects"]}["长者食堂"] == "养老助残"
    assert spec["rule"]["category_min"] == [{"category": "养老助残", "share": True, "value": "0.4"}]
    walk_to(cycle, admin, "vote", now=PAST)
    scope = VotingScope.objects.get(cycle=cycle)
    ids = {p.name: str(p.pk) for p in (food, lights, court, pitch)}
    # by votes: 篮球场 (4), 足球场 (3), 楼道灯 (2), 长者食堂 (1); budget 300,000
    votes = [["篮球场", "足球场", "楼道灯"], ["篮球场", "足球场", "楼道灯"], ["篮球场", "足球场"],
             ["篮球场", "长者食堂"]]
    for i, names in enumerate(votes):
        first17 = f"460108{dt.date(1980, 1, 1 + i):%Y%m%d}{i:03d}"
        voter = voting.voter_identify(cycle=cycle, doc_type="id_card",
                                      doc_number=first17 + id_check_char(first17),
                                      community_id=world.haida.pk, basis="live", phone=f"1381234567{i}")
        voting.ballot_cast(voter=voter, scope=scope, choices=[ids[n] for n in names])
    stage_advance(actor=admin, cycle=cycle, reason="投票结束")
    result = ScopeResult.objects.get(scope=scope)
    # the floor (120,000 for 养老助残) takes 长者食堂 first; the cap (150,000 for 文体) leaves
    # 足球场 out after 篮球场 though it fits the 70,000 left; 楼道灯 does not fit
    assert result.winners == [ids["长者食堂"], ids["篮球场"]]
    why = {e["project_id"]: e for e in result.explanations}
    assert why[ids["长者食堂"]]["reason"] == "selected-for-floor"
    assert why[ids["足球场"]]["reason"] == "cap"
    assert why[ids["足球场"]]["details"]["category"] == "文体"
    (table,) = result_tables(cycle)
    rows = {r["name"]: r["why"] for r in table["rows"]}
    assert "养老助残" in rows["长者食堂"] and "文体" in rows["足球场"]
    page = Client().get(f"/cycles/{cycle.pk}/results/").content.decode()
    assert "养老助残" in page and "40" in page

    out = tmp_path / "export"
    from civicbudget.voting.export import export_files

    for name, data in export_files(cycle).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    ok = subprocess.run([sys.executable, "-m", "civicbudget.cli", "ledger", "verify", str(out)],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    pb = next(out.glob("ballots/*.pb")).read_text()
    assert "category" in pb and "养老助残" in pb
