"""The one canonical form of every identifier that decides who someone is, and keyed hashes.

Identity numbers (every document type) and phone numbers pass through ``canonical_document``
and ``canonical_phone`` before any check, hash or lookup, at every entry point. The rule:
NFKC first (full-width digits and letters become ASCII), then spaces, dashes and invisible
format characters are dropped, then only the ASCII characters the format allows remain;
anything else (Arabic-Indic or Devanagari digits, Cyrillic or Greek look-alikes of X, ...)
is refused with a message naming the field and the character. Refusing rather than mapping
other scripts' digits keeps the rule small: one number has one accepted spelling per
keyboard width, so two spellings can never make two voters.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from django.conf import settings
from django.utils.translation import gettext as _

#: Longer input is refused before NFKC (which can expand a character into many).
RAW_MAX = 64

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
DOC_TYPES = ("id_card", "passport", "hk_macao", "taiwan")
_DOC_RE = {
    "id_card": re.compile(r"[0-9]{17}[0-9X]", re.ASCII),
    "passport": re.compile(r"[A-Z0-9]{5,17}", re.ASCII),
    "hk_macao": re.compile(r"[HM][0-9]{8,10}|C[A-Z0-9]{8}", re.ASCII),
    "taiwan": re.compile(r"[0-9]{8}|T[0-9]{8}", re.ASCII),
}
_DOC_ALLOWED = {
    "id_card": frozenset("0123456789X"),
    "passport": frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    "hk_macao": frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    "taiwan": frozenset("0123456789T"),
}
_PHONE_ALLOWED = frozenset("0123456789+")
_MOBILE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
_LANDLINE = re.compile(r"0[0-9]{2,3}[0-9]{7,8}", re.ASCII)
# Minus sign and the like are not category Pd but are typed as dashes.
_DASHES = frozenset("\u2212\u2043\ufe63\uff0d")


class IdentifierError(ValueError):
    """The identifier cannot be read; ``field`` names the form field, the message says why."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def keyed_hash(value: str, purpose: str) -> str:
    """Return the HMAC-SHA256 (hex) of ``value`` for one ``purpose`` (phone, id number, ip)."""
    key = settings.IDENTITY_HMAC_KEY.encode()
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def document_hash(doc_type: str, raw: str, *, field: str = "doc_number") -> str:
    """The keyed hash that stands for a document everywhere (voters, group lists).

    Canonicalises first (:func:`canonical_document`), so every spelling of one document, in
    any script's digits, has one hash; raises IdentifierError as that does.
    """
    return keyed_hash(f"{doc_type}:{canonical_document(doc_type, raw, field=field)}", "document")


def _separator(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category in ("Zs", "Zl", "Zp", "Pd", "Cf") or ch in _DASHES or ch in "\t\n\r\v\f"


def _squeeze(raw: str, *, label: str, field: str, allowed: frozenset[str], drop: str = "",
             upper: bool = False) -> str:
    """NFKC, drop separators, then refuse the first character ``allowed`` does not hold."""
    raw = raw or ""
    if len(raw) > RAW_MAX:
        raise IdentifierError(_("The %(label)s is too long (more than %(max)d characters).")
                              % {"label": label, "max": RAW_MAX}, field)
    text = unicodedata.normalize("NFKC", raw)
    kept = []
    for ch in text:
        if _separator(ch) or ch in drop:
            continue
        # Only ASCII letters are upper-cased: str.upper() would turn 'ß' into 'SS'.
        if upper and "a" <= ch <= "z":
            ch = chr(ord(ch) - 32)
        if ch not in allowed:
            raise IdentifierError(
                _("The %(label)s holds the character '%(char)s' (U+%(code)04X), which is not allowed: "
                  "type it with the digits 0-9%(letters)s.")
                % {"label": label, "char": ch, "code": ord(ch),
                   "letters": _(" and the letters A-Z") if "A" in allowed or "X" in allowed else ""},
                field)
        kept.append(ch)
    return "".join(kept)


def id_check_char(first17: str) -> str:
    """Return the GB 11643 check character of the first 17 (ASCII) digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def canonical_document(doc_type: str, raw: str, *, field: str = "doc_number") -> str:
    """Return the one canonical spelling of a document number, or raise IdentifierError.

    A resident ID number must also carry the right GB 11643 check character.
    """
    if doc_type not in DOC_TYPES:
        raise IdentifierError(_("Unknown document type “%(value)s”.") % {"value": str(doc_type)[:20]},
                              "doc_type")
    label = _("document number")
    number = _squeeze(raw, label=label, field=field, allowed=_DOC_ALLOWED[doc_type], upper=True)
    if not _DOC_RE[doc_type].fullmatch(number):
        if doc_type == "id_card":
            raise IdentifierError(_("An ID number has 17 digits and a last digit or X."), field)
        raise IdentifierError(_("The document number has the wrong format."), field)
    if doc_type == "id_card" and id_check_char(number[:17]) != number[17]:
        raise IdentifierError(_("The check digit does not match: the number is mistyped."), field)
    return number


def canonical_phone(raw: str, *, mobile_only: bool = False, field: str = "phone") -> str:
    """Return a phone as its ASCII digits (mainland mobile, or landline unless ``mobile_only``)
    without the +86 country code, or raise IdentifierError."""
    digits = _squeeze(raw, label=_("phone number"), field=field, allowed=_PHONE_ALLOWED, drop="()")
    if "+" in digits[1:]:
        raise IdentifierError(_("A '+' can only start the phone number."), field)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if _MOBILE.fullmatch(digits) or (not mobile_only and _LANDLINE.fullmatch(digits)):
        return digits
    if mobile_only:
        raise IdentifierError(_("Give an 11-digit mobile number, such as 13812345678."), field)
    raise IdentifierError(_("Give an 11-digit mobile number such as 13812345678, or a landline "
                            "with its area code."), field)


#: GB 32100-2015: the 31 characters of a unified social credit code (no I, O, S, V, Z) and
#: the weights of its first 17 positions (3**i mod 31).
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_ASCII = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_CREDIT_RE = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}", re.ASCII)


def credit_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character of the first 17 characters of a credit code."""
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def canonical_credit_code(raw: str, *, field: str = "credit_code") -> str:
    """Return the one canonical spelling of a unified social credit code (统一社会信用代码),
    or raise IdentifierError naming ``field``.

    NFKC (full-width letters and digits become ASCII), ASCII letters upper-cased, spaces and
    hyphens dropped; then 18 characters of the GB 32100-2015 alphabet, digits in the
    administrative-division positions 3-8, and the right check character.
    """
    label = _("unified social credit code")
    code = _squeeze(raw, label=label, field=field, allowed=_CREDIT_ASCII, upper=True)
    if len(code) != 18:
        raise IdentifierError(_("A unified social credit code has 18 characters; this one has %(n)d.")
                              % {"n": len(code)}, field)
    excluded = sorted({c for c in code if c in "IOSVZ"})
    if excluded:
        raise IdentifierError(_("A unified social credit code never holds the letters I, O, S, V or Z "
                                "(found %(chars)s): check for a digit typed as a letter.")
                              % {"chars": "、".join(excluded)}, field)
    if not _CREDIT_RE.fullmatch(code):
        raise IdentifierError(_("Characters 3 to 8 of a unified social credit code are the digits of "
                                "the administrative division."), field)
    if credit_check_char(code[:17]) != code[17]:
        raise IdentifierError(_("The check character of the unified social credit code does not match: "
                                "the code is mistyped."), field)
    return code
