"""Demo votes: voters, participations and logged ballots for a cycle whose ballots are open.

2017: 28,484 voters (28.2% of the residents covered), every one on their community's ballot
and most on their street's; 2018 is mid-vote. Rows go in with bulk inserts; each ballot is
built and checked by the ledger exactly as a cast ballot is, so the log verifies and the
count at close is the real count.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random

from django.db import transaction
from django.utils import timezone

from civicbudget.cycles.models import Cycle
from civicbudget.demo.bulk import insert_rows as _insert
from civicbudget.identity import keyed_hash
from civicbudget.ledger import make_entry
from civicbudget.ledger.merkle import MerkleLog, leaf_hash
from civicbudget.ledger.signing import Checkpoint, format_time
from civicbudget.voting import logstore
from civicbudget.voting.idcard import age_band
from civicbudget.voting.models import (
    BallotLog,
    LogCheckpoint,
    LogEntry,
    Participation,
    PollingStation,
    Voter,
    VotingChannel,
    VotingScope,
)

CHANNELS = [(VotingChannel.POLLING, 48), (VotingChannel.ONLINE, 30), (VotingChannel.MOBILE_BOX, 14),
            (VotingChannel.SCHOOL, 8)]
AGE_WEIGHTS = [(15, 10), (25, 14), (35, 18), (45, 20), (55, 20), (65, 18)]


def _choices(rng: random.Random, spec, ids: list[str], weights: list[float],
             costs: dict[str, object]) -> list[str]:
    """Pick a plausible ballot: popular projects more often, within the ballot's limits."""
    limit = spec.max_length or len(ids)
    wanted = min(limit, 1 + int(rng.random() * min(limit, 3)))
    picked: list[str] = []
    spent = 0
    for pid in rng.choices(ids, cum_weights=weights, k=wanted * 2):
        if pid in picked:
            continue
        if spec.max_sum_cost is not None and spent + costs[pid] > spec.max_sum_cost:
            continue
        picked.append(pid)
        spent += costs[pid]
        if len(picked) == wanted:
            break
    return picked or [min(ids, key=lambda p: costs[p])]


def load_demo_votes(cycle: Cycle, voters: int, *, seed: int, start: dt.datetime, hours: int,
                    street_share: float = 0.6) -> int:
    """Register ``voters`` voters across the cycle's communities and log their ballots."""
    rng = random.Random(seed)
    scopes = {s.key: s for s in VotingScope.objects.filter(cycle=cycle)}
    if not scopes:
        return 0
    specs = {key: logstore.spec_from_json(s.spec) for key, s in scopes.items()}
    project_ids = {key: [p.id for p in spec.projects] for key, spec in specs.items()}
    weights = {key: list(itertools.accumulate(rng.random() ** 2 + 0.05 for _ in spec.projects))
               for key, spec in specs.items()}
    costs = {key: {p.id: p.cost for p in spec.projects} for key, spec in specs.items()}
    communities = [c for c in cycle.communities.select_related("street").order_by("pk")
                   if f"community:{c.pk}" in scopes]
    population = sum(c.population for c in communities)
    stations = {}
    for c in communities:
        stations[c.pk] = {
            VotingChannel.POLLING: PollingStation(cycle=cycle, community=c, name=f"{c.name}服务大厅",
                                                  kind=VotingChannel.POLLING),
            VotingChannel.MOBILE_BOX: PollingStation(cycle=cycle, community=c, name=f"{c.name}流动票箱",
                                                     kind=VotingChannel.MOBILE_BOX),
            VotingChannel.SCHOOL: PollingStation(cycle=cycle, community=c, name=f"{c.name}学校投票点",
                                                 kind=VotingChannel.SCHOOL),
        }
    log = logstore.log_for(cycle)
    label = logstore.cycle_label(cycle)
    with transaction.atomic():
        PollingStation.objects.bulk_create([s for by_kind in stations.values() for s in by_kind.values()])
        rows: list[dict] = []
        plan: list[tuple[int, str, dt.datetime]] = []
        remaining = voters
        for index, community in enumerate(communities):
            share = (voters * community.population // population if index < len(communities) - 1
                     else remaining)
            remaining -= share
            for _ in range(share):
                low = rng.choices([a for a, _ in AGE_WEIGHTS], weights=[w for _, w in AGE_WEIGHTS])[0]
                age = low + rng.randint(0, 9)
                born = dt.date(start.year - age, rng.randint(1, 12), rng.randint(1, 28))
                when = start + dt.timedelta(seconds=rng.randint(0, hours * 3600))
                channel = rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]
                rows.append({
                    "cycle": cycle.pk, "doc_type": "id_card",
                    "doc_hash": keyed_hash(f"demo:{cycle.pk}:{len(rows)}", "document"),
                    "birth_date": born, "age_band": age_band(age), "phone_hash": "",
                    "community": community.pk,
                    "basis": rng.choices(["live", "work", "study"], cum_weights=[85, 95, 100])[0],
                    "registered_at": when, "registered_channel": channel})
                plan.append((community.pk, channel, when, community.street_id))
        _insert(Voter, rows)
        ids = dict(Voter.objects.filter(cycle=cycle).values_list("doc_hash", "pk"))
        station_ids = {(s.community_id, s.kind): s.pk
                       for s in PollingStation.objects.filter(cycle=cycle)}
        locked = BallotLog.objects.select_for_update().get(pk=log.pk)
        participations: list[dict] = []
        cast: list[tuple[dt.datetime, bytes, int, str, int | None]] = []
        for i in sorted(range(len(rows)), key=lambda i: plan[i][2]):
            voter, (community_id, channel, when, street_id) = rows[i], plan[i]
            keys = [f"community:{community_id}"]
            street_key = f"street:{street_id}"
            if rng.random() < street_share and street_key in scopes:
                keys.append(street_key)
            station = station_ids.get((community_id, channel))
            for key in keys:
                entry = make_entry(label, specs[key], _choices(rng, specs[key], project_ids[key], weights[key], costs[key]),
                                   "online" if channel == VotingChannel.ONLINE else "paper",
                                   nonce=f"{rng.getrandbits(128):032x}", home=f"community:{community_id}")
                cast.append((when, entry._encode_checked(), scopes[key].pk, channel, station))
                participations.append({"cycle": cycle.pk, "voter": ids[voter["doc_hash"]],
                                       "scope": scopes[key].pk, "channel": channel,
                                       "station": station, "day": timezone.localdate(when),
                                       "officer": None})
        # Ballots reach the log as cast ones do: in batches of the cycle's size, each written
        # in leaf-hash order and closed by a signed checkpoint.
        policy = logstore.BatchPolicy.of(cycle.config)
        key = logstore.signing_key(locked)
        tree = MerkleLog(bytes.fromhex(leaf) for leaf in LogEntry.objects.filter(log=locked)
                         .order_by("seq").values_list("leaf", flat=True))
        entries: list[dict] = []
        checkpoints: list[dict] = []
        for b in range(0, len(cast), policy.size):
            batch = cast[b:b + policy.size]
            for _when, data, scope_pk, channel, station in sorted(batch, key=lambda c: leaf_hash(c[1])):
                leaf = leaf_hash(data)
                entries.append({"log": locked.pk, "seq": locked.size + len(entries), "data": data.decode(),
                                "leaf": leaf.hex(), "scope": scope_pk, "channel": channel,
                                "station": station})
                tree.append_hash(leaf)
            closed = timezone.localtime(batch[-1][0] + dt.timedelta(minutes=1))
            size = locked.size + len(entries)
            signed = key.sign_checkpoint(Checkpoint(locked.log_id, size, tree.root(), format_time(closed)))
            checkpoints.append({"log": locked.pk, "size": size, "root": tree.root().hex(), "at": closed,
                                "encoded": signed.encode().decode()})
        _insert(Participation, participations)
        _insert(LogEntry, entries)
        _insert(LogCheckpoint, checkpoints)
        BallotLog.objects.filter(pk=locked.pk).update(size=locked.size + len(entries))
    return len(rows)
