"""Read CSV and XLSX uploads into rows with their line numbers, or say clearly why not.

Shared by every import (places, proposals, poll-book sync, ...). CSV may be UTF-8 (with or
without BOM) or GB18030, which is what Excel on a Chinese Windows writes.

Uploads are made by other people's software, so every dimension is bounded before it is
materialised: bytes, the unpacked size and compression ratio of an XLSX's zip (checked from
its directory before openpyxl opens it), rows, columns (checked against the sheet's declared
dimension and on every streamed row), characters per cell and per CSV line. XML is parsed by
defusedxml (openpyxl switches to it when installed): no entity expansion, no external entity.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass

from django.utils.translation import gettext as _

from civicbudget.errors import ImportRejected

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
MAX_COLUMNS = 64
MAX_CELL_CHARS = 10_000
MAX_LINE_CHARS = 200_000
# An XLSX is a zip: what counts is what it unpacks to. Real workbooks compress 5-30 times;
# a zip bomb compresses thousands of times.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
MAX_ZIP_MEMBERS = 500


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (line number as the user sees it, row)


def _rejected_at(line: int, column: int, message: str) -> ImportRejected:
    field = _column_name(column) if column else ""
    return ImportRejected(message, field=field or None,
                          details=[{"line": line, "field": field, "message": message}])


def _column_name(index: int) -> str:
    """1 -> A, 27 -> AA: the column as the user's spreadsheet names it."""
    name = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _check_cells(line: int, cells: list[str]) -> None:
    if len(cells) > MAX_COLUMNS:
        raise _rejected_at(line, len(cells), _(
            "Line %(line)d has a cell in column %(column)s; at most %(max)d columns are read.")
            % {"line": line, "column": _column_name(len(cells)), "max": MAX_COLUMNS})
    for index, cell in enumerate(cells, start=1):
        if len(cell) > MAX_CELL_CHARS:
            raise _rejected_at(line, index, _(
                "Line %(line)d, column %(column)s has %(n)d characters; at most %(max)d.")
                % {"line": line, "column": _column_name(index), "n": len(cell), "max": MAX_CELL_CHARS})


def _too_many_rows() -> ImportRejected:
    return ImportRejected(_("The file has more than %(max)d rows.") % {"max": MAX_ROWS})


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportRejected(_("The file is not text in UTF-8 or GB18030: save it as “CSV UTF-8”."))


class _BoundedLines:
    """Feed the csv reader line by line, refusing a physical line longer than the limit."""

    def __init__(self, text: str) -> None:
        self._lines = io.StringIO(text, newline="")
        self.number = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self._lines.readline(MAX_LINE_CHARS + 1)
        if not line:
            raise StopIteration
        self.number += 1
        if len(line) > MAX_LINE_CHARS:
            raise _rejected_at(self.number, 0, _("Line %(line)d is longer than %(max)d characters.")
                               % {"line": self.number, "max": MAX_LINE_CHARS})
        return line


def _read_csv(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    text = _decode(data)
    lines = _BoundedLines(text)
    reader = csv.reader(lines)
    raw: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            _check_cells(reader.line_num, row)
            raw.append((reader.line_num, row))
            if len(raw) > MAX_ROWS + 1:
                raise _too_many_rows()
    except csv.Error as exc:
        # A quoted field spanning many lines meets the csv module's own field limit
        # (csv.field_size_limit, process-wide: left as it is); the total is bounded by MAX_BYTES.
        line = reader.line_num or lines.number
        if "field larger than field limit" in str(exc):
            raise _rejected_at(line, 0, _("Line %(line)d has a cell longer than %(max)d characters.")
                               % {"line": line, "max": MAX_CELL_CHARS}) from None
        raise _rejected_at(line, 0, _("Line %(line)d of the CSV file is malformed: %(error)s")
                           % {"line": line, "error": str(exc)[:200]}) from None
    if not raw:
        raise ImportRejected(_("The file is empty."))
    return raw[0][1], raw[1:]


def _check_zip(data: bytes) -> None:
    """Refuse an archive whose directory announces too much, before anything is unpacked."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ImportRejected(_("The file is not a valid XLSX workbook.")) from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise ImportRejected(_("The workbook holds %(n)d parts; at most %(max)d are read.")
                                 % {"n": len(members), "max": MAX_ZIP_MEMBERS})
        unpacked = sum(m.file_size for m in members)
        packed = sum(m.compress_size for m in members)
        if unpacked > MAX_UNPACKED_BYTES:
            raise ImportRejected(_("The workbook unpacks to %(size)d MB; the limit is %(limit)d MB.")
                                 % {"size": unpacked // (1024 * 1024),
                                    "limit": MAX_UNPACKED_BYTES // (1024 * 1024)})
        if unpacked > 1024 * 1024 and unpacked > MAX_COMPRESSION_RATIO * max(packed, 1):
            raise ImportRejected(_("The workbook is compressed %(ratio)d times; a real one is "
                                   "compressed at most %(max)d times.")
                                 % {"ratio": unpacked // max(packed, 1), "max": MAX_COMPRESSION_RATIO})


def _xlsx_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    import openpyxl
    from openpyxl import load_workbook

    if not openpyxl.DEFUSEDXML:  # e.g. OPENPYXL_DEFUSEDXML=False in the environment
        raise ImportRejected(_("XLSX import is switched off on this server (defusedxml is not in "
                               "use); upload a CSV file."))
    _check_zip(data)
    from defusedxml import DefusedXmlException

    def hostile() -> ImportRejected:
        return ImportRejected(_("The workbook contains XML entity or DTD declarations, which are "
                                "refused; save it again from a spreadsheet program."))

    def defused(exc: BaseException | None) -> bool:
        # openpyxl wraps what the XML parser raised in its own ValueError.
        while exc is not None:
            if isinstance(exc, DefusedXmlException):
                return True
            exc = exc.__cause__ or exc.__context__
        return False

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken file; all mean the same
        if defused(exc):
            raise hostile() from None
        raise ImportRejected(_("The file is not a valid XLSX workbook.")) from exc
    try:
        if not workbook.worksheets:
            raise ImportRejected(_("The workbook has no sheet."))
        sheet = workbook.worksheets[0]
        declared = sheet.max_column or 0
        if declared > MAX_COLUMNS:
            raise _rejected_at(1, declared, _(
                "The sheet declares columns up to %(column)s; at most %(max)d columns are read.")
                % {"column": _column_name(declared), "max": MAX_COLUMNS})
        # Forget the declared size: each row is then as wide as its own last cell, so a cell far
        # to the right is seen (and refused) instead of silently cut or padded across every row.
        sheet.reset_dimensions()
        rows: list[tuple[int, list[str]]] = []
        for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if index > MAX_ROWS + 1:
                raise _too_many_rows()
            if len(values) > MAX_COLUMNS:
                last = max((i for i, v in enumerate(values, start=1) if v is not None), default=0)
                if last > MAX_COLUMNS:
                    raise _rejected_at(index, last, _(
                        "Line %(line)d has a cell in column %(column)s; at most %(max)d columns are read.")
                        % {"line": index, "column": _column_name(last), "max": MAX_COLUMNS})
                values = values[:MAX_COLUMNS]
            cells = [_xlsx_value(v) for v in values]
            _check_cells(index, cells)
            rows.append((index, cells))
    except ImportRejected:
        raise
    except Exception as exc:
        if defused(exc):
            raise hostile() from None
        raise ImportRejected(_("The sheet of the workbook cannot be read: it is damaged.")) from exc
    finally:
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
            % {"size": len(data) // (1024 * 1024), "limit": MAX_BYTES // (1024 * 1024)},
            field="file",
        )
    name = filename.lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        headers, raw = _read_xlsx(data)
    elif name.endswith(".csv") or name.endswith(".txt") or not name:
        if b"\x00" in data[:4096]:
            raise ImportRejected(_("The file is binary, not CSV text."))
        headers, raw = _read_csv(data)
    else:
        raise ImportRejected(_("Upload a .csv or .xlsx file, not “%(name)s”.") % {"name": filename[:100]})
    if len(raw) > MAX_ROWS:
        raise _too_many_rows()
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
