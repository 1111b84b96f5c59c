"""Enforce the second factor: a session that still owes it is worth nothing but the 2FA pages.

Runs after django-otp's ``OTPMiddleware`` (which gives ``request.user.is_verified()``). For a
user who must verify (operators, district admins, anyone who enrolled a device) and has not:
- back-office pages (``/staff/...``) redirect to the code page, or to enrolment when the
  user has no confirmed device yet;
- everything else (public pages, the API) sees an anonymous visitor, so a stolen password
  alone opens no staff endpoint. Sessions opened before 2FA existed fall under this too.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse

from civicbudget.accounts.security import has_confirmed_device, must_verify

#: Reachable with a password-only session: the login, logout and 2FA pages themselves.
OPEN_PREFIXES = ("/staff/login/", "/staff/logout/", "/staff/two-factor/", "/static/", "/i18n/",
                 "/healthz")


class TwoFactorMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and not user.is_verified()
                and must_verify(user)):
            path = request.path_info
            if path.startswith(OPEN_PREFIXES):
                return self.get_response(request)
            if path.startswith("/staff/"):
                name = "web:staff-otp-verify" if has_confirmed_device(user) else "web:staff-otp-enrol"
                return redirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")
            request.user = AnonymousUser()
        return self.get_response(request)
