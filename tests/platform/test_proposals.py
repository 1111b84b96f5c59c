"""Proposals: every channel, bad input, flood guard, import, merge workbench with undo."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from openpyxl import Workbook

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.cycles.services import stage_advance
from civicbudget.errors import ImportRejected, PermissionDenied, PreconditionFailed, ServiceError
from civicbudget.identity import IdentifierError, canonical_phone
from civicbudget.proposals import selectors
from civicbudget.proposals.models import Channel, MergeOperation, Project, Proposal
from civicbudget.proposals.services import (
    ProposalInput,
    merge_undo,
    project_create,
    project_rename,
    projects_merge,
    proposal_submit,
    proposals_import,
    proposals_move,
    proposals_split,
)

from factories import make_cycle, staff, staff_login

LATER = timezone.now() + dt.timedelta(days=3650)


def _at_stage(world, kind):
    cycle = make_cycle(world.district, streets=[world.haidian, world.renmin],
                       communities=[world.haida, world.fuan, world.baisha])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    now = LATER
    while cycle.current_stage is None or cycle.current_stage.kind != kind:
        stage_advance(actor=admin, cycle=cycle, now=now)
        now += dt.timedelta(days=400)
        cycle.refresh_from_db()
    return cycle


@pytest.fixture
def collecting(world):
    return _at_stage(world, "collect")


@pytest.fixture
def screening(world):
    return _at_stage(world, "screen")


def _input(community, text="海达小区3栋楼道灯坏了", **kw):
    return ProposalInput(community_id=community.pk, text=text,
                         proposer_name=kw.pop("proposer_name", "王秀英"),
                         phone=kw.pop("phone", "138 1234 5678"), **kw)


def _submit(cycle, community, text, **kw):
    return proposal_submit(cycle=cycle, data=_input(community, text, **kw))


def test_phone_numbers_are_normalised():
    assert canonical_phone("+86 138-1234-5678") == "13812345678"
    assert canonical_phone("0898-66123456") == "089866123456"
    assert canonical_phone("１３８（1234）５６７８") == "13812345678"
    with pytest.raises(IdentifierError):
        canonical_phone("12345")
    assert canonical_phone("13812345678", mobile_only=True) == "13812345678"


def test_resident_submits_online_and_gets_a_tracking_code(collecting, world):
    proposal = _submit(collecting, world.haida, "海达小区3栋楼道太黑，希望装声控灯")
    assert len(proposal.tracking_code) == 8
    assert proposal.channel == "online"
    assert proposal.proposer_phone == "13812345678"
    assert proposal.analysis["v"] >= 1
    assert proposal.title == "海达小区3栋楼道太黑，希望装声控灯"
    assert selectors.proposal_by_code(proposal.tracking_code.lower()) == proposal
    # Residents' submissions are not staff changes; phones never reach the trail.
    assert not AuditEvent.objects.filter(message__contains="13812345678").exists()


@pytest.mark.parametrize(("kw", "field"), [
    ({"text": ""}, "text"),
    ({"text": "   \n "}, "text"),
    ({"text": "灯" * 10_000}, "text"),
    ({"phone": "12-34"}, "phone"),
    ({"phone": ""}, "phone"),
    ({"proposer_name": ""}, "proposer_name"),
    ({"project_type": "bribes"}, "project_type"),
])
def test_bad_input_names_the_field_and_saves_nothing(collecting, world, kw, field):
    text = kw.pop("text", "海达小区3栋楼道灯坏了")
    with pytest.raises(ServiceError) as info:
        proposal_submit(cycle=collecting, data=_input(world.haida, text, **kw))
    assert info.value.field == field
    assert Proposal.objects.count() == 0


def test_html_and_emoji_are_kept_as_text(collecting, world):
    p = _submit(collecting, world.haida, "<script>alert('x')</script> 楼道灯😀 樓道燈壞了")
    client = Client()
    html = client.get(f"/track/{p.tracking_code}/").content.decode()
    assert "<script>alert('x')</script>" not in html
    assert "&lt;script&gt;" in html and "😀" in html


def test_community_outside_the_cycle_is_refused(collecting, world):
    with pytest.raises(ServiceError) as info:
        _submit(collecting, world.other_community, "装路灯")
    assert info.value.field == "community"


def test_submission_after_collection_closed_is_refused(screening, world):
    with pytest.raises(PreconditionFailed, match="not being collected"):
        _submit(screening, world.haida, "装路灯")
    assert Proposal.objects.count() == 0


def test_flood_from_one_phone_is_stopped(collecting, world):
    for i in range(5):
        _submit(collecting, world.haida, f"建议{i}号楼装路灯")
    with pytest.raises(ServiceError, match="daily limit") as info:
        _submit(collecting, world.haida, "再来一条")
    assert info.value.code == "rate_limited"
    assert Proposal.objects.count() == 5
    _submit(collecting, world.haida, "换个手机号", phone="13900000000")
    assert Proposal.objects.count() == 6


def test_flood_from_one_network_is_stopped(collecting, world):
    for i in range(20):
        proposal_submit(cycle=collecting, data=_input(world.haida, f"第{i}条", phone=f"1390000{i:04d}"),
                        client_id="10.0.0.9")
    with pytest.raises(ServiceError, match="network"):
        proposal_submit(cycle=collecting, data=_input(world.haida, "又一条", phone="13700000000"),
                        client_id="10.0.0.9")


def test_staff_enter_paper_proposals_only_in_their_community(collecting, world):
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    paper = ProposalInput(community_id=world.haida.pk, text="3栋楼道灯", proposer_name="李大爷",
                          channel=Channel.PAPER)
    proposal = proposal_submit(cycle=collecting, data=paper, entered_by=officer)
    assert proposal.entered_by == officer and proposal.proposer_phone == ""
    assert AuditEvent.objects.filter(action="proposal_enter", outcome="ok").count() == 1
    other = ProposalInput(community_id=world.fuan.pk, text="装路灯", proposer_name="张", channel="paper")
    with pytest.raises(PermissionDenied):
        proposal_submit(cycle=collecting, data=other, entered_by=officer)
    assert Proposal.objects.count() == 1


def test_photo_must_be_a_small_image(collecting, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    fake = SimpleUploadedFile("x.jpg", b"MZ\x90\x00 this is an exe")
    with pytest.raises(ServiceError, match="JPEG") as info:
        proposal_submit(cycle=collecting, data=_input(world.haida), photo=fake)
    assert info.value.field == "photo"
    huge = SimpleUploadedFile("x.jpg", b"\xff\xd8\xff" + b"0" * (6 * 1024 * 1024))
    with pytest.raises(ServiceError, match="5 MB"):
        proposal_submit(cycle=collecting, data=_input(world.haida), photo=huge)
    ok = SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    p = proposal_submit(cycle=collecting, data=_input(world.haida), photo=ok)
    assert p.photo.name.endswith(".png")


CSV = ("社区,内容,提议人,电话,渠道\n"
       "海达社区,海达小区3栋楼道灯坏了,王大妈,13812345678,入户\n"
       "福安社区,福安路修路面,李叔,,纸质\n"
       "白沙坊社区,社区开个长者食堂,陈阿姨,,提议会\n").encode()


def test_import_all_rows_then_reimport_adds_nothing(collecting, world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    report = proposals_import(actor=admin, cycle=collecting, data=CSV, filename="paper.csv")
    assert (report.created, report.skipped_duplicates) == (3, 0)
    assert set(Proposal.objects.values_list("channel", flat=True)) == {"door_to_door", "paper", "meeting"}
    again = proposals_import(actor=admin, cycle=collecting, data=CSV, filename="paper.csv")
    assert (again.created, again.skipped_duplicates) == (0, 3)
    assert Proposal.objects.count() == 3


def test_import_with_bad_rows_imports_nothing(collecting, world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    bad = ("社区,内容,电话\n"
           "海达社区,好提议,13812345678\n"
           "不存在社区,提议,\n"            # line 3
           "海达社区,,\n"                  # line 4: empty text
           "福安社区,提议,999\n"           # line 5: phone
           "海达社区,好提议,13812345678\n"  # line 6: same as line 2
           ).encode()
    with pytest.raises(ImportRejected) as info:
        proposals_import(actor=admin, cycle=collecting, data=bad, filename="bad.csv")
    assert [(d["line"], d["field"]) for d in info.value.details] == [
        (3, "community"), (4, "text"), (5, "phone"), (6, "text")]
    assert Proposal.objects.count() == 0


def test_import_xlsx_by_a_community_officer_limited_to_their_community(collecting, world):
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    wb = Workbook()
    wb.active.append(["社区", "内容"])
    wb.active.append(["海达社区", "3栋装电梯"])
    wb.active.append(["福安社区", "装路灯"])
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(PermissionDenied, match="line\\(s\\) 3") as info:
        proposals_import(actor=officer, cycle=collecting, data=buf.getvalue(), filename="p.xlsx")
    assert [(d["line"], d["field"]) for d in info.value.details] == [(3, "community")]
    assert AuditEvent.objects.filter(action="submit", outcome="denied").count() == 1
    assert Proposal.objects.count() == 0


def _loose(cycle, world, texts, community=None):
    community = community or world.haida
    officer = staff(Role.COMMUNITY_OFFICER, community)
    return [proposal_submit(cycle=cycle, entered_by=officer, data=ProposalInput(
        community_id=community.pk, text=t, proposer_name="居民", channel="paper")) for t in texts]


def test_suggestions_tell_building_3_from_building_7(collecting, world):
    _loose(collecting, world, ["海达小区3栋楼道灯坏了", "3栋楼道太黑，希望装声控灯",
                               "海达小区7栋楼道灯坏了", "7栋楼梯间没有灯", "社区开个长者食堂"])
    groups = selectors.merge_suggestions(collecting, community_id=world.haida.pk)
    texts = sorted(sorted(p.text for p in g.proposals) for g in groups)
    assert texts == [["3栋楼道太黑，希望装声控灯", "海达小区3栋楼道灯坏了"],
                     ["7栋楼梯间没有灯", "海达小区7栋楼道灯坏了"]]


def test_merge_workbench_group_move_split_merge_rename_undo(collecting, world):
    a, b, c, d = _loose(collecting, world, ["3栋楼道灯坏了", "3栋楼道太黑", "装监控", "东门装监控"])
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    # Merging is a screening-stage action.
    with pytest.raises(PermissionDenied):
        project_create(actor=officer, cycle=collecting, proposal_ids=[a.pk, b.pk], name="3栋楼道灯")
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    stage_advance(actor=admin, cycle=collecting, reason="征集结束")
    collecting.refresh_from_db()

    lights = project_create(actor=officer, cycle=collecting, proposal_ids=[a.pk, b.pk], name="3栋楼道灯")
    cameras = project_create(actor=officer, cycle=collecting, proposal_ids=[c.pk], name="监控")
    assert lights.level == "community" and lights.proposals.count() == 2
    proposals_move(actor=officer, cycle=collecting, proposal_ids=[d.pk], project=cameras)
    assert cameras.proposals.count() == 2
    projects_merge(actor=officer, cycle=collecting, target=lights, others=[cameras])
    cameras.refresh_from_db()
    assert lights.proposals.count() == 4 and not cameras.is_active
    proposals_split(actor=officer, cycle=collecting, proposal_ids=[c.pk, d.pk], name="东门监控")
    assert lights.proposals.count() == 2
    project_rename(actor=officer, project=lights, name="海达3栋楼道照明")
    # Every proposal is still there and traceable.
    assert Proposal.objects.count() == 4
    assert all(p.project_id for p in Proposal.objects.all())

    ops = list(MergeOperation.objects.order_by("-id"))
    merge_undo(actor=officer, operation=ops[0])  # the rename
    lights.refresh_from_db()
    assert lights.name == "3栋楼道灯"
    merge_undo(actor=officer, operation=ops[1])  # the split
    assert lights.proposals.count() == 4
    with pytest.raises(PreconditionFailed, match="undone already"):
        merge_undo(actor=officer, operation=ops[1])
    # Undoing the first move would pull d out of where later changes put it.
    with pytest.raises(PreconditionFailed, match="moved again"):
        merge_undo(actor=officer, operation=ops[3])
    assert AuditEvent.objects.filter(action__startswith="merge_", outcome="ok").count() == 8


def test_officer_cannot_merge_another_communitys_proposals(screening, world):
    [p] = _loose_screening(screening, world, ["福安社区装路灯"], world.fuan)
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    with pytest.raises(PermissionDenied):
        project_create(actor=officer, cycle=screening, proposal_ids=[p.pk], name="路灯")
    p.refresh_from_db()
    assert p.project_id is None and Project.objects.count() == 0


def test_cross_community_project_is_street_level_and_needs_the_street(screening, world):
    [a] = _loose_screening(screening, world, ["海甸二东路修路面"], world.haida)
    [b] = _loose_screening(screening, world, ["海甸二东路坑洼"], world.fuan)
    community_officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    with pytest.raises(PermissionDenied):
        project_create(actor=community_officer, cycle=screening, proposal_ids=[a.pk, b.pk], name="修路")
    street_officer = staff(Role.STREET_OFFICER, world.haidian)
    project = project_create(actor=street_officer, cycle=screening, proposal_ids=[a.pk, b.pk], name="修路")
    assert (project.level, project.community) == ("street", None)
    with pytest.raises(ServiceError, match="different streets"):
        [c] = _loose_screening(screening, world, ["修路"], world.baisha)
        project_create(actor=staff(Role.DISTRICT_ADMIN, world.district), cycle=screening,
                       proposal_ids=[a.pk, c.pk], name="x")


def _loose_screening(cycle, world, texts, community):
    # Paper proposals typed in before screening began, entered directly.
    return [Proposal.objects.create(cycle=cycle, street=community.street, community=community,
                                    tracking_code=f"T{Proposal.objects.count():07d}", title=t,
                                    text=t, proposer_name="居民", channel="paper")
            for t in texts]


def test_tracking_shows_the_project_after_a_merge(screening, world):
    [p, q] = _loose_screening(screening, world, ["3栋楼道灯坏了", "3栋楼道太黑"], world.haida)
    client = Client()
    assert "waiting" in client.get(f"/track/{p.tracking_code}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    project = project_create(actor=officer, cycle=screening, proposal_ids=[p.pk, q.pk], name="3栋楼道照明")
    html = client.get(f"/track/{p.tracking_code}/").content.decode()
    assert "3栋楼道照明" in html
    api = client.get(f"/api/proposals/track/{p.tracking_code}").json()
    assert api["project"] == {"id": project.pk, "name": "3栋楼道照明", "proposal_count": 2}
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert 'class="n proposal-count">2<' in page


def test_api_submit_and_projects(collecting, world):
    client = Client()
    response = client.post(f"/api/cycles/{collecting.pk}/proposals", {
        "community_id": world.haida.pk, "text": "福安路装路灯", "proposer_name": "刘",
        "phone": "13700001111"}, content_type="application/json")
    assert response.status_code == 201
    code = response.json()["tracking_code"]
    assert Proposal.objects.get(tracking_code=code).channel == "online"
    bad = client.post(f"/api/cycles/{collecting.pk}/proposals", {
        "community_id": world.haida.pk, "text": "", "proposer_name": "刘", "phone": "137"},
        content_type="application/json")
    assert bad.status_code == 400 and bad.json()["field"] == "text"
    assert client.get(f"/api/cycles/{collecting.pk}/projects").json() == []
    assert client.get("/api/proposals/track/NOPE1234").status_code == 404


def test_staff_proposal_list_is_scoped_and_masks_phones(collecting, world):
    _submit(collecting, world.haida, "3栋楼道灯")
    officer = staff(Role.COMMUNITY_OFFICER, world.fuan)
    client = Client()
    staff_login(client, officer)
    denied = client.get(f"/api/cycles/{collecting.pk}/proposals?community_id={world.haida.pk}")
    assert denied.status_code == 403
    own = staff(Role.COMMUNITY_OFFICER, world.haida)
    staff_login(client, own)
    [item] = client.get(f"/api/cycles/{collecting.pk}/proposals?community_id={world.haida.pk}").json()
    assert item["phone_masked"] == "138****5678"
    assert "13812345678" not in str(item)


def test_online_form_page_round_trip(collecting, world):
    client = Client()
    page = client.get(f"/cycles/{collecting.pk}/propose/")
    assert page.status_code == 200
    response = client.post(f"/cycles/{collecting.pk}/propose/", {
        "community": world.haida.pk, "text": "海达小区东门装监控", "project_type": "works",
        "proposer_name": "周", "phone": "13600001111", "proposer_kind": "resident"}, follow=True)
    assert response.status_code == 200
    p = Proposal.objects.get()
    assert p.tracking_code in response.content.decode()
    error = client.post(f"/cycles/{collecting.pk}/propose/", {
        "community": world.haida.pk, "text": "x", "project_type": "works",
        "proposer_name": "周", "phone": "123", "proposer_kind": "resident"})
    assert "field-error" in error.content.decode()
    assert Proposal.objects.count() == 1


def test_quick_entry_page_keeps_community_and_channel(collecting, world):
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    client = Client()
    staff_login(client, officer)
    response = client.post(f"/staff/cycles/{collecting.pk}/entry/", {
        "community": world.haida.pk, "channel": "door_to_door", "text": "3栋楼道灯坏了",
        "project_type": "works", "proposer_name": "王", "proposer_kind": "resident"}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<option value="{world.haida.pk}" selected>' in html
    assert Proposal.objects.get().channel == "door_to_door"


def test_workbench_accepts_a_suggestion(screening, world):
    [a, b] = _loose_screening(screening, world, ["海达小区3栋楼道灯坏了", "3栋楼道太黑，装声控灯"], world.haida)
    for p in (a, b):
        from civicbudget.textmatch import analyze

        p.analysis = analyze(p.text).to_dict()
        p.save()
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    client = Client()
    staff_login(client, officer)
    page = client.get(f"/staff/cycles/{screening.pk}/workbench/?community={world.haida.pk}")
    assert page.status_code == 200 and "suggestion" in page.content.decode()
    client.post(f"/staff/cycles/{screening.pk}/workbench/do/", {
        "action": "group", "name": "3栋楼道照明", "proposals": [a.pk, b.pk],
        "community": world.haida.pk})
    assert Project.objects.get().proposals.count() == 2
