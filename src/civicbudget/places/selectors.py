"""Read places."""

from __future__ import annotations

from civicbudget.places.models import Community, District, Street


def district_tree(district: District) -> dict:
    """Return the district with its streets and each street's communities, by name."""
    streets = list(Street.objects.filter(district=district).order_by("name"))
    communities = list(Community.objects.filter(street__district=district).order_by("name"))
    by_street: dict[int, list[Community]] = {}
    for c in communities:
        by_street.setdefault(c.street_id, []).append(c)
    return {
        "id": district.pk, "name": district.name, "code": district.code,
        "population": district.population,
        "streets": [
            {"id": s.pk, "name": s.name, "code": s.code, "population": s.population,
             "communities": [
                 {"id": c.pk, "name": c.name, "code": c.code, "population": c.population}
                 for c in by_street.get(s.pk, [])
             ]}
            for s in streets
        ],
    }
