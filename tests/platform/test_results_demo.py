"""The demo's 2017 cycle after the count: every proposal answered, projects delivered and rated."""

from __future__ import annotations

import pytest
from django.db.models import Count

from civicbudget.cycles.models import Cycle
from civicbudget.delivery.models import Implementation, ProgressUpdate, Rating, Spending
from civicbudget.delivery.selectors import money_totals, participation_cost
from civicbudget.proposals.models import Proposal
from civicbudget.results.models import Objection, OutboxMessage, Outcome, Publication, Reply

pytestmark = pytest.mark.slow


@pytest.fixture
def demo(db, settings, tmp_path):
    from civicbudget.demo.data import load_demo

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    load_demo(proposal_scale=0.02)
    return Cycle.objects.get(year=2017, template_key="meilan_full_pb")


def test_every_2017_proposal_has_exactly_one_final_state_and_one_reply_sent_or_printed(demo):
    proposals = Proposal.objects.filter(cycle=demo)
    assert proposals.count() > 0
    assert Outcome.objects.filter(cycle=demo).count() == proposals.count()
    assert Reply.objects.filter(cycle=demo).count() == proposals.count()
    assert not proposals.filter(outcome__isnull=True).exists()
    assert not proposals.filter(reply__isnull=True).exists()
    # Every reply went out: a printed letter for all, an SMS (sent or failed with its reason).
    letters = dict(OutboxMessage.objects.filter(cycle=demo, channel="letter").values_list("status")
                   .annotate(n=Count("id")).values_list("status", "n"))
    assert letters == {"printed": proposals.count()}
    assert not OutboxMessage.objects.filter(cycle=demo, status__in=["queued", "retrying"]).exists()
    assert Reply.objects.filter(cycle=demo, sms_text__contains="美兰区").count() == proposals.count()
    assert len(set(Outcome.objects.filter(cycle=demo).values_list("state", flat=True))) >= 3


def test_2017_is_published_delivered_and_evaluated(demo):
    assert Publication.objects.filter(cycle=demo).exists()
    assert Objection.objects.filter(publication__cycle=demo, answered_at__isnull=False).exists()
    impls = Implementation.objects.filter(cycle=demo)
    assert impls.filter(step="done").count() >= impls.count() - max(1, impls.count() // 20) > 0
    money = money_totals(demo)
    assert 0 < money["spent"] <= money["allocation"]
    for impl in impls:
        spent = sum(Spending.objects.filter(implementation=impl).values_list("amount_yuan", flat=True))
        assert spent <= impl.allocation_yuan
    assert ProgressUpdate.objects.filter(implementation__cycle=demo).exclude(photo="").exists()
    assert Rating.objects.filter(implementation__cycle=demo).exists()
    assert participation_cost(demo)["per_participant"] > 0


def test_turnout_counts_against_residents_of_voting_age_as_the_source_reports_it(demo):
    from civicbudget.voting.selectors import turnout

    t = turnout(demo)
    # 28,484 voters over these 101,007 residents is the source's "about 28.2%" at full scale.
    assert (t["base_kind"], t["base"], t["population"]) == ("eligible", 101_007, 135_000)
    assert t["rate"] == t["voters"] / 101_007
