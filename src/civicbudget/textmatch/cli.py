"""``civicbudget textmatch``: group near-duplicate proposals in a CSV file.

    civicbudget textmatch cluster IN.csv --text-column text [--id-column id]
        [--group-column community] [--subject-column subject] [--places FILE]
        [--admin NAME ...] [--explain] --out OUT.csv
    civicbudget textmatch score GOLD.csv PREDICTED.csv [--id-column id]
        [--group-column community] [--gold-column cluster] [--pred-column cluster]

``cluster`` writes the input rows plus a ``cluster`` column; texts in different
groups never share a cluster, and a row with an empty group is of an unknown community
(grouped with others only by a shared place or near-identical wording). ``--places``
names a file of known place names, one per line (the district's gazetteer); ``--admin``
the city, district and street names to strip from places; ``--explain`` adds the columns
``place``, ``phrases`` and ``score`` (what each cluster shares, and how alike it is). ``score`` prints pairwise precision, recall and F1
(pairs within a group). Bad input exits with status 2 and one clear message.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import sys
from collections import defaultdict
from pathlib import Path

from civicbudget.textmatch.core import MAX_PLACE_LEN, MAX_PLACES, Gazetteer, analyze, suggest_groups

MAX_FIELD = 1_000_000


def read_places(path: str) -> tuple[str, ...]:
    """Known place names, one per line; blank lines and ``#`` comments are skipped."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: {'not a file' if p.exists() else 'no such file'}")
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not valid UTF-8; save the file as UTF-8") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    names = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_PLACE_LEN:
            raise InputError(f"{path}: line {n}: a place name of {len(line)} characters "
                             f"(at most {MAX_PLACE_LEN})")
        names.append(line)
        if len(names) > MAX_PLACES:
            raise InputError(f"{path}: more than {MAX_PLACES} place names")
    return tuple(names)


class InputError(Exception):
    """A problem with the user's input, reported without a traceback."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="civicbudget textmatch", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    c = sub.add_parser("cluster", help="add a cluster column to a CSV of proposals")
    c.add_argument("input", help="CSV file, UTF-8, with a header row")
    c.add_argument("--text-column", required=True)
    c.add_argument("--id-column")
    c.add_argument("--group-column", help="e.g. community: groups never share a cluster")
    c.add_argument("--subject-column", help="a message's subject line, weighed above its body")
    c.add_argument("--places", help="file of known place names, one per line (UTF-8)")
    c.add_argument("--admin", action="append", default=[],
                   help="a city, district or street name stripped from places (repeatable)")
    c.add_argument("--explain", action="store_true",
                   help="add place, phrases and score columns")
    c.add_argument("--out", required=True, help="output CSV ('-' for standard output)")
    s = sub.add_parser("score", help="pairwise precision, recall and F1 against gold labels")
    s.add_argument("gold")
    s.add_argument("predicted")
    s.add_argument("--id-column", default="id")
    s.add_argument("--group-column", default="community")
    s.add_argument("--gold-column", default="cluster")
    s.add_argument("--pred-column", default="cluster")
    return p


def read_csv(path: str, required: list[str]) -> tuple[list[str], list[dict[str, str]]]:
    """Read a UTF-8 CSV with a header; raise InputError naming the problem."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file")
    if p.is_dir():
        raise InputError(f"{path}: is a directory, not a CSV file")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    if b"\x00" in raw[:8192]:
        raise InputError(f"{path}: looks like a binary file, not a CSV text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(
            f"{path}: line {line}: not valid UTF-8 (byte 0x{raw[e.start]:02x}); "
            "save the file as UTF-8"
        ) from None
    if not text.strip():
        raise InputError(f"{path}: the file is empty")
    csv.field_size_limit(MAX_FIELD)
    # csv splits lines itself: str.splitlines would also break rows at U+2028, U+0085,
    # form feeds and other characters that are ordinary text inside a field
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        _check_quotes(path, text)
        header = next(reader)
        header = [h.strip() for h in header]
        twice = next((h for h in header if h and header.count(h) > 1), None)
        if twice is not None:
            # rows are read by column name: the second column would silently win (unnamed
            # columns, as spreadsheets leave at the end of rows, are let through)
            raise InputError(f"{path}: line 1: column {twice!r} appears twice")
        missing = [c for c in required if c not in header]
        if missing:
            raise InputError(
                f"{path}: line 1: no column {missing[0]!r} (columns: {', '.join(header)})"
            )
        rows = []
        for values in reader:
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise InputError(
                    f"{path}: line {reader.line_num}: {len(values)} fields, "
                    f"the header has {len(header)}"
                )
            rows.append(dict(zip(header, values, strict=True)))
    except csv.Error as e:
        raise InputError(f"{path}: line {reader.line_num}: malformed CSV ({e})") from None
    if not rows:
        raise InputError(f"{path}: no data rows after the header")
    return header, rows


def _check_quotes(path: str, text: str) -> None:
    # a stray opening quote makes the rest of the file one field, silently
    strict = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for _ in strict:
            pass
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            raise InputError(
                f"{path}: line {strict.line_num}: a quoted field is still open at the end of "
                "the file (a stray '\"'?)"
            ) from None


def _unique(path: str, rows: list[dict[str, str]], column: str) -> None:
    seen: dict[str, int] = {}
    for n, r in enumerate(rows, start=2):
        key = r[column]
        if key in seen:
            raise InputError(
                f"{path}: line {n}: id {key!r} repeats line {seen[key]} (column {column!r})"
            )
        seen[key] = n


def _cluster(args: argparse.Namespace) -> int:
    required = [args.text_column]
    for c in (args.id_column, args.group_column):
        if c:
            required.append(c)
    header, rows = read_csv(args.input, required)
    replace = "cluster" in header
    if replace:
        print(
            f"{args.input}: the input has a 'cluster' column; its values are replaced",
            file=sys.stderr,
        )
    if args.id_column:
        _unique(args.input, rows, args.id_column)
    for c in [args.subject_column] if args.subject_column else []:
        if c not in header:
            raise InputError(f"{args.input}: line 1: no column {c!r} (columns: {', '.join(header)})")
    texts = [r[args.text_column] for r in rows]
    groups = ([r[args.group_column].strip() or None for r in rows]
              if args.group_column else None)
    subjects = [r[args.subject_column] for r in rows] if args.subject_column else [""] * len(rows)
    gazetteer = Gazetteer(places=read_places(args.places) if args.places else (),
                          admin=tuple(a for a in args.admin if a.strip()))
    try:
        analyses = [analyze(t, s) for t, s in zip(texts, subjects, strict=True)]
        suggested = suggest_groups(texts, groups, analyses=analyses, min_size=1,
                                   gazetteer=gazetteer)
    except ValueError as e:  # a bound of the library (docs/textmatch.md, "Limits")
        raise InputError(f"{args.input}: {e}") from None
    numbers = [0] * len(rows)
    why: dict[int, tuple[str, str, str]] = {}
    for g in suggested:
        for i in g.members:
            numbers[i] = g.cluster  # type: ignore[index]
            why[i] = (g.place, "、".join(g.phrases), f"{g.score:.2f}")  # type: ignore[index]
    extra = ["place", "phrases", "score"] if args.explain else []
    out = sys.stdout if args.out == "-" else None
    try:
        f = out or open(args.out, "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as e:
        raise InputError(f"{args.out}: cannot write ({e.strerror})") from None
    try:
        try:
            w = csv.writer(f)
            w.writerow([*(header if replace else [*header, "cluster"]), *extra])
            for i, (r, n) in enumerate(zip(rows, numbers, strict=True)):
                more = list(why[i]) if extra else []
                if replace:
                    w.writerow([*(n if h == "cluster" else r[h] for h in header), *more])
                else:
                    w.writerow([*(r[h] for h in header), n, *more])
        finally:
            if f is not sys.stdout:
                f.close()
    except OSError as e:  # disk full (often seen only on close), pipe closed
        raise InputError(f"{args.out}: cannot write ({e.strerror})") from None
    if out is None:
        n_clusters = len(set(numbers))
        print(f"{len(rows)} texts in {n_clusters} clusters -> {args.out}", file=sys.stderr)
    return 0


def pairwise_scores(
    gold: dict[str, tuple[str, str]], pred: dict[str, str]
) -> tuple[float, float, float, int, int, int]:
    """Precision, recall, F1 and pair counts. ``gold``: id -> (group, cluster)."""

    def pairs(label: dict[str, tuple[str, str]]) -> set[tuple[str, str]]:
        by: dict[tuple[str, str], list[str]] = defaultdict(list)
        for i, key in label.items():
            by[key].append(i)
        return {
            tuple(sorted(p))  # type: ignore[misc]
            for ids in by.values()
            for p in itertools.combinations(ids, 2)
        }

    gp = pairs(gold)
    pp = pairs({i: (g, pred.get(i, "missing:" + i)) for i, (g, _) in gold.items()})
    tp = len(gp & pp)
    precision = tp / len(pp) if pp else 0.0
    recall = tp / len(gp) if gp else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, len(gp), len(pp), tp


def _score(args: argparse.Namespace) -> int:
    _, gold_rows = read_csv(args.gold, [args.id_column, args.gold_column])
    _, pred_rows = read_csv(args.predicted, [args.id_column, args.pred_column])
    _unique(args.gold, gold_rows, args.id_column)
    _unique(args.predicted, pred_rows, args.id_column)
    has_group = args.group_column in gold_rows[0]
    gold = {
        r[args.id_column]: (r[args.group_column] if has_group else "", r[args.gold_column])
        for r in gold_rows
    }
    pred = {r[args.id_column]: r[args.pred_column] for r in pred_rows}
    missing = [i for i in gold if i not in pred]
    p, r, f, ng, np_, tp = pairwise_scores(gold, pred)
    if missing:
        print(f"{len(missing)} ids missing from the prediction (first: {missing[0]})")
    print(f"pairs: gold {ng}, predicted {np_}, correct {tp}")
    print(f"precision {p:.3f}  recall {r:.3f}  F1 {f:.3f}")
    return 0


def main(argv: list[str]) -> int:
    """Run ``civicbudget textmatch``; return the exit code (2 for bad input)."""
    try:
        args = _parser().parse_args(argv)
        if args.command == "cluster":
            return _cluster(args)
        return _score(args)
    except InputError as e:
        print(f"civicbudget textmatch: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help
        return int(e.code or 0) if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
