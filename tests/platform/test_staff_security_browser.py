"""Two-factor enrolment in a real browser: the QR code shows under the site's CSP, the code
from the authenticator opens the back-office."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlparse

import pytest

from browser_support import ARTIFACTS, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture
def admin(transactional_db):
    from civicbudget.accounts.models import Role

    from factories import DistrictFactory, staff

    return staff(Role.DISTRICT_ADMIN, DistrictFactory(name="美兰区"))


def test_district_admin_enrols_an_authenticator_and_reaches_the_back_office(admin, live_server,
                                                                            page):
    from django_otp.oath import TOTP

    from factories import PASSWORD

    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(live_server.url + "/staff/login/")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/two-factor/enrol/**")
    assert page.locator(".qr svg").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "staff-2fa-enrol.png"), full_page=True)
    page.locator("details summary").click()
    uri = page.locator("details code").inner_text()
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key)
    totp.time = time.time()
    page.fill("input[name=code]", f"{totp.token():06d}")
    page.get_by_role("button", name="确认").click()
    page.wait_for_url("**/staff/")
    assert "区管理员" in page.content()
    assert blocked == []
