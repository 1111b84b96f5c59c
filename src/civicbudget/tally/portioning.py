"""Dividing a budget between themes from each voter's own division (portioning).

Each voter splits the budget across themes (roads 40%, elderly 30%, children 30%, ...); the
rule turns those splits into one division. The plain mean is easy to game: a voter who wants
more for roads reports 100% roads and pulls the mean further than an honest report would.
The **independent markets** rule (Freeman, Pennock, Peters and Wortman Vaughan, "Truthful
aggregation of budget proposals", EC 2019 / JET 2021) is a moving-phantom median: besides
the n voters' reports it places n+1 "phantom" reports f_k(t) = min(t(n-k), 1), k = 0..n,
gives each theme the median of its 2n+1 values, and raises t until the medians add up to the
whole budget. It is

- **truthful** for voters whose dissatisfaction is the total distance (ℓ1) between their
  split and the outcome: no voter gets closer by misreporting (tested by search);
- **proportional**: if every voter puts the whole budget on one theme, each theme gets the
  share of the voters who chose it;
- exact here: the medians are piecewise linear in t, so once a float search has found the
  piece, the crossing point is solved in rationals and checked exactly, and the shares are
  exact fractions of the budget. Amounts in whole yuan are then rounded by largest
  remainder (ties to the theme listed first), so they add up to the budget exactly.

Pure: numbers in, numbers out; no Django, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from civicbudget.tally.limits import MAX_AMOUNT, MAX_VOTERS, LimitError

RULES = ("independent-markets", "mean")
MAX_THEMES = 100


@dataclass(frozen=True)
class Division:
    """One division of ``budget`` between ``themes``."""

    rule: str
    budget: int
    themes: tuple[str, ...]
    shares: tuple[Fraction, ...]  # exact, adding up to 1
    amounts: tuple[int, ...]  # whole units, adding up to ``budget``
    voters: int
    t: Fraction | None  # the phantoms' position (independent markets only)

    def as_json(self) -> dict:
        return {
            "rule": self.rule, "budget": self.budget, "voters": self.voters,
            "t": None if self.t is None else str(self.t),
            "themes": [{"theme": name, "share": str(share), "share_float": float(share), "amount": amount}
                       for name, share, amount in zip(self.themes, self.shares, self.amounts, strict=True)],
        }


def _normalised(reports: Sequence[Sequence[int]], m: int) -> list[tuple[Fraction, ...]]:
    rows = []
    for line, row in enumerate(reports, start=1):
        if len(row) != m:
            raise LimitError(f"voter {line}: {len(row)} amounts for {m} themes")
        if any(not isinstance(x, int) or isinstance(x, bool) or x < 0 or x > MAX_AMOUNT for x in row):
            raise LimitError(f"voter {line}: amounts must be whole numbers from 0 to {MAX_AMOUNT}")
        total = sum(row)
        if total == 0:
            raise LimitError(f"voter {line}: gives nothing to any theme")
        rows.append(tuple(Fraction(x, total) for x in row))
    return rows


def _merged(sorted_cols: np.ndarray, n: int, t: float) -> np.ndarray:
    phantoms = np.minimum(t * (n - np.arange(n + 1)), 1.0)
    return np.concatenate([sorted_cols, np.broadcast_to(phantoms[:, None], (n + 1, sorted_cols.shape[1]))])


def _medians_float(sorted_cols: np.ndarray, n: int, t: float) -> np.ndarray:
    """Each theme's median of its n reports and the n+1 phantoms at ``t`` (floats)."""
    return np.partition(_merged(sorted_cols, n, t), n, axis=0)[n]


def _piece_float(sorted_cols: np.ndarray, exact_cols: list[list[Fraction]], n: int,
                 t: float) -> tuple[Fraction, int]:
    """The linear piece of the medians' sum at ``t``: its constant part and its slope in t.

    Which value is each theme's median tells the piece: a report (constant), a phantom
    below 1 (slope n-k) or a phantom at 1 (constant 1).
    """
    where = np.argpartition(_merged(sorted_cols, n, t), n, axis=0)[n]
    constant, slope = Fraction(0), 0
    for j, i in enumerate(where.tolist()):
        if i < n:
            constant += exact_cols[j][i]
        elif t * (n - (i - n)) < 1.0:
            slope += n - (i - n)
        else:
            constant += 1
    return constant, slope


def _medians_exact(exact_cols: list[list[Fraction]], n: int, t: Fraction) -> list[Fraction]:
    phantoms = [min(t * (n - k), Fraction(1)) for k in range(n + 1)]
    return [sorted(column + phantoms)[n] for column in exact_cols]


def _piece_exact(exact_cols: list[list[Fraction]], n: int, t: Fraction) -> tuple[Fraction, int]:
    phantoms = [(min(t * (n - k), Fraction(1)), k) for k in range(n + 1)]
    constant, slope = Fraction(0), 0
    for column in exact_cols:
        value, k = sorted([(x, -1) for x in column] + phantoms)[n]
        if k < 0 or value == 1:
            constant += value
        else:
            slope += n - k
    return constant, slope


def _independent_markets(rows: list[tuple[Fraction, ...]], m: int) -> tuple[Fraction, list[Fraction]]:
    n = len(rows)
    exact_cols = [sorted(r[j] for r in rows) for j in range(m)]
    sorted_cols = np.array([[float(x) for x in column] for column in exact_cols],
                           dtype=np.float64).T.reshape(n, m)
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if _medians_float(sorted_cols, n, mid).sum() < 1.0:
            lo = mid
        else:
            hi = mid

    def solve(constant: Fraction, slope: int) -> Fraction | None:
        if slope == 0:
            return None
        t = (1 - constant) / slope
        return t if 0 <= t <= 1 and sum(_medians_exact(exact_cols, n, t)) == 1 else None

    # Solve the crossing exactly on the pieces found on either side of it, and keep the one
    # that checks out in rationals.
    for t in (hi, lo):
        found = solve(*_piece_float(sorted_cols, exact_cols, n, t))
        if found is not None:
            return found, _medians_exact(exact_cols, n, found)
    # Floats could not tell the piece apart (reports within rounding of each other): the
    # same search in rationals (dyadic midpoints, so denominators stay powers of two).
    lo_f, hi_f = Fraction(0), Fraction(1)
    for _ in range(400):
        for end in (lo_f, hi_f):
            found = solve(*_piece_exact(exact_cols, n, end))
            if found is not None:
                return found, _medians_exact(exact_cols, n, found)
        mid_f = (lo_f + hi_f) / 2
        if sum(_medians_exact(exact_cols, n, mid_f)) < 1:
            lo_f = mid_f
        else:
            hi_f = mid_f
    raise ArithmeticError("independent markets: no exact crossing found")  # pragma: no cover


def _round(budget: int, shares: Sequence[Fraction]) -> tuple[int, ...]:
    exact = [share * budget for share in shares]
    floors = [int(x) for x in exact]  # shares are non-negative, so int() is the floor
    left = budget - sum(floors)
    order = sorted(range(len(shares)), key=lambda j: (-(exact[j] - floors[j]), j))
    for j in order[:left]:
        floors[j] += 1
    return tuple(floors)


def split(budget: int, shares: Sequence[Fraction]) -> tuple[int, ...]:
    """Return ``budget`` (whole units) split by exact ``shares`` as :func:`divide` rounds it:
    largest remainder, ties to the theme listed first; the amounts add up to ``budget``."""
    return _round(budget, shares)


def divide(budget: int, themes: Sequence[str], reports: Sequence[Sequence[int]],
           rule: str = "independent-markets") -> Division:
    """Divide ``budget`` (whole units) between ``themes`` from the voters' ``reports``.

    Each report is one voter's amounts (or points) per theme, in the order of ``themes``;
    only their proportions matter. Refused with :class:`LimitError` naming the voter when a
    report is malformed.
    """
    if rule not in RULES:
        raise LimitError(f"unknown rule {rule!r}; one of {', '.join(RULES)}")
    if not isinstance(budget, int) or not 0 < budget <= MAX_AMOUNT:
        raise LimitError(f"the budget must be a whole number from 1 to {MAX_AMOUNT}")
    m = len(themes)
    if not 2 <= m <= MAX_THEMES:
        raise LimitError(f"between 2 and {MAX_THEMES} themes, not {m}")
    if len(set(themes)) != m:
        raise LimitError("two themes have the same name")
    if not reports:
        raise LimitError("no voter")
    if len(reports) > MAX_VOTERS:
        raise LimitError(f"more than {MAX_VOTERS} voters")
    rows = _normalised(reports, m)
    n = len(rows)
    if rule == "mean":
        shares = [sum(r[j] for r in rows) / n for j in range(m)]
        t = None
    else:
        t, shares = _independent_markets(rows, m)
    return Division(rule=rule, budget=budget, themes=tuple(themes), shares=tuple(shares),
                    amounts=_round(budget, shares), voters=n, t=t)


def l1_distance(a: Sequence[Fraction], b: Sequence[Fraction]) -> Fraction:
    """A voter's dissatisfaction with an outcome: the money that would have to move."""
    return sum((abs(x - y) for x, y in zip(a, b, strict=True)), Fraction(0))
