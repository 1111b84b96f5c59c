"""The role x place x stage permission matrix, written out as the specification."""

from __future__ import annotations

import pytest

from civicbudget.accounts.models import Role
from civicbudget.accounts.permissions import permission_check, permission_require
from civicbudget.audit.models import AuditEvent
from civicbudget.errors import PermissionDenied
from permission_spec import SPEC_ROLE, SPEC_STAGE, STAGE_ACTIONS  # noqa: E402

from factories import make_cycle, run_stage, staff

ALL_ACTIONS = sorted(STAGE_ACTIONS | {"view_staff", "configure_places", "manage_staff",
                                      "manage_cycles", "view_audit"})


def _holders(world):
    return {
        Role.DISTRICT_ADMIN: (staff(Role.DISTRICT_ADMIN, world.district), world.haida),
        Role.STREET_OFFICER: (staff(Role.STREET_OFFICER, world.haidian), world.haida),
        Role.COMMUNITY_OFFICER: (staff(Role.COMMUNITY_OFFICER, world.haida), world.haida),
        Role.DEPARTMENT_REVIEWER: (staff(Role.DEPARTMENT_REVIEWER, world.department),
                                   world.department),
        Role.POLLING_OFFICER: (staff(Role.POLLING_OFFICER, world.haida), world.haida),
        Role.OBSERVER: (staff(Role.OBSERVER, world.haidian), world.haida),
    }


@pytest.mark.parametrize("kind", list(SPEC_STAGE))
def test_permission_matrix_role_place_stage(world, kind):
    cycle = make_cycle(world.district, streets=[world.haidian, world.renmin],
                       communities=[world.haida, world.fuan, world.baisha])
    cycle = run_stage(cycle, kind)
    checked = 0
    for role, (user, own_place) in _holders(world).items():
        # A place outside every role above: the other street's community.
        outside = world.baisha
        for action in ALL_ACTIONS:
            stage_ok = action not in STAGE_ACTIONS or action in SPEC_STAGE[kind]
            expected_own = action in SPEC_ROLE[role] and stage_ok
            # Only a district-wide role reaches the other street.
            expected_outside = expected_own and role == Role.DISTRICT_ADMIN
            assert permission_check(user, action, own_place, cycle) is expected_own, (
                role, action, kind, "own")
            if role != Role.DEPARTMENT_REVIEWER:
                assert permission_check(user, action, outside, cycle) is expected_outside, (
                    role, action, kind, "outside")
            checked += 2
    assert checked == len(SPEC_ROLE) * len(ALL_ACTIONS) * 2


def test_draft_cycle_allows_only_configuration(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    assert cycle.status == "draft"
    assert permission_check(admin, "configure", world.haida, cycle)
    assert not permission_check(admin, "submit", world.haida, cycle)


def test_no_role_in_another_district(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    admin_elsewhere = staff(Role.DISTRICT_ADMIN, world.other_district)
    assert not permission_check(admin_elsewhere, "configure", world.haida, cycle)
    assert not permission_check(admin_elsewhere, "configure_places", world.district)


def test_place_of_another_district_is_refused_even_for_its_admin(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    other_admin = staff(Role.DISTRICT_ADMIN, world.other_district)
    with pytest.raises(PermissionDenied, match="not part of this cycle"):
        permission_require(other_admin, "configure", world.other_community, cycle)


def test_resident_without_role_is_refused_and_logged(world, django_user_model):
    resident = django_user_model.objects.create_user("resident", password="x-long-password-1")
    with pytest.raises(PermissionDenied, match="Only staff"):
        permission_require(resident, "configure_places", world.district)
    event = AuditEvent.objects.get()
    assert (event.actor_label, event.action, event.outcome) == ("resident", "configure_places", "denied")


def test_inactive_assignment_grants_nothing(world):
    user = staff(Role.DISTRICT_ADMIN, world.district)
    user.roles.update(is_active=False)
    user = type(user).objects.get(pk=user.pk)
    assert not permission_check(user, "configure_places", world.district)


def test_refusal_names_the_stage(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    cycle = run_stage(cycle, "vote")
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    with pytest.raises(PermissionDenied, match="“Vote”"):
        permission_require(officer, "submit", world.haida, cycle)
