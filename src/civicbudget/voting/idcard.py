"""Identity documents: the birth date a resident ID number (GB 11643) carries, ages on voting day.

The canonical form of every document number lives in ``civicbudget.identity``."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from civicbudget.identity import DOC_TYPES, canonical_document, id_check_char
from civicbudget.identity import IdentifierError as DocumentError

__all__ = ["DOC_TYPES", "DocumentError", "age_band", "age_on", "id_check_char", "parse_id_number"]


def parse_id_number(raw: str) -> dt.date:
    """Validate a resident ID number (through the one canonical form) and return the birth
    date it carries."""
    number = canonical_document("id_card", raw)
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise DocumentError(_("The birth date in the number is not a real date."), "doc_number") from None
    if born.year < 1900:
        raise DocumentError(_("The birth date in the number is not plausible."), "doc_number")
    return born


def age_on(born: dt.date, day: dt.date) -> int:
    """Return the age in whole years on ``day``; someone born on 29 February turns a year
    older on 1 March in common years (the day after 28 February)."""
    years = day.year - born.year
    if (day.month, day.day) < (born.month, born.day):
        years -= 1
    return years


def age_band(age: int) -> str:
    """Return the reporting band of an age (15-24, 25-34, ..., 65+)."""
    if age < 25:
        return "15-24"
    if age >= 65:
        return "65+"
    low = 15 + (age - 15) // 10 * 10
    return f"{low}-{low + 9}"
