"""Write a table as CSV or JSON, and a cycle's whole open data to a directory.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, tab or
carriage return) are neutralised with a leading apostrophe: the text stays readable and
nothing is dropped. Numbers are written as numbers, so negative amounts are not touched.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from civicbudget.cycles.models import Cycle
from civicbudget.opendata.tables import TABLES, Table

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def table_csv(table: Table, cycle: Cycle) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows(cycle):
        writer.writerow([neutralise(v) for v in row])
    # A byte-order mark lets spreadsheet programs open the Chinese text as UTF-8.
    return "\ufeff" + out.getvalue()


def table_json(table: Table, cycle: Cycle) -> str:
    rows = [dict(zip(table.columns, row, strict=True)) for row in table.rows(cycle)]
    return json.dumps({"cycle": cycle.pk, "table": table.name, "columns": list(table.columns), "rows": rows},
                      ensure_ascii=False, indent=1, default=str)


def export_cycle(cycle: Cycle, fmt: str, directory: Path) -> list[Path]:
    """Write every public table (csv, json) or every ballot scope (pb) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    if fmt == "pb":
        from civicbudget.opendata.pabulib import scope_files

        for name, text in scope_files(cycle).items():
            path = directory / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
        return written
    for table in TABLES:
        text = table_csv(table, cycle) if fmt == "csv" else table_json(table, cycle)
        path = directory / f"{table.name}.{fmt}"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
