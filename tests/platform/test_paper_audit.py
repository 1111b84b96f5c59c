"""The audit of the paper count on the platform: start from a public seed, read the sampled
sheets, confirm or call for a full count, publish, and re-check from the published file."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.test import Client
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.cli import main as civicbudget_cli
from civicbudget.cycles.services import stage_advance
from civicbudget.errors import PermissionDenied, PreconditionFailed, ServiceError
from civicbudget.paperaudit import services as audits
from civicbudget.paperaudit.cli import main as audit_cli
from civicbudget.paperaudit.models import PaperAudit
from civicbudget.rla.cli import main as check_cli
from civicbudget.voting import services
from civicbudget.voting.idcard import id_check_char

from browser_support import ARTIFACTS, needs_chromium
from factories import advance_to_vote, make_cycle, staff

SEED = "31415926535897932384 62643383279502884197"
NOW = timezone.now()


def _id(i: int) -> str:
    first17 = f"460108197001{i % 28 + 1:02d}{i:03d}"
    return first17 + id_check_char(first17)


def _spec(key, projects, budget, rule="greedy"):
    return {"scope": key, "vote_type": "approval", "budget": str(budget),
            "projects": [{"id": pid, "cost": str(cost), "name": name} for pid, cost, name in projects],
            "rule": {"rule": rule}, "min_length": 1, "max_length": 2}


@pytest.fixture
def counted(world, settings, tmp_path):
    return _counted(world, settings, tmp_path)


def _counted(world, settings, tmp_path):
    """60 paper ballots of 海达 (1+3: 36, 2: 24) and 10 of 福安 (counted by MES), entered twice."""
    settings.DATA_DIR = tmp_path
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    advance_to_vote(cycle, admin, latest=NOW)
    haida = services.scope_open(cycle=cycle, key=f"community:{world.haida.pk}", title="海达社区",
                                community=world.haida, spec=_spec(f"community:{world.haida.pk}", [
                                    ("1", 120_000, "3栋楼道灯"), ("2", 200_000, "东门监控"),
                                    ("3", 90_000, "长者食堂")], 300_000))
    fuan = services.scope_open(cycle=cycle, key=f"community:{world.fuan.pk}", title="福安社区",
                               community=world.fuan, spec=_spec(f"community:{world.fuan.pk}", [
                                   ("4", 100_000, "福安路路灯"), ("7", 250_000, "福安广场")], 300_000, "mes"))
    a, b = staff(Role.POLLING_OFFICER, world.haida), staff(Role.POLLING_OFFICER, world.haida)
    fa, fb = staff(Role.POLLING_OFFICER, world.fuan), staff(Role.POLLING_OFFICER, world.fuan)
    boxes = [services.station_create(actor=a, cycle=cycle, community=world.haida, name=name)
             for name in ("大厅", "流动票箱")]
    fbox = services.station_create(actor=fa, cycle=cycle, community=world.fuan, name="福安大厅")
    sheets = {}
    for i in range(60):
        box = boxes[i % 2]
        services.poll_check_in(officer=a, station=box, doc_type="id_card", doc_number=_id(i),
                               community_id=world.haida.pk, basis="live")
        choices = ["1", "3"] if i % 5 < 3 else ["2"]
        number = i // 2 + 1
        for officer in (a, b):
            services.paper_ballot_enter(officer=officer, station=box, scope=haida, number=number,
                                        choices=choices)
        sheets[(box.pk, number)] = choices
    for i in range(10):
        services.poll_check_in(officer=fa, station=fbox, doc_type="id_card", doc_number=_id(100 + i),
                               community_id=world.fuan.pk, basis="live")
        for officer in (fa, fb):
            services.paper_ballot_enter(officer=officer, station=fbox, scope=fuan, number=i + 1,
                                        choices=["4"] if i % 2 else ["7"])
    stage_advance(actor=admin, cycle=cycle, reason="投票结束")
    services.results_count(cycle=cycle)
    return cycle, haida, fuan, (a, fa), sheets, admin


def test_correct_records_are_confirmed_published_and_rechecked(counted, world, staff_client, tmp_path,
                                                               capsys):
    cycle, haida, _fuan, (officer, _fa), sheets, _admin = counted
    client = staff_client(officer)
    desk = f"/staff/cycles/{cycle.pk}/paper-audit/"
    assert "开始核查" in client.get(desk, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    start = {"action": "start", "scope": haida.key, "seed": SEED, "rolling": "陈代表掷骰子，李提议人监督",
             "risk_limit": "5"}
    boxes = sorted({sid for sid, _n in sheets})
    # Without the boxes' counts, or with a box holding sheets nobody entered, nothing starts.
    client.post(desk + "do/", start)
    client.post(desk + "do/", {**start, f"count_{boxes[0]}": "31", f"count_{boxes[1]}": "30"})
    assert not PaperAudit.objects.exists()
    response = client.post(desk + "do/", {**start, f"count_{boxes[0]}": "30", f"count_{boxes[1]}": "30"})
    assert response.status_code == 302
    audit = PaperAudit.objects.get(scope=haida)
    assert audit.box_counts == {str(boxes[0]): 30, str(boxes[1]): 30}
    assert audit.method == "assertions" and audit.seed == SEED.replace(" ", "")
    assert audit.assertions == [{"winner": "1", "loser": "2", "margin": 12, "tie_favours_winner": True}]
    assert audit.paper_count == 60 and 0 < audit.target_size <= 60
    assert "进行中" in Client().get(f"/cycles/{cycle.pk}/results/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    rounds = 0
    while audit.state == "sampling":
        rounds += 1
        pending = audits.pending_sheets(audit)
        assert pending
        for station, number, _times, _code in pending:
            client.post(desk + "do/", {"action": "record", "scope": haida.key, "station": station.pk,
                                       "number": number, "projects": sheets[(station.pk, number)]})
        audit.refresh_from_db()
    assert audit.state == "confirmed" and audit.comparisons.filter(matches=False).count() == 0
    assert audit.evaluation["assertions"][0]["p_value"] <= 0.05
    assert "3栋楼道灯 &gt; 东门监控" in client.get(desk).content.decode()
    page = Client().get(f"/cycles/{cycle.pk}/results/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "抽样核查：已确认（风险限度5%）" in page
    published = Client().get(f"/cycles/{cycle.pk}/audit.json").json()
    mine = published["audits"][0]
    assert mine["seed"] == audit.seed and len(mine["draws"]) == audit.draws.count()
    assert len(mine["comparisons"]) == audit.comparisons.count()
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(published, ensure_ascii=False), encoding="utf-8")
    assert check_cli([str(path)]) == 0
    # Against the verified ballot log: sheets, margins and recorded ballots agree with it.
    zipped = Client().get(f"/cycles/{cycle.pk}/ledger.zip")
    zipfile.ZipFile(io.BytesIO(zipped.content)).extractall(tmp_path / "log")
    log_dir = str(tmp_path / "log" / f"cycle-{cycle.pk}-ledger")
    assert civicbudget_cli(["ledger", "verify", log_dir, "--audit", str(path)]) == 0
    assert "audit community:" in capsys.readouterr().out
    mine["assertions"][0]["margin"] += 2
    mine["comparisons"][0]["recorded"] = ["2", "3"]  # no paper ballot of the log reads so
    path.write_text(json.dumps(published, ensure_ascii=False), encoding="utf-8")
    assert civicbudget_cli(["ledger", "verify", log_dir, "--audit", str(path)]) == 1
    out = capsys.readouterr().out
    assert "the log gives 12" in out and "not a paper ballot of the log" in out
    mine["assertions"][0]["margin"] -= 2
    mine["comparisons"][0]["recorded"] = [c for c in audit.comparisons.values_list("recorded", flat=True)][0]
    # A published sample that the seed does not give is caught.
    mine["draws"][0]["number"] = mine["draws"][0]["number"] % 30 + 1
    path.write_text(json.dumps(published, ensure_ascii=False), encoding="utf-8")
    assert check_cli([str(path)]) == 1


def test_altered_records_call_for_a_full_count(counted, world, capsys):
    cycle, haida, _fuan, (officer, _fa), sheets, _admin = counted
    # The sheets in the boxes say 2 where the records say 1 and 3: the count is wrong.
    boxes = sorted({sid for sid, _n in sheets})
    assert audit_cli(["start", "--cycle", str(cycle.pk), "--scope", haida.key, "--seed", SEED,
                      "--rolling", "公开掷骰", "--officer", officer.username, "--box-count", "x=1"]) == 1
    assert audit_cli(["start", "--cycle", str(cycle.pk), "--scope", haida.key, "--seed", SEED,
                      "--rolling", "公开掷骰", "--officer", officer.username,
                      "--box-count", f"{boxes[0]}=30", "--box-count", f"{boxes[1]}=29"]) == 0
    audit = PaperAudit.objects.get(scope=haida)
    while audit.state == "sampling":
        for station, number, _t, _c in audits.pending_sheets(audit):
            truth = ["2"] if sheets[(station.pk, number)] == ["1", "3"] else ["2"]
            assert audit_cli(["record", "--cycle", str(cycle.pk), "--scope", haida.key, "--station",
                              str(station.pk), "--number", str(number), "--choices", ",".join(truth),
                              "--officer", officer.username]) == 0
        audit.refresh_from_db()
    assert audit.state == "full_count"
    assert audit.comparisons.filter(matches=False).exists()
    capsys.readouterr()
    assert audit_cli(["status", "--cycle", str(cycle.pk)]) == 0
    assert "full_count" in capsys.readouterr().out
    page = Client().get(f"/cycles/{cycle.pk}/results/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "抽样核查：需全面人工清点" in page


def test_a_missing_sheet_counts_as_the_worst_case(counted):
    cycle, haida, _fuan, (officer, _fa), sheets, _admin = counted
    audit = audits.audit_start(officer=officer, scope=haida, seed=SEED, rolling="公开掷骰")
    station, number, _t, _c = audits.pending_sheets(audit)[0]
    c = audits.audit_record_sheet(officer=officer, audit=audit, station=station, number=number, found=False)
    assert not c.matches and not c.found
    if "1" in sheets[(station.pk, number)]:
        assert c.overstatements == {"1>2": 2}
    with pytest.raises(ServiceError) as twice:
        audits.audit_record_sheet(officer=officer, audit=audit, station=station, number=number,
                                  choices=["1"])
    assert twice.value.code == "duplicate"


def test_rules_without_a_reduction_get_a_labelled_fixed_comparison(counted, world):
    cycle, _haida, fuan, (_a, fa), _sheets, _admin = counted
    audit = audits.audit_start(officer=fa, scope=fuan, seed=SEED, rolling="公开掷骰")
    assert audit.method == "fixed" and "mes" in audit.method_note
    assert audit.target_size == 299 and audit.assertions == []  # 1% of sheets wrong, 95% confidence
    for station, number, _t, _c in audits.pending_sheets(audit):
        audits.audit_record_sheet(officer=fa, audit=audit, station=station, number=number,
                                  choices=["4"] if number % 2 == 0 else ["7"])
    audit.refresh_from_db()
    assert audit.state == "compared" and audit.evaluation["risk_limiting"] is False
    page = Client().get(f"/cycles/{cycle.pk}/results/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "不是风险限度审计" in page or "非风险限度" in page


def test_who_may_start_and_record(counted, world, staff_client):
    cycle, haida, _fuan, (officer, fa), _sheets, _admin = counted
    observer = staff(Role.OBSERVER, world.haidian)
    watcher = staff_client(observer)
    desk = f"/staff/cycles/{cycle.pk}/paper-audit/"
    body = {"action": "start", "scope": haida.key, "seed": SEED, "rolling": "公开掷骰"}
    assert watcher.post(desk + "do/", body).status_code == 403
    assert staff_client(fa).post(desk + "do/", body).status_code == 403  # another community's officer
    with pytest.raises(PermissionDenied):
        audits.audit_start(officer=observer, scope=haida, seed=SEED, rolling="x")
    with pytest.raises(ServiceError) as bad:
        audits.audit_start(officer=officer, scope=haida, seed="123456", rolling="公开掷骰")
    assert bad.value.field == "seed"
    with pytest.raises(ServiceError) as bad:
        audits.audit_start(officer=officer, scope=haida, seed=SEED, rolling="  ")
    assert bad.value.field == "rolling"
    audit = audits.audit_start(officer=officer, scope=haida, seed=SEED, rolling="公开掷骰")
    with pytest.raises(ServiceError) as bad:
        audits.audit_start(officer=officer, scope=haida, seed=SEED, rolling="公开掷骰")
    assert bad.value.code == "duplicate"
    page = watcher.get(desk).content.decode()
    assert audit.seed in page and 'name="projects"' not in page  # observers watch, they do not enter
    station, number, _t, _c = audits.pending_sheets(audit)[0]
    record = {"action": "record", "scope": haida.key, "station": station.pk, "number": number,
              "projects": ["1"]}
    assert watcher.post(desk + "do/", record).status_code == 403
    with pytest.raises(ServiceError) as bad:
        audits.audit_record_sheet(officer=officer, audit=audit, station=station, number=999, choices=[])
    assert bad.value.field == "number"
    with pytest.raises(ServiceError) as bad:
        audits.audit_record_sheet(officer=officer, audit=audit, station=station, number=number,
                                  choices=["99"])
    assert bad.value.field == "choices" and not audit.comparisons.exists()


def test_no_audit_before_the_count(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    advance_to_vote(cycle, admin, latest=NOW)
    scope = services.scope_open(cycle=cycle, key=f"community:{world.haida.pk}", title="海达社区",
                                community=world.haida, spec=_spec(f"community:{world.haida.pk}", [
                                    ("1", 120_000, "3栋楼道灯")], 300_000))
    with pytest.raises(PreconditionFailed):
        audits.audit_start(officer=staff(Role.POLLING_OFFICER, world.haida), scope=scope, seed=SEED,
                           rolling="公开掷骰")


def test_box_counts_must_cover_every_box_and_never_exceed_the_records(counted):
    _cycle, haida, _fuan, (officer, _fa), sheets, _admin = counted
    boxes = sorted({sid for sid, _n in sheets})
    for counts in ({boxes[0]: 30}, {boxes[0]: 30, boxes[1]: -1}, {boxes[0]: 30, boxes[1]: True},
                   {boxes[0]: 30, boxes[1]: 30, 999999: 1}, [30, 30]):
        with pytest.raises(ServiceError) as bad:
            audits.audit_start(officer=officer, scope=haida, seed=SEED, rolling="公开掷骰", box_counts=counts)
        assert bad.value.field == "box_counts"
    with pytest.raises(PreconditionFailed):
        audits.audit_start(officer=officer, scope=haida, seed=SEED, rolling="公开掷骰",
                           box_counts={boxes[0]: 30, boxes[1]: 31})
    assert not PaperAudit.objects.exists()
    audit = audits.audit_start(officer=officer, scope=haida, seed=SEED, rolling="公开掷骰",
                               box_counts={boxes[0]: 30, boxes[1]: 28})
    assert audits.public_json(audit)["box_counts"] == {f"{boxes[0]} 大厅": 30, f"{boxes[1]} 流动票箱": 28}


# The page's text without <code> (seeds, commands): what a resident reads.
TEXT_OUTSIDE_CODE = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('code, script, style').forEach(e => e.remove());
  return copy.textContent;
}"""


@pytest.mark.browser
@needs_chromium
def test_an_officer_audits_on_a_phone_and_residents_read_the_conclusion(transactional_db, world, settings,
                                                                        tmp_path, live_server, page):
    import re

    from factories import PASSWORD

    cycle, haida, _fuan, (officer, _fa), sheets, _admin = _counted(world, settings, tmp_path)
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(live_server.url + "/staff/login/")
    page.fill("input[name=username]", officer.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server.url}/staff/cycles/{cycle.pk}/paper-audit/")
    form = page.locator(f"section[data-scope='{haida.key}'] form.start")
    form.locator("input[name=seed]").fill(SEED)
    form.locator("textarea[name=rolling]").fill("陈代表掷骰子，李提议人监督")
    for box in form.locator("input[name^=count_]").all():
        box.fill("30")
    form.get_by_role("button", name="开始核查").click()
    page.wait_for_selector("form.sheet")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for _ in range(2):  # two sheets read through the page, as an officer does
        sheet = page.locator("form.sheet").first
        station = int(sheet.locator("input[name=station]").get_attribute("value"))
        number = int(sheet.locator("input[name=number]").get_attribute("value"))
        for pid in sheets[(station, number)]:
            sheet.locator(f"input[name=projects][value='{pid}']").check()
        sheet.get_by_role("button", name="记录选票上的标记").click()
        page.wait_for_load_state()
        assert "与录入记录一致" in page.locator(".messages").inner_text()
    audit = PaperAudit.objects.get(scope=haida)
    while audit.state == "sampling":  # the rest as the test's officer types them
        for station, number, _t, _c in audits.pending_sheets(audit):
            audits.audit_record_sheet(officer=officer, audit=audit, station=station, number=number,
                                      choices=sheets[(station.pk, number)])
        audit.refresh_from_db()
    assert audit.state == "confirmed"
    page.goto(f"{live_server.url}/staff/cycles/{cycle.pk}/paper-audit/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(ARTIFACTS / "paper-audit-desk-375.png"), full_page=True)
    page.context.clear_cookies()  # as a resident, not signed in
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.goto(f"{live_server.url}/cycles/{cycle.pk}/results/")
    assert "抽样核查：已确认（风险限度5%）" in page.locator(".audit-line").first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    words = re.findall(r"[A-Za-z]{2,}", page.evaluate(TEXT_OUTSIDE_CODE))
    assert words == [], words[:20]
    page.screenshot(path=str(ARTIFACTS / "paper-audit-results-375.png"), full_page=True)
