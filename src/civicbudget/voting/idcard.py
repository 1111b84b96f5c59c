"""Identity documents: mainland resident ID numbers (GB 11643) and ages on voting day."""

from __future__ import annotations

import datetime as dt
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
DOC_TYPES = ("id_card", "passport", "hk_macao", "taiwan")
_OTHER_RE = {
    "passport": re.compile(r"^[A-Z0-9]{5,17}$"),
    "hk_macao": re.compile(r"^[HM]\d{8,10}$|^C[A-Z0-9]{8}$"),
    "taiwan": re.compile(r"^\d{8}$|^T\d{8}$"),
}


class DocumentError(ValueError):
    """The document number is malformed; the message says how."""


def id_check_char(first17: str) -> str:
    """Return the GB 11643 check character of the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def parse_id_number(raw: str) -> dt.date:
    """Validate an 18-character resident ID number and return the birth date it carries."""
    number = (raw or "").strip().upper().replace(" ", "")
    if not _ID_RE.match(number):
        raise DocumentError("an ID number has 17 digits and a last digit or X")
    if id_check_char(number[:17]) != number[17]:
        raise DocumentError("the check digit does not match: the number is mistyped")
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise DocumentError("the birth date in the number is not a real date") from None
    if born.year < 1900:
        raise DocumentError("the birth date in the number is not plausible")
    return born


def normalize_document(doc_type: str, raw: str) -> str:
    """Return the canonical document number (upper case, no spaces) or raise DocumentError."""
    if doc_type not in DOC_TYPES:
        raise DocumentError(f"unknown document type {doc_type!r}")
    number = (raw or "").strip().upper().replace(" ", "").replace("-", "")
    if doc_type == "id_card":
        parse_id_number(number)
        return number
    if not _OTHER_RE[doc_type].match(number):
        raise DocumentError("the document number has the wrong format")
    return number


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
