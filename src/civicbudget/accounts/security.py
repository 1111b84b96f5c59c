"""Who must sign in with a second factor, the demo accounts, and how a login is keyed.

One module for the rules the login flow, the middleware, the auth backend and the system
check share, so they cannot drift apart.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

#: The demo's shared password and accounts (``civicbudget demo`` prints them): production
#: refuses to start while one exists, and never lets one log in.
DEMO_PASSWORD = "meilan-demo-2018"  # noqa: S105 - printed on purpose: demo data only
DEMO_USERNAMES = (
    "operator", "meilan-admin", "haidian-officer", "renminlu-officer", "haida-officer",
    "baishafang-officer", "zhujian-reviewer", "haidian-polling", "haidian-polling2", "observer",
    "bailong-officer",
)


def canonical_username(value: Any) -> str:
    """The one form of a user name every login check keys on (NFKC, trimmed, lower case).

    Django's login form applies NFKC too; lower case makes ``Operator`` and ``operator`` one
    counter for the lock-out, as ``staff_create`` already treats them as one name.
    """
    return unicodedata.normalize("NFKC", str(value or "")).strip().lower()[:150]


def axes_username(request, credentials: dict | None) -> str:
    """django-axes' key for a login attempt: the canonical user name."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None:
        raw = getattr(request, "POST", {}).get("username")
    return canonical_username(raw)


def client_ip(request) -> str:
    """The address django-axes counts attempts by: the one client address of the platform
    (``X-Forwarded-For`` believed only from ``CIVICBUDGET_TRUSTED_PROXIES``)."""
    if request is None:
        return ""
    from civicbudget.clientaddr import client_address

    return client_address(request)[:45]


def is_demo_password(password: Any) -> bool:
    return isinstance(password, str) and constant_time_compare(password, DEMO_PASSWORD)


def is_demo_username(username: Any) -> bool:
    return canonical_username(username) in DEMO_USERNAMES


def two_factor_required(user: Any) -> bool:
    """Operators (superusers, ``is_staff``) and district admins must use a second factor."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser or user.is_staff:
        return True
    from civicbudget.accounts.models import Role
    from civicbudget.accounts.permissions import active_assignments

    return any(a.role == Role.DISTRICT_ADMIN for a in active_assignments(user))


def has_confirmed_device(user: Any) -> bool:
    from django_otp import user_has_device

    return bool(getattr(user, "is_authenticated", False)) and user_has_device(user, confirmed=True)


def must_verify(user: Any) -> bool:
    """Whether this session needs the second factor: required by role, or chosen by the user."""
    return two_factor_required(user) or has_confirmed_device(user)


class NotDemoPasswordValidator:
    """Refuse the printed demo password as anyone's password."""

    def validate(self, password: str, user: Any = None) -> None:
        if is_demo_password(password):
            raise ValidationError(_("This is the published demo password: choose another."),
                                  code="password_is_demo")

    def get_help_text(self) -> str:
        return _("Your password cannot be the published demo password.")
