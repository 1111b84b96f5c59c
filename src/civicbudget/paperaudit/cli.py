"""``civicbudget audit start|sample|record|status --cycle ID ...``: the audit from a terminal.

``check FILE`` (re-deriving a published audit) needs no database: see civicbudget.rla.cli.
"""

from __future__ import annotations

import argparse
import json
import sys

from django.contrib.auth import get_user_model

from civicbudget.cycles.models import Cycle
from civicbudget.errors import ServiceError
from civicbudget.paperaudit import services
from civicbudget.paperaudit.models import PaperAudit
from civicbudget.voting.models import PollingStation, VotingScope


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civicbudget audit", description="Audit a cycle's paper count.")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start a scope's audit with the seed rolled in public")
    sample = sub.add_parser("sample", help="list the sampled sheets still to read")
    record = sub.add_parser("record", help="record how a sampled sheet reads")
    status = sub.add_parser("status", help="the audits of the cycle and their p-values")
    for p in (start, sample, record, status):
        p.add_argument("--cycle", type=int, required=True)
        p.add_argument("--json", action="store_true", help="print JSON")
    for p in (start, sample, record):
        p.add_argument("--scope", required=True, help="the ballot's key, e.g. community:12")
    for p in (start, record):
        p.add_argument("--officer", required=True, help="your staff user name (for the audit trail)")
    start.add_argument("--seed", required=True, help="20 or more digits rolled with dice")
    start.add_argument("--rolling", required=True, help="who rolled the dice, where, who watched")
    start.add_argument("--risk-limit", type=int, default=5, help="per cent (default 5)")
    start.add_argument("--box-count", action="append", default=[], metavar="STATION=N",
                       help="sheets of this ballot counted in a box (one per box)")
    record.add_argument("--station", type=int, required=True, help="the box's polling station id")
    record.add_argument("--number", type=int, required=True, help="the sheet's ballot number")
    marks = record.add_mutually_exclusive_group(required=True)
    marks.add_argument("--choices", help="project ids marked on the sheet, comma-separated ('' for none)")
    marks.add_argument("--missing", action="store_true", help="the sheet is not in its box")
    return parser


def _scope(cycle: Cycle, key: str) -> VotingScope:
    scope = VotingScope.objects.filter(cycle=cycle, key=key).first()
    if scope is None:
        raise ServiceError(f"no ballot {key} in cycle {cycle.pk}")
    return scope


def _officer(name: str):
    user = get_user_model().objects.filter(username=name, is_active=True).first()
    if user is None:
        raise ServiceError(f"no active staff user {name}")
    return user


def _summary(audit: PaperAudit) -> dict:
    return {"scope": audit.scope.key, "state": audit.state, "method": audit.method,
            "risk_limit_pct": audit.risk_limit_pct, "target": audit.target_size,
            "paper_sheets": audit.paper_count, "evaluation": audit.evaluation}


def _print_pending(audit: PaperAudit, as_json: bool) -> None:
    pending = services.pending_sheets(audit)
    if as_json:
        print(json.dumps([{"station": s.pk, "box": s.name, "number": n, "times": t, "sheet_id": code or None}
                          for s, n, t, code in pending], ensure_ascii=False))
        return
    print(f"{audit.scope.key}: {len(pending)} sheets to read (state {audit.state}, "
          f"{audit.draws.count()} picks drawn)")
    for station, number, times, code in pending:
        print(f"  station {station.pk} {station.name}  sheet {number}" + (f"  id {code}" if code else "")
              + (f"  (x{times})" if times > 1 else ""))


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        cycle = Cycle.objects.filter(pk=args.cycle).first()
        if cycle is None:
            raise ServiceError(f"no cycle {args.cycle}")
        if args.command == "start":
            counts = {}
            for item in args.box_count:
                sid, _eq, n = item.partition("=")
                if not (sid.strip().isdigit() and n.strip().isdigit()):
                    raise ServiceError(f"--box-count {item[:40]}: write STATION=N, e.g. 3=1500")
                counts[int(sid)] = int(n)
            audit = services.audit_start(officer=_officer(args.officer), scope=_scope(cycle, args.scope),
                                         seed=args.seed, rolling=args.rolling, risk_limit_pct=args.risk_limit,
                                         box_counts=counts or None)
            _print_pending(audit, args.json)
        elif args.command == "sample":
            _print_pending(services.audit_for(_scope(cycle, args.scope)), args.json)
        elif args.command == "record":
            audit = services.audit_for(_scope(cycle, args.scope))
            station = PollingStation.objects.filter(pk=args.station, cycle=cycle).first()
            if station is None:
                raise ServiceError(f"no polling station {args.station} in cycle {cycle.pk}")
            choices = [] if args.missing else [c for c in args.choices.split(",") if c.strip()]
            c = services.audit_record_sheet(officer=_officer(args.officer), audit=audit, station=station,
                                            number=args.number, choices=choices, found=not args.missing)
            audit.refresh_from_db()
            out = {"matches": c.matches, "overstatements": c.overstatements, **_summary(audit)}
            print(json.dumps(out, ensure_ascii=False) if args.json else
                  f"sheet {c.number}: {'matches' if c.matches else 'DIFFERS'}; audit {audit.state}")
        else:
            audits = PaperAudit.objects.filter(cycle=cycle).select_related("scope").order_by("scope__key")
            if args.json:
                print(json.dumps([_summary(a) for a in audits], ensure_ascii=False))
            for a in [] if args.json else audits:
                ev = a.evaluation
                print(f"{a.scope.key}: {a.state} ({a.method}), {ev.get('compared', 0)} of {a.target_size} "
                      f"picks compared, {a.paper_count} paper sheets")
                for x in ev.get("assertions", []):
                    print(f"  {x['winner']} > {x['loser']}: margin {x['margin']}, p = {x['p_value']:.4g}")
    except ServiceError as exc:
        print(f"civicbudget: {exc.message}", file=sys.stderr)
        return 1
    return 0
