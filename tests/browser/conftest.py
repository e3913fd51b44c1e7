"""Headless Chromium (Debian's /usr/bin/chromium) through Playwright, at phone and desktop size."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from hep.content.loader import load_catalogue
from hep.library.service import sync_catalogue
from hep.timeutil import utcnow
from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("HEP_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "instance" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            # A real Chromium against a live server on a 2-core machine: one rerun absorbs a
            # timing race (pytest reports every rerun in its summary, so none goes unseen).
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=1))


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def _context(browser: Browser, **options) -> BrowserContext:
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture(params=["Pixel 7", "iPhone 13"])
def phone(request, browser: Browser, playwright: Playwright) -> Iterator[Page]:
    """A page in a phone-sized context, once per phone profile."""
    device = dict(playwright.devices[request.param])
    device.pop("default_browser_type", None)
    context = _context(browser, **device)
    yield context.new_page()
    context.close()


@pytest.fixture
def pixel(browser: Browser, playwright: Playwright) -> Iterator[Page]:
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    context = _context(browser, **device)
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    context = _context(browser, viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def assert_accessible(page: Page) -> None:
    """axe-core finds no violations on the page as it is now."""
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# --- Shared steps ---------------------------------------------------------------------------


def sign_in(page: Page, base: str, login: str, lands_on: str | None = None) -> None:
    """Sign in through the form; then wait for `lands_on` (a path), or for any page but it."""
    page.goto(f"{base}/login")
    page.get_by_label("Email or sign-in name").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if lands_on:
        expect(page).to_have_url(f"{base}{lands_on}")
    else:
        expect(page).not_to_have_url(re.compile(r"/login(\?|$)"))


def session_ready(page: Page) -> None:
    """The guided session's script has turned the form into one step at a time."""
    expect(page.locator("form[data-session][data-stepper='on']")).to_be_attached()


def choose(page: Page, group: str, answer: str) -> None:
    """Tap an answer tile in the visible fieldset named `group` (the guided session, once
    its script is running, or the check-in)."""
    page.wait_for_function(
        "() => { const f = document.querySelector('form[data-session]');"
        " return !f || f.dataset.stepper === 'on'; }"
    )
    page.get_by_role("group", name=group).filter(visible=True).get_by_text(
        answer, exact=True
    ).click()


def next_step(page: Page) -> None:
    """In the guided session, the visible step's "Next" button."""
    session_ready(page)
    page.locator("[data-step]:visible [data-next]").click()


@pytest.fixture
def library_clinic(app, db, people):
    """A clinic with a therapist and a patient, and the shipped library synced."""
    with app.app_context():
        sync_catalogue(db, utcnow(), load_catalogue())
    db.commit()
    return people.clinic_with_patient()
