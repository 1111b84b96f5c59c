"""Stage preconditions this app adds to ``stage_advance``.

- Entering a vote: every ballot of the cycle is frozen, and every scope with projects that
  passed screening has a frozen ballot (voting must not open on a draft or a missing list).
- Leaving a deliberating stage: no published sitting result is still in its notice period.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from civicbudget.cycles.services import Failure, register_precondition
from civicbudget.deliberation.models import Ballot, Sitting
from civicbudget.proposals.models import Project


def _ballots_frozen(cycle, stage, now) -> list[Failure]:
    failures = []
    drafts = [str(b) for b in Ballot.objects.filter(cycle=cycle, frozen_at__isnull=True)
              .select_related("street", "community")]
    if drafts:
        failures.append(Failure("ballot_not_frozen", _("Ballots not yet frozen: %(names)s.")
                                % {"names": "、".join(drafts)}))
    have = {(b.level, b.street_id, b.community_id) for b in Ballot.objects.filter(cycle=cycle)}
    scopes = set(Project.objects.filter(cycle=cycle, is_active=True, screening__is_passed=True)
                 .values_list("level", "street_id", "community_id").distinct())
    missing = sorted(scopes - have)
    if missing:
        failures.append(Failure("ballot_missing",
                                _("%(n)d scope(s) with screened projects have no ballot.")
                                % {"n": len(missing)}))
    return failures


def _notice_over(cycle, stage, now) -> list[Failure]:
    # The moment of the transition (stage_advance's ``now``), not the wall clock, so a
    # transition dated in the past or replayed is judged at its own time.
    running = (Sitting.objects.filter(body__cycle=cycle, closed_at__isnull=False, notice_until__gt=now)
               .select_related("body").order_by("notice_until"))
    return [Failure("notice_running", _("The notice period of %(sitting)s runs until %(when)s.")
                    % {"sitting": s, "when": timezone.localtime(s.notice_until).strftime("%Y-%m-%d %H:%M")})
            for s in running[:5]]


register_precondition("enter", "vote", _ballots_frozen)
for _kind in ("deliberate", "review", "decide"):
    register_precondition("leave", _kind, _notice_over)
