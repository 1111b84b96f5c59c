"""Create, edit and import places. Every change is checked, then audited."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from civicbudget.accounts.permissions import permission_require
from civicbudget.audit.models import AuditEvent
from civicbudget.audit.services import audit_record, snapshot
from civicbudget.errors import ImportRejected, ServiceError
from civicbudget.places.models import Community, Department, District, Street
from civicbudget.places.paths import place_path
from civicbudget.tabular import read_table

NAME_MAX = 100
_CODE_RE = re.compile(r"^[0-9A-Za-z]{0,20}$")


def _clean_name(value: str, field_name: str = "name") -> str:
    name = (value or "").strip()
    if not name:
        raise ServiceError(_("The name is empty."), field=field_name)
    if len(name) > NAME_MAX:
        raise ServiceError(_("The name is longer than %(max)d characters.") % {"max": NAME_MAX},
                           field=field_name)
    if any(ch in name for ch in "<>\x00"):
        raise ServiceError(_("The name contains characters that are not allowed (< > or NUL)."),
                           field=field_name)
    return name


def _clean_population(value: int | str | None, field_name: str = "population") -> int:
    if value is None or value == "":
        return 0
    text = str(value).replace(",", "").replace("，", "").strip()
    if not (text.isascii() and text.isdigit()):
        raise ServiceError(_("The population must be a whole number ≥ 0, not “%(value)s”.")
                           % {"value": str(value)[:30]}, field=field_name)
    if len(text.lstrip("0")) > 12:  # int() of thousands of digits is slow, then refused anyway
        raise ServiceError(_("The population %(value)s is not plausible.") % {"value": text[:30] + "…"},
                           field=field_name)
    number = int(text)
    if number > 100_000_000:
        raise ServiceError(_("The population %(value)s is not plausible.") % {"value": number},
                           field=field_name)
    return number


def _check_eligible(population: int, eligible: int) -> None:
    if eligible > population > 0:
        raise ServiceError(_("More residents of voting age (%(eligible)s) than residents (%(all)s).")
                           % {"eligible": eligible, "all": population}, field="eligible_population")


def _clean_code(value: str | None) -> str:
    code = (value or "").strip()
    if not _CODE_RE.match(code):
        raise ServiceError(_("The code must be up to 20 letters or digits."), field="code")
    return code


def district_create(*, actor, name: str, population: int = 0, code: str = "") -> District:
    """Create a district. Only superusers (operators) create districts."""
    if not getattr(actor, "is_superuser", False):
        audit_record(actor, "district_create", None, outcome="denied",
                     message="only operators create districts")
        raise ServiceError(_("Only an operator can create a district."), code="permission_denied")
    with transaction.atomic():
        district = District.objects.create(
            name=_clean_name(name), population=_clean_population(population), code=_clean_code(code)
        )
        audit_record(actor, "district_create", district, after=snapshot(district), place=district)
    return district


def street_create(*, actor, district: District, name: str, population: int | str = 0,
                  code: str = "") -> Street:
    """Create a street in a district."""
    permission_require(actor, "configure_places", district)
    name = _clean_name(name)
    if Street.objects.filter(district=district, name=name).exists():
        raise ServiceError(_("%(district)s already has a street named %(name)s.")
                           % {"district": district, "name": name}, field="name", code="duplicate")
    with transaction.atomic():
        street = Street.objects.create(
            district=district, name=name, population=_clean_population(population),
            code=_clean_code(code),
        )
        audit_record(actor, "street_create", street, after=snapshot(street), place=street)
    return street


def community_create(*, actor, street: Street, name: str, population: int | str = 0,
                     code: str = "", eligible_population: int | str = 0) -> Community:
    """Create a community in a street (``eligible_population``: residents of voting age)."""
    permission_require(actor, "configure_places", street)
    name = _clean_name(name)
    if Community.objects.filter(street=street, name=name).exists():
        raise ServiceError(_("%(street)s already has a community named %(name)s.")
                           % {"street": street, "name": name}, field="name", code="duplicate")
    population = _clean_population(population)
    eligible = _clean_population(eligible_population, "eligible_population")
    _check_eligible(population, eligible)
    with transaction.atomic():
        community = Community.objects.create(
            street=street, name=name, population=population, eligible_population=eligible,
            code=_clean_code(code),
        )
        audit_record(actor, "community_create", community, after=snapshot(community),
                     place=community)
    return community


def place_update(*, actor, place: Street | Community, population: int | str | None = None,
                 name: str | None = None, code: str | None = None,
                 eligible_population: int | str | None = None) -> Street | Community:
    """Change a street's or community's name, population, residents of voting age or code."""
    permission_require(actor, "configure_places", place)
    before = snapshot(place)
    if name is not None:
        place.name = _clean_name(name)
    if population is not None:
        place.population = _clean_population(population)
    if eligible_population is not None:
        place.eligible_population = _clean_population(eligible_population, "eligible_population")
    if code is not None:
        place.code = _clean_code(code)
    _check_eligible(place.population, place.eligible_population)
    try:
        with transaction.atomic():
            place.save()
            audit_record(actor, f"{place._meta.model_name}_update", place, before=before,
                         after=snapshot(place), place=place)
    except IntegrityError as exc:
        raise ServiceError(_("Another place there already has that name."), field="name",
                           code="duplicate") from exc
    return place


def department_create(*, actor, district: District, name: str) -> Department:
    """Create a district department (职能单位)."""
    permission_require(actor, "configure_places", district)
    name = _clean_name(name)
    if Department.objects.filter(district=district, name=name).exists():
        raise ServiceError(_("This department exists already."), field="name", code="duplicate")
    with transaction.atomic():
        department = Department.objects.create(district=district, name=name)
        audit_record(actor, "department_create", department, after=snapshot(department),
                     place=district)
    return department


PLACE_IMPORT_ALIASES = {
    "街道": "street", "街道名称": "street", "street": "street",
    "社区": "community", "社区名称": "community", "community": "community",
    "人口": "population", "常住人口": "population", "户籍人口": "population",
    "population": "population",
    "选民基数": "eligible_population", "适龄人口": "eligible_population",
    "15岁以上人口": "eligible_population", "eligible": "eligible_population",
    "eligible_population": "eligible_population",
    "代码": "code", "区划代码": "code", "code": "code",
}


FIGURES = ("population", "eligible_population", "code")


def _figures(info: dict) -> dict:
    return {key: info[key] for key in FIGURES if key in info}


def _changed(place: Street | Community, info: dict) -> list[str]:
    return [key for key in FIGURES if key in info and getattr(place, key) != info[key]]


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "errors": self.errors}


def places_import(*, actor, district: District, data: bytes, filename: str) -> ImportReport:
    """Import streets and communities from CSV/XLSX; all rows or none.

    Columns: ``street`` (街道), ``community`` (社区, empty on a street's own row),
    ``population`` (人口), ``eligible_population`` (选民基数: residents of voting age, the base
    of turnout), ``code`` (代码). Re-importing the same file changes nothing; a changed
    figure updates the place; a column the file does not have leaves that figure alone.
    """
    permission_require(actor, "configure_places", district)
    table = read_table(data, filename, PLACE_IMPORT_ALIASES)
    if "street" not in table.headers:
        raise ImportRejected(_("The header has no “street” (街道) column; found: %(found)s.")
                             % {"found": ", ".join(h for h in table.headers if h) or "-"},
                             field="street")
    if not table.rows:
        raise ImportRejected(_("The file has a header but no rows."))

    errors: list[dict] = []
    streets: dict[str, dict] = {}
    communities: dict[tuple[str, str], dict] = {}
    for line, row in table.rows:
        if row.get("__extra__"):
            errors.append({"line": line, "field": "", "message": _("more cells than header columns")})
            continue
        try:
            street_name = _clean_name(row.get("street", ""), "street")
        except ServiceError as exc:
            errors.append({"line": line, "field": "street", "message": exc.message})
            continue
        community_raw = row.get("community", "")
        values = {}
        for key in FIGURES:
            if key not in table.headers:
                continue
            try:
                values[key] = (_clean_code(row.get(key, "")) if key == "code"
                               else _clean_population(row.get(key, ""), key))
            except ServiceError as exc:
                errors.append({"line": line, "field": key, "message": exc.message})
        try:
            _check_eligible(values.get("population", 0), values.get("eligible_population", 0))
        except ServiceError as exc:
            errors.append({"line": line, "field": exc.field, "message": exc.message})
        if community_raw.strip():
            try:
                community_name = _clean_name(community_raw, "community")
            except ServiceError as exc:
                errors.append({"line": line, "field": "community", "message": exc.message})
                continue
            key = (street_name, community_name)
            if key in communities:
                errors.append({"line": line, "field": "community",
                               "message": _("community %(name)s appears twice (first on line %(first)d)")
                               % {"name": community_name, "first": communities[key]["line"]}})
                continue
            communities[key] = {"line": line, **values}
        else:
            if street_name in streets:
                errors.append({"line": line, "field": "street",
                               "message": _("street %(name)s appears twice (first on line %(first)d)")
                               % {"name": street_name, "first": streets[street_name]["line"]}})
                continue
            streets[street_name] = {"line": line, **values}

    existing_streets = {s.name: s for s in Street.objects.filter(district=district)}
    for (street_name, _community), info in communities.items():
        if street_name not in streets and street_name not in existing_streets:
            errors.append({"line": info["line"], "field": "street",
                           "message": _("street %(name)s is neither in %(district)s nor on a row of this file")
                           % {"name": street_name, "district": district}})
    if errors:
        errors.sort(key=lambda e: e["line"])
        raise ImportRejected(
            _("Nothing was imported: %(count)d problem(s) in the file.") % {"count": len(errors)},
            details=errors,
        )

    report = ImportReport()
    events: list[AuditEvent] = []
    with transaction.atomic():
        for name, info in streets.items():
            street = existing_streets.get(name)
            if street is None:
                street = Street.objects.create(district=district, name=name, **_figures(info))
                existing_streets[name] = street
                report.created += 1
                events.append(("street_create", street, None))
            elif changed := _changed(street, info):
                before = snapshot(street)
                for key in changed:
                    setattr(street, key, info[key])
                street.save(update_fields=changed)
                report.updated += 1
                events.append(("street_update", street, before))
            else:
                report.unchanged += 1
        existing_communities = {
            (c.street.name, c.name): c
            for c in Community.objects.filter(street__district=district).select_related("street")
        }
        for (street_name, name), info in communities.items():
            community = existing_communities.get((street_name, name))
            if community is None:
                community = Community.objects.create(street=existing_streets[street_name], name=name,
                                                     **_figures(info))
                report.created += 1
                events.append(("community_create", community, None))
            elif changed := _changed(community, info):
                before = snapshot(community)
                for key in changed:
                    setattr(community, key, info[key])
                community.save(update_fields=changed)
                report.updated += 1
                events.append(("community_update", community, before))
            else:
                report.unchanged += 1
        for action, obj, before in events:
            audit_record(actor, action, obj, before=before, after=snapshot(obj), place=obj,
                         message=_("imported from %(file)s") % {"file": filename[:100]})
        audit_record(actor, "places_import", district, after=report.as_dict(), place=district,
                     message=filename[:200])
    return report


__all__ = [
    "community_create", "department_create", "district_create", "place_update", "places_import",
    "place_path", "street_create",
]
