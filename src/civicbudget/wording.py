"""Small text helpers shared by views and templates."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _


def listing(items: Iterable) -> str:
    """Items joined as the active language joins a list: "a, b" in English, "a、b" in Chinese."""
    # Translators: the separator between the items of a list (Chinese: the enumeration comma).
    return _(", ").join(str(i) for i in items)
