"""Background work: send the queued notifications (``civicbudget manage db_worker`` runs it)."""

from django_tasks import task


@task()
def notifications_work() -> dict:
    from civicbudget.notifications.services import notifications_send

    return notifications_send()
