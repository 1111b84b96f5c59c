"""Write audit events. Every service that changes state calls ``audit_record``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models

from civicbudget.audit.models import AuditEvent
from civicbudget.places.paths import place_path


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """Return the concrete field values of ``instance`` as JSON-ready data."""
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        data[field.attname] = _jsonable(getattr(instance, field.attname))
    return data


def _actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    if getattr(actor, "audit_label", None):
        # Someone acting without a staff account (an organisation at its desk) names itself.
        return str(actor.audit_label)
    if not getattr(actor, "is_authenticated", False):
        return "anonymous"
    return str(getattr(actor, "username", actor))


def audit_record(
    actor: Any,
    action: str,
    target: models.Model | None = None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    outcome: str = AuditEvent.Outcome.OK,
    place: models.Model | None = None,
    message: str = "",
) -> AuditEvent:
    """Append one event: who (``actor``) did what (``action``) to which object, before/after."""
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=actor_obj,
        actor_label=_actor_label(actor)[:150],
        action=action,
        outcome=outcome,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None and target.pk is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        place_path=place_path(place) if place is not None else "",
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        message=message,
    )
