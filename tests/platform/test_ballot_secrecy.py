"""Ballot secrecy by construction: nothing stored joins a voter to their ballot.

The attacker here holds a copy of the whole database after a burst of ballots by known
voters, and tries every stored time, id and order to match voters to ballots. The test
knows the truth (each cast returned the voter's receipt) and checks that no attack does
better than chance inside a batch.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.cycles.services import stage_advance
from civicbudget.voting import logstore, services
from civicbudget.voting.idcard import id_check_char
from civicbudget.voting.models import (
    LogCheckpoint,
    LogEntry,
    Participation,
    PendingBallot,
    Submission,
    Voter,
)

from factories import advance_to_vote, make_cycle, staff

NOW = timezone.now()

BATCH = 40
VOTERS = 120  # three batches


@pytest.fixture
def batched(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    cycle.config = {**cycle.config, "ballot_batch_size": BATCH, "ballot_batch_min": 10,
                    "ballot_batch_minutes": 10}
    cycle.save(update_fields=["config"])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    advance_to_vote(cycle, admin, latest=NOW)
    key = f"community:{world.haida.pk}"
    scope = services.scope_open(cycle=cycle, key=key, title="海达社区", community=world.haida, spec={
        "scope": key, "vote_type": "approval", "budget": "300000", "rule": {"rule": "greedy"},
        "projects": [{"id": str(i), "cost": "10000", "name": f"项目{i}"} for i in range(1, 9)],
        "min_length": 1, "max_length": 3})
    cycle.refresh_from_db()
    return cycle, scope, admin


def id_number(born: dt.date, serial: str) -> str:
    first17 = f"460108{born:%Y%m%d}{serial}"
    return first17 + id_check_char(first17)


def _cast_burst(cycle, scope, world) -> list[tuple[int, str]]:
    """Known voters cast one after the other; return (voter id, receipt) in casting order."""
    truth = []
    for i in range(VOTERS):
        voter = services.voter_identify(
            cycle=cycle, doc_type="id_card", doc_number=id_number(dt.date(1970, 1, 1), f"{i:03d}"),
            community_id=world.haida.pk, basis="live")
        cast = services.ballot_cast(voter=voter, scope=scope, choices=[str(1 + i % 8)],
                                    token=f"form-{i}")
        truth.append((voter.pk, cast.receipt))
    return truth


def test_no_stored_time_id_or_order_matches_voters_to_ballots(batched, world):
    cycle, scope, _admin = batched
    truth = _cast_burst(cycle, scope, world)
    receipt_of = dict(truth)
    # The batches were written as they filled: 40, 80 and 120 ballots, each closed by a
    # checkpoint; nothing waits.
    assert list(LogCheckpoint.objects.order_by("size").values_list("size", flat=True)) == [40, 80, 120]
    assert not PendingBallot.objects.exists()

    # No table on the voter's side keeps a time finer than the day, nor the log's side a time.
    for model in (Participation, LogEntry, PendingBallot, Submission):
        assert not [f.name for f in model._meta.get_fields()
                    if isinstance(f, models.DateTimeField)], model

    entries = list(LogEntry.objects.order_by("seq").values_list("seq", "leaf", "pk"))
    batch_of_seq = {seq: seq // BATCH for seq, _leaf, _pk in entries}
    leaves_by_order = {
        "seq": [leaf for _s, leaf, _p in entries],
        "entry pk": [leaf for _s, leaf, _p in sorted(entries, key=lambda e: e[2])],
    }
    voters_by_order = {
        "participation pk": list(Participation.objects.order_by("pk").values_list("voter_id", flat=True)),
        "voter pk": list(Voter.objects.order_by("pk").values_list("pk", flat=True)),
        "voter registered_at": list(Voter.objects.order_by("registered_at", "pk").values_list("pk", flat=True)),
    }
    for v_name, voters in voters_by_order.items():
        for l_name, leaves in leaves_by_order.items():
            # Matching the i-th voter to the i-th ballot: the batch is right (that much the
            # design gives away), the ballot inside it no better than a random guess.
            hits = sum(receipt_of[v] == leaf for v, leaf in zip(voters, leaves, strict=True))
            # Expected 1 per batch (3 here); 12 or more has odds below 1 in 10^7.
            assert hits < 12, (v_name, l_name, hits)
            seq_of = {leaf: seq for seq, leaf, _p in entries}
            same_batch = sum(batch_of_seq[seq_of[receipt_of[v]]] == i // BATCH
                             for i, v in enumerate(voters))
            assert same_batch == VOTERS  # the batch is the unit of secrecy, and no finer

    # Inside each batch, the log's order is the leaf order, unrelated to the casting order:
    # its rank correlation with the order of casting is near zero.
    cast_rank = {receipt: i for i, (_v, receipt) in enumerate(truth)}
    for b in range(VOTERS // BATCH):
        ranks = [cast_rank[leaf] for _s, leaf, _p in entries[b * BATCH:(b + 1) * BATCH]]
        n = len(ranks)
        order = sorted(range(n), key=lambda i: ranks[i])
        d2 = sum((i - order.index(i)) ** 2 for i in range(n))
        rho = 1 - 6 * d2 / (n * (n * n - 1))
        assert abs(rho) < 0.6, rho  # |rho| >= 0.6 at n=40 has odds below 1 in 10^4

    # The retry table keeps its rows in the order they came, so its receipts are sealed.
    sealed = set(Submission.objects.values_list("receipt", flat=True))
    assert len(sealed) == VOTERS and not sealed & set(receipt_of.values())
    # No row anywhere holds a voter id next to a receipt.
    everything = set(receipt_of.values())
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField) and model is not LogEntry:
                hits = model.objects.filter(**{f"{field.attname}__in": everything}).exists()
                assert not hits or model in (LogEntry, PendingBallot), (model, field.name)


def test_a_retry_still_gets_its_receipt_and_the_session_holds_none(batched, world):
    cycle, scope, _admin = batched
    voter = services.voter_identify(cycle=cycle, doc_type="id_card",
                                    doc_number=id_number(dt.date(1970, 1, 1), "777"),
                                    community_id=world.haida.pk, basis="live")
    first = services.ballot_cast(voter=voter, scope=scope, choices=["1"], token="abc")
    again = services.ballot_cast(voter=voter, scope=scope, choices=["1"], token="abc")
    assert (again.receipt, again.repeated) == (first.receipt, True)
    with pytest.raises(services.AlreadyVoted):
        services.ballot_cast(voter=voter, scope=scope, choices=["1"], token="other")


def test_a_small_batch_waits_then_goes_by_time_and_the_rest_at_close(batched, world):
    cycle, scope, admin = batched
    start = NOW
    receipts = []
    for i in range(12):
        voter = services.voter_identify(cycle=cycle, doc_type="id_card",
                                        doc_number=id_number(dt.date(1970, 1, 1), f"{500 + i}"),
                                        community_id=world.haida.pk, basis="live")
        receipts.append(services.ballot_cast(voter=voter, scope=scope, choices=["2"],
                                             now=start + dt.timedelta(seconds=i)).receipt)
    log = logstore.log_for(cycle)
    assert PendingBallot.objects.count() == 12 and not LogEntry.objects.exists()
    # Nine minutes on, the batch is not due; a receipt lookup says so (and writes nothing).
    assert logstore.receipt_status(log, receipts[0], now=start + dt.timedelta(minutes=9))["state"] == "pending"
    # Ten minutes on it holds 12 >= 10 ballots, so a lookup (or the next ballot) writes it.
    status = logstore.receipt_status(log, receipts[0], now=start + dt.timedelta(minutes=10, seconds=1))
    assert status["state"] == "logged" and status["proof"]["batch"] == {
        "first": 0, "size": 12, "written": status["proof"]["checkpoint"]["time"]}
    # Three more: fewer than the minimum, so they wait however long, until the vote closes.
    for i in range(3):
        voter = services.voter_identify(cycle=cycle, doc_type="id_card",
                                        doc_number=id_number(dt.date(1970, 1, 1), f"{600 + i}"),
                                        community_id=world.haida.pk, basis="live")
        receipts.append(services.ballot_cast(voter=voter, scope=scope, choices=["3"]).receipt)
    assert logstore.batch_flush(cycle.pk, now=NOW + dt.timedelta(days=1)) is None
    assert PendingBallot.objects.count() == 3
    stage_advance(actor=admin, cycle=cycle, reason="投票结束")
    assert not PendingBallot.objects.exists() and LogEntry.objects.count() == 15
    assert cycle.voting_scopes.get().result.num_votes == 15
    for r in receipts:
        assert logstore.receipt_status(log, r)["state"] == "logged"


def test_the_receipt_api_shows_inclusion_never_the_choices(batched, world):
    cycle, scope, _admin = batched
    voter = services.voter_identify(cycle=cycle, doc_type="id_card",
                                    doc_number=id_number(dt.date(1970, 1, 1), "888"),
                                    community_id=world.haida.pk, basis="live")
    cast = services.ballot_cast(voter=voter, scope=scope, choices=["7"])
    client = Client()
    assert client.get(f"/api/cycles/{cycle.pk}/receipts/{cast.receipt}").json()["state"] == "pending"
    logstore.batch_flush(cycle.pk, force=True)
    body = client.get(f"/api/cycles/{cycle.pk}/receipts/{cast.receipt}").content.decode()
    assert '"logged"' in body and "项目7" not in body and '"7"' not in body and "ballot" not in body
    assert client.get(f"/api/cycles/{cycle.pk}/receipts/{'ab' * 32}").status_code == 404
