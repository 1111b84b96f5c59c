"""Insert many plain rows fast, for the demo's tens of thousands of proposals and ballots."""

from __future__ import annotations

from django.db import connections


def insert_rows(model, rows: list[dict]) -> None:
    """Insert plain rows with one executemany: the ORM's per-object cost is most of the time
    at demo scale (tens of thousands of rows), and the values still go through each field's
    own conversion for the backend."""
    if not rows:
        return
    conn = connections["default"]
    fields = [model._meta.get_field(name) for name in rows[0]]
    columns = ", ".join(conn.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {conn.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
    # Only dates and times need the backend's conversion; ids and text go as they are.
    convert = [f.get_internal_type() in ("DateTimeField", "DateField") for f in fields]
    values = [[f.get_db_prep_save(row[f.name], conn) if c else row[f.name]
               for f, c in zip(fields, convert, strict=True)] for row in rows]
    with conn.cursor() as cursor:
        for start in range(0, len(values), 5000):
            cursor.executemany(sql, values[start:start + 5000])
