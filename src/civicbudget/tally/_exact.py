"""Exact rational arithmetic: gmpy2's ``mpq`` when installed, else ``fractions.Fraction``.

Both give identical results; ``mpq`` is several times faster, which matters for the method
of equal shares on large elections.
"""

from __future__ import annotations

import weakref
from fractions import Fraction
from typing import Any

try:  # pragma: no cover - depends on the environment
    from gmpy2 import mpq as _mpq

    def Q(value: Any, denominator: Any = 1) -> Any:  # noqa: N802
        """Return the exact rational value/denominator."""
        if isinstance(value, Fraction):
            return _mpq(value.numerator, value.denominator) / denominator
        return _mpq(value, denominator)

    HAS_GMPY2 = True
except ImportError:  # pragma: no cover

    def Q(value: Any, denominator: Any = 1) -> Any:  # noqa: N802
        """Return the exact rational value/denominator."""
        return Fraction(value) / Fraction(denominator)

    HAS_GMPY2 = False


def to_fraction(value: Any) -> Fraction:
    """Return ``value`` (int, Fraction or mpq) as a ``fractions.Fraction``."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    return Fraction(int(value.numerator), int(value.denominator))


# The float paths of MES (mes_fast, mes_kernel) carry error bounds relative to U = 2**-53
# that hold only while no value, product or quotient under- or overflows. Costs, scales and
# voter budgets in [2**-200, 2**200] (or exactly 0), with integer weights below 2**53, keep
# every intermediate within about [2**-520, 2**520], far inside float64 (2**-1022 ..
# 2**1024). The limits of civicbudget.tally.limits keep real inputs in [2**-43, 2**62].
FLOAT_LO = Fraction(1, 2**200)
FLOAT_HI = Fraction(2**200)
WEIGHT_HI = 2**53  # integers up to this are exact in float64


def float_safe(value: Any) -> bool:
    """Return True when the exact ``value`` may enter the float paths: 0 or within range."""
    f = to_fraction(value)
    return f == 0 or FLOAT_LO <= abs(f) <= FLOAT_HI


_SAFE_PREPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # prepared -> fits


def floats_fit(prep: Any, voter_budget: Any) -> bool:
    """Return True when MES on ``prep`` at ``voter_budget`` may be decided in floats.

    Costs and scales within :data:`FLOAT_LO` .. :data:`FLOAT_HI`, project weights below
    :data:`WEIGHT_HI` (checked once per prepared election), and the voter budget likewise.
    Otherwise the callers take the exact path: same outcome, only slower.
    """
    ok = _SAFE_PREPS.get(prep)
    if ok is None:
        ok = _SAFE_PREPS[prep] = (
            all(float_safe(c) for c in prep.costs)
            and all(float_safe(s) for s in prep.scales)
            and sum(prep.weight_total) < WEIGHT_HI
            and prep.num_voters < WEIGHT_HI
        )
    return ok and float_safe(voter_budget)


def fmt(value: Any, grouping: bool = False) -> str:
    """Format an exact number as an int string when integral, else a decimal with 2 places.

    Rounded in integers (half up), not through float(), which fails on huge values;
    ``grouping`` adds thousands separators (``1,234.50``).
    """
    f = to_fraction(value)
    if f.denominator == 1:
        return f"{f.numerator:,}" if grouping else str(f.numerator)
    cents = (abs(f) * 100 + Fraction(1, 2)).__floor__()
    sign = "-" if f < 0 and cents else ""
    whole = f"{cents // 100:,}" if grouping else str(cents // 100)
    return f"{sign}{whole}.{cents % 100:02d}"
