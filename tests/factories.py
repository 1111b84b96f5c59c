"""factory_boy factories for the platform's models."""

from __future__ import annotations

import datetime as dt

import factory

from civicbudget.accounts.models import Role, RoleAssignment, User
from civicbudget.cycles.models import Cycle
from civicbudget.places.models import Community, Department, District, Street

PASSWORD = "correct-horse-battery-staple"


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District

    name = factory.Sequence(lambda n: f"第{n}区")
    population = 300_000


class StreetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Street

    district = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"第{n}街道")
    population = 50_000


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Community

    street = factory.SubFactory(StreetFactory)
    name = factory.Sequence(lambda n: f"第{n}社区")
    population = 8_000


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    district = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"区第{n}局")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


def staff(role: str, place, **kwargs) -> User:
    """Return a new user holding ``role`` at ``place``."""
    user = UserFactory(**kwargs)
    RoleAssignment.objects.create(user=user, role=role, **{place._meta.model_name: place})
    return user


def operator() -> User:
    return UserFactory(is_superuser=True, is_staff=True)


def make_cycle(district: District, *, streets, communities, street_pool=1_050_000,
               community_pool=300_000, template_key="meilan_full_pb",
               starts_on=dt.date(2030, 1, 1), name=None, total=None) -> Cycle:
    """Create a configured (draft) cycle through the services, as an operator would."""
    from civicbudget.cycles.services import cycle_create, cycle_set_participants, pool_set

    op = operator()
    cycle = cycle_create(actor=op, district=district, template_key=template_key,
                         name=name or f"{district.name} 微实事", year=starts_on.year,
                         starts_on=starts_on, total_budget_yuan=total)
    cycle_set_participants(actor=op, cycle=cycle, streets=streets, communities=communities)
    if "street" in cycle.levels():
        for s in streets:
            pool_set(actor=op, cycle=cycle, place=s, amount_yuan=street_pool)
    if "community" in cycle.levels():
        for c in communities:
            pool_set(actor=op, cycle=cycle, place=c, amount_yuan=community_pool)
    return Cycle.objects.get(pk=cycle.pk)


__all__ = ["Role"]


def make_project(cycle: Cycle, community: Community | None = None, *, street: Street | None = None,
                 name: str = "楼道灯改造", proposals: int = 1):
    """Create a project (community level, or street level without ``community``) with
    ``proposals`` proposals behind it, directly: the merge workbench is tested elsewhere."""
    from civicbudget.proposals.models import Project, Proposal

    street = community.street if community is not None else street
    project = Project.objects.create(
        cycle=cycle, street=street, community=community, name=name,
        level=Project.Level.COMMUNITY if community is not None else Project.Level.STREET)
    where = community or street.communities.first()
    for i in range(proposals):
        Proposal.objects.create(
            cycle=cycle, street=street, community=where, tracking_code=f"P{project.pk:05d}{i:03d}",
            title=name, text=f"{name}，谢谢", proposer_name="张三", channel="paper", project=project)
    return project


# --- after the vote: shared by the results, delivery and open-data tests ---------------------


def walk_to(cycle, admin, kind: str, now=None) -> None:
    """Advance the cycle until a stage of ``kind`` runs (planned closes waived with a reason)."""
    from django.utils import timezone

    from civicbudget.cycles.services import stage_advance

    cycle.refresh_from_db()
    while cycle.current_stage is None or cycle.current_stage.kind != kind:
        stage_advance(actor=admin, cycle=cycle, now=now or timezone.now(), reason="test")
        cycle = Cycle.objects.prefetch_related("stages").get(pk=cycle.pk)


def build_after(world, settings, tmp_path, *, until: str = "publish"):
    """A counted vote in 海达社区: P1 wins alone, P3 wins merged, P2 loses merged, P4 loses alone,
    P5 is screened out, P6 never reached the ballot, one proposal was never merged."""
    from types import SimpleNamespace

    from django.utils import timezone

    from civicbudget.deliberation.models import Screening
    from civicbudget.proposals.models import Proposal
    from civicbudget.voting import services as voting
    from civicbudget.voting.idcard import id_check_char

    settings.DATA_DIR = tmp_path
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    p = {
        "P1": make_project(cycle, world.haida, name="3栋楼道灯", proposals=1),
        "P2": make_project(cycle, world.haida, name="东门监控", proposals=3),
        "P3": make_project(cycle, world.haida, name="长者食堂", proposals=2),
        "P4": make_project(cycle, world.haida, name="篮球场围网", proposals=1),
        "P5": make_project(cycle, world.haida, name="私家车位", proposals=1),
        "P6": make_project(cycle, world.haida, name="小区花坛", proposals=1),
    }
    from civicbudget.identity import keyed_hash

    Proposal.objects.filter(cycle=cycle).update(proposer_phone="13900001111",
                                                phone_hash=keyed_hash("13900001111", "phone"))
    Screening.objects.create(project=p["P5"], cycle=cycle, is_passed=False, reason_code="no_private_benefit",
                             reason="只惠及个别住户")
    loose = Proposal.objects.create(cycle=cycle, street=world.haidian, community=world.haida,
                                    tracking_code="LOOSE001", title="路边摊", text="取缔路边摊",
                                    proposer_name="李四", proposer_phone="13900002222", channel="online",
                                    phone_hash=keyed_hash("13900002222", "phone"))
    walk_to(cycle, admin, "vote", now=timezone.now() - dt.timedelta(days=400))
    key = f"community:{world.haida.pk}"
    costs = [(p["P1"], 120_000), (p["P2"], 200_000), (p["P3"], 90_000), (p["P4"], 100_000)]
    spec = {"scope": key, "vote_type": "approval", "budget": "300000",
            "projects": [{"id": str(x.pk), "cost": str(c), "name": x.name} for x, c in costs],
            "rule": {"rule": "greedy"}, "min_length": 1, "max_length": None}
    scope = voting.scope_open(cycle=cycle, key=key, title="海达社区", community=world.haida, spec=spec)
    for i, names in enumerate([["P1", "P3"], ["P1", "P3"], ["P1"], ["P2"]]):
        first17 = f"460108{dt.date(1980, 1, 1 + i):%Y%m%d}{i:03d}"
        voter = voting.voter_identify(cycle=cycle, doc_type="id_card", doc_number=first17 + id_check_char(first17),
                                      community_id=world.haida.pk, basis="live", phone=f"1381234567{i}")
        voting.ballot_cast(voter=voter, scope=scope, choices=[str(p[n].pk) for n in names])
    walk_to(cycle, admin, until)
    scope.refresh_from_db()
    return SimpleNamespace(cycle=Cycle.objects.prefetch_related("stages").get(pk=cycle.pk), admin=admin,
                           projects=p, loose=loose, scope=scope, world=world)


def staff_login(client, user):
    """Log ``client`` in as ``user`` the way the login pages end: with the second factor
    verified when the user must have one (operators, district admins)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from civicbudget.accounts.security import two_factor_required

    client.force_login(user)
    if two_factor_required(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or \
            TOTPDevice.objects.create(user=user, name="tests", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def advance_to_vote(cycle, admin, *, latest=None):
    """Advance a fresh cycle stage by stage, 100 days apart and never later than ``latest``
    (default now), until its vote runs; return the cycle."""
    from django.utils import timezone

    from civicbudget.cycles.services import stage_advance

    latest = latest or timezone.now()
    start = latest - dt.timedelta(days=800)
    stage_advance(actor=admin, cycle=cycle, now=start)
    while cycle.current_stage is None or cycle.current_stage.kind != "vote":
        start += dt.timedelta(days=100)
        stage_advance(actor=admin, cycle=cycle, now=min(start, latest), reason="test")
        cycle.refresh_from_db()
    return cycle


def advance_to(cycle, kind, admin, *, start=None):
    """Advance a cycle stage by stage, 400 days apart from ``start`` (default ten years from
    now, so no stage's deadline interferes), until the stage ``kind`` runs; return it."""
    from django.utils import timezone

    from civicbudget.cycles.services import stage_advance

    now = start or timezone.now() + dt.timedelta(days=3650)
    cycle.refresh_from_db()
    while cycle.current_stage is None or cycle.current_stage.kind != kind:
        stage_advance(actor=admin, cycle=cycle, now=now)
        now += dt.timedelta(days=400)
        cycle.refresh_from_db()
    return cycle


def run_stage(cycle, kind):
    """Mark the stages before ``kind`` done and ``kind`` running, now; return the cycle."""
    from django.utils import timezone

    now = timezone.now()
    for stage in cycle.stages.order_by("order"):
        if stage.kind == kind:
            stage.started_at, stage.finished_at = now, None
            stage.save()
            break
        stage.started_at = stage.finished_at = now
        stage.save()
    cycle.refresh_from_db()
    return cycle



def loose_proposals(cycle, world, texts):
    """Paper proposals of 海达社区 typed in during collection, not yet in a project, with the
    textmatch analysis stored as at submission."""
    from civicbudget.proposals.models import Proposal
    from civicbudget.textmatch import analyze

    return [Proposal.objects.create(cycle=cycle, street=world.haidian, community=world.haida,
                                    tracking_code=f"L{Proposal.objects.count():07d}", title=t[:30],
                                    text=t, proposer_name="居民", channel="paper",
                                    analysis=analyze(t).to_dict())
            for t in texts]


def workbench_do(client, cycle, world, **data):
    """Post one action to the merge workbench of 海达社区; it must redirect."""
    response = client.post(f"/staff/cycles/{cycle.pk}/workbench/do/",
                           {"community": world.haida.pk, **data})
    assert response.status_code == 302
    return response
