"""``civicbudget export --cycle ID --format csv|json|pb DIR``: the open data of a cycle to a directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def export_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="civicbudget export",
                                     description="Write a cycle's open data (every public table, or its ballots).")
    parser.add_argument("--cycle", type=int, required=True, help="the cycle's id")
    parser.add_argument("--format", choices=("csv", "json", "pb"), required=True)
    parser.add_argument("directory", type=Path)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from civicbudget.cycles.models import Cycle
    from civicbudget.opendata.writers import export_cycle

    cycle = Cycle.objects.select_related("district").filter(pk=args.cycle).first()
    if cycle is None:
        print(f"civicbudget export: no cycle with id {args.cycle}", file=sys.stderr)
        return 2
    written = export_cycle(cycle, args.format, args.directory)
    for path in written:
        print(path)
    print(f"{len(written)} files written to {args.directory}", file=sys.stderr)
    return 0
