"""Counters per key and time window, shared by every process through the database.

Keys name what is limited and who (a keyed hash of a client address or phone, never the
value itself). A refusal is ``RateLimited``: HTTP 429 on the API, a message on pages.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from civicbudget.errors import RateLimited
from civicbudget.identity import keyed_hash

#: Defaults; ``settings.CIVICBUDGET_RATE_LIMITS`` overrides any of them (docs/operations.md).
LIMITS = {
    "sms_per_client_per_hour": 20,
    "objection_per_client_per_hour": 10,
    "objection_per_phone_per_day": 5,
    "rating_per_client_per_hour": 30,
    "rating_per_phone_per_day": 20,
    "tracking_sms_per_phone_per_day": 5,
    "partner_register_per_client_per_hour": 10,
}
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def limit_for(name: str) -> int:
    return {**LIMITS, **getattr(settings, "CIVICBUDGET_RATE_LIMITS", {})}[name]


def who(kind: str, value: str) -> str:
    """The part of a key that names a client address or a phone, as a keyed hash."""
    return f"{kind}:{keyed_hash(value, kind)[:40]}"


def take(key: str, *, window: dt.timedelta, limit: int, now: dt.datetime | None = None) -> bool:
    """Count one use of ``key`` in its window; return False (counting nothing) at the limit."""
    from civicbudget.proposals.models import RateBucket

    now = now or timezone.now()
    seconds = int(window.total_seconds())
    start = dt.datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=dt.UTC)
    with transaction.atomic():
        RateBucket.objects.get_or_create(key=key[:100], window_start=start)
        bucket = RateBucket.objects.select_for_update().get(key=key[:100], window_start=start)
        if bucket.count >= limit:
            return False
        bucket.count += 1
        bucket.save(update_fields=["count"])
    return True


def require(key: str, *, window: dt.timedelta, limit: int, message: str, field: str | None = None,
            now: dt.datetime | None = None) -> None:
    """Count one use or raise ``RateLimited`` with ``message``."""
    if not take(key, window=window, limit=limit, now=now):
        raise RateLimited(message, field=field)
