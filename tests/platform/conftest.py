"""A small district shared by the platform tests: two streets, three communities."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from civicbudget.places.models import Community, Department, District, Street

from browser_support import ARTIFACTS, CHROMIUM
from factories import CommunityFactory, DepartmentFactory, DistrictFactory, StreetFactory

# `civicbudget demo`/`serve` compile the tally's compiled run in a detached process when it
# is missing: not from the test suite (tests/tally/test_tally_jit.py tests that on purpose).
os.environ.setdefault("CIVICBUDGET_TALLY_NO_BACKGROUND", "1")


@dataclass
class World:
    district: District
    other_district: District
    haidian: Street
    renmin: Street
    haida: Community
    fuan: Community
    baisha: Community
    other_community: Community
    department: Department


@pytest.fixture(autouse=True)
def _fresh_suggestion_cache():
    # Ids come back after each test's rollback: what a process keeps between suggestions
    # (proposals.selectors) must not outlive its test.
    from civicbudget.proposals.selectors import suggestion_cache_clear

    suggestion_cache_clear()
    yield
    suggestion_cache_clear()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Real hashing costs ~0.3 s per account; the tests create hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english_messages():
    # Service messages are asserted in English; pages and the API pick the language per
    # request (Chinese by default), which the page tests check.
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def world(db) -> World:
    district = DistrictFactory(name="美兰区")
    other = DistrictFactory(name="龙华区")
    haidian = StreetFactory(district=district, name="海甸街道")
    renmin = StreetFactory(district=district, name="人民路街道")
    return World(
        district=district, other_district=other, haidian=haidian, renmin=renmin,
        haida=CommunityFactory(street=haidian, name="海达社区"),
        fuan=CommunityFactory(street=haidian, name="福安社区"),
        baisha=CommunityFactory(street=renmin, name="白沙坊社区"),
        other_community=CommunityFactory(street=StreetFactory(district=other, name="金宇街道"),
                                         name="金宇社区"),
        department=DepartmentFactory(district=district, name="区住建局"),
    )



def signed_in_client(user):
    """A test client signed in as ``user``: the ONE place that logs staff in, so a change to
    sign-in (two factors, tokens) is made here for every test that acts as staff."""
    from django.test import Client

    from factories import staff_login

    client = Client()
    staff_login(client, user)
    return client


@pytest.fixture
def staff_client():
    """``staff_client(user)`` -> a client signed in as ``user`` (see ``signed_in_client``)."""
    return signed_in_client


@pytest.fixture
def page():
    """A page of Debian's chromium driven by Playwright (its own browser download is not used)."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the
    # live server happen in its own thread, so this only silences Django's guard here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        yield context.new_page()
        context.close()
        browser.close()
