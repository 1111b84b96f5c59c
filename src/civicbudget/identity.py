"""Keyed hashes and phone numbers: identity data is compared by HMAC, never stored in clear."""

from __future__ import annotations

import hashlib
import hmac
import re

from django.conf import settings

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def keyed_hash(value: str, purpose: str) -> str:
    """Return the HMAC-SHA256 (hex) of ``value`` for one ``purpose`` (phone, id number, ip)."""
    key = settings.IDENTITY_HMAC_KEY.encode()
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def normalize_phone(raw: str, *, mobile_only: bool = False) -> str | None:
    """Return the phone as digits (mainland mobile or landline), or None if it is not one."""
    digits = re.sub(r"[\s\-()（）]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if _MOBILE.match(digits):
        return digits
    if not mobile_only and _LANDLINE.match(digits):
        return digits
    return None
