"""Background work of the outbox, through django-tasks (``settings.TASKS`` picks the backend).

The outbox rows are the durable queue: a task only says "work the due messages", so a lost
task loses nothing, and ``civicbudget manage outbox_work`` does the same job on a timer.
"""

from __future__ import annotations

from django_tasks import task


@task()
def outbox_work(cycle_id: int | None = None) -> dict:
    from civicbudget.results.services import outbox_deliver_due

    return outbox_deliver_due(cycle_id=cycle_id)
