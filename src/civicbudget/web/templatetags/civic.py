"""Template filters: money and counts with thousands separators, whatever the locale."""

from django import template

register = template.Library()


@register.filter
def thousands(value) -> str:
    """Return an integer with comma separators (1050000 -> 1,050,000); others unchanged."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


@register.filter
def get_item(mapping, key):
    """Return ``mapping[key]`` (or an empty list): dictionaries keyed by id in templates."""
    try:
        return mapping.get(key, [])
    except AttributeError:
        return []


@register.filter
def percent(value) -> str:
    """A ratio as a percentage with two decimals: 0.28213 -> "28.21%"."""
    try:
        return f"{float(value) * 100:.2f}%"
    except (TypeError, ValueError):
        return "–"
