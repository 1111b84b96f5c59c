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
