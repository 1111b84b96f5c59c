"""Create staff accounts and grant or revoke their place-scoped roles."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from civicbudget.accounts.models import Role, RoleAssignment, User
from civicbudget.accounts.permissions import permission_require
from civicbudget.audit.services import audit_record, snapshot
from civicbudget.errors import ServiceError
from civicbudget.places.models import Community, Department, District, Street

ROLE_PLACE = {
    Role.DISTRICT_ADMIN: (District,),
    Role.STREET_OFFICER: (Street,),
    Role.COMMUNITY_OFFICER: (Community,),
    Role.DEPARTMENT_REVIEWER: (Department,),
    Role.POLLING_OFFICER: (District, Street, Community),
    Role.OBSERVER: (District, Street, Community),
}


def _district_of(place) -> District:
    if isinstance(place, District):
        return place
    if isinstance(place, Street | Department):
        return place.district
    return place.street.district


def staff_create(*, actor, username: str, password: str, full_name: str = "",
                 email: str = "", district: District) -> User:
    """Create a staff account (it can do nothing until a role is granted)."""
    permission_require(actor, "manage_staff", district)
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise ServiceError(_("Give a user name of 1 to 150 characters."), field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise ServiceError(_("The user name %(name)s is taken.") % {"name": username},
                           field="username", code="duplicate")
    try:
        validate_password(password, User(username=username, email=email))
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages), field="password") from exc
    with transaction.atomic():
        user = User(username=username, full_name=full_name.strip()[:100], email=email.strip())
        user.set_password(password)
        user.save()
        audit_record(actor, "staff_create", user,
                     after=snapshot(user, ["username", "full_name", "email"]), place=district)
    return user


def role_grant(*, actor, user: User, role: str, place) -> RoleAssignment:
    """Give ``user`` a role at ``place``; the granter must manage staff there."""
    if role not in Role.values:
        raise ServiceError(_("Unknown role “%(role)s”.") % {"role": role}, field="role")
    if not isinstance(place, ROLE_PLACE[role]):
        raise ServiceError(_("A %(role)s is scoped to a %(kinds)s.") % {
            "role": Role(role).label,
            "kinds": " / ".join(str(k._meta.verbose_name) for k in ROLE_PLACE[role]),
        }, field="place")
    district = _district_of(place)
    permission_require(actor, "manage_staff", district)
    field_name = place._meta.model_name
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user, role=role, **{field_name: place},
            defaults={"granted_by": actor if getattr(actor, "is_authenticated", False) else None},
        )
        if not created and not assignment.is_active:
            assignment.is_active = True
            assignment.save(update_fields=["is_active"])
        audit_record(actor, "role_grant", assignment, after=snapshot(assignment), place=place)
    return assignment


def role_revoke(*, actor, assignment: RoleAssignment) -> RoleAssignment:
    """Deactivate a role assignment (kept, so the audit trail still resolves it)."""
    permission_require(actor, "manage_staff", _district_of(assignment.place))
    before = snapshot(assignment)
    with transaction.atomic():
        assignment.is_active = False
        assignment.save(update_fields=["is_active"])
        audit_record(actor, "role_revoke", assignment, before=before, after=snapshot(assignment),
                     place=assignment.place)
    return assignment
