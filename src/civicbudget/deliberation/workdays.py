"""Working days: review deadlines count Monday to Friday, minus the cycle's listed holidays."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def add_working_days(start: dt.date, days: int, holidays: Iterable[dt.date] = ()) -> dt.date:
    """Return the date ``days`` working days after ``start`` (Longgang: review within 5)."""
    off = set(holidays)
    day = start
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in off:
            left -= 1
    return day


def parse_holidays(values: Iterable[str]) -> set[dt.date]:
    result = set()
    for value in values:
        try:
            result.add(dt.date.fromisoformat(str(value)))
        except ValueError:
            continue
    return result
