"""``civicbudget audit check FILE.json``: re-derive a published audit's sample and p-values.

Needs nothing but the file the results page links to (``/cycles/<id>/audit.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from civicbudget.rla.assertions import Assertion
from civicbudget.rla.risk import evaluate
from civicbudget.rla.sampler import SeedError, draw_sample

MAX_FILE = 64 * 1024 * 1024


def check_audit(audit: dict) -> list[str]:
    """Return the problems found in one published audit (empty: it re-derives exactly)."""
    problems = []
    manifest = [(str(m["station"]), [int(n) for n in m["numbers"]]) for m in audit["manifest"]]
    labels = {str(m["station"]): m["box"] for m in audit["manifest"]}
    draws = audit["draws"]
    try:
        derived = draw_sample(audit["seed"], manifest, len(draws))
    except SeedError as exc:
        return [str(exc)]
    for d, pub in zip(derived, draws, strict=True):
        if (d.counter, d.position, labels[d.box], d.number) != (
                pub["counter"], pub["position"], pub["box"], pub["number"]):
            problems.append(f"pick {d.counter}: the seed gives {labels[d.box]} sheet {d.number}, "
                            f"published {pub['box']} sheet {pub['number']}")
    compared = {(c["box"], c["number"]): c for c in audit["comparisons"]}
    pairs = []
    for d in derived:
        c = compared.get((labels[d.box], d.number))
        if c is None:
            break
        pairs.append((frozenset(c["recorded"]), frozenset(c["read"]) if c["found"] else None))
    if audit["method"] == "assertions":
        assertions = [Assertion.from_json(a) for a in audit["assertions"]]
        result = evaluate(assertions, audit["paper_sheets"], pairs, risk_limit=audit["risk_limit"])
        published = {(a["winner"], a["loser"]): a["p_value"] for a in audit["evaluation"].get("assertions", [])}
        for r in result.results:
            p = published.get((r.assertion.winner, r.assertion.loser))
            if p is None or not math.isclose(p, r.p_value, rel_tol=1e-9, abs_tol=1e-12):
                problems.append(f"assertion {r.assertion.name}: p-value {r.p_value:.6g}, published {p}")
        state = {"confirmed": "confirmed"}.get(result.decision)
        if state and audit["state"] != state:
            problems.append(f"the evidence confirms the outcome; published state {audit['state']}")
        if audit["state"] == "confirmed" and result.decision != "confirmed":
            problems.append("published as confirmed, but the comparisons do not confirm it")
    return problems


def check_against_log(audit: dict, ballots: list[tuple[str, frozenset[str]]]) -> list[str]:
    """Return what in a published audit disagrees with the scope's verified ballot log.

    ``ballots``: (channel, projects) of every logged ballot of the scope. The paper sheets
    counted must be the log's paper ballots, each assertion's margin the log's vote
    difference, and each compared sheet's recorded ballot one of the log's paper ballots.
    """
    problems = []
    paper = [projects for channel, projects in ballots if channel == "paper"]
    if audit["paper_sheets"] != len(paper):
        problems.append(f"{audit['paper_sheets']} paper sheets audited, the log holds {len(paper)}")
    votes: dict[str, int] = {}
    for _channel, projects in ballots:
        for p in projects:
            votes[p] = votes.get(p, 0) + 1
    for a in audit["assertions"]:
        margin = votes.get(a["winner"], 0) - votes.get(a["loser"], 0)
        if margin != a["margin"]:
            problems.append(f"assertion {a['winner']}>{a['loser']}: margin {a['margin']}, the log gives {margin}")
    available: dict[frozenset[str], int] = {}
    for projects in paper:
        available[projects] = available.get(projects, 0) + 1
    for c in audit["comparisons"]:
        recorded = frozenset(c["recorded"])
        if not available.get(recorded):
            problems.append(f"{c['box']} sheet {c['number']}: its recorded ballot is not a paper ballot of the log")
        else:
            available[recorded] -= 1
    return problems


def verify_with_log(directory: str, audit_file: str) -> int:
    """Check a published audit against an export that ``ledger verify`` has just verified;
    print one line per audit and return the exit code (0 all agree, 1 not, 2 unreadable)."""
    from civicbudget.ledger.export import read_export

    try:
        data = json.loads(Path(audit_file).read_text(encoding="utf-8"))
        audits = data.get("audits", [data])
        export = read_export(directory)
        failed = False
        for audit in audits:
            ballots = [(e.channel, frozenset(e.projects())) for e in export.parsed_entries
                       if e.scope == audit["scope"]]
            problems = check_audit(audit) + check_against_log(audit, ballots)
            print(f"audit {audit['scope']}: {'OK' if not problems else 'FAILED'}: {len(audit['draws'])} "
                  f"picks re-derived, {len(audit['comparisons'])} comparisons against the log, "
                  f"state {audit['state']}")
            for p in problems:
                print(f"  {p}")
            failed = failed or bool(problems)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        print(f"civicbudget ledger: --audit: cannot check {audit_file}: {exc!r}"[:300], file=sys.stderr)
        return 2
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="civicbudget audit check",
                                     description="Re-derive a published audit's sample and p-values.")
    parser.add_argument("file", type=Path, help="the audit JSON of the results page")
    args = parser.parse_args(argv)
    try:
        if args.file.stat().st_size > MAX_FILE:
            print(f"civicbudget: {args.file} is larger than 64 MB", file=sys.stderr)
            return 2
        data = json.loads(args.file.read_text(encoding="utf-8"))
        audits = data.get("audits", [data])
        failed = 0
        for audit in audits:
            problems = check_audit(audit)
            status = "OK" if not problems else "FAILED"
            print(f"{audit['scope']}: {status}: {len(audit['draws'])} picks re-derived from the seed, "
                  f"{len(audit['comparisons'])} comparisons, state {audit['state']}")
            for p in problems:
                print(f"  {p}")
            failed += bool(problems)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"civicbudget: cannot read {args.file}: {exc!r}"[:300], file=sys.stderr)
        return 2
    return 1 if failed else 0
