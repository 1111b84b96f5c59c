"""Places: create, edit, import (CSV/XLSX), each checked and audited."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.errors import ImportRejected, PermissionDenied, ServiceError
from civicbudget.places.models import Community, Street
from civicbudget.places.services import (
    community_create,
    district_create,
    place_update,
    places_import,
    street_create,
)

from factories import operator, staff

GOOD_CSV = (
    "街道,社区,人口,代码\n"
    "白龙街道,,36000,460108003\n"
    "白龙街道,白龙社区,8000,460108003001\n"
    "白龙街道,龙舌坡社区,\"7,500\",460108003002\n"
    "海甸街道,金甸社区,9000,\n"
).encode()


def _counts():
    return Street.objects.count(), Community.objects.count(), AuditEvent.objects.count()


def test_admin_creates_street_and_community_with_audit(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    street = street_create(actor=admin, district=world.district, name="白龙街道", population=36000)
    community = community_create(actor=admin, street=street, name="白龙社区", population="8,000")
    assert community.population == 8000
    events = list(AuditEvent.objects.order_by("id").values_list("action", "outcome", "actor_label"))
    assert events == [("street_create", "ok", admin.username), ("community_create", "ok", admin.username)]
    assert AuditEvent.objects.get(action="community_create").after["population"] == 8000


def test_duplicate_name_in_same_street_is_refused(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    before = _counts()
    with pytest.raises(ServiceError, match="already has a community") as info:
        community_create(actor=admin, street=world.haidian, name="海达社区")
    assert info.value.field == "name"
    assert _counts() == before


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "<script>alert(1)</script>"])
def test_bad_names_are_refused(world, name):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    with pytest.raises(ServiceError) as info:
        street_create(actor=admin, district=world.district, name=name)
    assert info.value.field == "name"
    assert not Street.objects.filter(name=name).exists()


def test_community_officer_cannot_edit_another_community(world):
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    population = world.baisha.population
    with pytest.raises(PermissionDenied):
        place_update(actor=officer, place=world.baisha, population=1)
    world.baisha.refresh_from_db()
    assert world.baisha.population == population
    assert AuditEvent.objects.filter(outcome="denied", action="configure_places").count() == 1


def test_street_officer_cannot_create_places(world):
    officer = staff(Role.STREET_OFFICER, world.haidian)
    with pytest.raises(PermissionDenied):
        community_create(actor=officer, street=world.haidian, name="新社区")
    assert not Community.objects.filter(name="新社区").exists()


def test_only_operators_create_districts(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    with pytest.raises(ServiceError):
        district_create(actor=admin, name="新区")
    district = district_create(actor=operator(), name="新区", population=1000)
    assert district.name == "新区"


def test_import_csv_creates_then_reimport_changes_nothing(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    report = places_import(actor=admin, district=world.district, data=GOOD_CSV, filename="places.csv")
    assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
    assert Community.objects.get(name="龙舌坡社区").population == 7500
    assert Community.objects.get(name="金甸社区").street == world.haidian
    again = places_import(actor=admin, district=world.district, data=GOOD_CSV, filename="places.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert Street.objects.filter(name="白龙街道").count() == 1


def test_import_updates_a_changed_population(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    places_import(actor=admin, district=world.district, data=GOOD_CSV, filename="p.csv")
    changed = GOOD_CSV.replace(b"8000,460108003001", b"8100,460108003001")
    report = places_import(actor=admin, district=world.district, data=changed, filename="p.csv")
    assert (report.created, report.updated) == (0, 1)
    assert Community.objects.get(name="白龙社区").population == 8100


def test_import_with_errors_names_rows_and_fields_and_imports_nothing(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    bad = (
        "street,community,population,code\n"
        "白龙街道,,36000,\n"
        "白龙街道,白龙社区,lots,\n"          # line 3: population
        ",无名社区,100,\n"                   # line 4: street missing
        "白龙街道,白龙社区,100,\n"           # line 5: duplicate
        "不存在街道,某社区,100,\n"           # line 6: unknown street
        "白龙街道,好社区,100,12-34\n"        # line 7: code
        "白龙街道,多余社区,100,1,extra\n"    # line 8: more cells than columns
    ).encode()
    before = _counts()
    with pytest.raises(ImportRejected) as info:
        places_import(actor=admin, district=world.district, data=bad, filename="bad.csv")
    found = [(d["line"], d["field"]) for d in info.value.details]
    assert found == [(3, "population"), (4, "street"), (5, "community"), (6, "street"),
                     (7, "code"), (8, "")]
    # The refusal is audited as denied, nothing else is written.
    assert _counts()[:2] == before[:2]


@pytest.mark.parametrize(("data", "filename", "message"), [
    (b"", "a.csv", "empty"),
    (b"\x00\x01\x02binary" * 10, "a.csv", "binary"),
    (b"foo,bar\n1,2\n", "a.csv", "no “street”"),
    (b"street\n", "a.csv", "no rows"),
    (b"PK\x03\x04 not really a zip", "a.xlsx", "not a valid XLSX"),
    (b"street\nA\n", "a.pdf", "Upload a .csv or .xlsx"),
])
def test_import_rejects_malformed_files(world, data, filename, message):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    with pytest.raises(ImportRejected, match=message):
        places_import(actor=admin, district=world.district, data=data, filename=filename)


def test_import_reads_gb18030_csv_from_chinese_excel(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    report = places_import(actor=admin, district=world.district,
                           data=GOOD_CSV.decode().encode("gb18030"), filename="excel.csv")
    assert report.created == 4


def test_import_xlsx(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["街道", "社区", "人口"])
    sheet.append(["白龙街道", None, 36000])
    sheet.append(["白龙街道", "振兴社区", 6000])
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = places_import(actor=admin, district=world.district, data=buffer.getvalue(),
                           filename="places.xlsx")
    assert report.created == 2
    assert Community.objects.get(name="振兴社区").population == 6000


def test_import_refused_for_street_officer(world):
    officer = staff(Role.STREET_OFFICER, world.haidian)
    with pytest.raises(PermissionDenied):
        places_import(actor=officer, district=world.district, data=GOOD_CSV, filename="p.csv")
    assert not Street.objects.filter(name="白龙街道").exists()


def test_import_sets_residents_of_voting_age_and_a_file_without_that_column_leaves_it(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    with_eligible = (
        "街道,社区,人口,选民基数,代码\n"
        "白龙街道,,36000,,460108003\n"
        "白龙街道,白龙社区,8000,6100,460108003001\n"
    ).encode()
    report = places_import(actor=admin, district=world.district, data=with_eligible, filename="p.csv")
    assert report.created == 2
    assert Community.objects.get(name="白龙社区").eligible_population == 6100
    # The older file (no such column) changes nothing, and does not wipe the figure.
    without = "街道,社区,人口,代码\n白龙街道,,36000,460108003\n白龙街道,白龙社区,8000,460108003001\n".encode()
    again = places_import(actor=admin, district=world.district, data=without, filename="p.csv")
    assert (again.updated, again.unchanged) == (0, 2)
    assert Community.objects.get(name="白龙社区").eligible_population == 6100

    too_many = with_eligible.replace(b"8000,6100", b"8000,9000")
    with pytest.raises(ImportRejected) as exc:
        places_import(actor=admin, district=world.district, data=too_many, filename="p.csv")
    assert [(e["line"], e["field"]) for e in exc.value.details] == [(3, "eligible_population")]
    assert Community.objects.get(name="白龙社区").eligible_population == 6100


def test_residents_of_voting_age_cannot_exceed_residents(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    with pytest.raises(ServiceError) as exc:
        community_create(actor=admin, street=world.haidian, name="新社区", population=100,
                         eligible_population=101)
    assert exc.value.field == "eligible_population"
    with pytest.raises(ServiceError):
        place_update(actor=admin, place=world.haida, eligible_population=world.haida.population + 1)
    place_update(actor=admin, place=world.haida, eligible_population=world.haida.population - 1)
    assert AuditEvent.objects.filter(action="community_update").count() == 1
