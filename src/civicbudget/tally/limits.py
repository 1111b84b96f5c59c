"""Bounds on the numbers and sizes an election may hold, checked before anything is built.

A ``.pb`` file comes from anyone: ``Fraction("1e999999999")`` alone builds an integer of a
billion digits, and a cost of ``1e4000`` or ``1e-400`` leaves the range of the floats the
fast MES decides in. So every number is read by :func:`parse_number` (a plain decimal,
bounded in length, significant digits and exponent, checked on the text before any value
is computed), costs and budgets are bounded in magnitude and decimal places, points in
size, and an election in projects and voters. The limits are far above every real
election (largest in ``shared/pabulib``: 131,778 voters, 199 projects, costs up to 1.2e8,
budgets up to 1e9 with 2 decimals, 77 points) and far inside what the float paths handle
(see :func:`civicbudget.tally._exact.float_safe`). ``docs/tally.md`` lists them.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from civicbudget.tally.model import Election

MAX_NUMBER_CHARS = 64  # characters of one number as written
MAX_DIGITS = 30  # significant digits of one number
MAX_EXPONENT = 30  # |e| in 1.5e6 notation
MAX_AMOUNT = 10**18  # largest cost or budget (yuan, euros, ...)
MAX_DECIMALS = 6  # decimal places of a cost or budget in a file
MAX_DENOMINATOR = 10**30  # of an exact cost or budget built in code (any rational, bounded)
MAX_POINTS = 10**6  # points one voter gives one project (and max_length of ranked ballots)
MAX_PROJECTS = 10_000
MAX_VOTERS = 5_000_000

_NUMBER = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")


class LimitError(ValueError):
    """A number or a size beyond the documented limits (or not a plain decimal number)."""


def parse_number(text: str, what: str) -> Fraction:
    """Return the exact value of the decimal ``text`` (``,`` as decimal point allowed).

    Raise :class:`LimitError` naming ``what`` when it is not a plain decimal number
    (``12``, ``-0.5``, ``1.5e6``) or exceeds :data:`MAX_NUMBER_CHARS`, :data:`MAX_DIGITS`
    significant digits or an exponent of :data:`MAX_EXPONENT`. Nothing is computed before
    the text is known to be small.
    """
    raw = text.strip()
    if len(raw) > MAX_NUMBER_CHARS:
        raise LimitError(
            f"{what} has {len(raw)} characters, beyond the limit of {MAX_NUMBER_CHARS} for a number"
        )
    m = _NUMBER.fullmatch(raw.replace(",", "."))
    if m is None or not (m.group(2) or m.group(3)):
        raise LimitError(f"{what} is not a number: {raw!r}")
    sign, whole, frac, exp = m.group(1), m.group(2), m.group(3) or "", m.group(4)
    significant = (whole + frac).lstrip("0").rstrip("0")
    if len(significant) > MAX_DIGITS:
        raise LimitError(
            f"{what} has {len(significant)} significant digits, beyond the limit of {MAX_DIGITS}"
        )
    e = int(exp) if exp else 0  # at most MAX_NUMBER_CHARS digits: cheap
    if abs(e) > MAX_EXPONENT:
        raise LimitError(f"{what} has exponent {e}, beyond the limit of ±{MAX_EXPONENT}")
    value = Fraction(int(whole + frac or "0")) * Fraction(10) ** (e - len(frac))
    return -value if sign == "-" else value


def check_amount(
    value: Fraction, what: str, zero_ok: bool = False, decimal: bool = True
) -> Fraction:
    """Return ``value`` when it is a valid cost (> 0) or budget (``zero_ok``: >= 0).

    Raise :class:`LimitError` when it exceeds :data:`MAX_AMOUNT` or has more than
    :data:`MAX_DECIMALS` decimal places (``decimal``, as in a file), else (a rational built
    in code) a denominator above :data:`MAX_DENOMINATOR`.
    """
    value = Fraction(value)
    if value < 0 or (value == 0 and not zero_ok):
        raise LimitError(f"{what} must be {'>= 0' if zero_ok else '> 0'}, got {_show(value)}")
    if value > MAX_AMOUNT:
        raise LimitError(f"{what} is {_show(value)}, above the limit of 10^18")
    if not decimal:
        if value.denominator > MAX_DENOMINATOR:
            raise LimitError(f"{what} has a denominator above the limit of 10^30")
        return value
    if (value * 10**MAX_DECIMALS).denominator != 1:
        raise LimitError(
            f"{what} has more than {MAX_DECIMALS} decimal places (or no decimal form): {_show(value)}"
        )
    return value


def _show(value: Fraction) -> str:
    """Return a short text for a value that may be huge or have a huge denominator."""
    if value.denominator == 1 and abs(value.numerator) < 10**24:
        return str(value.numerator)
    digits = len(str(abs(value.numerator) // value.denominator)) if abs(value) >= 1 else 0
    if digits > 24:
        return f"about 10^{digits - 1}"
    return f"{float(value):.6g}"  # |value| < 10^24 here: float() cannot overflow


def check_election(election: Election) -> None:
    """Raise :class:`LimitError` when ``election`` exceeds a limit (for elections built in code).

    :func:`civicbudget.tally.pabulib.parse_pabulib` checks the same limits line by line.
    """
    if len(election.projects) > MAX_PROJECTS:
        raise LimitError(
            f"{len(election.projects)} projects, more than the limit of {MAX_PROJECTS:,}"
        )
    if election.num_voters > MAX_VOTERS:
        raise LimitError(f"{election.num_voters} voters, more than the limit of {MAX_VOTERS:,}")
    check_amount(election.budget, "budget", zero_ok=True, decimal=False)
    for p in election.projects:
        check_amount(p.cost, f"cost of project {p.id!r}", decimal=False)
    points = election.points
    if points is not None and len(points) and int(np.max(points)) > MAX_POINTS:
        raise LimitError(f"{int(np.max(points))} points, more than the limit of {MAX_POINTS:,}")
    if election.vote_type == "ordinal":
        top = election.meta.get("max_length", "").strip()
        if top.isascii() and top.isdigit() and (len(top) > 7 or int(top) > MAX_POINTS):
            raise LimitError(f"max_length {top[:20]} is above the limit of {MAX_POINTS:,}")
