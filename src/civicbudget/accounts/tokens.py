"""API tokens for machine clients: create (shown once), revoke, and resolve a bearer token.

A token is ``cbt_`` and 43 URL-safe characters (256 random bits): a plain SHA-256 is enough
to store it, as nobody can guess such a token from its hash; no slow hash is needed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicbudget.accounts.models import ApiToken, User
from civicbudget.audit.services import audit_record, snapshot
from civicbudget.errors import PermissionDenied, ServiceError

TOKEN_PREFIX = "cbt_"  # noqa: S105 - a marker, not a secret
#: What a token may be used for; each API endpoint names the one scope it needs.
SCOPES: dict[str, str] = {
    "read": gettext_lazy("read staff data (lists, audit trail)"),
    "places:write": gettext_lazy("import places"),
    "cycles:write": gettext_lazy("advance stages, set budget pools"),
    "proposals:write": gettext_lazy("enter proposals, merge and split projects"),
    "deliberation:write": gettext_lazy("screening, reviews, costing, roundtables, ballots, bodies"),
    "voting:admin": gettext_lazy("run and count votes"),
    "results:write": gettext_lazy("publish results and replies"),
    "delivery:write": gettext_lazy("record implementation and spending"),
}
MAX_DAYS = 366
#: ``last_used_at`` is written at most this often, not on every request.
TOUCH_EVERY = dt.timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def token_create(*, actor, owner: User, name: str, scopes: list[str],
                 days: int = 90) -> tuple[ApiToken, str]:
    """Create a token for ``owner``; return it and the clear token (never stored)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not (
        actor.pk == owner.pk or actor.is_superuser
    ):
        raise PermissionDenied(_("Only the owner or an operator creates a token for an account."))
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ServiceError(_("Give the token a name of 1 to 100 characters."), field="name")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ServiceError(_("Choose scopes among: %(scopes)s.") % {"scopes": ", ".join(SCOPES)},
                           field="scopes")
    if not 1 <= days <= MAX_DAYS:
        raise ServiceError(_("A token lasts 1 to %(max)d days.") % {"max": MAX_DAYS}, field="days")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            owner=owner, name=name, prefix=clear[:12], token_hash=token_hash(clear),
            scopes=sorted(set(scopes)), expires_at=timezone.now() + dt.timedelta(days=days),
        )
        audit_record(actor, "api_token_create", token,
                     after=snapshot(token, ["owner", "name", "prefix", "scopes", "expires_at"]))
    return token, clear


def token_revoke(*, actor, token: ApiToken) -> ApiToken:
    if actor is None or not getattr(actor, "is_authenticated", False) or not (
        actor.pk == token.owner_id or actor.is_superuser
    ):
        raise PermissionDenied(_("Only the owner or an operator revokes a token."))
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(actor, "api_token_revoke", token, after={"revoked_at": token.revoked_at})
    return token


def token_lookup(clear: str) -> ApiToken | None:
    """Return the token (with its owner) a bearer string names, active or not, or None."""
    if not clear.startswith(TOKEN_PREFIX) or len(clear) > 200:
        return None
    return ApiToken.objects.select_related("owner").filter(token_hash=token_hash(clear)).first()


def token_touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
