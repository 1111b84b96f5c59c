"""Stakeholder weights on the platform: set on the cycle, frozen into the street ballot,
shown on the ballot, used by the count, published and recounted from the public export."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.cycles.services import stage_advance
from civicbudget.deliberation import selectors
from civicbudget.deliberation.services import (
    ballot_freeze,
    ballot_prepare,
    cost_set,
    project_promote,
    screening_criteria,
    screening_record,
    stakeholder_weight,
    stakeholder_weight_set,
)
from civicbudget.errors import PermissionDenied, PreconditionFailed, ServiceError
from civicbudget.ledger.entry import parse_entry
from civicbudget.voting import services as voting
from civicbudget.voting.idcard import id_check_char
from civicbudget.voting.models import LogEntry, ScopeResult, VotingScope
from civicbudget.voting.selectors import result_tables
from civicbudget.voting.sms import last_message_to

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
    return make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan],
                      street_pool=100_000)


def test_the_weight_is_configured_bounded_audited_and_frozen(world, cycle, admin, officer, staff_client):
    for bad in ("0", "6", "1.5", "２", "two", "-2"):
        with pytest.raises(ServiceError) as refused:
            stakeholder_weight_set(actor=admin, cycle=cycle, weight=bad)
        assert refused.value.field == "stakeholder_weight"
    with pytest.raises(PermissionDenied):
        stakeholder_weight_set(actor=officer, cycle=cycle, weight="2")
    assert stakeholder_weight(cycle) is None
    stakeholder_weight_set(actor=admin, cycle=cycle, weight=" 3 ")
    cycle.refresh_from_db()
    assert stakeholder_weight(cycle) == 3
    assert AuditEvent.objects.filter(action="stakeholder_weight_set").exists()
    stakeholder_weight_set(actor=admin, cycle=cycle, weight="1")
    cycle.refresh_from_db()
    assert stakeholder_weight(cycle) is None and "stakeholder_weight" not in cycle.config
    # through the staff page, as a form
    client = staff_client(admin)
    page = client.get(reverse("deliberation:staff", kwargs={"cycle_id": cycle.pk}))
    assert page.status_code == 200 and 'name="stakeholder_weight"' in page.content.decode()
    client.post(reverse("deliberation:staff-action", kwargs={"cycle_id": cycle.pk}),
                {"action": "stakeholder_weight", "stakeholder_weight": "2"})
    cycle.refresh_from_db()
    assert stakeholder_weight(cycle) == 2
    # an officer sees the setting, not the form
    page = staff_client(officer).get(reverse("deliberation:staff", kwargs={"cycle_id": cycle.pk}))
    assert 'name="stakeholder_weight"' not in page.content.decode()


def _number(i: int) -> str:
    first17 = f"460108{dt.date(1980, 1, 1 + i % 28):%Y%m%d}{i:03d}"
    return first17 + id_check_char(first17)


def _voter(cycle, community, i):
    return voting.voter_identify(cycle=cycle, doc_type="id_card", doc_number=_number(i),
                                 community_id=community.pk, basis="live", phone=f"1381234{i:04d}")


def test_residents_count_more_for_their_own_community_and_the_export_recounts(
        world, cycle, admin, officer, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    cycle.config["community_cap_yuan"] = 50_000  # a community project above it goes to the street
    cycle.save(update_fields=["config"])
    stakeholder_weight_set(actor=admin, cycle=cycle, weight="2")
    cycle.refresh_from_db()
    walk_to(cycle, admin, "screen", now=PAST)
    projects = {}
    for name, community, cost in [("海达健身角", world.haida, 60_000), ("福安凉亭", world.fuan, 60_000),
                                  ("街道路灯", world.fuan, 40_000)]:
        # Promoted to the street: over the community's cap (it still serves its community),
        # or because it serves several communities (then no one of them counts more).
        p = make_project(cycle, community, name=name)
        cost_set(actor=officer, project=p, amount_yuan=cost)
        project_promote(actor=officer, project=p, reason="several_communities" if name == "街道路灯"
                        else "cost_above_cap", note="海达社区、福安社区" if name == "街道路灯" else "")
        p.refresh_from_db()
        screening_record(actor=officer, project=p, results={k: (True, "") for k in screening_criteria(cycle)})
        cost_set(actor=officer, project=p, amount_yuan=cost)
        projects[name] = p
    ballot_freeze(actor=officer, ballot=ballot_prepare(actor=officer, cycle=cycle, place=world.haidian))
    (spec,) = [b["spec"] for b in selectors.voting_ballots(cycle) if b["key"].startswith("street:")]
    assert spec["stakeholder_weight"] == 2 and spec["rule"]["utility"] == "points-cost"
    serves = {p["name"]: p.get("serves") for p in spec["projects"]}
    assert serves == {"海达健身角": f"community:{world.haida.pk}", "福安凉亭": f"community:{world.fuan.pk}",
                      "街道路灯": None}
    walk_to(cycle, admin, "vote", now=PAST)
    with pytest.raises((PreconditionFailed, PermissionDenied)):  # the stage refuses first
        stakeholder_weight_set(actor=admin, cycle=cycle, weight="3")
    scope = VotingScope.objects.get(cycle=cycle, key=f"street:{world.haidian.pk}")
    ids = {name: str(p.pk) for name, p in projects.items()}
    # A resident of 海达 votes through the pages: the ballot says what their vote is worth.
    client = Client()
    client.post(f"/cycles/{cycle.pk}/vote/", {
        "doc_type": "id_card", "doc_number": _number(99), "community": world.haida.pk,
        "basis": "live", "phone": "13911112222"})
    code = "".join(ch for ch in last_message_to("13911112222") if ch.isdigit())[:6]
    assert client.post(f"/cycles/{cycle.pk}/vote/verify/", {"code": code}).status_code == 302
    page = client.get(f"/cycles/{cycle.pk}/vote/ballot/").content.decode()
    assert 'class="stakeholder-note"' in page and page.count('class="badge stakeholder"') == 1
    assert client.post(f"/cycles/{cycle.pk}/vote/ballot/", {
        "scope": scope.pk, "projects": [ids["海达健身角"]], "token": "t1"}).status_code == 200
    # 健身角 (serves 海达), 凉亭 (serves 福安), 路灯 (serves no one community); budget 100,000:
    # 健身角 and 凉亭 (60,000 each) cannot both be funded.
    # 3 more residents of 海达 back their own 健身角; 5 residents of 海达 back 凉亭 and 路灯.
    # Votes: 健身角 4, 凉亭 5, 路灯 5: unweighted, 凉亭 and 路灯 win.
    # Weighted: 健身角 4 x 2 = 8 comes first, then 路灯 (5); 凉亭 no longer fits.
    ballots = [(world.haida, ["海达健身角"])] * 3 + [(world.haida, ["福安凉亭", "街道路灯"])] * 5
    for i, (community, names) in enumerate(ballots):
        voting.ballot_cast(voter=_voter(cycle, community, i), scope=scope, choices=[ids[n] for n in names])
    from civicbudget.voting.models import PendingBallot

    datas = [*LogEntry.objects.filter(scope=scope).values_list("data", flat=True),
             *PendingBallot.objects.filter(scope=scope).values_list("data", flat=True)]
    homes = [parse_entry(d.encode()).home for d in datas]
    # The place is written only where the voter chose a project serving it.
    assert homes.count(f"community:{world.haida.pk}") == 4 and homes.count(None) == 5
    stage_advance(actor=admin, cycle=cycle, reason="投票结束")
    result = ScopeResult.objects.get(scope=scope)
    assert result.winners == [ids["海达健身角"], ids["街道路灯"]]
    (table,) = [t for t in result_tables(cycle) if t["result"].scope_id == scope.pk]
    assert table["stakeholder_weight"] == 2
    page = Client().get(f"/cycles/{cycle.pk}/results/").content.decode()
    assert 'class="stakeholder-note"' in page

    out = tmp_path / "export"
    from civicbudget.voting.export import export_files

    for name, data in export_files(cycle).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    ok = subprocess.run([sys.executable, "-m", "civicbudget.cli", "ledger", "verify", str(out)],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    pb = next(out.glob("ballots/street_*.pb")).read_text()
    assert "stakeholder_weight;2" in pb and "scoring" in pb
