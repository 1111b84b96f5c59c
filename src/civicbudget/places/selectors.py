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
                 {"id": c.pk, "name": c.name, "code": c.code, "population": c.population,
                  "eligible_population": c.eligible_population}
                 for c in by_street.get(s.pk, [])
             ]}
            for s in streets
        ],
    }


def place_by_level(level: str, place_id: int) -> Street | Community:
    """Return the street or community a pool-level request names; 404 when there is none."""
    from django.shortcuts import get_object_or_404
    from django.utils.translation import gettext as _

    from civicbudget.errors import ServiceError

    if level == "street":
        return get_object_or_404(Street, pk=place_id)
    if level == "community":
        return get_object_or_404(Community.objects.select_related("street"), pk=place_id)
    raise ServiceError(_("The level must be “street” or “community”."), field="level")
