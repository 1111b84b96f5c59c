"""The demo's pilots of fairer counts (issue 18), each run end to end as the demo runs it:
a floor with stakeholder weights, and a group budget. Each is voted, counted, published, and
its public export recounts with one command (``civicbudget ledger verify DIR``)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.test import Client
from django.utils import translation

from civicbudget.accounts.models import Role
from civicbudget.cycles.models import Cycle
from civicbudget.errors import ServiceError
from civicbudget.proposals.models import Project
from civicbudget.voting import services as voting
from civicbudget.voting.export import export_files
from civicbudget.voting.idcard import id_check_char
from civicbudget.voting.models import GroupMember, ScopeResult, Voter

from factories import CommunityFactory, operator, staff


def _recount(cycle, out):
    for name, data in export_files(cycle).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    return subprocess.run([sys.executable, "-m", "civicbudget.cli", "ledger", "verify", str(out)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def officer(world):
    return staff(Role.STREET_OFFICER, world.haidian)


def test_the_care_first_pilot_meets_its_floor_weighs_stakeholders_and_recounts(
        world, officer, settings, tmp_path):
    from civicbudget.demo.fairness_data import PRIORITY_NAME, PRIORITY_PROJECTS, load_demo_priority

    settings.DATA_DIR = tmp_path
    third = CommunityFactory(street=world.haidian, name="万福社区")
    cycle = load_demo_priority(operator=operator(), officer=officer, district=world.district,
                               street=world.haidian, communities=[world.haida, world.fuan, third],
                               voters=90)
    assert Cycle.objects.get(name=PRIORITY_NAME).pk == cycle.pk and cycle.status == "finished"
    street = ScopeResult.objects.select_related("scope").get(scope__cycle=cycle, scope__key__startswith="street:")
    assert street.num_votes == 90
    costs = {n: c for n, _h, _t, c, _l in PRIORITY_PROJECTS}
    themes = {n: t for n, _h, t, _c, _l in PRIORITY_PROJECTS}
    won = [Project.objects.get(pk=pk).name for pk in street.winners]
    assert sum(costs[n] for n in won if themes[n] == "养老助残") >= 0.3 * 600_000
    assert sum(costs[n] for n in won) <= 600_000
    with translation.override("zh-hans"):
        page = Client(headers={"accept-language": "zh-hans"}).get(f"/cycles/{cycle.pk}/results/")
    text = page.content.decode()
    assert page.status_code == 200 and "主题“养老助残”至少占预算的 30%" in text
    assert "服务本社区项目的一票计为 2 票" in text
    out = tmp_path / "export"
    done = _recount(cycle, out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "greedy[points-cost] re-tallied" in done.stdout
    results = (out / "results.json").read_text()
    assert '"stakeholder_weight": 2' in results and '"category_min"' in results


def test_the_group_pilot_lets_members_only_vote_and_recounts(world, settings, tmp_path):
    from civicbudget.demo.fairness_data import GROUP, load_demo_group

    settings.DATA_DIR = tmp_path
    op = operator()
    cycle = load_demo_group(operator=op, officer=op, district=world.district, street=world.haidian,
                            community=world.haida, members=40, voters=25)
    assert cycle.status == "finished" and cycle.config["electorate"] == {"kind": "group", "name": GROUP}
    stored = list(GroupMember.objects.filter(cycle=cycle).values_list("doc_hash", flat=True))
    assert len(stored) == 40 and all(len(h) == 64 for h in stored)
    assert Voter.objects.filter(cycle=cycle).count() == 25
    (result,) = ScopeResult.objects.filter(scope__cycle=cycle)
    assert result.num_votes == 25 and result.winners
    outsider = "46010819900303789"
    with pytest.raises(ServiceError) as refused:
        voting.voter_check(cycle=cycle, doc_type="id_card", doc_number=outsider + id_check_char(outsider),
                           community_id=world.haida.pk, basis="live")
    assert refused.value.code == "not_member" and refused.value.field == "doc_number"
    done = _recount(cycle, tmp_path / "export")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "25 ballots valid" in done.stdout
