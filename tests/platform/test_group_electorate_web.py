"""Group budgets from the staff cycle page (issue 18, part 3): who may vote is switched and the
members' list imported through the page, audited, refused once voting starts, and only for
those who manage the district's cycles. The online vote then refuses a non-member."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.cycles.models import Cycle
from civicbudget.errors import PermissionDenied, PreconditionFailed, ServiceError
from civicbudget.voting.electorate import MAX_GROUP_NAME, electorate_set, group_member_count
from civicbudget.voting.idcard import id_check_char
from civicbudget.voting.models import GroupMember, Voter

from factories import advance_to_vote, make_cycle, staff, staff_login


def _id(born: str, serial: str) -> str:
    first17 = f"460108{born}{serial}"
    return first17 + id_check_char(first17)


MEMBER = _id("19800501", "123")
OTHER_MEMBER = _id("19751112", "456")
OUTSIDER = _id("19900303", "789")
GROUP = "残疾人联合会会员"


@pytest.fixture
def cycle(world):
    return make_cycle(world.district, streets=[world.haidian], communities=[world.haida])


@pytest.fixture
def admin(world):
    return staff(Role.DISTRICT_ADMIN, world.district)


def _client(user) -> Client:
    client = Client()
    staff_login(client, user)
    return client


def _csv(*numbers: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("members.csv", ("证件号码\n" + "\n".join(numbers) + "\n").encode(),
                              content_type="text/csv")


def _page(client, cycle) -> str:
    return client.get(f"/staff/cycles/{cycle.pk}/").content.decode()


def _electorate(cycle) -> dict | None:
    return Cycle.objects.get(pk=cycle.pk).config.get("electorate")


def test_the_page_switches_the_vote_to_a_group_and_back_with_an_audit_row(cycle, admin):
    client = _client(admin)
    page = _page(client, cycle)
    assert "投票人范围" in page and "本周期所辖地方的居民可以投票" in page
    response = client.post(f"/staff/cycles/{cycle.pk}/electorate/", {"kind": "group", "name": f"  {GROUP} "})
    assert response.status_code == 302 and response["Location"].endswith("#electorate")
    assert _electorate(cycle) == {"kind": "group", "name": GROUP}
    event = AuditEvent.objects.filter(action="electorate_set").latest("pk")
    assert (event.outcome, event.before, event.after) == (
        "ok", {"electorate": None}, {"electorate": {"kind": "group", "name": GROUP}})
    page = _page(client, cycle)
    assert f"只有{GROUP}的成员可以投票" in page and "成员名单共有 0 个证件" in page

    # A name too long or empty is refused on its field, and nothing changes.
    for bad in ("x" * (MAX_GROUP_NAME + 1), "   "):
        page = client.post(f"/staff/cycles/{cycle.pk}/electorate/", {"kind": "group", "name": bad},
                           follow=True).content.decode()
        assert "请填写群体名称" in page
        assert _electorate(cycle) == {"kind": "group", "name": GROUP}
    assert AuditEvent.objects.filter(action="electorate_set").count() == 1

    client.post(f"/staff/cycles/{cycle.pk}/electorate/", {"kind": "place", "name": GROUP})
    assert _electorate(cycle) is None and "electorate" not in Cycle.objects.get(pk=cycle.pk).config
    event = AuditEvent.objects.filter(action="electorate_set").latest("pk")
    assert (event.before, event.after) == ({"electorate": {"kind": "group", "name": GROUP}},
                                           {"electorate": None})


def test_the_service_bounds_the_kind_and_the_name(cycle, admin):
    with pytest.raises(ServiceError) as refused:
        electorate_set(actor=admin, cycle=cycle, kind="group", name="")
    assert refused.value.field == "name"
    with pytest.raises(ServiceError) as refused:
        electorate_set(actor=admin, cycle=cycle, kind="everyone")
    assert refused.value.field == "kind"
    assert electorate_set(actor=admin, cycle=cycle, kind="group", name="x" * MAX_GROUP_NAME) == "x" * 60
    assert electorate_set(actor=admin, cycle=cycle, kind="place") is None
    assert _electorate(cycle) is None


def test_who_may_vote_is_frozen_once_voting_starts(cycle, admin, world, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    client = _client(admin)
    client.post(f"/staff/cycles/{cycle.pk}/electorate/", {"kind": "group", "name": GROUP})
    client.post(f"/staff/cycles/{cycle.pk}/group-members/", {"file": _csv(MEMBER)})
    advance_to_vote(cycle, admin)
    page = client.post(f"/staff/cycles/{cycle.pk}/electorate/", {"kind": "place"}, follow=True).content.decode()
    assert "投票已开始，投票人范围不能再更改" in page
    assert _electorate(cycle) == {"kind": "group", "name": GROUP}
    page = client.post(f"/staff/cycles/{cycle.pk}/group-members/", {"file": _csv(OUTSIDER), "replace": "1"},
                       follow=True).content.decode()
    assert "投票已开始" in page
    assert group_member_count(cycle) == 1
    # The page shows the state but no form to change it.
    assert f"/staff/cycles/{cycle.pk}/electorate/" not in page and 'name="file"' not in page
    with pytest.raises(PreconditionFailed):
        electorate_set(actor=admin, cycle=cycle, kind="place")
    assert AuditEvent.objects.filter(action="electorate_set").count() == 1


def test_the_upload_reports_added_already_and_removed(cycle, admin):
    client = _client(admin)
    # A list may wait for the switch: the page says it does not count yet.
    page = client.post(f"/staff/cycles/{cycle.pk}/group-members/", {"file": _csv(MEMBER, OTHER_MEMBER)},
                       follow=True).content.decode()
    assert "成员名单已导入：新增 2 人，已在名单上 0 人，移除 0 人" in page
    assert "名单要等投票人范围改为群体后才生效" in page
    assert "成员名单共有 2 个证件" in page and MEMBER not in page
    client.post(f"/staff/cycles/{cycle.pk}/electorate/", {"kind": "group", "name": GROUP})
    page = client.post(f"/staff/cycles/{cycle.pk}/group-members/", {"file": _csv(MEMBER), "replace": "1"},
                       follow=True).content.decode()
    assert "新增 0 人，已在名单上 1 人，移除 1 人" in page and "才生效" not in page
    assert group_member_count(cycle) == 1
    events = AuditEvent.objects.filter(action="group_members_import").order_by("pk")
    assert [e.after for e in events] == [
        {"added": 2, "already": 0, "removed": 0, "replace": False},
        {"added": 0, "already": 1, "removed": 1, "replace": True}]
    # Without the box ticked, the list only grows.
    client.post(f"/staff/cycles/{cycle.pk}/group-members/", {"file": _csv(OTHER_MEMBER)})
    assert group_member_count(cycle) == 2


def test_a_bad_file_is_refused_with_its_lines_named_and_nothing_stored(cycle, admin):
    client = _client(admin)
    client.post(f"/staff/cycles/{cycle.pk}/electorate/", {"kind": "group", "name": GROUP})
    wrong_check = MEMBER[:-1] + ("0" if MEMBER[-1] != "0" else "1")
    page = client.post(f"/staff/cycles/{cycle.pk}/group-members/",
                       {"file": _csv(MEMBER, wrong_check, "12345", MEMBER)}, follow=True).content.decode()
    assert "文件中的问题（未导入任何数据）" in page
    for line in (3, 4, 5):
        assert f"<tr><td>{line}</td><td>证件号码</td>" in page
    assert "<tr><td>2</td>" not in page
    assert not GroupMember.objects.filter(cycle=cycle).exists()
    assert not AuditEvent.objects.filter(action="group_members_import").exists()
    # No number is echoed on the page, and none is kept in the session that carried the rows.
    assert MEMBER not in page and wrong_check not in page and MEMBER[:10] not in page
    assert MEMBER[:10] not in str(dict(client.session)) and wrong_check[:10] not in str(dict(client.session))
    # The rows are shown once: the next visit is clean.
    assert "文件中的问题" not in _page(client, cycle)
    # No file at all: a message, nothing stored.
    page = client.post(f"/staff/cycles/{cycle.pk}/group-members/", {}, follow=True).content.decode()
    assert "文件为空" in page and not GroupMember.objects.exists()


def test_a_non_member_is_refused_on_the_online_vote_after_the_switch_on_the_page(
        cycle, admin, world, settings, tmp_path):
    settings.DATA_DIR = tmp_path  # the SMS file backend writes here
    client = _client(admin)
    client.post(f"/staff/cycles/{cycle.pk}/electorate/", {"kind": "group", "name": GROUP})
    client.post(f"/staff/cycles/{cycle.pk}/group-members/", {"file": _csv(MEMBER)})
    advance_to_vote(cycle, admin)
    voter = Client()
    form = {"doc_type": "id_card", "community": world.haida.pk, "basis": "live"}
    page = voter.post(f"/cycles/{cycle.pk}/vote/", {**form, "doc_number": OUTSIDER,
                                                    "phone": "13900139000"}).content.decode()
    assert f"本次投票仅限{GROUP}成员参加" in page and "该证件不在成员名单中" in page
    assert OUTSIDER not in page.replace(f'value="{OUTSIDER}"', "")
    assert not Voter.objects.exists()
    response = voter.post(f"/cycles/{cycle.pk}/vote/", {**form, "doc_number": MEMBER, "phone": "13800138000"})
    assert response.status_code == 302 and response["Location"].endswith("/vote/verify/")
    # The public cycle page says, in Chinese, who this vote is for.
    assert f"本次投票仅限{GROUP}成员参加" in Client().get(f"/cycles/{cycle.pk}/").content.decode()


@pytest.mark.parametrize("role", [Role.COMMUNITY_OFFICER, Role.STREET_OFFICER, Role.OBSERVER])
def test_only_who_manages_the_district_cycles_sees_and_uses_the_forms(cycle, world, role):
    place = {Role.COMMUNITY_OFFICER: world.haida, Role.STREET_OFFICER: world.haidian,
             Role.OBSERVER: world.haidian}[role]
    user = staff(role, place)
    client = _client(user)
    page = _page(client, cycle)
    assert "投票人范围" not in page and "/electorate/" not in page and "/group-members/" not in page
    response = client.post(f"/staff/cycles/{cycle.pk}/electorate/", {"kind": "group", "name": GROUP})
    assert response.status_code == 403
    response = client.post(f"/staff/cycles/{cycle.pk}/group-members/", {"file": _csv(MEMBER)})
    assert response.status_code == 403
    assert _electorate(cycle) is None and not GroupMember.objects.exists()
    denied = AuditEvent.objects.filter(actor=user, outcome="denied", action="manage_cycles")
    assert denied.count() == 2
    with pytest.raises(PermissionDenied):
        electorate_set(actor=user, cycle=cycle, kind="group", name=GROUP)


def test_another_districts_admin_is_refused(cycle, world):
    client = _client(staff(Role.DISTRICT_ADMIN, world.other_district))
    assert client.post(f"/staff/cycles/{cycle.pk}/electorate/", {"kind": "group", "name": GROUP}).status_code == 403
    assert _electorate(cycle) is None
