"""Stakeholder weights in the ledger: entries name the voter's place only where it counts,
the count uses the weights, the export carries them and a recount from the files agrees."""

from __future__ import annotations

import datetime as dt
import json
import random
from fractions import Fraction

import pytest

from civicbudget.ledger import (
    BallotLog,
    EntryError,
    ExportData,
    ProjectSpec,
    ScopeResult,
    ScopeSpec,
    SigningKey,
    make_entry,
    parse_entry,
    read_export,
    verify_export,
    write_export,
)
from civicbudget.ledger.export import ExportError, scope_election
from civicbudget.tally import RuleSpec, read_pabulib, tally


def weighted_spec(rule: str = "greedy", weight: int | None = 2) -> ScopeSpec:
    # Three communities' projects on one street ballot; p4 serves no single community.
    projects = (
        ProjectSpec("p1", Fraction(40000), "一号", serves="community:1"),
        ProjectSpec("p2", Fraction(40000), "二号", serves="community:2"),
        ProjectSpec("p3", Fraction(40000), "三号", serves="community:3"),
        ProjectSpec("p4", Fraction(30000), "四号"),
    )
    return ScopeSpec("street:9", "approval", Fraction(80000), projects,
                     RuleSpec(rule, "points-cost", completion="add1" if rule == "mes" else "none"),
                     max_length=4, stakeholder_weight=weight)


def test_home_is_kept_only_when_a_chosen_project_serves_it():
    spec = weighted_spec()
    assert make_entry("c", spec, ["p1", "p4"], "online", home="community:1").home == "community:1"
    # The voter's place is not written when nothing chosen serves it: it would say where
    # they live and change nothing.
    assert make_entry("c", spec, ["p2", "p4"], "online", home="community:1").home is None
    plain = ScopeSpec("street:9", "approval", Fraction(80000), spec.projects, RuleSpec("greedy"))
    assert make_entry("c", plain, ["p1"], "online", home="community:1").home is None
    entry = make_entry("c", spec, ["p1"], "paper", home="community:1")
    assert json.loads(entry.encode())["home"] == "community:1"
    assert parse_entry(entry.encode()) == entry
    assert spec.weighted_points(entry) == (2,)


@pytest.mark.parametrize("bad, message", [
    ({"stakeholder_weight": 1}, "2..10"),
    ({"stakeholder_weight": 11}, "2..10"),
    ({"vote_type": "ordinal"}, "approval ballots only"),
    ({"rule": RuleSpec("greedy")}, "points or points-cost"),
    ({"rule": RuleSpec("phragmen", "points")}, "points or points-cost"),
    ({"projects": (ProjectSpec("p1", Fraction(5)),)}, "no project serves"),
    ({"projects": (ProjectSpec("p1", Fraction(5), serves="../x"),)}, "bad place"),
])
def test_a_weighted_scope_is_checked(bad, message):
    from dataclasses import replace

    with pytest.raises(EntryError, match=message):
        replace(weighted_spec(), **bad).check()


def test_entries_naming_a_home_are_refused_where_it_cannot_count():
    raw = json.loads(make_entry("c", weighted_spec(), ["p1"], "online", home="community:1").encode())
    raw["home"] = "../../etc"
    with pytest.raises(EntryError, match="bad home"):
        parse_entry(json.dumps(raw, sort_keys=True, separators=(",", ":")).encode())
    raw["home"] = "community:1"
    raw["extra"] = 1
    with pytest.raises(EntryError, match="unexpected"):
        parse_entry(json.dumps(raw, sort_keys=True, separators=(",", ":")).encode())


def _election(spec, ballots):
    entries = [make_entry("c", spec, chosen, "online", home=home) for chosen, home in ballots]
    return scope_election("c", spec, entries)


def test_weights_decide_greedy_and_mes():
    # Four voters of community 1 back their own p1; six voters of community 4 (no project
    # of theirs) back p2 and p3. Unweighted: p2 and p3 (6 votes each) beat p1 (4). With
    # weight 2 p1 scores 8: it comes first, and p2 takes the rest of the money.
    ballots = [(["p1"], "community:1")] * 4 + [(["p2", "p3"], "community:4")] * 6
    plain = [(c, None) for c, _ in ballots]
    spec = weighted_spec()
    assert tally(_election(spec, plain), spec.rule).winners == ("p2", "p3")
    weighted = _election(spec, ballots)
    assert weighted.vote_type == "scoring" and weighted.meta["stakeholder_weight"] == "2"
    outcome = tally(weighted, spec.rule)
    assert set(outcome.winners) == {"p1", "p2"}
    # MES: eight voters can pay for one of p1 and p2 from their shares, not both. Five of
    # them live in community 2: weighted, p2 is worth more to its backers per yuan and is
    # funded; unweighted the two tie and the tie-break (p1 first) decides.
    from dataclasses import replace

    mes = weighted_spec("mes")
    mes = replace(mes, rule=replace(mes.rule, completion="none"))
    ballots = ([(["p1", "p2"], "community:2")] * 5 + [(["p1", "p2"], "community:4")] * 3
               + [(["p4"], "community:4")] * 2)
    assert tally(_election(mes, [(c, None) for c, _ in ballots]), mes.rule).winners[0] == "p1"
    assert tally(_election(mes, ballots), mes.rule).winners[0] == "p2"


def test_with_every_weight_one_the_weighted_count_is_the_plain_count():
    rng = random.Random(3)
    for rule in ("greedy", "mes"):
        spec = weighted_spec(rule)
        plain_spec = ScopeSpec(spec.scope, "approval", spec.budget, spec.projects,
                               RuleSpec(rule, "cost", completion=spec.rule.completion), max_length=4)
        for _ in range(30):
            chosen = [sorted(rng.sample(["p1", "p2", "p3", "p4"], rng.randint(1, 3)))
                      for _ in range(rng.randint(1, 25))]
            # No home recorded: every point is 1, so greedy by points is greedy by votes and
            # MES with points-cost utility is MES with cost utility.
            w = tally(_election(spec, [(c, None) for c in chosen]), spec.rule).winners
            p = tally(_election(plain_spec, [(c, None) for c in chosen]), plain_spec.rule).winners
            assert w == p


def _export(tmp_path, ballots, spec=None):
    spec = spec or weighted_spec()
    key = SigningKey.from_seed(bytes(range(32)))
    log = BallotLog("c", "civicbudget:test")
    rng = random.Random(5)
    for chosen, home in ballots:
        log.append_ballot(spec, chosen, "online", nonce=f"{rng.getrandbits(128):032x}", home=home)
    cp = log.checkpoint(key, dt.datetime(2019, 6, 1, tzinfo=dt.UTC))
    entries = [parse_entry(e) for e in log.entries]
    winners = tally(scope_election("c", spec, entries), spec.rule).winners
    data = ExportData("c", log.log_id, tuple(log.entries), (cp,), (ScopeResult(spec, winners),))
    out = tmp_path / "export"
    write_export(out, data, key)
    return out, winners


def test_the_export_carries_the_weights_and_recounts(tmp_path):
    ballots = [(["p1"], "community:1")] * 4 + [(["p2", "p3"], "community:4")] * 6
    out, winners = _export(tmp_path, ballots)
    assert set(winners) == {"p1", "p2"}
    result = verify_export(out)
    assert result.entries == 10
    results = json.loads((out / "results.json").read_text())
    scope = results["scopes"][0]
    assert scope["stakeholder_weight"] == 2
    assert {p["id"]: p.get("serves") for p in scope["projects"]}["p1"] == "community:1"
    pb = read_pabulib(out / "ballots" / "street_9.pb")
    assert pb.vote_type == "scoring" and pb.meta["stakeholder_weight"] == "2"
    assert [p.extra.get("serves") for p in pb.projects][:1] == ["community:1"]
    assert read_export(out).data.scopes[0].spec.stakeholder_weight == 2


def test_a_tampered_weight_or_home_fails_the_recount(tmp_path):
    ballots = [(["p1"], "community:1")] * 4 + [(["p2", "p3"], "community:4")] * 6
    out, _ = _export(tmp_path, ballots)
    results = out / "results.json"
    text = results.read_text()
    results.write_text(text.replace('"stakeholder_weight": 2', '"stakeholder_weight": 3'))
    with pytest.raises(ExportError):
        verify_export(out)
    results.write_text(text)
    entries = out / "entries.jsonl"
    lines = entries.read_bytes().splitlines()
    i = next(k for k, line in enumerate(lines) if b'"home"' in line)
    lines[i] = lines[i].replace(b'"home":"community:1"', b'"home":"community:2"')
    entries.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(ExportError):
        verify_export(out)
