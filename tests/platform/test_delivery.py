"""Implementation, money against the allocation, progress photos, ratings and evaluation."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.delivery import selectors, services
from civicbudget.delivery.models import AuditFlag, Implementation, ProgressUpdate, Rating, Spending
from civicbudget.errors import PermissionDenied, PreconditionFailed, ServiceError
from civicbudget.proposals.models import Project

from factories import build_after, staff, staff_login, walk_to

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def delivering(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    after = build_after(world, settings, tmp_path)
    walk_to(after.cycle, after.admin, "implement")
    return after


def _impl(after, name="P1") -> Implementation:
    return Implementation.objects.select_related("project__street", "project__community", "cycle__district").get(
        project=after.projects[name])


def _finish(after, impl):
    for step in ("budget_review", "tender", "contract", "delivery", "acceptance"):
        services.implementation_advance(actor=after.admin, implementation=impl, step=step,
                                        contract_ends_on=dt.date(2031, 6, 30))
    services.implementation_advance(actor=after.admin, implementation=impl, step="done",
                                    acceptance_group="海达社区居民监督小组（5人）")


def test_implement_stage_opens_one_implementation_per_winner_with_its_cost_and_deadline(delivering):
    impls = {i.project_id: i for i in Implementation.objects.all()}
    assert set(impls) == {delivering.projects["P1"].pk, delivering.projects["P3"].pk}
    p1 = impls[delivering.projects["P1"].pk]
    assert p1.allocation_yuan == 120_000 and p1.step == "approval"
    assert p1.due_on == dt.date(timezone.localdate().year, 12, 31)  # works: within the year
    assert p1.body == delivering.world.haidian


def test_a_service_project_is_due_at_the_end_of_its_contract(delivering):
    Project.objects.filter(pk=delivering.projects["P3"].pk).update(project_type="services")
    impl = _impl(delivering, "P3")
    for step in ("budget_review", "tender"):
        services.implementation_advance(actor=delivering.admin, implementation=impl, step=step)
    with pytest.raises(ServiceError) as refused:
        services.implementation_advance(actor=delivering.admin, implementation=impl, step="contract")
    assert refused.value.field == "contract_ends_on"
    services.implementation_advance(actor=delivering.admin, implementation=impl, step="contract",
                                    contract_ends_on=dt.date(2032, 3, 31))
    assert Implementation.objects.get(pk=impl.pk).due_on == dt.date(2032, 3, 31)


def test_steps_go_in_order(delivering):
    impl = _impl(delivering)
    with pytest.raises(ServiceError) as refused:
        services.implementation_advance(actor=delivering.admin, implementation=impl, step="delivery")
    assert refused.value.field == "step"


def test_spending_above_the_allocation_is_refused_until_a_change_is_approved(delivering):
    impl = _impl(delivering)
    services.spending_record(actor=delivering.admin, implementation=impl, amount_yuan=100_000, payee="海口某建设公司",
                             description="灯具与安装", spent_on=dt.date(2031, 5, 1))
    with pytest.raises(ServiceError) as refused:
        services.spending_record(actor=delivering.admin, implementation=impl, amount_yuan=30_000, payee="海口某建设公司",
                                 description="追加灯具", spent_on=dt.date(2031, 5, 2))
    assert refused.value.field == "amount_yuan" and "20,000" in refused.value.message
    assert Spending.objects.filter(implementation=impl).count() == 1
    officer = staff(Role.STREET_OFFICER, delivering.world.haidian)
    with pytest.raises(PermissionDenied):
        services.allocation_change_approve(actor=officer, implementation=impl, to_yuan=130_000, reason="增加两盏")
    services.allocation_change_approve(actor=delivering.admin, implementation=impl, to_yuan=130_000, reason="增加两盏")
    services.spending_record(actor=officer, implementation=_impl(delivering), amount_yuan=30_000,
                             payee="海口某建设公司", description="追加灯具", spent_on=dt.date(2031, 5, 2))
    assert selectors.money_totals(delivering.cycle)["spent"] == 130_000
    assert AuditEvent.objects.filter(action="allocation_change_approve", outcome="ok").count() == 1


@pytest.mark.parametrize("amount", ["-5", "abc", "0"])
def test_bad_amounts_name_the_field(delivering, amount):
    with pytest.raises(ServiceError) as refused:
        services.spending_record(actor=delivering.admin, implementation=_impl(delivering), amount_yuan=amount,
                                 payee="某公司", description="x", spent_on=dt.date(2031, 5, 1))
    assert refused.value.field == "amount_yuan"
    assert Spending.objects.count() == 0


def test_progress_photos_must_be_real_images_of_at_most_5_mb(delivering):
    impl = _impl(delivering)
    not_image = SimpleUploadedFile("photo.jpg", b"MZ\x90\x00 this is an executable", content_type="image/jpeg")
    with pytest.raises(ServiceError) as refused:
        services.progress_add(actor=delivering.admin, implementation=impl, text="开工", percent=10, photo=not_image)
    assert refused.value.field == "photo"
    huge = SimpleUploadedFile("big.png", PNG + b"\0" * (50 * 1024 * 1024), content_type="image/png")
    with pytest.raises(ServiceError) as refused:
        services.progress_add(actor=delivering.admin, implementation=impl, text="开工", percent=10, photo=huge)
    assert refused.value.field == "photo" and "50.0 MB" in refused.value.message
    assert ProgressUpdate.objects.count() == 0
    update = services.progress_add(actor=delivering.admin, implementation=impl, text="灯具进场", percent=40,
                                   photo=SimpleUploadedFile("site.png", PNG, content_type="image/png"))
    assert update.photo.name.endswith(".png")


def test_overdue_alerts_list_unfinished_projects_past_their_deadline(delivering):
    impl = _impl(delivering)
    later = impl.due_on + dt.timedelta(days=1)
    assert [i.pk for i in selectors.overdue(delivering.cycle, today=later)] == sorted(
        Implementation.objects.values_list("pk", flat=True))
    _finish(delivering, impl)
    assert impl.pk not in [i.pk for i in selectors.overdue(delivering.cycle, today=later)]


def _code(phone):
    from civicbudget.voting.services import otp_send
    from civicbudget.voting.sms import last_message_to

    otp_send(phone=phone)
    return "".join(ch for ch in last_message_to(phone).split("code is ")[1][:6])


def test_one_rating_per_resident_and_only_from_residents_who_can_rate(delivering):
    impl = _impl(delivering)
    with pytest.raises(PreconditionFailed) as refused:
        services.rating_submit(implementation=impl, phone="13812345670", code="000000", score=5)
    assert refused.value.field == "project"
    _finish(delivering, impl)
    impl = _impl(delivering)
    with pytest.raises(ServiceError) as refused:
        services.rating_submit(implementation=impl, phone="13812345670", code=_code("13812345670"), score=7)
    assert refused.value.field == "score"
    with pytest.raises(PermissionDenied) as refused:  # never voted nor proposed here
        services.rating_submit(implementation=impl, phone="13700000000", code=_code("13700000000"), score=4)
    assert refused.value.field == "phone"
    with pytest.raises(ServiceError) as refused:
        services.rating_submit(implementation=impl, phone="13812345670", code="999999", score=4)
    assert refused.value.field == "code"
    services.rating_submit(implementation=impl, phone="13812345670", code=_code("13812345670"), score=4,
                           comment="灯很亮")
    with pytest.raises(ServiceError) as refused:
        services.rating_submit(implementation=impl, phone="13812345670", code=_code("13812345670"), score=1)
    assert refused.value.code == "already_rated"
    assert list(Rating.objects.values_list("score", flat=True)) == [4]


def test_evaluation_reports_flags_deputies_and_the_cost_per_participant(delivering):
    impl = _impl(delivering)
    walk_to(delivering.cycle, delivering.admin, "evaluate")
    services.report_add(actor=delivering.admin, cycle=delivering.cycle, implementation=impl,
                        evaluator="海南某评估中心", score=88, summary="按期完成，居民满意度较高")
    with pytest.raises(ServiceError) as refused:
        services.report_add(actor=delivering.admin, cycle=delivering.cycle, evaluator="x", score=101, summary="y")
    assert refused.value.field == "score"
    flag = services.flag_raise(actor=delivering.admin, implementation=impl, severity="concern",
                               finding="发票日期晚于验收")
    with pytest.raises(ServiceError) as refused:
        services.flag_resolve(actor=delivering.admin, flag=flag, resolution=" ")
    assert refused.value.field == "resolution"
    services.flag_resolve(actor=delivering.admin, flag=flag, resolution="已更正台账")
    assert AuditEvent.objects.filter(action="flag_resolve").count() == 1
    services.verdict_record(actor=delivering.admin, implementation=impl, deputy="林代表", verdict="satisfied")
    services.verdict_record(actor=delivering.admin, implementation=impl, deputy="陈代表", verdict="unsatisfied")
    services.cost_record(actor=delivering.admin, cycle=delivering.cycle, kind="printing", description="选票印刷",
                         amount_yuan=1_400)
    cost = selectors.participation_cost(delivering.cycle)
    # 4 voters with their own phones; 10 proposals share one phone, one has another: 6 people.
    assert cost["participants"] == 6 and cost["per_participant"] == round(1_400 / 6, 2)
    assert selectors.satisfaction(delivering.cycle)["deputy_satisfied_share"] == 0.5


def test_the_public_progress_pages_show_money_and_progress(delivering, client):
    impl = _impl(delivering)
    services.progress_add(actor=delivering.admin, implementation=impl, text="灯具进场", percent=40,
                          photo=SimpleUploadedFile("site.png", PNG, content_type="image/png"))
    page = client.get(f"/projects/{impl.project_id}/progress/")
    assert page.status_code == 200 and "灯具进场" in page.content.decode()
    update = ProgressUpdate.objects.get()
    photo = client.get(f"/progress-photos/{update.pk}/")
    assert b"".join(photo.streaming_content).startswith(b"\x89PNG")
    listing = client.get(f"/cycles/{delivering.cycle.pk}/progress/").content.decode()
    assert "3栋楼道灯" in listing and "120,000" in listing
    assert io  # keep the import for readers who extend these tests with file buffers


def test_the_staff_desks_render_and_a_refused_payment_comes_back_with_its_reason(delivering, client):
    staff_login(client, delivering.admin)
    impl = _impl(delivering)
    assert client.get(f"/staff/cycles/{delivering.cycle.pk}/replies/").status_code == 200
    assert client.get(f"/staff/cycles/{delivering.cycle.pk}/delivery/").status_code == 200
    page = client.post(f"/staff/cycles/{delivering.cycle.pk}/delivery/do/", {
        "action": "spend", "implementation": impl.pk, "amount_yuan": "999999", "payee": "某公司",
        "description": "x", "spent_on": "2031-05-01"}, follow=True)
    assert "above the allocation" in page.content.decode() or "超过核定资金" in page.content.decode()
    assert Spending.objects.count() == 0
    # Letters print in the reply stage only; now (implementation) the desk says why not.
    letters = client.post(f"/staff/cycles/{delivering.cycle.pk}/replies/do/", {"action": "letters"}, follow=True)
    assert "does not allow" in letters.content.decode() or "不允许" in letters.content.decode()


def test_an_audit_flag_is_raised_and_resolved_at_the_desk_and_both_stay_public(delivering, client):
    walk_to(delivering.cycle, delivering.admin, "evaluate")
    staff_login(client, delivering.admin)
    impl = _impl(delivering)
    desk = f"/staff/cycles/{delivering.cycle.pk}/delivery/"
    client.post(desk + "do/", {"action": "flag", "implementation": impl.pk, "severity": "serious",
                               "finding": "<script>alert(1)</script>发票与合同金额不符"})
    flag = AuditFlag.objects.get(implementation=impl)
    page = client.get(desk).content.decode()
    assert 'name="action" value="resolve_flag"' in page and f'name="flag" value="{flag.pk}"' in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page

    empty = client.post(desk + "do/", {"action": "resolve_flag", "implementation": impl.pk,
                                       "flag": flag.pk, "resolution": "  "}, follow=True)
    assert "Describe how the finding was resolved" in empty.content.decode() or "说明" in empty.content.decode()
    other = _impl(delivering, "P3")
    client.post(desk + "do/", {"action": "resolve_flag", "implementation": other.pk, "flag": flag.pk,
                               "resolution": "wrong project"})
    flag.refresh_from_db()
    assert flag.resolved_at is None  # a flag is resolved only under its own project

    client.post(desk + "do/", {"action": "resolve_flag", "implementation": impl.pk, "flag": flag.pk,
                               "resolution": "已按合同金额重开发票"})
    flag.refresh_from_db()
    assert flag.resolved_at is not None and flag.resolution == "已按合同金额重开发票"
    assert AuditEvent.objects.filter(action="flag_resolve", actor=delivering.admin).count() == 1
    assert f'name="flag" value="{flag.pk}"' not in client.get(desk).content.decode()
    public = Client().get(f"/projects/{impl.project_id}/progress/").content.decode()
    assert "发票与合同金额不符" in public and "已按合同金额重开发票" in public
