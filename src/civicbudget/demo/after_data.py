"""The demo's 2017 cycle after the count: objections, replies sent, projects delivered, evaluated.

The stage hooks already did what the platform does on its own when the stages ran (results
on notice, a final state and a queued reply for every proposal, an implementation per
winner); this fills in what people did afterwards, on 2017's dates: a few objections and
their answers, the SMS delivery reports and the printed letters, each project's steps,
payments, co-funding, progress photos, residents' ratings, a third-party evaluation, audit
flags, deputies' verdicts and the cost of participation. Bulk inserts throughout.
"""

from __future__ import annotations

import datetime as dt
import io
import random

from django.core.files.base import ContentFile
from django.db import transaction

from civicbudget.audit.services import audit_record
from civicbudget.cycles.models import Cycle
from civicbudget.delivery.models import (
    AllocationChange,
    AuditFlag,
    CoFunding,
    DeputyVerdict,
    EvaluationReport,
    Implementation,
    Milestone,
    ParticipationCost,
    ProgressUpdate,
    Rating,
    Spending,
)
from civicbudget.proposals.models import Proposal
from civicbudget.results.models import Objection, OutboxMessage, Publication

OBJECTIONS = [
    ("王女士", "东门监控项目的票数比我们楼里统计的少，请公开计票过程。",
     "计票由居民代表和提议人现场监督，每张选票都在公开的投票记录中，可用回执编号核对。经复核，计票无误。"),
    ("陈先生", "路灯项目只照顾了主干道，背街小巷没有纳入，是否公平？",
     "背街小巷照明已作为社区层面项目参加投票，本轮票数不足；可在下一期重新提议，街道将优先勘查。"),
    ("林阿姨", "长者食堂的运营费用由谁承担？会不会建成后无人管理？",
     "长者食堂为服务类项目，运营由社区社会组织按合同负责，合同期内由街道按季度考核并公开结果。"),
]
PAYEES = ["海口美兰市政工程有限公司", "海南椰城建设工程有限公司", "海口海甸照明科技有限公司",
          "美兰区社区服务中心", "海南青禾社会工作服务中心", "海口人民路装饰工程有限公司"]
FUNDERS = [("residents", "楼栋居民众筹"), ("company", "海口某物业服务有限公司"), ("company", "海南某银行美兰支行"),
           ("foundation", "海南成美慈善基金会"), ("foundation", "海口市慈善总会")]
COMMENTS = ["灯亮了，晚上出门安心多了", "施工期间噪音有点大，但效果不错", "希望后续维护跟上", "老人吃饭方便了",
            "很实用，感谢社区", "质量一般，部分地方已经松动", "比预想的好", "希望明年继续做"]
DEPUTIES = ["林代表", "陈代表", "吴代表", "黄代表", "周代表", "郑代表", "符代表", "王代表", "李代表", "邢代表"]


def _photo(rng: random.Random) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 200), (rng.randrange(120, 200), rng.randrange(140, 210), rng.randrange(100, 180)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(0, 300), rng.randrange(0, 180)
        draw.rectangle([x, y, x + rng.randrange(20, 80), y + rng.randrange(10, 40)], fill=(90, 90, 90))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo("Asia/Shanghai"))


def load_demo_after(cycle: Cycle, *, seed: int, actor) -> None:
    rng = random.Random(seed)
    stages = {s.kind: s for s in cycle.stages.all()}
    with transaction.atomic():
        _objections(cycle, rng, actor)
        _replies_sent(cycle, rng, stages["reply"].started_at)
        _delivery(cycle, rng, stages["implement"].started_at.date(), actor)
        _costs(cycle, actor)


def _objections(cycle, rng, actor) -> None:
    publications = list(Publication.objects.filter(cycle=cycle).select_related("scope").order_by("scope__key"))
    for (name, text, answer), publication in zip(OBJECTIONS, rng.sample(publications, min(3, len(publications))),
                                                 strict=False):
        filed = publication.published_at + dt.timedelta(days=rng.randrange(1, 5), hours=3)
        objection = Objection.objects.create(publication=publication, name=name, text=text, filed_at=filed,
                                             answer=answer, answered_by=actor, answered_at=filed + dt.timedelta(days=1))
        audit_record(actor, "objection_answer", objection, after={"answer": answer}, place=cycle.district)


def _replies_sent(cycle, rng, start) -> None:
    sms = list(OutboxMessage.objects.filter(cycle=cycle, channel="sms").values_list("id", flat=True))
    failed = set(rng.sample(sms, len(sms) // 50))
    OutboxMessage.objects.filter(pk__in=[i for i in sms if i not in failed]).update(
        status="sent", attempts=1, sent_at=start + dt.timedelta(hours=2), last_error="")
    OutboxMessage.objects.filter(pk__in=failed).update(
        status="failed", attempts=5, sent_at=None, last_error="gateway: 号码已停机或为空号")
    OutboxMessage.objects.filter(cycle=cycle, channel="letter").update(
        status="printed", attempts=1, sent_at=start + dt.timedelta(days=3))


def _delivery(cycle, rng, start: dt.date, actor) -> None:
    impls = list(Implementation.objects.filter(cycle=cycle).select_related("project").order_by("project_id"))
    raters: dict[int, list[str]] = {}
    for street_id, phone_hash in (Proposal.objects.filter(cycle=cycle).exclude(phone_hash="")
                                  .values_list("street_id", "phone_hash").distinct()):
        raters.setdefault(street_id, []).append(phone_hash)
    milestones, updates, spendings, changes, cofundings, ratings, verdicts = [], [], [], [], [], [], []
    late = set(rng.sample([i.pk for i in impls], max(1, len(impls) // 20)))
    photo_for = set(rng.sample([i.pk for i in impls], min(12, len(impls))))
    steps = ["budget_review", "tender", "contract", "delivery", "acceptance", "done"]
    for impl in impls:
        is_service = impl.project.project_type == "services"
        day = start
        reached = steps[:4] if impl.pk in late else steps
        for step in reached:
            day += dt.timedelta(days=rng.randrange(8, 30))
            milestones.append(Milestone(implementation=impl, step=step, at=_at(day), recorded_by=actor))
        impl.step = reached[-1]
        if is_service:
            impl.contract_ends_on = dt.date(cycle.year + 1, 6, 30)
            impl.due_on = impl.contract_ends_on
        if impl.step == "done":
            impl.accepted_at = _at(day)
            impl.acceptance_group = f"{impl.project.community.name if impl.project.community else impl.project.street.name}居民监督小组（{rng.randrange(5, 9)}人）"
        for percent in ((30, 70, 100) if impl.step == "done" else (20, 45)):
            update = ProgressUpdate(implementation=impl, percent=percent, recorded_by=actor,
                                    at=_at(start + dt.timedelta(days=percent * 2)),
                                    text={20: "已完成招标，施工单位进场。", 30: "完成方案公示与招标。", 45: "主体施工进行中，因雨季略有延误。",
                                          70: "主体完工，进入收尾。", 100: "居民监督小组验收通过，项目交付使用。"}[percent])
            if impl.pk in photo_for and percent in (45, 70, 100):
                update.photo.save(f"demo-{impl.project_id}-{percent}.jpg", ContentFile(_photo(rng)), save=False)
            updates.append(update)
        spend_total = int(impl.allocation_yuan * (rng.uniform(0.9, 1.0) if impl.step == "done" else rng.uniform(0.3, 0.5)))
        if impl.step == "done" and rng.random() < 0.06:
            # A few needed more than planned: an approved change first, then the payments.
            new = int(impl.allocation_yuan * 1.08)
            changes.append(AllocationChange(implementation=impl, from_yuan=impl.allocation_yuan, to_yuan=new,
                                            reason="现场勘查发现管线需迁改，经区领导小组批准追加", approved_by=actor,
                                            approved_at=_at(start + dt.timedelta(days=60))))
            impl.allocation_yuan = new
            spend_total = new
        parts = rng.randrange(2, 5)
        paid = 0
        for n in range(parts):
            amount = spend_total - paid if n == parts - 1 else spend_total // parts
            paid += amount
            if amount > 0:
                spendings.append(Spending(implementation=impl, amount_yuan=amount, payee=rng.choice(PAYEES),
                                          description=["预付款", "进度款", "进度款", "结算款"][min(n, 3)],
                                          spent_on=start + dt.timedelta(days=40 + 40 * n), recorded_by=actor))
        if rng.random() < 0.15:
            source, funder = rng.choice(FUNDERS)
            cofundings.append(CoFunding(implementation=impl, source=source, funder=funder,
                                        amount_yuan=rng.randrange(5, 60) * 1_000,
                                        received_on=start + dt.timedelta(days=rng.randrange(20, 90))))
        if impl.step == "done":
            pool = raters.get(impl.project.street_id, [])
            mean = rng.uniform(3.6, 4.7)
            for phone_hash in rng.sample(pool, min(len(pool), rng.randrange(15, 60))):
                score = max(1, min(5, round(rng.gauss(mean, 0.8))))
                ratings.append(Rating(implementation=impl, phone_hash=phone_hash, score=score,
                                      comment=rng.choice(COMMENTS) if rng.random() < 0.25 else "",
                                      at=_at(dt.date(cycle.year + 1, 1, 10) + dt.timedelta(days=rng.randrange(0, 20)))))
            for deputy in DEPUTIES:
                verdict = rng.choices(["satisfied", "fairly", "unsatisfied"], weights=[6, 3, 1])[0]
                verdicts.append(DeputyVerdict(implementation=impl, deputy=deputy, verdict=verdict,
                                              at=_at(dt.date(cycle.year + 1, 3, 5))))
    Implementation.objects.bulk_update(impls, ["step", "contract_ends_on", "due_on", "accepted_at", "acceptance_group",
                                               "allocation_yuan"])
    Milestone.objects.bulk_create(milestones)
    ProgressUpdate.objects.bulk_create(updates)
    Spending.objects.bulk_create(spendings)
    AllocationChange.objects.bulk_create(changes)
    CoFunding.objects.bulk_create(cofundings)
    Rating.objects.bulk_create(ratings)
    DeputyVerdict.objects.bulk_create(verdicts)
    done = [i for i in impls if i.step == "done"]
    evaluated = _at(dt.date(cycle.year + 1, 2, 20))
    EvaluationReport.objects.create(cycle=cycle, evaluator="海南大学公共管理学院（第三方评估）", score=86,
                                    summary="项目总体按期完成，资金使用规范，居民满意度较高；"
                                            "少数服务类项目的运营考核指标需细化。", published_at=evaluated,
                                    recorded_by=actor)
    EvaluationReport.objects.bulk_create([
        EvaluationReport(cycle=cycle, implementation=i, evaluator="海南大学公共管理学院（第三方评估）",
                         score=rng.randrange(72, 96), summary="按合同完成建设内容，资料齐全。", published_at=evaluated,
                         recorded_by=actor) for i in rng.sample(done, min(10, len(done)))])
    AuditFlag.objects.bulk_create([
        AuditFlag(implementation=i, severity=sev, finding=text, raised_by=actor, raised_at=evaluated,
                  resolution=res, resolved_at=evaluated + dt.timedelta(days=20) if res else None)
        for i, (sev, text, res) in zip(rng.sample(done, min(3, len(done))), [
            ("concern", "一笔结算款的发票日期晚于验收日期。", "已补充说明并更正台账。"),
            ("note", "施工单位未在现场公示项目资金牌。", "已补设公示牌。"),
            ("serious", "材料单价高于同期市场价约15%。", ""),
        ], strict=False)])


def _costs(cycle, actor) -> None:
    ParticipationCost.objects.bulk_create([
        ParticipationCost(cycle=cycle, kind="staff", description="街道、社区工作人员和网格员录入与组织工时", hours=6_400,
                          amount_yuan=256_000, recorded_by=actor),
        ParticipationCost(cycle=cycle, kind="printing", description="提议表、选票、宣传册印刷", amount_yuan=48_500,
                          recorded_by=actor),
        ParticipationCost(cycle=cycle, kind="events", description="提议会、社区推选大会、投票点布置", amount_yuan=62_000,
                          recorded_by=actor),
        ParticipationCost(cycle=cycle, kind="sms", description="验证码与回复短信、信函邮寄", amount_yuan=14_800,
                          recorded_by=actor),
    ])
