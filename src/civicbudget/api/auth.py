"""How a staff request to the API says who it is: a bearer token, or the back-office session.

- ``Authorization: Bearer cbt_...``: an API token (accounts.tokens). It must be active (not
  revoked, not expired: 401) and carry the endpoint's scope (403). Its owner's roles then
  decide, as for a person. Cookies are ignored on such a request.
- Otherwise the session cookie of the back-office, whose every write must carry the CSRF
  token (403 ``csrf_failed``): a page on another site cannot make a logged-in officer's
  browser write. A session that still owes its second factor is anonymous here
  (accounts.middleware).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security.base import AuthBase
from ninja.utils import check_csrf

from civicbudget.errors import PermissionDenied, ServiceError


class NotAuthenticated(ServiceError):
    code = "not_authenticated"


class StaffAuth(AuthBase):
    """Ninja auth for staff endpoints; ``scope`` is what a token needs for this endpoint."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __init__(self, scope: str, *, optional: bool = False) -> None:
        from civicbudget.accounts.tokens import SCOPES

        if scope not in SCOPES:
            raise ValueError(f"unknown API scope {scope!r}")
        self.scope = scope
        # Optional: anonymous requests go through as AnonymousUser (residents' endpoints
        # that staff may also use); a session write still needs its CSRF token.
        self.optional = optional
        super().__init__()

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            return self._token_user(request, header[7:].strip())
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
                raise PermissionDenied(
                    _("CSRF check failed: a back-office session must send its CSRF token "
                      "(X-CSRFToken header); machine clients use an API token."),
                    code="csrf_failed")
            return user
        if self.optional:
            return AnonymousUser()
        return None

    def _token_user(self, request: HttpRequest, clear: str) -> Any:
        from civicbudget.accounts.tokens import token_lookup, token_touch

        token = token_lookup(clear)
        if token is None or token.revoked_at is not None or not token.owner.is_active:
            raise NotAuthenticated(_("The API token is not valid (unknown or revoked)."),
                                   code="token_invalid")
        if not token.is_active:
            raise NotAuthenticated(_("The API token has expired."), code="token_expired")
        if self.scope not in token.scopes:
            raise PermissionDenied(
                _("The API token lacks the scope “%(scope)s” this endpoint needs.")
                % {"scope": self.scope}, code="token_scope", field="scope")
        token_touch(token)
        # Services take ``request.user`` as the actor: the token's owner, with their roles.
        request.user = token.owner
        request.api_token = token
        return token.owner


def staff_auth(scope: str) -> StaffAuth:
    return StaffAuth(scope)


#: Reads of staff data.
staff_read = StaffAuth("read")
