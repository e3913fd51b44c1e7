"""A therapist checks the caseload on a phone between visits: each patient is a card (no
sideways scrolling), most in need first, with every figure labelled; the search still filters
in place. At desktop width the same list is still a table with its headings."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.test_dashboard import CASELOAD_ORDER, Clinic, build_caseload, make_exercises

LABELS = ["7 days", "30 days", "8 weeks", "Last session", "Last pain", "Open alerts"]


@pytest.fixture
def caseload(app, db, people) -> Clinic:
    clinic = Clinic(app=app, db=db, therapist=people.clinic(), exercises=make_exercises(db))
    build_caseload(clinic, datetime.now(UTC))
    return clinic


def no_sideways_scroll(page: Page) -> None:
    width, inner = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"the page scrolls sideways: {width}px in a {inner}px window"


def test_caseload_reads_as_cards_on_a_phone(live_server, caseload, pixel):
    base = live_server.live_url
    page = pixel
    sign_in(page, base, caseload.therapist.login, "/patients")

    cards = page.locator("#caseload tbody tr")
    expect(cards).to_have_count(len(CASELOAD_ORDER))
    expect(page.locator("#caseload thead")).to_be_hidden()
    no_sideways_scroll(page)

    # Same order as the desktop (most in need first); each card has the name as a link, its
    # needs in words, and each figure under a visible label.
    for index, name in enumerate(CASELOAD_ORDER):
        card = cards.nth(index)
        link = card.get_by_role("link", name=name)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box and box["height"] >= 44, f"{name}'s link is {box} tall"
        for label in LABELS:
            expect(card.locator(".cell-label", has_text=label)).to_be_visible()
    first = cards.first
    expect(first).to_contain_text("1 urgent alert")
    expect(first.locator("td").last).to_contain_text("urgent")
    expect(cards.nth(CASELOAD_ORDER.index("Pia Progress"))).to_contain_text("To review")
    expect(cards.nth(CASELOAD_ORDER.index("Amy Amber"))).to_contain_text("Below 80 %")
    # The adherence band's colour comes with its word.
    greg = cards.nth(CASELOAD_ORDER.index("Greg Green"))
    expect(greg.locator(".tag-green").first).to_have_text("Good")
    # Cards stack: each one starts below the one before, at the same left edge.
    boxes = [cards.nth(i).bounding_box() for i in range(2)]
    assert boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"] - 1
    assert abs(boxes[1]["x"] - boxes[0]["x"]) < 1
    # Body text at 19px in the cards.
    size = first.locator("td").nth(3).evaluate("e => getComputedStyle(e).fontSize")
    assert size == "19px"
    assert_accessible(page)
    screenshot(page, "caseload-phone")

    # The search still filters in place, and the address follows.
    page.get_by_label("Name").fill("greg")
    expect(cards).to_have_count(1)
    expect(cards.first.get_by_role("link")).to_have_text("Greg Green")
    expect(page).to_have_url(re.compile(r"/patients\?q=greg"))
    no_sideways_scroll(page)
    assert_accessible(page)
    screenshot(page, "caseload-phone-search")

    page.get_by_label("Name").fill("")
    page.get_by_label("Show").select_option("attention")
    expect(cards).to_have_count(len(CASELOAD_ORDER) - 1)
    expect(cards.first.get_by_role("link")).to_have_text("Rosa Redflag")
    no_sideways_scroll(page)


def test_caseload_is_still_a_table_on_a_desktop(live_server, caseload, desktop):
    base = live_server.live_url
    page = desktop
    sign_in(page, base, caseload.therapist.login, "/patients")
    table = page.get_by_role("table", name="Patients, most in need of attention first")
    expect(table).to_be_visible()
    headers = table.get_by_role("columnheader")
    expect(headers).to_have_text(["Patient", *LABELS])
    # The per-cell labels are for phones only: not shown, not read twice.
    expect(page.locator("#caseload .cell-label").first).to_be_hidden()
    rows = page.locator("#caseload tbody tr")
    expect(rows).to_have_count(len(CASELOAD_ORDER))
    # Cells sit side by side in one row.
    cells = rows.first.locator("th, td")
    a, b = cells.nth(0).bounding_box(), cells.nth(1).bounding_box()
    assert abs(a["y"] - b["y"]) < 2 and b["x"] > a["x"]
    assert_accessible(page)
