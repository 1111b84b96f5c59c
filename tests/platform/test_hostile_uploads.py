"""Hostile CSV and XLSX uploads: each answers a small JSON 4xx naming what is wrong, imports
nothing, and costs the server little memory. The files are built here (zip + XML strings)."""

from __future__ import annotations

import gc
import io
import tracemalloc
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from civicbudget import tabular
from civicbudget.accounts.models import Role
from civicbudget.errors import ImportRejected
from civicbudget.places.models import Community, Street

from factories import staff, staff_login

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_STRINGS = ["街道", "社区", "人口", "海甸街道", "新社区"]


def _shared_strings(strings=_STRINGS, prolog: str = "") -> str:
    items = "".join(f"<si><t>{s}</t></si>" for s in strings)
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
            f'<sst xmlns="{_MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>')


def _sheet(rows: str, dimension: str | None = "A1:C2") -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}">{dim}'
            f"<sheetData>{rows}</sheetData></worksheet>")


_GOOD_ROWS = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
              '<c r="C1" t="s"><v>2</v></c></row>'
              '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>4</v></c>'
              '<c r="C2"><v>500</v></c></row>')


def _xlsx(sheet: str | None = None, strings: str | None = None, extra: dict | None = None,
          compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/sharedStrings.xml", strings if strings is not None else _shared_strings())
        archive.writestr("xl/worksheets/sheet1.xml", sheet if sheet is not None else _sheet(_GOOD_ROWS))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def admin_client(world) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff_login(client, staff(Role.DISTRICT_ADMIN, world.district))
    return client


def _post(client: Client, world, data: bytes, name: str = "places.xlsx"):
    return client.post(f"/api/districts/{world.district.pk}/places/import",
                       {"file": SimpleUploadedFile(name, data)})


def _assert_refused(response, *, contains: str = "", max_bytes: int = 4096) -> dict:
    assert 400 <= response.status_code < 500, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    assert len(response.content) < max_bytes
    body = response.json()
    assert body["code"] and body["message"]
    assert contains in body["message"]
    assert b"root:" not in response.content
    return body


def _nothing_imported(world) -> None:
    assert not Community.objects.filter(name="新社区").exists()
    assert Street.objects.filter(district=world.district).count() == 2


def test_a_well_formed_built_workbook_imports(admin_client, world):
    # The builder makes real workbooks: the refusals below are about what was changed.
    response = _post(admin_client, world, _xlsx())
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    assert Community.objects.filter(name="新社区", population=500).exists()


def test_a_billion_laughs_in_the_shared_strings_is_refused(admin_client, world):
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
    bomb = _shared_strings(["街道", "&lol9;", "人口", "海甸街道", "新社区"],
                           prolog=f"<!DOCTYPE sst [{entities}]>")
    body = _assert_refused(_post(admin_client, world, _xlsx(strings=bomb)), contains="entity")
    assert "lollol" not in str(body)
    _nothing_imported(world)


def test_an_external_entity_naming_etc_passwd_is_refused(admin_client, world):
    xxe = _shared_strings(["街道", "&xxe;", "人口", "海甸街道", "新社区"],
                          prolog='<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')
    _assert_refused(_post(admin_client, world, _xlsx(strings=xxe)), contains="entity")
    # Also in the sheet itself, which openpyxl parses while the rows stream.
    sheet = _sheet(_GOOD_ROWS).replace(
        f'<worksheet xmlns="{_MAIN}">',
        f'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><worksheet xmlns="{_MAIN}">')
    _assert_refused(_post(admin_client, world, _xlsx(sheet=sheet)), contains="entity")
    _nothing_imported(world)


def _xfd_workbook(rows: int, dimension: str | None) -> bytes:
    body = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>3</v></c><c r="XFD{r}"><v>1</v></c></row>'
                   for r in range(1, rows + 1))
    return _xlsx(sheet=_sheet(body, dimension=dimension))


@pytest.mark.parametrize("dimension", ["A1:XFD3000", "A1:B2", None])
def test_a_cell_at_column_xfd_is_refused_early_and_cheaply(admin_client, world, dimension):
    data = _xfd_workbook(3000, dimension)
    assert len(data) < 100_000
    gc.collect()
    tracemalloc.start()
    try:
        response = _post(admin_client, world, data)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    body = _assert_refused(response, contains="XFD")
    assert body["field"] == "XFD"
    # The earlier reader padded every row to 16,384 cells: ~740 MB for such a file.
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    _nothing_imported(world)


def test_a_zip_bomb_is_refused_from_its_directory(admin_client, world):
    padding = "<!-- " + "x" * (80 * 1024 * 1024) + " -->"
    bomb = _xlsx(extra={"xl/padding.xml": padding})
    assert len(bomb) < 200_000
    _assert_refused(_post(admin_client, world, bomb), contains="MB")
    ratio = _xlsx(extra={"xl/padding.xml": "<!-- " + "x" * (5 * 1024 * 1024) + " -->"})
    _assert_refused(_post(admin_client, world, ratio), contains="compressed")
    _nothing_imported(world)


def test_too_many_rows_or_broken_files_are_refused(admin_client, world, monkeypatch):
    monkeypatch.setattr(tabular, "MAX_ROWS", 10)
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>3</v></c></row>' for r in range(1, 30))
    _assert_refused(_post(admin_client, world, _xlsx(sheet=_sheet(rows, "A1:A29"))), contains="10 rows")
    # A cell far down with nothing between: counted, not walked for ever.
    far = _sheet('<row r="1048576"><c r="A1048576"><v>1</v></c></row>', None)
    _assert_refused(_post(admin_client, world, _xlsx(sheet=far)), contains="10 rows")
    _assert_refused(_post(admin_client, world, b"PK\x03\x04" + b"\x00" * 200))
    _assert_refused(_post(admin_client, world, _xlsx(sheet="<worksheet><sheetData><row")))
    _nothing_imported(world)


def test_csv_limits_name_the_line(admin_client, world, monkeypatch):
    long_line = "街道,社区,人口\n海甸街道," + "新" * (tabular.MAX_LINE_CHARS + 10) + ",5\n"
    body = _assert_refused(_post(admin_client, world, long_line.encode(), "p.csv"), contains="Line 2")
    assert body["details"][0]["line"] == 2
    big_cell = "街道,社区,人口\n海甸街道,新社区," + "9" * (tabular.MAX_CELL_CHARS + 1) + "\n"
    body = _assert_refused(_post(admin_client, world, big_cell.encode(), "p.csv"), contains="column C")
    assert body["field"] == "C"
    quoted = '街道,社区,人口\n海甸街道,"' + "多行\n" * 100_000 + '",5\n'
    _assert_refused(_post(admin_client, world, quoted.encode(), "p.csv"), contains="Line")
    wide = "街道,社区,人口" + ",x" * tabular.MAX_COLUMNS + "\n"
    _assert_refused(_post(admin_client, world, wide.encode(), "p.csv"), contains="column")
    _assert_refused(_post(admin_client, world, b"\xff\xfe\x00\x00garbage", "p.csv"))
    _assert_refused(_post(admin_client, world, "街道,社区,人口\n".encode("utf-16"), "p.csv"))
    monkeypatch.setattr(tabular, "MAX_ROWS", 5)
    many = "街道,社区,人口\n" + "海甸街道,新社区,5\n" * 20
    _assert_refused(_post(admin_client, world, many.encode(), "p.csv"), contains="5 rows")
    _nothing_imported(world)


def test_many_bad_rows_answer_a_few_kb_listing_the_first_and_counting_the_rest(admin_client, world):
    rows = "".join(f"海甸街道,社区{i},{'多' * 500}\n" for i in range(3000))
    rows += "海甸街道,社区x," + "9" * 5000 + "\n"
    response = _post(admin_client, world, ("街道,社区,人口\n" + rows).encode(), "p.csv")
    body = _assert_refused(response, max_bytes=8 * 1024)
    assert len(body["details"]) == 20
    assert body["details_omitted"] == 2981
    assert body["details"][0]["line"] == 2 and body["details"][0]["field"] == "population"
    assert not Community.objects.filter(name__startswith="社区").exists()


def test_xlsx_is_refused_when_openpyxl_would_parse_without_defusedxml(monkeypatch):
    import openpyxl

    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    with pytest.raises(ImportRejected, match="defusedxml"):
        tabular.read_table(_xlsx(), "p.xlsx", {})
