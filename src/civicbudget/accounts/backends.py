"""The login backend: Django's model backend, minus the demo accounts in production."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

from civicbudget.accounts.security import is_demo_password, is_demo_username


class StaffBackend(ModelBackend):
    """Under ``CIVICBUDGET_ENV=production`` no demo login and no demo password ever signs in,
    even if the start-up check was bypassed (a database restored after start, say)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if getattr(settings, "PRODUCTION", False) and (
            is_demo_username(username) or is_demo_password(password)
        ):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
