"""Read CSV and XLSX uploads into rows with their line numbers, or say clearly why not.

Shared by every import (places, proposals, ...). CSV may be UTF-8 (with or without BOM)
or GB18030, which is what Excel on a Chinese Windows writes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.utils.translation import gettext as _

from civicbudget.errors import ImportRejected

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (line number as the user sees it, row)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportRejected(_("The file is not text in UTF-8 or GB18030: save it as “CSV UTF-8”."))


def _read_csv(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        raw = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise ImportRejected(_("The CSV file is malformed: %(error)s") % {"error": exc}) from exc
    if not raw:
        raise ImportRejected(_("The file is empty."))
    return raw[0][1], raw[1:]


def _read_xlsx(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportRejected(_("The file is not a valid XLSX workbook.")) from exc
    sheet = workbook.worksheets[0]
    rows: list[tuple[int, list[str]]] = []
    for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = ["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                 for v in values]
        rows.append((index, cells))
        if index > MAX_ROWS + 1:
            break
    workbook.close()
    if not rows:
        raise ImportRejected(_("The file is empty."))
    return rows[0][1], rows[1:]


def read_table(data: bytes, filename: str, aliases: dict[str, str]) -> Table:
    """Parse an upload; map header names through ``aliases`` (e.g. "社区" -> "community")."""
    if not data:
        raise ImportRejected(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise ImportRejected(
            _("The file is %(size)d MB; the limit is %(limit)d MB.")
            % {"size": len(data) // (1024 * 1024), "limit": MAX_BYTES // (1024 * 1024)}
        )
    name = filename.lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        headers, raw = _read_xlsx(data)
    elif name.endswith(".csv") or name.endswith(".txt") or not name:
        if b"\x00" in data[:4096]:
            raise ImportRejected(_("The file is binary, not CSV text."))
        headers, raw = _read_csv(data)
    else:
        raise ImportRejected(_("Upload a .csv or .xlsx file, not “%(name)s”.") % {"name": filename})
    if len(raw) > MAX_ROWS:
        raise ImportRejected(_("The file has more than %(max)d rows.") % {"max": MAX_ROWS})
    keys = [aliases.get(h.strip().lower(), aliases.get(h.strip(), h.strip().lower())) for h in headers]
    rows = []
    for line, cells in raw:
        if not any(c.strip() for c in cells):
            continue
        padded = list(cells) + [""] * (len(keys) - len(cells))
        row = {key: padded[i].strip() for i, key in enumerate(keys) if key}
        if len(cells) > len(keys) and any(c.strip() for c in cells[len(keys):]):
            row["__extra__"] = "1"
        rows.append((line, row))
    return Table(headers=keys, rows=rows)
