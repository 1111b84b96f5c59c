"""``civicbudget ballots print|scan``: print ballot sheets, read scanned ones.

``print --cycle ID [--scope SCOPE] [--station ID] --sheets N OUT.pdf`` writes the sheets
and ``OUT.layout.json`` beside them; ``scan --cycle ID FILE... [--station ID] [--dry-run]
[--json]`` reads PDF, PNG and JPEG scans, counts clean sheets and queues the rest.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civicbudget ballots",
                                     description="Print paper ballot sheets and read scanned ones.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("print", help="write N ballot sheets (A4 PDF) and their layout")
    p.add_argument("--cycle", type=int, required=True, help="the cycle's id")
    p.add_argument("--scope", help="the ballot's id or key (default: the cycle's first)")
    p.add_argument("--station", type=int, help="the polling point the sheets are for (its id)")
    p.add_argument("--sheets", type=int, required=True, help="how many sheets")
    p.add_argument("out", type=Path, help="the PDF to write (OUT.layout.json goes beside it)")
    s = sub.add_parser("scan", help="read scanned sheets (PDF, PNG, JPEG)")
    s.add_argument("--cycle", type=int, required=True, help="the cycle's id")
    s.add_argument("--station", type=int, help="the polling point whose box the sheets come from")
    s.add_argument("--dry-run", action="store_true", help="read and report; record nothing")
    s.add_argument("--json", action="store_true", help="one JSON object per sheet on stdout")
    s.add_argument("files", nargs="+", type=Path)
    return parser


def _err(message: str) -> int:
    print(f"civicbudget ballots: {message}", file=sys.stderr)
    return 2


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from civicbudget.cycles.models import Cycle
    from civicbudget.errors import ServiceError
    from civicbudget.voting.models import PollingStation, VotingScope

    cycle = Cycle.objects.select_related("district").filter(pk=args.cycle).first()
    if cycle is None:
        return _err(f"no cycle with id {args.cycle}")
    station = None
    if args.station is not None:
        station = (PollingStation.objects.select_related("community__street")
                   .filter(pk=args.station, cycle=cycle).first())
        if station is None:
            return _err(f"--station: no polling point {args.station} in cycle {cycle.pk}")
    try:
        if args.command == "print":
            return _print(args, cycle, station, VotingScope)
        return _scan(args, cycle, station)
    except ServiceError as exc:
        where = f"--{exc.field}: " if exc.field else ""
        return _err(f"{where}{exc.message}")


def _print(args, cycle, station, VotingScope) -> int:
    from civicbudget.paper.services import sheets_print

    scope = None
    if args.scope:
        lookup = {"pk": int(args.scope)} if args.scope.isdigit() else {"key": args.scope}
        scope = VotingScope.objects.filter(cycle=cycle, **lookup).first()
        if scope is None:
            return _err(f"--scope: no ballot {args.scope!r} in cycle {cycle.pk}")
    printed = sheets_print(actor=None, cycle=cycle, scope=scope, count=args.sheets, station=station)
    out: Path = args.out
    layout_path = out.with_name(out.stem + ".layout.json")
    out.write_bytes(printed.pdf)
    layout_path.write_text(json.dumps(printed.layout, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{args.sheets} sheets of {printed.batch.scope.key} written to {out} (layout: {layout_path})",
          file=sys.stderr)
    return 0


def _scan(args, cycle, station) -> int:
    from civicbudget.paper import omr
    from civicbudget.paper.services import MAX_FILES, sheets_read, sheets_scan

    if len(args.files) > MAX_FILES:
        return _err(f"at most {MAX_FILES} files per run, not {len(args.files)}")
    files, failed = [], 0
    for path in args.files:
        try:
            size = path.stat().st_size
            if size > omr.MAX_FILE_BYTES:
                raise omr.ScanFileError(f"larger than {omr.MAX_FILE_BYTES // (1024 * 1024)} MB")
            files.append((str(path), path))
        except (OSError, omr.ScanFileError) as exc:
            print(f"civicbudget ballots: {path}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
            failed += 1
    if args.dry_run:
        report = sheets_read(cycle=cycle, files=files, station=station)
    else:
        report = sheets_scan(actor=None, cycle=cycle, files=files, station=station)
    for error in report.errors:
        print(f"civicbudget ballots: {error}", file=sys.stderr)
    for sheet in report.sheets:
        if args.json:
            print(json.dumps(sheet.as_json(), ensure_ascii=False))
        else:
            what = sheet.problem or ("ambiguous: " + ",".join(sheet.ambiguous) if sheet.ambiguous else "ok")
            print(f"{sheet.file}#{sheet.page}\t{sheet.sheet or '-'}\t{','.join(sheet.marked) or '-'}\t{what}")
    problems = sum(1 for s in report.sheets if not s.is_clean)
    summary = f"{len(report.sheets)} sheets read, {problems} with a problem or an ambiguous box"
    if not args.dry_run:
        summary += f"; {report.counted} counted, {report.queued} queued for adjudication"
    print(summary, file=sys.stderr)
    return 2 if failed or report.errors else 0
