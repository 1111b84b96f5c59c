"""Insert many plain rows fast, for the demo's tens of thousands of proposals and ballots."""

from __future__ import annotations

import datetime as dt

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
    # Only dates and times need converting; ids and text go as they are. SQLite stores
    # Django's naive-UTC text, which is cheaper to format here than through the field.
    sqlite = conn.vendor == "sqlite"

    def converter(field):
        kind = field.get_internal_type()
        if kind == "DateTimeField":
            if sqlite:
                return lambda v: v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ") if v else v
            return None
        if kind == "DateField" and sqlite:
            return lambda v: v.isoformat() if v else v
        return None

    converters = [converter(f) for f in fields]
    if any(converters):
        values = [[c(row[f.name]) if c else row[f.name] for f, c in zip(fields, converters, strict=True)]
                  for row in rows]
    else:
        values = [[row[f.name] for f in fields] for row in rows]
    with conn.cursor() as cursor:
        for start in range(0, len(values), 5000):
            cursor.executemany(sql, values[start:start + 5000])
