"""``civicbudget demo`` writes only into a database meant for the demo.

Refused: any database under ``CIVICBUDGET_ENV=production``, and a database that already
holds districts or accounts the demo did not create (a real district's data, wherever its
``DATABASE_URL`` points).
"""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError

from civicbudget.accounts.security import DEMO_USERNAMES


def demo_refusal() -> str | None:
    """Return why the demo may not write into the configured database, or None."""
    if getattr(settings, "PRODUCTION", False):
        return ("civicbudget demo refuses to run with CIVICBUDGET_ENV=production: the demo "
                "creates accounts with a published password. Unset CIVICBUDGET_ENV (and "
                "DATABASE_URL) to start a demo on its own SQLite file.")
    from civicbudget.accounts.models import User
    from civicbudget.demo.data import DISTRICT_NAME
    from civicbudget.places.models import District

    try:
        other_districts = District.objects.exclude(name=DISTRICT_NAME).count()
        other_users = User.objects.exclude(username__in=DEMO_USERNAMES).count()
    except DatabaseError:
        return None  # a fresh database: no tables yet
    if other_districts or other_users:
        return (f"civicbudget demo refuses to write into this database: it holds data the demo "
                f"did not create ({other_districts} other districts, {other_users} other "
                f"accounts). Use an empty database, e.g. --data-dir DIR without DATABASE_URL.")
    return None
