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
def listing(items) -> str:
    """Items joined as the language joins a list: "a, b" in English, "a、b" in Chinese."""
    from civicbudget.wording import listing as join

    return join(items)


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


@register.simple_tag
def stage_window(stage) -> str:
    """When a stage runs, in local time with hours: "5月21日 09:00 – 5月28日 18:00".

    Started and finished stages show what happened; the others what is planned. The year is
    given only when the two ends fall in different years.
    """
    from django.utils import timezone
    from django.utils.translation import get_language
    from django.utils.translation import gettext as _

    start = stage.started_at or stage.opens_at
    end = stage.finished_at or stage.closes_at
    if start is None:
        return ""
    zh = (get_language() or "").startswith("zh")

    def fmt(when, with_year: bool) -> str:
        when = timezone.localtime(when)
        if zh:
            return f"{when.year}年{when.month}月{when.day}日 {when:%H:%M}" if with_year else \
                f"{when.month}月{when.day}日 {when:%H:%M}"
        return when.strftime("%d %b %Y %H:%M" if with_year else "%d %b %H:%M").lstrip("0")

    if end is None or end <= start:
        # Running past its planned close (or with none): say since when, not a reversed range.
        return _("from %(start)s") % {"start": fmt(start, False)}
    years = timezone.localtime(start).year != timezone.localtime(end).year
    return f"{fmt(start, years)} – {fmt(end, years)}"


@register.simple_tag
def cycle_project_counts(cycle) -> dict:
    """The cycle card's figures, from the selector the statistics table uses."""
    from civicbudget.opendata.selectors import project_counts

    return project_counts(cycle)


@register.simple_tag(takes_context=True)
def page_query(context, number) -> str:
    """The current page's query string with ``page`` set to ``number``: a pager link that
    keeps the filters (street, community, ...) the reader chose."""
    query = context["request"].GET.copy()
    query["page"] = number
    return "?" + query.urlencode()
