"""Issue 15's small fixes over the test client: the favicon, ``demo --help``, screening with
nothing pre-chosen, the 403 page and role-aware staff links, no English in the Chinese pages."""

from __future__ import annotations

import datetime as dt
import os
import re
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

from civicbudget.accounts.models import Role
from civicbudget.deliberation.models import Screening
from civicbudget.deliberation.services import screening_record
from civicbudget.voting.idcard import id_check_char
from civicbudget.voting.models import VotingChannel

from factories import advance_to, advance_to_vote, make_cycle, make_project, staff, staff_login

LATER = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)
MEILAN = ["in_area", "public_benefit", "within_pool", "not_planned", "feasible", "lawful",
          "no_private_benefit"]


def _login(user) -> Client:
    client = Client()
    staff_login(client, user)
    return client


class _Page(HTMLParser):
    """The words a reader sees (text, labels, placeholders) and the page's links; what sits in
    code, pre, script and style is code, not interface."""

    CODE = {"code", "pre", "kbd", "samp", "script", "style"}

    def __init__(self, html: str) -> None:
        super().__init__()
        self.depth, self.text, self.links = 0, [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in self.CODE:
            self.depth += 1
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if not self.depth:
            self.text += [attrs[k] for k in ("title", "placeholder", "aria-label", "alt") if attrs.get(k)]

    def handle_endtag(self, tag):
        if tag in self.CODE:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.text.append(data)


#: Names that stay as they are in Chinese: file formats, the product and a data format.
ALLOWED = {"API", "CSV", "JSON", "XLSX", "PDF", "civicbudget", "pabulib"}
# A word of 3+ ASCII letters that is not part of a path, file name, code or number.
WORD = re.compile(r"(?<![A-Za-z0-9_./:@-])[A-Za-z]{3,}(?![A-Za-z0-9_./:@-])")


def english_words(html: str) -> set[str]:
    return {w for w in WORD.findall(" ".join(_Page(html).text)) if w not in ALLOWED}


# -- favicon and CLI help -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_favicon_is_served_at_the_root_and_linked_from_every_page(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age" in response["Cache-Control"]
    page = client.get("/").content.decode()
    assert 'rel="icon"' in page and "favicon.svg" in page and "favicon-32.png" in page
    png = (Path(__file__).resolve().parents[2] / "src/civicbudget/web/static/civicbudget/favicon-32.png")
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", header[16:24]) == (32, 32)


def test_demo_help_names_every_option_and_creates_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CIVICBUDGET_DATA_DIR", "DATABASE_URL")}
    done = subprocess.run([sys.executable, "-m", "civicbudget.cli", "demo", "--help"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    for option in ("--data-dir DIR", "--port PORT", "--no-serve", "--workers WORKERS",
                   "DATABASE_URL", "./civicbudget-data"):
        assert option in done.stdout, option
    assert list(tmp_path.iterdir()) == []  # asking for help made no data directory


# -- screening ----------------------------------------------------------------------------------


@pytest.fixture
def screening(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan])
    return advance_to(cycle, "screen", staff(Role.DISTRICT_ADMIN, world.district), start=LATER)


def test_screening_starts_with_nothing_chosen_and_asks_for_each_criterion(world, screening):
    project = make_project(screening, world.haida, name="健身路径")
    client = _login(staff(Role.STREET_OFFICER, world.haidian))
    page = client.get(f"/staff/deliberation/projects/{project.pk}/").content.decode()
    radios = re.findall(r'<input type="radio" name="pass_[a-z_]+"[^>]*>', page)
    assert len(radios) == 2 * len(MEILAN)
    assert not [r for r in radios if "checked" in r]

    # Every criterion but one answered: refused, naming the one left out, nothing saved.
    form = {"action": "screen", **{f"pass_{k}": "1" for k in MEILAN if k != "lawful"}}
    answer = client.post(f"/staff/deliberation/projects/{project.pk}/do/", form, follow=True)
    assert "请说明项目是否符合“合法合规”" in answer.content.decode()
    assert not Screening.objects.filter(project=project).exists()

    form["pass_lawful"] = "1"
    client.post(f"/staff/deliberation/projects/{project.pk}/do/", form)
    assert Screening.objects.get(project=project).is_passed
    # Once saved, the page shows the choices made.
    page = client.get(f"/staff/deliberation/projects/{project.pk}/").content.decode()
    assert len([r for r in re.findall(r'<input type="radio"[^>]*>', page) if "checked" in r]) == len(MEILAN)


def test_the_public_page_names_the_criterion_a_project_did_not_meet(client, world, screening):
    officer = staff(Role.STREET_OFFICER, world.haidian)
    project = make_project(screening, world.haida, name="私家花园")
    screening_record(actor=officer, project=project,
                     results={k: (k != "feasible", "场地不足") for k in MEILAN})
    page = client.get(f"/cycles/{screening.pk}/deliberation/").content.decode()
    assert re.search(r"未通过项目未满足的标准：\s*可行 \(1\)", page)
    assert "未通过原因：可行" not in page
    assert not english_words(page)


# -- the 403 page and role-aware links ----------------------------------------------------------


@pytest.mark.parametrize("role", [Role.STREET_OFFICER, Role.COMMUNITY_OFFICER,
                                  Role.DEPARTMENT_REVIEWER, Role.POLLING_OFFICER, Role.OBSERVER])
def test_staff_pages_link_only_to_what_the_role_may_open(world, role):
    place = {Role.STREET_OFFICER: world.haidian, Role.COMMUNITY_OFFICER: world.haida,
             Role.DEPARTMENT_REVIEWER: world.department, Role.POLLING_OFFICER: world.haidian,
             Role.OBSERVER: world.district}[role]
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    advance_to(cycle, "screen", staff(Role.DISTRICT_ADMIN, world.district), start=LATER)
    client = _login(staff(role, place))
    seen: set[str] = set()
    queue = ["/staff/", f"/staff/cycles/{cycle.pk}/"]
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code != 403, (role, url)
        if url in ("/staff/", f"/staff/cycles/{cycle.pk}/"):
            queue += [link for link in _Page(response.content.decode()).links
                      if link.startswith("/staff/") and "logout" not in link]
    assert f"/staff/cycles/{cycle.pk}/" in seen and len(seen) > 5


def test_the_admin_still_sees_the_links_officers_do_not(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    client = _login(staff(Role.DISTRICT_ADMIN, world.district))
    home = client.get("/staff/").content.decode()
    assert "/staff/audit/" in home and f"/staff/districts/{world.district.pk}/cycles/new/" in home
    assert f"/staff/cycles/{cycle.pk}/phones/" in client.get(f"/staff/cycles/{cycle.pk}/").content.decode()


def test_the_403_page_says_why_and_where_to_go_in_chinese(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    client = _login(staff(Role.STREET_OFFICER, world.haidian))
    for url in ("/staff/audit/", f"/staff/cycles/{cycle.pk}/phones/"):
        response = client.get(url)
        assert response.status_code == 403
        assert response["Content-Type"].startswith("text/html")
        page = response.content.decode()
        assert "您无权打开此页面" in page and re.search(r"您的角色：\s*街道工作人员 · 海甸街道", page)
        assert 'href="/staff/"' in page and "返回后台首页" in page
        assert not english_words(page), url
    # The reason names the missing permission in words, not the code "manage cycles".
    page = client.get(f"/staff/cycles/{cycle.pk}/phones/").content.decode()
    assert "您的角色（街道工作人员）无权创建和推进项目期。" in page
    assert "只有监督员、审计员和区管理员可以查看审计记录" in client.get("/staff/audit/").content.decode()


def test_the_api_keeps_its_json_refusals(world):
    client = _login(staff(Role.STREET_OFFICER, world.haidian))
    response = client.get("/api/audit")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


# -- Chinese pages without English --------------------------------------------------------------


def test_staff_cycle_pages_speak_chinese(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    client = _login(staff(Role.DISTRICT_ADMIN, world.district))
    page = client.get(f"/staff/cycles/{cycle.pk}/").content.decode()
    assert "美兰全流程参与式预算（八阶段）" in page and "提交提议" in page
    assert not english_words(page)
    page = client.get(f"/staff/districts/{world.district.pk}/cycles/new/").content.decode()
    assert "海口市美兰区2017—2018年双创微实事" in page
    assert not english_words(page)
    # In English the same pages show the English names.
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get(f"/staff/districts/{world.district.pk}/cycles/new/").content.decode()
    assert "Meilan full PB (eight stages)" in page and "Collect proposals" in page


def test_the_open_data_page_describes_every_column_in_chinese(client, world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    page = client.get(f"/cycles/{cycle.pk}/open-data/").content.decode()
    assert "<code>tracking_code</code> 查询码" in page and "<code>input_hash</code>" in page
    assert not english_words(page)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get(f"/cycles/{cycle.pk}/open-data/").content.decode()
    assert "<code>tracking_code</code> tracking code" in page


def test_a_wrong_check_digit_is_explained_in_chinese(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    advance_to_vote(cycle, staff(Role.DISTRICT_ADMIN, world.district))
    first17 = "46010819900101321"
    wrong = "0" if id_check_char(first17) != "0" else "1"
    page = Client().post(f"/cycles/{cycle.pk}/vote/", {
        "doc_type": "id_card", "doc_number": first17 + wrong, "community": world.haida.pk,
        "basis": "live", "phone": "13911112222"}).content.decode()
    assert "校验位不符：号码可能输错了。" in page
    assert not english_words(page)


def test_the_school_channel_does_not_double_a_word():
    with translation.override("zh-hans"):
        from django.utils.translation import gettext as _

        text = _("You voted on %(when)s via %(channel)s.") % {
            "when": "5月21日", "channel": VotingChannel.SCHOOL.label}
    assert text == "您已于5月21日通过学校投票点投票。"


def test_lists_read_as_lists_in_each_language():
    from django.template import Context, Template
    from django.utils import translation

    from civicbudget.wording import listing

    with translation.override("zh-hans"):
        assert listing(["征集提议", "合并提议"]) == "征集提议、合并提议"
        assert Template("{% load civic %}{{ xs|listing }}").render(Context({"xs": ["甲", "乙"]})) == "甲、乙"
    with translation.override("en"):
        assert listing(["submit proposals", "merge proposals"]) == "submit proposals, merge proposals"
