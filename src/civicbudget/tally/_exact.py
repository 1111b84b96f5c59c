"""Exact rational arithmetic: gmpy2's ``mpq`` when installed, else ``fractions.Fraction``.

Both give identical results; ``mpq`` is several times faster, which matters for the method
of equal shares on large elections.
"""

from __future__ import annotations

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


def fmt(value: Any) -> str:
    """Format an exact number as an int string when integral, else a decimal with 2 places."""
    f = to_fraction(value)
    if f.denominator == 1:
        return str(f.numerator)
    return f"{float(f):.2f}"
