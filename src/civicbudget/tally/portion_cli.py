"""``civicbudget portion FILE.csv --budget N``: divide a budget between themes from voters' splits.

The CSV's header names the themes (a first column ``voter`` or ``voter_id`` is ignored);
each further row is one voter's amounts or points per theme (only proportions matter).
Exit status 0, or 2 with one line naming the row and what is wrong; never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from civicbudget.tally.limits import MAX_AMOUNT, LimitError
from civicbudget.tally.portioning import MAX_THEMES, RULES, divide

MAX_BYTES = 200 * 1024 * 1024
MAX_CELL_CHARS = 30


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="civicbudget portion",
        description="Divide a budget between themes from each voter's own division.",
        epilog="independent-markets (default) is truthful and proportional; mean is shown "
        "for comparison and can be gamed. docs/tally.md#dividing-a-budget-between-themes",
    )
    p.add_argument("file", help="CSV: a header of theme names, then one row per voter")
    p.add_argument("--budget", required=True, help="the budget to divide, in whole yuan")
    p.add_argument("--rule", choices=RULES, default="independent-markets")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def read_reports(path: str) -> tuple[list[str], list[list[int]]]:
    """Themes and reports from the CSV at ``path``; LimitError names the row of a problem."""
    file = Path(path)
    if not file.is_file():
        raise LimitError(f"{path}: no such file")
    if file.stat().st_size > MAX_BYTES:
        raise LimitError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LimitError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows)
    except StopIteration:
        raise LimitError(f"{path}: empty file") from None
    header = [h.strip() for h in header]
    skip = 1 if header and header[0].lower() in {"voter", "voter_id"} else 0
    themes = header[skip:]
    if len(themes) > MAX_THEMES or any(not t or len(t) > 200 for t in themes):
        raise LimitError(f"{path}, line 1: up to {MAX_THEMES} theme names of 1-200 characters")
    reports = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = row[skip:]
        if len(cells) != len(themes):
            raise LimitError(f"{path}, line {line}: {len(cells)} values for {len(themes)} themes")
        values = []
        for theme, cell in zip(themes, cells, strict=True):
            cell = cell.strip() or "0"
            if len(cell) > MAX_CELL_CHARS or not cell.isascii() or not cell.isdigit():
                raise LimitError(f"{path}, line {line}, {theme}: {cell[:MAX_CELL_CHARS]!r} is not a "
                                 "whole number")
            value = int(cell)
            if value > MAX_AMOUNT:
                raise LimitError(f"{path}, line {line}, {theme}: more than {MAX_AMOUNT}")
            values.append(value)
        if not any(values):
            raise LimitError(f"{path}, line {line}: gives nothing to any theme")
        reports.append(values)
    return themes, reports


def main(argv: list[str]) -> int:
    """Run the portion command; return the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    budget = args.budget.strip().replace(",", "").replace("_", "")
    if not budget.isascii() or not budget.isdigit() or len(budget) > 19:
        print(f"civicbudget portion: --budget: {args.budget[:30]!r} is not a whole number of yuan",
              file=sys.stderr)
        return 2
    try:
        themes, reports = read_reports(args.file)
        division = divide(int(budget), themes, reports, rule=args.rule)
    except LimitError as exc:
        print(f"civicbudget portion: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(division.as_json(), ensure_ascii=False, indent=1))
        return 0
    print(f"{args.file}: {division.voters} voters, {len(themes)} themes, budget {division.budget:,}")
    print(f"rule {division.rule}" + (f" (phantoms at t = {division.t})" if division.t is not None else ""))
    width = max(len(t) for t in themes)
    for theme, share, amount in zip(themes, division.shares, division.amounts, strict=True):
        print(f"  {theme:<{width}}  {amount:>14,}  {float(share):7.2%}")
    return 0
