"""Read the audit trail, limited to what the reader's roles cover."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from civicbudget.accounts.permissions import scopes_for
from civicbudget.audit.models import AuditEvent


def audit_event_list(user, *, action: str | None = None, outcome: str | None = None,
                     object_type: str | None = None) -> QuerySet[AuditEvent]:
    """Return the events under the places where ``user`` may read the audit trail."""
    paths = scopes_for(user, "view_audit")
    if not paths:
        return AuditEvent.objects.none()
    where = Q()
    for path in paths:
        where |= Q(place_path__startswith=path)
    qs = AuditEvent.objects.filter(where)
    if action:
        qs = qs.filter(action=action)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if object_type:
        qs = qs.filter(object_type=object_type)
    return qs.select_related("actor")
