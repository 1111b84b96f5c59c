"""Permissions: role + place + current stage.

A staff user may do ``action`` on something at ``place`` in ``cycle`` when
1. one of their active role assignments grants the action (``ROLE_ACTIONS``),
2. that assignment's place contains the target place (a community officer's community,
   a street officer's street and its communities, a district admin's district), and
3. for stage actions, the cycle's running stage allows it (``cycles.stages.KIND_ACTIONS``).

``permission_require`` raises ``PermissionDenied`` saying which of the three failed, and
records the refusal in the audit trail.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicbudget.accounts.models import Role, RoleAssignment
from civicbudget.cycles.stages import ACTION_LABELS, STAGE_ACTIONS
from civicbudget.errors import PermissionDenied
from civicbudget.places.paths import path_contains, place_path
from civicbudget.wording import listing

#: Back-office actions that do not depend on the stage.
CONFIG_ACTIONS = ("view_staff", "configure_places", "manage_staff", "manage_cycles", "view_audit",
                  "paper_audit", "publicise", "approve_partners")

#: The back-office actions in words, for refusals ("your role does not allow you to ...").
CONFIG_LABELS = {
    "view_staff": gettext_lazy("use the back-office"),
    "configure_places": gettext_lazy("edit streets and communities"),
    "manage_staff": gettext_lazy("manage staff accounts"),
    "manage_cycles": gettext_lazy("create and run cycles"),
    "view_audit": gettext_lazy("read the audit trail"),
    "paper_audit": gettext_lazy("audit the paper count"),
    "publicise": gettext_lazy("make publicity material and outreach points"),
    "approve_partners": gettext_lazy("approve social organisations and community partnerships"),
}

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.DISTRICT_ADMIN: frozenset(
        {
            "view_staff", "configure_places", "manage_staff", "manage_cycles", "view_audit",
            "configure", "submit", "merge", "screen", "deliberate", "publish", "reply",
            "implement", "evaluate", "paper_audit", "publicise", "approve_partners",
        }
    ),
    Role.STREET_OFFICER: frozenset(
        {"view_staff", "submit", "merge", "screen", "deliberate", "publish", "reply", "implement",
         "paper_audit", "publicise", "approve_partners"}
    ),
    Role.COMMUNITY_OFFICER: frozenset({"view_staff", "submit", "merge", "deliberate", "reply"}),
    Role.DEPARTMENT_REVIEWER: frozenset({"view_staff", "review"}),
    Role.POLLING_OFFICER: frozenset({"view_staff", "vote", "paper_audit"}),
    Role.OBSERVER: frozenset({"view_staff", "view_audit", "evaluate"}),
}


def active_assignments(user: Any) -> list[RoleAssignment]:
    """Return the user's active role assignments (cached on the user for one request)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_civicbudget_roles", None)
    if cached is None:
        cached = list(
            RoleAssignment.objects.filter(user=user, is_active=True).select_related(
                "district", "street__district", "community__street__district", "department__district"
            )
        )
        user._civicbudget_roles = cached
    return cached


def assignment_path(assignment: RoleAssignment) -> str:
    return place_path(assignment.place)


def is_staff_member(user: Any) -> bool:
    """Return whether the user holds any active role: residents never do."""
    return bool(active_assignments(user))


def scopes_for(user: Any, action: str) -> list[str]:
    """Return the place paths where the user's roles grant ``action`` ("" is everywhere)."""
    if getattr(user, "is_superuser", False) and user.is_active:
        return [""]
    return [
        assignment_path(a) for a in active_assignments(user) if action in ROLE_ACTIONS[a.role]
    ]


def _check(user: Any, action: str, place: Any, cycle: Any = None, *,
           any_stage: bool = False) -> str | None:
    """Return why the action is refused, or None when it is allowed.

    ``any_stage``: role and place only, e.g. to see what one could do at a later stage
    (the merge suggestions of a community while proposals are still collected)."""
    if getattr(user, "is_superuser", False) and user.is_active:
        # Operators set districts up; the stage still applies to them.
        return None if any_stage else _stage_check(action, cycle)
    assignments = active_assignments(user)
    if not assignments:
        return _("Only staff with a role can do this.")
    granting = [a for a in assignments if action in ROLE_ACTIONS[a.role]]
    if not granting:
        roles = listing(sorted({str(a.get_role_display()) for a in assignments}))
        return _("Your role (%(roles)s) does not allow you to %(action)s.") % {
            "roles": roles, "action": ACTION_LABELS.get(action) or CONFIG_LABELS.get(action, action),
        }
    target = place_path(place)
    if cycle is not None and not path_contains(f"d{cycle.district_id}/", target):
        return _("%(place)s is not part of this cycle's district.") % {"place": place}
    if not any(path_contains(assignment_path(a), target) for a in granting):
        scopes = listing(str(a.place) for a in granting)
        return _("Your role covers %(scopes)s, not %(place)s.") % {"scopes": scopes, "place": place}
    return None if any_stage else _stage_check(action, cycle)


def _stage_check(action: str, cycle: Any) -> str | None:
    if action in STAGE_ACTIONS:
        if cycle is None:
            return _("This action belongs to a cycle stage, and no cycle was given.")
        if action not in cycle.allowed_actions():
            stage = cycle.current_stage
            if stage is None:
                label = _("draft") if cycle.status == "draft" else _("finished")
                return _("The cycle is %(state)s: you cannot %(action)s now.") % {
                    "state": label, "action": ACTION_LABELS[action],
                }
            return _("The current stage “%(stage)s” does not allow you to %(action)s.") % {
                "stage": stage.display_name, "action": ACTION_LABELS[action],
            }
    return None


def stage_refusal(action: str, cycle: Any) -> str | None:
    """Return why the running stage of ``cycle`` refuses ``action``, or None: the stage rule
    alone, for those who act without a role (an organisation on its contracted project)."""
    return _stage_check(action, cycle)


def permission_check(user: Any, action: str, place: Any, cycle: Any = None, *,
                     any_stage: bool = False) -> bool:
    """Return whether ``user`` may do ``action`` at ``place`` (in ``cycle``)."""
    return _check(user, action, place, cycle, any_stage=any_stage) is None


def permission_require(user: Any, action: str, place: Any, cycle: Any = None,
                       target: Any = None, *, any_stage: bool = False) -> None:
    """Raise ``PermissionDenied`` (and audit the refusal) unless the action is allowed."""
    reason = _check(user, action, place, cycle, any_stage=any_stage)
    if reason is None:
        return
    from civicbudget.audit.services import audit_record

    audit_record(
        user, action, target if target is not None else place,
        outcome="denied", place=place, message=reason,
    )
    raise PermissionDenied(reason)


def staff_member_require(user: Any, path: str = "") -> None:
    """Raise ``PermissionDenied`` (and audit it) unless ``user`` holds a role or is an operator.

    The gate of every staff page: residents and role-less accounts get a 403 and leave a row,
    whatever page they tried.
    """
    if is_staff_member(user) or (getattr(user, "is_superuser", False) and user.is_active):
        return
    from civicbudget.audit.services import audit_record

    reason = _("This page is for staff with a role.")
    audit_record(user, "staff_page", None, outcome="denied", message=path[:200] or reason)
    raise PermissionDenied(reason)


def district_staff_require(user: Any, district_id: int, target: Any = None, path: str = "") -> None:
    """Raise ``PermissionDenied`` (audited) unless ``user`` is staff with a role somewhere in
    the district: a staff page shows nothing of another district to its officers."""
    staff_member_require(user, path)
    district_path = f"d{district_id}/"
    scopes = scopes_for(user, "view_staff")
    if any(path_contains(scope, district_path) or path_contains(district_path, scope)
           for scope in scopes):
        return
    from civicbudget.audit.services import audit_record

    reason = _("This district is outside your roles.")
    audit_record(user, "view_staff", target, outcome="denied", message=path[:200] or reason)
    raise PermissionDenied(reason)


def cycle_staff_require(user: Any, cycle: Any, path: str = "") -> None:
    """``district_staff_require`` for the district of ``cycle``."""
    district_staff_require(user, cycle.district_id, cycle, path)
