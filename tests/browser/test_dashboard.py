"""A therapist opens the caseload: the red-flag patient is on top; they acknowledge the alert
with a note and the count in the navigation drops. At desktop (1280) and tablet (768) width."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.test_dashboard import CASELOAD_ORDER, Clinic, build_caseload, make_exercises


@pytest.fixture
def tablet(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 768, "height": 1024})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def caseload(app, db, people) -> Clinic:
    clinic = Clinic(app=app, db=db, therapist=people.clinic(), exercises=make_exercises(db))
    build_caseload(clinic, datetime.now(UTC))
    return clinic


def nav_count(page: Page):
    return page.locator("#nav-alerts-count")


def test_red_flag_on_top_acknowledged_and_the_count_drops(live_server, caseload, desktop):
    base = live_server.live_url
    page = desktop
    sign_in(page, base, caseload.therapist.login, "/patients")

    rows = page.locator("#caseload tbody tr")
    expect(rows).to_have_count(len(CASELOAD_ORDER))
    expect(rows.first.get_by_role("link")).to_have_text("Rosa Redflag")
    expect(rows.first).to_contain_text("1 urgent alert")
    expect(nav_count(page)).to_have_text(re.compile(r"^2"))
    assert_accessible(page)
    screenshot(page, "caseload-desktop")

    # Active search: the rows change without a page load, and the address follows.
    page.get_by_label("Name").fill("greg")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link")).to_have_text("Greg Green")
    expect(page).to_have_url(re.compile(r"/patients\?q=greg"))
    page.get_by_label("Name").fill("")
    page.get_by_label("Show").select_option("attention")
    expect(rows).to_have_count(len(CASELOAD_ORDER) - 1)

    rows.first.get_by_role("link", name="Rosa Redflag").click()
    expect(page.get_by_role("heading", name="Rosa Redflag", level=1)).to_be_visible()
    alert = page.locator("#alerts .alert-item").first
    expect(alert).to_contain_text("Red flag")
    expect(alert).to_contain_text("Urgent")
    assert_accessible(page)
    screenshot(page, "patient-desktop")

    # Without a note: the message beside the field, nothing saved.
    alert.get_by_role("button", name="Mark as seen").click()
    expect(alert.locator(".error-message")).to_contain_text("Enter what you did")
    expect(nav_count(page)).to_have_text(re.compile(r"^2"))
    assert_accessible(page)

    alert = page.locator("#alerts .alert-item").first
    alert.get_by_label("What did you do?").fill("Called Rosa. No chest pain now; GP today.")
    alert.get_by_role("button", name="Mark as seen").click()
    expect(alert).to_contain_text("Seen by Tess Therapist")
    expect(alert).to_contain_text("Called Rosa. No chest pain now; GP today.")
    expect(nav_count(page)).to_have_text(re.compile(r"^1"))
    assert_accessible(page)

    page.get_by_role("link", name="All patients").click()
    expect(rows.first.get_by_role("link")).to_have_text("Paul Paintwice")
    expect(nav_count(page)).to_have_text(re.compile(r"^1"))


def test_caseload_and_patient_page_read_at_tablet_width(live_server, caseload, tablet):
    base = live_server.live_url
    page = tablet
    sign_in(page, base, caseload.therapist.login, "/patients")
    expect(page.locator("#caseload tbody tr").first).to_contain_text("Rosa Redflag")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768, f"the caseload scrolls sideways at 768 px ({width} px wide)"
    assert_accessible(page)
    screenshot(page, "caseload-tablet")

    page.get_by_role("link", name="Wendy Worse").click()
    expect(page.get_by_text("Pain is 2 or more points above usual")).to_be_visible()
    expect(page.locator("figure.chart svg.chart-svg")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    assert_accessible(page)
    screenshot(page, "patient-tablet")

    page.goto(f"{base}/patients?show=progress")
    page.get_by_role("link", name="Pia Progress").click()
    suggestion = page.locator("#suggestions .suggestion").first
    expect(suggestion).to_contain_text("Advance")
    expect(suggestion).to_contain_text("Sit to stand")
    assert_accessible(page)
    screenshot(page, "patient-suggestion-tablet")

    page.goto(f"{base}/alerts")
    expect(page.get_by_role("heading", name="Open alerts")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "alerts-tablet")
