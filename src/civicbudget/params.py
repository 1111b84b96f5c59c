"""Numbers from query strings and forms: ASCII digits within a range, or a clear refusal.

``str.isdigit`` accepts "²" and "١٢" (which ``int`` then refuses or reads as 12), and ids
beyond 2**63 overflow the database driver: every page reads its numbers through here.
"""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.http import HttpRequest
from django.utils.translation import gettext as _

MAX_ID = 2**63 - 1


def parse_int(text: str | None, *, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """Return the number ``text`` spells in ASCII digits within the range, else None."""
    text = (text or "").strip()
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    if not digits or len(digits) > 19 or not (digits.isascii() and digits.isdigit()):
        return None
    value = -int(digits) if negative else int(digits)
    return value if minimum <= value <= maximum else None


def query_int(request: HttpRequest, name: str, *, default: int | None = None, minimum: int = 1,
              maximum: int = MAX_ID) -> int | None:
    """The integer query parameter ``name``; absent or empty gives ``default``; anything else
    that is not a number in [minimum, maximum] answers 400 naming the parameter."""
    raw = request.GET.get(name)
    if raw is None or not raw.strip():
        return default
    value = parse_int(raw, minimum=minimum, maximum=maximum)
    if value is None:
        raise BadRequest(_("The parameter “%(name)s” must be a whole number from %(min)d to %(max)d.")
                         % {"name": name, "min": minimum, "max": maximum})
    return value


def is_number(text: str | None, *, minimum: int = 0, maximum: int = MAX_ID) -> bool:
    """True when ``text`` is ASCII digits for a number in the range: then ``int(text)`` is safe."""
    return parse_int(text, minimum=minimum, maximum=maximum) is not None
