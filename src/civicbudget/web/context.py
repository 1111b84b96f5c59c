"""Template context shared by every page."""

from __future__ import annotations

from civicbudget.accounts.permissions import active_assignments


def staff_roles(request) -> dict:
    user = getattr(request, "user", None)
    roles = active_assignments(user) if user is not None else []
    return {"staff_roles": roles, "is_staff_member": bool(roles) or getattr(user, "is_superuser", False)}
