"""Stage hooks: publishing opens the notice period; the reply stage decides and queues.

Objections must all be answered before the publication stage may close.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from civicbudget.cycles.services import Failure, register_precondition, register_transition_hook
from civicbudget.results.models import Objection


def _publish(cycle, stage, now) -> None:
    from civicbudget.results.services import results_publish

    results_publish(actor=None, cycle=cycle, now=now)


def _reply(cycle, stage, now) -> None:
    from civicbudget.results.services import outcomes_decide, replies_prepare
    from civicbudget.results.tasks import outbox_work

    if outcomes_decide(actor=None, cycle=cycle, now=now):
        replies_prepare(actor=None, cycle=cycle, now=now)
        transaction.on_commit(lambda: outbox_work.enqueue(cycle.pk))


def _objections_answered(cycle, stage, now) -> list[Failure]:
    open_count = Objection.objects.filter(publication__cycle=cycle, answered_at__isnull=True).count()
    if not open_count:
        return []
    return [Failure("objections_unanswered",
                    _("%(n)d objections are not answered yet.") % {"n": open_count})]


register_transition_hook("enter", "publish", _publish)
register_transition_hook("enter", "reply", _reply)
register_precondition("leave", "publish", _objections_answered)
