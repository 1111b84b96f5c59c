"""Every failed or locked-out login lands in the audit trail (never the password tried).

Connected after django-axes' own receiver (``axes`` comes first in ``INSTALLED_APPS``), so
``request.axes_failures_since_start`` tells a counted wrong password from an attempt axes
refused because the user name is locked.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from civicbudget.accounts.security import canonical_username, client_ip


def login_failed_audit(sender, credentials: dict, request=None, **kwargs) -> None:
    from civicbudget.accounts.models import User
    from civicbudget.audit.services import audit_record

    username = canonical_username((credentials or {}).get("username"))
    target = User.objects.filter(username__iexact=username).first() if username else None
    address = client_ip(request)
    failures = getattr(request, "axes_failures_since_start", None)
    limit = settings.AXES_FAILURE_LIMIT
    if failures is None and getattr(request, "axes_locked_out", False):
        action = "login_locked"
        message = (f"Login refused for “{username}” from {address or '?'}: locked after "
                   f"{limit} failed attempts.")
    else:
        action = "login_failed"
        message = f"Failed login for “{username}” from {address or '?'}"
        if failures is not None:
            message += f" (failure {failures} of {limit})"
        if getattr(request, "axes_locked_out", False):
            action = "login_locked"
            message += "; the user name is now locked"
        message += "."
    # The tried password is never passed on: Django already masks it in ``credentials``.
    audit_record(AnonymousUser(), action, target, outcome="denied", message=message)
