"""Read and write pabulib ``.pb`` files (see ``shared/pabulib/README.md`` for the format).

The reader accepts what pabutools accepts (CRLF and mixed line endings, quoted fields,
``none`` for a missing value, decimal costs and budgets, a project named twice in a ballot,
empty ballots, a ``votes`` column that disagrees with the ballots) and rejects the rest with
a :class:`PabulibError` that names the line and what is wrong.
"""

from __future__ import annotations

import csv
import io
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

import numpy as np

from civicbudget.tally.limits import (
    MAX_POINTS,
    MAX_PROJECTS,
    MAX_VOTERS,
    LimitError,
    check_amount,
    parse_number,
)
from civicbudget.tally.model import POINT_TYPES, VOTE_TYPES, Election, Project

SECTIONS = ("meta", "projects", "votes")


class PabulibError(ValueError):
    """A malformed pabulib file; ``line`` is 1-based (0 when the whole file is at fault)."""

    def __init__(self, line: int, message: str, path: str | None = None) -> None:
        self.line = line
        self.message = message
        self.path = path
        where = f"{path}:" if path else ""
        super().__init__(f"{where}line {line}: {message}" if line else f"{where} {message}".strip())


def _split(line: str) -> list[str]:
    if '"' in line:
        return next(csv.reader([line], delimiter=";"))
    return line.split(";")


def _number(text: str, line: int, what: str) -> Fraction:
    try:
        return parse_number(text, what)
    except LimitError as exc:
        raise PabulibError(line, str(exc)) from None


def _amount(text: str, line: int, what: str, zero_ok: bool = False) -> Fraction:
    try:
        return check_amount(parse_number(text, what), what, zero_ok)
    except LimitError as exc:
        raise PabulibError(line, str(exc)) from None


def _decode(data: bytes) -> str:
    if not data.strip():
        raise PabulibError(0, "empty file")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise PabulibError(line, "binary file (NUL byte), not a pabulib text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PabulibError(line, "not UTF-8 text (binary file?)") from None
    return text.lstrip("\ufeff")


def read_pabulib(path: str | Path) -> Election:
    """Read a ``.pb`` file and return the :class:`Election`; raise :class:`PabulibError`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PabulibError(0, f"cannot read file: {exc.strerror}", str(path)) from None
    try:
        return parse_pabulib(data)
    except PabulibError as exc:
        raise PabulibError(exc.line, exc.message, str(path)) from None


def parse_pabulib(data: bytes | str) -> Election:
    """Parse the content of a ``.pb`` file; raise :class:`PabulibError` when malformed."""
    text = _decode(data) if isinstance(data, bytes) else data
    if not text.strip():
        raise PabulibError(0, "empty file")
    lines = text.splitlines()
    section = ""
    header: list[str] = []
    seen_sections: dict[str, int] = {}
    meta: dict[str, str] = {}
    meta_line: dict[str, int] = {}
    projects: list[Project] = []
    index: dict[str, int] = {}
    # votes
    voter_ids: list[str] = []
    voter_seen: dict[str, int] = {}
    indptr: list[int] = [0]
    flat: list[int] = []
    flat_points: list[int] = []
    voter_extra: list[tuple[str, ...]] = []
    vote_col = points_col = id_col = -1
    extra_cols: list[int] = []
    vote_type = ""
    max_sum_points = max_points = None
    min_points = None
    i = 0
    n = len(lines)
    while i < n:
        raw = lines[i]
        lineno = i + 1
        i += 1
        stripped = raw.strip()
        if not stripped:
            continue
        lowered = stripped.lower()
        if lowered in SECTIONS:
            section = lowered
            if section in seen_sections:
                raise PabulibError(lineno, f"section {stripped} appears twice")
            seen_sections[section] = lineno
            if section == "projects" and "meta" not in seen_sections:
                raise PabulibError(lineno, "PROJECTS before META: missing META section")
            if section == "votes" and "projects" not in seen_sections:
                raise PabulibError(lineno, "VOTES before PROJECTS: missing PROJECTS section")
            while i < n and not lines[i].strip():
                i += 1
            if i >= n:
                raise PabulibError(lineno, f"section {stripped} has no header line")
            header = [h.strip() for h in _split(lines[i])]
            hline = i + 1
            i += 1
            if section == "projects":
                for col in ("project_id", "cost"):
                    if col not in header:
                        raise PabulibError(hline, f"PROJECTS header has no {col} column")
            elif section == "votes":
                vote_type = meta.get("vote_type", "")
                if "vote" not in header:
                    raise PabulibError(hline, "VOTES header has no vote column")
                vote_col = header.index("vote")
                id_col = header.index("voter_id") if "voter_id" in header else -1
                points_col = header.index("points") if "points" in header else -1
                if vote_type in POINT_TYPES and points_col < 0:
                    raise PabulibError(hline, f"{vote_type} ballots need a points column")
                extra_cols = [
                    k for k, h in enumerate(header) if h not in ("voter_id", "vote", "points")
                ]
                if vote_type not in POINT_TYPES and points_col >= 0:
                    extra_cols.append(points_col)
                    points_col = -1
                voter_columns = tuple(header[k] for k in extra_cols)
                limits = {}
                for key in ("max_sum_points", "max_points", "min_points"):
                    if meta.get(key, "").lower() not in ("", "none"):
                        limits[key] = _number(meta[key], meta_line[key], key)
                max_sum_points = limits.get("max_sum_points")
                max_points = limits.get("max_points")
                min_points = limits.get("min_points")
            continue
        if not section:
            raise PabulibError(lineno, f"expected a section name (META), found {stripped[:40]!r}")
        row = _split(raw)
        if len(row) == 1 and stripped.isalpha() and stripped.isupper():
            raise PabulibError(
                lineno, f"unknown section {stripped!r} (expected META, PROJECTS or VOTES)"
            )
        if section == "meta":
            if len(row) < 2:
                raise PabulibError(lineno, "META line needs key;value")
            key = row[0].strip()
            meta[key] = ";".join(row[1:]).strip() if len(row) > 2 else row[1].strip()
            meta_line[key] = lineno
            continue
        if len(row) != len(header):
            raise PabulibError(
                lineno,
                f"{section.upper()} row has {len(row)} columns, the header has {len(header)}",
            )
        if section == "projects":
            values = {h: v.strip() for h, v in zip(header, row, strict=True)}
            pid = values["project_id"]
            if not pid:
                raise PabulibError(lineno, "empty project_id")
            if pid in index:
                raise PabulibError(lineno, f"duplicate project id {pid!r}")
            if len(projects) >= MAX_PROJECTS:
                raise PabulibError(lineno, f"more than {MAX_PROJECTS:,} projects (the limit)")
            cost = _amount(values["cost"], lineno, f"cost of project {pid!r}")
            name = values.get("name", "")
            category = values.get("category", values.get("categories", ""))
            extra = {
                h: v
                for h, v in values.items()
                if h not in ("project_id", "cost", "name", "category", "categories")
            }
            if "categories" in values:
                extra["__category_column__"] = "categories"
            index[pid] = len(projects)
            projects.append(
                Project(pid, cost, name=name, category=category, extra=MappingProxyType(extra))
            )
            continue
        # votes
        if len(voter_ids) >= MAX_VOTERS:
            raise PabulibError(lineno, f"more than {MAX_VOTERS:,} voters (the limit)")
        voter = row[id_col].strip() if id_col >= 0 else str(len(voter_ids) + 1)
        if voter in voter_seen:
            raise PabulibError(
                lineno, f"duplicate voter id {voter!r} (first on line {voter_seen[voter]})"
            )
        voter_seen[voter] = lineno
        vote = row[vote_col].strip()
        names = [] if vote.lower() in ("", "none") else [v.strip() for v in vote.split(",")]
        pts_row: list[int] = []
        if points_col >= 0:
            ptxt = row[points_col].strip()
            ptoks = [] if ptxt.lower() in ("", "none") else ptxt.split(",")
            if len(ptoks) != len(names):
                raise PabulibError(
                    lineno, f"{len(names)} projects in vote but {len(ptoks)} values in points"
                )
            for tok in ptoks:
                digits = tok.strip()
                if digits.isascii() and digits.isdigit() and len(digits) <= 7:
                    pts_row.append(int(digits))  # the common case, read fast
                    if pts_row[-1] <= MAX_POINTS:
                        continue
                    pts_row.pop()
                value = _number(tok, lineno, "points")
                if value.denominator != 1:
                    raise PabulibError(lineno, f"points must be whole numbers, got {tok.strip()!r}")
                if value < 0:
                    raise PabulibError(lineno, f"negative points {tok.strip()!r}")
                if value > MAX_POINTS:
                    raise PabulibError(
                        lineno, f"points {tok.strip()!r} above the limit of {MAX_POINTS:,}"
                    )
                pts_row.append(int(value))
        start = len(flat)
        local: dict[int, int] = {}
        for k, name in enumerate(names):
            if not name:
                continue
            j = index.get(name)
            if j is None:
                raise PabulibError(lineno, f"vote for unknown project {name!r}")
            if j in local:  # named twice: merged as pabutools does (last points win)
                if pts_row:
                    flat_points[local[j]] = pts_row[k]
                continue
            local[j] = len(flat)
            flat.append(j)
            if pts_row:
                flat_points.append(pts_row[k])
        if pts_row:
            got = flat_points[start:]
            if max_points is not None and got and max(got) > max_points:
                raise PabulibError(
                    lineno, f"{max(got)} points on one project, over max_points {max_points}"
                )
            if min_points is not None and got and min(got) < min_points:
                raise PabulibError(lineno, f"{min(got)} points, under min_points {min_points}")
            if max_sum_points is not None and sum(got) > max_sum_points:
                raise PabulibError(
                    lineno, f"{sum(got)} points in total, over max_sum_points {max_sum_points}"
                )
        voter_ids.append(voter)
        indptr.append(len(flat))
        if extra_cols:
            voter_extra.append(tuple(row[k].strip() for k in extra_cols))
        continue
    for name in SECTIONS:
        if name not in seen_sections:
            raise PabulibError(n, f"missing {name.upper()} section")
    if "budget" not in meta:
        raise PabulibError(seen_sections["meta"], "META has no budget")
    budget = _amount(meta["budget"], meta_line["budget"], "budget", zero_ok=True)
    threshold = meta.get("min_project_score_threshold", "")
    if threshold.lower() not in ("", "none"):
        _number(threshold, meta_line["min_project_score_threshold"], "min_project_score_threshold")
    top = meta.get("max_length", "")
    if top.isascii() and top.isdigit() and (len(top) > 7 or int(top) > MAX_POINTS):
        raise PabulibError(meta_line["max_length"], f"max_length above the limit of {MAX_POINTS:,}")
    vote_type = meta.get("vote_type", "")
    if vote_type not in VOTE_TYPES:
        raise PabulibError(
            seen_sections["meta"],
            f"vote_type must be one of {', '.join(VOTE_TYPES)}, got {vote_type!r}",
        )
    if not projects:
        raise PabulibError(seen_sections["projects"], "no projects")
    return Election(
        projects=tuple(projects),
        budget=budget,
        vote_type=vote_type,
        voter_ids=tuple(voter_ids),
        indptr=np.asarray(indptr, dtype=np.int64),
        project_index=np.asarray(flat, dtype=np.int32),
        points=np.asarray(flat_points, dtype=np.int64) if vote_type in POINT_TYPES else None,
        meta=MappingProxyType(meta),
        voter_columns=voter_columns if "votes" in seen_sections else (),
        voter_extra=tuple(voter_extra),
    )


def _decimal(value: Fraction) -> str:
    """Return ``value`` as an exact decimal string (pabulib has no fractions)."""
    if value.denominator == 1:
        return str(value.numerator)
    d = value.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        raise ValueError(f"{value} has no finite decimal form")
    places = max(twos, fives)
    scaled = value * 10**places
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled.numerator)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def format_pabulib(election: Election) -> str:
    """Return the ``.pb`` text of ``election``; :func:`parse_pabulib` reads it back equal."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\n")
    out.write("META\n")
    w.writerow(["key", "value"])
    meta = dict(election.meta)
    meta.setdefault("budget", _decimal(election.budget))
    meta.setdefault("vote_type", election.vote_type)
    for key, value in meta.items():
        w.writerow([key, value])
    out.write("PROJECTS\n")
    extra_keys: list[str] = []
    for p in election.projects:
        for key in p.extra:
            if key != "__category_column__" and key not in extra_keys:
                extra_keys.append(key)
    has_name = any(p.name for p in election.projects)
    cat_col = next(
        (
            p.extra["__category_column__"]
            for p in election.projects
            if "__category_column__" in p.extra
        ),
        "category",
    )
    has_cat = any(p.category for p in election.projects) or cat_col == "categories"
    header = (
        ["project_id", "cost"] + (["name"] if has_name else []) + ([cat_col] if has_cat else [])
    )
    w.writerow(header + extra_keys)
    for p in election.projects:
        row = [p.id, _decimal(p.cost)] + ([p.name] if has_name else [])
        row += [p.category] if has_cat else []
        w.writerow(row + [p.extra.get(k, "") for k in extra_keys])
    out.write("VOTES\n")
    has_points = election.points is not None
    w.writerow(
        ["voter_id", "vote"] + (["points"] if has_points else []) + list(election.voter_columns)
    )
    ids = election.project_ids()
    ptr = election.indptr.tolist()
    idx = election.project_index.tolist()
    pts = election.points.tolist() if has_points else []
    for v, voter in enumerate(election.voter_ids):
        lo, hi = ptr[v], ptr[v + 1]
        row = [voter, ",".join(ids[j] for j in idx[lo:hi])]
        if has_points:
            row.append(",".join(str(x) for x in pts[lo:hi]))
        if election.voter_columns:
            row.extend(election.voter_extra[v])
        w.writerow(row)
    return out.getvalue()


def write_pabulib(election: Election, path: str | Path) -> None:
    """Write ``election`` to ``path`` as a UTF-8 ``.pb`` file."""
    Path(path).write_text(format_pabulib(election), encoding="utf-8")
