"""Place paths: "d<id>/s<id>/c<id>/" strings that make "is inside" a prefix test."""

from __future__ import annotations

from typing import Any


def place_path(place: Any) -> str:
    """Return the path of a district, street, community or department."""
    label = place._meta.model_name
    if label == "district":
        return f"d{place.pk}/"
    if label == "street":
        return f"d{place.district_id}/s{place.pk}/"
    if label == "community":
        return f"d{place.street.district_id}/s{place.street_id}/c{place.pk}/"
    if label == "department":
        return f"d{place.district_id}/dep{place.pk}/"
    if label == "cycle":
        return f"d{place.district_id}/"
    raise TypeError(f"not a place: {place!r}")


def path_contains(outer: str, inner: str) -> bool:
    """Return whether the place at ``inner`` lies within (or is) the place at ``outer``."""
    return inner.startswith(outer)
