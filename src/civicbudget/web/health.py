"""``/healthz``: for load balancers and monitoring, whether this server can do its work."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

import civicbudget


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 when it does not; with the task backlog, so a
    stopped worker (letters and SMS not going out) shows up in monitoring."""
    body: dict = {"status": "ok", "version": civicbudget.__version__}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        body["database"] = "ok"
        if "django_tasks_db" in settings.INSTALLED_APPS:
            from django_tasks_db.models import DBTaskResult

            body["tasks_waiting"] = DBTaskResult.objects.ready().count()
            body["tasks_failed"] = DBTaskResult.objects.failed().count()
    except DatabaseError:
        # No driver message: it can name hosts and users.
        body.update(status="unavailable", database="unreachable")
        return JsonResponse(body, status=503)
    return JsonResponse(body)
