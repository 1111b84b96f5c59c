"""System check: production refuses to start while a demo account or the demo password exists.

Registered without the ``deploy`` tag, so ``civicbudget manage check`` and ``civicbudget
serve`` (which runs the checks before it binds) both refuse. On a database without tables
yet (a fresh install, CI's deploy check) there is nothing to find and nothing is reported.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register
from django.db import DatabaseError

#: Accounts whose password is compared with the demo password: operators and district admins
#: (hashing is slow on purpose, so not every account; the login backend refuses it for all).
PASSWORD_PROBE_LIMIT = 50


def demo_accounts_found() -> tuple[list[str], list[str]]:
    """Return (demo user names present, privileged user names whose password is the demo's)."""
    from functools import reduce
    from operator import or_

    from django.contrib.auth.hashers import check_password
    from django.db.models import Q

    from civicbudget.accounts.models import Role, User
    from civicbudget.accounts.security import DEMO_PASSWORD, DEMO_USERNAMES

    present = sorted(User.objects.filter(
        reduce(or_, (Q(username__iexact=name) for name in DEMO_USERNAMES))
    ).values_list("username", flat=True))
    privileged = (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(is_staff=True)
                | Q(roles__role=Role.DISTRICT_ADMIN, roles__is_active=True))
        .exclude(username__in=present).distinct().order_by("pk")[:PASSWORD_PROBE_LIMIT]
    )
    # The hasher's function, not User.check_password: a check must not re-save a hash.
    with_demo_password = [u.username for u in privileged
                          if u.has_usable_password() and check_password(DEMO_PASSWORD, u.password)]
    return present, with_demo_password


@register("civicbudget")
def demo_accounts_check(app_configs=None, **kwargs):
    if not getattr(settings, "PRODUCTION", False):
        return []
    try:
        present, with_demo_password = demo_accounts_found()
    except DatabaseError:
        # No tables yet (or no database reachable): no account can exist to refuse.
        return []
    errors = []
    if present or with_demo_password:
        names = ", ".join(present + with_demo_password)
        errors.append(Error(
            f"Demo accounts or the demo password exist in a production database: {names}.",
            hint="Remove them with `civicbudget manage remove_demo_accounts` (it deletes the "
                 "demo accounts and disables the demo password on any other account), then "
                 "start again. Never run `civicbudget demo` against a production database.",
            id="civicbudget.E001",
        ))
    return errors
