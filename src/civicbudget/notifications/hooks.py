"""Stage hooks: a project reaching the ballot, winning and starting notifies its subscribers."""

from __future__ import annotations

from civicbudget.cycles.services import register_transition_hook


def _anyone(cycle) -> bool:
    """Whether anyone in the cycle may be messaged: most cycles' stages pass with no query per project."""
    from civicbudget.notifications.models import Subscription

    return Subscription.objects.filter(cycle=cycle, is_confirmed=True, opted_out_at__isnull=True).exists()


def _projects(ids):
    from civicbudget.proposals.models import Project

    return Project.objects.filter(pk__in=[int(i) for i in ids if str(i).isdigit()]).select_related("street")


def _on_ballot(cycle, stage, now) -> None:
    if not _anyone(cycle):
        return
    from civicbudget.notifications.services import project_notify
    from civicbudget.voting.models import VotingScope

    ids = [p["id"] for spec in VotingScope.objects.filter(cycle=cycle).exclude(key__startswith="division:").values_list("spec", flat=True)
           for p in spec.get("projects", [])]
    for project in _projects(ids):
        project_notify(project=project, event="ballot")


def _won(cycle, stage, now) -> None:
    if not _anyone(cycle):
        return
    from civicbudget.notifications.services import project_notify
    from civicbudget.voting.models import ScopeResult

    ids = [w for winners in ScopeResult.objects.filter(scope__cycle=cycle).values_list("winners", flat=True)
           for w in winners]
    for project in _projects(ids):
        project_notify(project=project, event="won")


def _started(cycle, stage, now) -> None:
    if not _anyone(cycle):
        return
    from civicbudget.delivery.models import Implementation
    from civicbudget.notifications.services import project_notify

    for project in _projects(Implementation.objects.filter(cycle=cycle).values_list("project_id", flat=True)):
        project_notify(project=project, event="started")


register_transition_hook("enter", "vote", _on_ballot)
register_transition_hook("enter", "publish", _won)
register_transition_hook("enter", "implement", _started)
