"""The theme-division ballot: configured on the cycle, cast over HTTP beside the project
ballot, counted first, its shares capping each theme's projects, published and recounted by
``civicbudget ledger verify`` (which refuses a tampered division)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from fractions import Fraction

import pytest
from django.test import Client
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.cycles.models import Cycle
from civicbudget.cycles.services import stage_advance
from civicbudget.deliberation.division import theme_division, theme_division_set
from civicbudget.deliberation.services import (
    ballot_freeze,
    ballot_prepare,
    category_bounds_set,
    cost_set,
    screening_criteria,
    screening_record,
)
from civicbudget.errors import PermissionDenied, PreconditionFailed, ServiceError
from civicbudget.ledger.division import POINTS, Pool, scope_pools
from civicbudget.ledger.entry import ProjectSpec, ScopeSpec
from civicbudget.proposals.models import Project
from civicbudget.tally import RuleSpec
from civicbudget.tally.constraints import CategoryBound
from civicbudget.voting import services as voting
from civicbudget.voting.export import export_files
from civicbudget.voting.idcard import id_check_char
from civicbudget.voting.models import ScopeResult, VotingScope

from factories import make_cycle, make_project, staff, walk_to

PAST = timezone.now() - dt.timedelta(days=400)


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


@pytest.fixture
def admin(world):
    return staff(Role.DISTRICT_ADMIN, world.district)


@pytest.fixture
def officer(world):
    return staff(Role.STREET_OFFICER, world.haidian)


@pytest.fixture
def cycle(world):
    return make_cycle(world.district, streets=[world.haidian], communities=[world.haida])


def test_the_option_is_validated_audited_and_frozen_once_voting_opens(cycle, admin, officer, world):
    for themes, rule, field in [(["养老"], "independent-markets", "themes"),
                                (["养老", " 养老 "], "independent-markets", "themes"),
                                (["养老", "文" * 41], "independent-markets", "themes"),
                                (["养老", "文体,安全"], "independent-markets", "themes"),
                                ([f"t{i}" for i in range(21)], "independent-markets", "themes"),
                                (["养老", "文体"], "median", "rule")]:
        with pytest.raises(ServiceError) as refused:
            theme_division_set(actor=admin, cycle=cycle, themes=themes, rule=rule)
        assert refused.value.field == field
    assert theme_division(cycle) is None
    with pytest.raises(ServiceError):  # only the cycle's configurer
        theme_division_set(actor=officer, cycle=cycle, themes=["养老", "文体"])
    theme_division_set(actor=admin, cycle=cycle, themes=["养老", "文体", ""], rule="mean")
    cycle.refresh_from_db()
    assert theme_division(cycle) == {"themes": ["养老", "文体"], "rule": "mean"}
    assert AuditEvent.objects.filter(action="theme_division_set").exists()
    walk_to(cycle, admin, "screen", now=PAST)
    _ready(cycle, world, officer, [("长者食堂", "养老", 100_000)])
    ballot_freeze(actor=officer, ballot=ballot_prepare(actor=officer, cycle=cycle, place=world.haida))
    walk_to(cycle, admin, "vote", now=PAST)
    with pytest.raises((PermissionDenied, PreconditionFailed)):  # the stage, then the freeze
        theme_division_set(actor=admin, cycle=cycle, themes=["养老", "安全"])


def test_the_staff_form_sets_it_and_shows_a_field_error(cycle, admin, staff_client):
    client = staff_client(admin)
    from django.urls import reverse

    url = reverse("deliberation:staff-action", kwargs={"cycle_id": cycle.pk})
    r = client.post(url, {"action": "theme_division", "themes": "养老\n养老", "division_rule": "mean"},
                    follow=True)
    assert "两个主题的名称相同" in r.content.decode() or "same name" in r.content.decode()
    client.post(url, {"action": "theme_division", "themes": "养老\n文体\n安全",
                      "division_rule": "independent-markets"})
    cycle.refresh_from_db()
    assert theme_division(cycle)["themes"] == ["养老", "文体", "安全"]


def test_pools_cap_a_theme_and_a_floor_raises_its_pool():
    spec = ScopeSpec("community:1", "approval", Fraction(300_000), (
        ProjectSpec("1", Fraction(100_000), "a", "养老"), ProjectSpec("2", Fraction(100_000), "b", "文体"),
        ProjectSpec("3", Fraction(75_000), "c", "安全"), ProjectSpec("4", Fraction(75_000), "d", "安全")),
        rule=RuleSpec(rule="greedy", category_min=(CategoryBound("安全", Fraction(1, 2), True),)))
    pools = scope_pools(spec, ["养老", "文体", "安全", "教育"],
                        [Fraction(1, 3), Fraction(1, 3), Fraction(1, 6), Fraction(1, 6)])
    assert pools == [Pool("养老", 100_000, None, Fraction(100_000)),
                     Pool("文体", 100_000, None, Fraction(100_000)),
                     Pool("安全", 50_000, Fraction(150_000), Fraction(150_000))]  # no 教育 project
    assert pools[2].raised and not pools[0].raised


def _voter(cycle, world, i):
    first17 = f"460108{dt.date(1980, 1, 1 + i):%Y%m%d}{i:03d}"
    return voting.voter_identify(cycle=cycle, doc_type="id_card", doc_number=first17 + id_check_char(first17),
                                 community_id=world.haida.pk, basis="live", phone=f"1381234567{i}")


def _client_for(cycle, voter) -> Client:
    client = Client()
    session = client.session
    session["voter"] = {"cycle": cycle.pk, "voter": voter.pk}
    session.save()
    return client


def _write(files, out):
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)


def _verify(out):
    return subprocess.run([sys.executable, "-m", "civicbudget.cli", "ledger", "verify", str(out)],
                          capture_output=True, text=True, timeout=300)


def test_full_flow_division_caps_count_publish_and_recount(world, cycle, admin, officer, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    theme_division_set(actor=admin, cycle=cycle, themes=["养老", "文体", "安全"])
    walk_to(cycle, admin, "screen", now=PAST)
    food, court, pitch, lights = _ready(cycle, world, officer, [
        ("长者食堂", "养老", 100_000), ("篮球场", "文体", 60_000),
        ("足球场", "文体", 60_000), ("楼道灯", "安全", 100_000)])
    ballot_freeze(actor=officer, ballot=ballot_prepare(actor=officer, cycle=cycle, place=world.haida))
    walk_to(cycle, admin, "vote", now=PAST)
    division = VotingScope.objects.get(cycle=cycle, key=f"division:cycle-{cycle.pk}")
    project = VotingScope.objects.get(cycle=cycle, key=f"community:{world.haida.pk}")
    ids = {p.name: str(p.pk) for p in (food, court, pitch, lights)}
    # Sports is everyone's favourite project, but the division gives 文体 only a third.
    splits = [{"t1": 40, "t2": 30, "t3": 30}, {"t1": 40, "t2": 30, "t3": 30},
              {"t1": 30, "t2": 40, "t3": 30}, {"t1": 30, "t2": 30, "t3": 40}]
    for i, split in enumerate(splits):
        voter = _voter(cycle, world, i)
        client = _client_for(cycle, voter)
        page = client.get(f"/cycles/{cycle.pk}/vote/ballot/").content.decode()
        assert page.index(f'data-scope="{division.key}"') < page.index(f'data-scope="{project.key}"')
        if i == 0:  # a total other than 100 is refused, with the field's message
            r = client.post(f"/cycles/{cycle.pk}/vote/ballot/",
                            {"scope": division.pk, "token": "x" * 32, "points_t1": 50, "points_t2": 30})
            assert "100" in r.content.decode() and not ScopeResult.objects.exists()
            assert not voter.participations.filter(scope=division).exists()
        r = client.post(f"/cycles/{cycle.pk}/vote/ballot/",
                        {"scope": division.pk, "token": f"d{i}" * 8, **{f"points_{k}": v for k, v in split.items()}})
        assert r.status_code == 200 and voter.participations.filter(scope=division).exists()
        r = client.post(f"/cycles/{cycle.pk}/vote/ballot/",
                        {"scope": project.pk, "token": f"p{i}" * 8,
                         "projects": [ids["篮球场"], ids["足球场"], ids["长者食堂"]][: 3 - i % 2]})
        assert r.status_code == 200 and voter.participations.filter(scope=project).exists()
    with pytest.raises(ServiceError):  # once per voter
        voting.ballot_cast(voter=_voter(cycle, world, 0), scope=division, choices={"t1": 100})
    stage_advance(actor=admin, cycle=cycle, reason="投票结束")

    head = ScopeResult.objects.get(scope=division)
    assert head.division["voters"] == 4 and head.winners == []
    shares = {t["theme"]: Fraction(t["share"]) for t in head.division["themes"]}
    assert sum(shares.values()) == 1 and all(s < Fraction(1, 2) for s in shares.values())
    result = ScopeResult.objects.get(scope=project)
    caps = {p["theme"]: int(p["pool"]) for p in result.division["pools"]}
    assert sum(caps.values()) == 300_000 and caps["文体"] < 120_000
    # Both sports projects have the most votes, but the 文体 pool admits only one of them.
    assert ids["篮球场"] in result.winners and ids["足球场"] not in result.winners
    assert {e["project_id"]: e["reason"] for e in result.explanations}[ids["足球场"]] == "cap"

    page = Client().get(f"/cycles/{cycle.pk}/results/").content.decode()
    assert "独立市场" in page or "independent markets" in page
    assert "pool-capped" in page and "division-shares" in page
    for theme, share in shares.items():
        assert theme in page and f"{float(share) * 100:.1f}%" in page

    out = tmp_path / "export"
    _write(export_files(cycle), out)
    ok = _verify(out)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "division" in ok.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["division"]["pools"][project.key][0]["theme"] == "养老"

    # A tampered division entry (its points moved between themes, re-signed nothing): fails.
    bad = tmp_path / "bad"
    files = export_files(cycle)
    lines = files["entries.jsonl"].decode().splitlines()
    k = next(i for i, line in enumerate(lines) if "division:" in line)
    lines[k] = lines[k].replace('["t1",40]', '["t1",41]').replace('["t1",30]', '["t1",31]')
    files["entries.jsonl"] = ("\n".join(lines) + "\n").encode()
    _write(files, bad)
    failed = _verify(bad)
    assert failed.returncode == 1, failed.stdout

    # A tampered pool in results.json, the manifest re-signed with the log's key: the
    # recount of the pools catches it.
    from civicbudget import ledger
    from civicbudget.voting import logstore
    from civicbudget.voting.export import export_data

    data = export_data(cycle)
    pools = json.loads(json.dumps(data.division))
    pools["pools"][project.key][0]["pool"] = str(int(pools["pools"][project.key][0]["pool"]) + 1)
    forged = ledger.build_files(type(data)(**{**data.__dict__, "division": pools}),
                                logstore.signing_key(logstore.log_for(cycle)))
    _write(forged, tmp_path / "forged")
    failed = _verify(tmp_path / "forged")
    assert failed.returncode == 1 and "pools" in failed.stderr, failed.stderr
    # and a division share published other than the recount
    shares_forged = json.loads(json.dumps(data.division))
    shares_forged["themes"][0]["amount"] = "1"
    forged = ledger.build_files(type(data)(**{**data.__dict__, "division": shares_forged}),
                                logstore.signing_key(logstore.log_for(cycle)))
    _write(forged, tmp_path / "forged2")
    failed = _verify(tmp_path / "forged2")
    assert failed.returncode == 1 and "division" in failed.stderr, failed.stderr


def test_floor_configured_above_the_pool_raises_it(world, cycle, admin, officer, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    category_bounds_set(actor=admin, cycle=cycle, floors=["安全=0.3"], caps=[])
    theme_division_set(actor=admin, cycle=cycle, themes=["养老", "安全"])
    walk_to(cycle, admin, "screen", now=PAST)
    food, lights = _ready(cycle, world, officer, [("长者食堂", "养老", 100_000), ("楼道灯", "安全", 100_000)])
    ballot_freeze(actor=officer, ballot=ballot_prepare(actor=officer, cycle=cycle, place=world.haida))
    walk_to(cycle, admin, "vote", now=PAST)
    division = VotingScope.objects.get(cycle=cycle, key__startswith="division:")
    voter = _voter(cycle, world, 0)
    voting.ballot_cast(voter=voter, scope=division, choices={"t1": 90, "t2": POINTS - 90})
    stage_advance(actor=admin, cycle=cycle, reason="投票结束")
    project = ScopeResult.objects.get(scope__key=f"community:{world.haida.pk}")
    pools = {p["theme"]: p for p in project.division["pools"]}
    # a cap at the floor (90,000) would leave the 100,000 project unreachable: lifted
    assert pools["安全"]["pool"] == "30000" and pools["安全"]["cap"] == "300000"
    assert ScopeResult.objects.get(scope__key=f"community:{world.haida.pk}").winners
    page = Client().get(f"/cycles/{cycle.pk}/results/").content.decode()
    assert "300,000" in page
    out = tmp_path / "export"
    _write(export_files(cycle), out)
    ok = _verify(out)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_the_demo_pilot_runs_counts_publishes_and_recounts(world, officer, settings, tmp_path):
    from civicbudget.demo.fairness_data import NAME, load_demo_division

    from factories import operator

    settings.DATA_DIR = tmp_path
    cycle = load_demo_division(operator=operator(), officer=officer, district=world.district,
                               street=world.haidian, voters=60)
    assert Cycle.objects.get(name=NAME).pk == cycle.pk and cycle.status == "finished"
    head = ScopeResult.objects.get(scope__cycle=cycle, scope__key__startswith="division:")
    assert head.num_votes == 60 and sum(Fraction(t["share"]) for t in head.division["themes"]) == 1
    assert ScopeResult.objects.get(scope__cycle=cycle, scope__key__startswith="street:").division["pools"]
    page = Client().get(f"/cycles/{cycle.pk}/results/").content.decode()
    assert "独立市场" in page and "养老助残" in page
    out = tmp_path / "export"
    _write(export_files(cycle), out)
    ok = _verify(out)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_a_polling_point_hands_out_the_project_ballots_and_leaves_the_division_online(
        world, cycle, admin, officer, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    theme_division_set(actor=admin, cycle=cycle, themes=["养老", "文体"])
    walk_to(cycle, admin, "screen", now=PAST)
    food, court = _ready(cycle, world, officer, [("长者食堂", "养老", 100_000), ("篮球场", "文体", 60_000)])
    ballot_freeze(actor=officer, ballot=ballot_prepare(actor=officer, cycle=cycle, place=world.haida))
    walk_to(cycle, admin, "vote", now=PAST)
    division = VotingScope.objects.get(cycle=cycle, key=f"division:cycle-{cycle.pk}")
    project = VotingScope.objects.get(cycle=cycle, key=f"community:{world.haida.pk}")
    # frozen in the district's language, though the vote was opened with English active
    assert division.title == "按主题分配预算"
    desk = staff(Role.POLLING_OFFICER, world.haida)
    station = voting.station_create(actor=desk, cycle=cycle, community=world.haida, name="社区服务大厅")
    first17 = "46010819800101001"
    check_in = voting.poll_check_in(officer=desk, station=station, doc_type="id_card",
                                    doc_number=first17 + id_check_char(first17),
                                    community_id=world.haida.pk, basis="live")
    # No paper sheet carries the division: the desk hands out the project ballot only ...
    assert [p.scope for p in check_in.issued] == [project]
    # ... and the same voter still divides the budget online.
    voter = check_in.issued[0].voter
    client = _client_for(cycle, voter)
    r = client.post(f"/cycles/{cycle.pk}/vote/ballot/",
                    {"scope": division.pk, "token": "y" * 32, "points_t1": 60, "points_t2": 40})
    assert r.status_code in (200, 302)
    assert voter.participations.get(scope=division).channel == "online"
