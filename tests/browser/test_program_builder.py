"""A therapist builds a program from a template, adds and moves an exercise, changes a dosage,
and prints the handout: at desktop size and at phone size."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from hep.content.loader import load_catalogue
from hep.library.service import sync_catalogue
from hep.models import ProgramItemVersion, ProgramTemplate
from hep.timeutil import utcnow
from tests.browser.conftest import assert_accessible, screenshot, sign_in


@pytest.mark.parametrize("size", ["desktop", "pixel"])
def test_therapist_builds_a_program_from_a_template_and_changes_a_dosage(
    request, live_server, db, library_clinic, size
):
    page: Page = request.getfixturevalue(size)
    base = live_server.live_url
    template = db.exec(select(ProgramTemplate).order_by(ProgramTemplate.id)).first()
    sign_in(page, base, library_clinic.therapist.login, "/patients")

    # The patient page links here ("New program"; tested in tests/test_programs.py).
    page.goto(f"{base}/patients/{library_clinic.patient.id}/programs/new")
    expect(
        page.get_by_role("heading", name=f"New program for {library_clinic.patient.name}")
    ).to_be_visible()
    assert_accessible(page)
    screenshot(page, f"program-start-{size}")
    page.get_by_role("link", name=template.name).click()

    # The builder, filled from the template.
    cards = page.locator("#items .item-card")
    expect(cards).to_have_count(len(template.items))
    assert_accessible(page)
    first_name = cards.first.locator("h3").inner_text().split(".", 1)[1].strip()

    # Add an exercise from the library without leaving the page, then move it up.
    url_before = page.url
    page.get_by_label("Find an exercise to add").fill("calf")
    add_button = page.locator("#search-results").get_by_role("button").first
    expect(add_button).to_be_visible()
    added_name = add_button.locator(".visually-hidden").inner_text().strip(" :")
    assert_accessible(page)
    add_button.click()
    expect(page.locator("#items [role=status]").first).to_contain_text(f"Added {added_name}")
    expect(cards).to_have_count(len(template.items) + 1)
    assert page.url == url_before
    cards.last.get_by_role("button", name="Move up").click()
    expect(cards.nth(len(template.items) - 1).locator("h3")).to_contain_text(added_name)
    # Focus follows the moved exercise, so a keyboard user can press Move up again.
    expect(page.locator(f"#up-{len(template.items) - 1}")).to_be_focused()
    if len(template.items) + 1 > 6:
        expect(page.locator("#items")).to_contain_text("6 or fewer")

    # A dosage change before saving, kept as the first version.
    page.locator("#items-0-sets").fill("3")
    page.get_by_label("Reminder time (optional)").fill("08:30")
    page.get_by_label("ICD-10 code (optional)").fill("m17.11")
    page.get_by_label("Goal 1", exact=True).fill("Walk to the shop and back without stopping")
    screenshot(page, f"program-builder-{size}")
    page.get_by_role("button", name="Save program").click()

    expect(page.get_by_role("heading", name=template.name)).to_be_visible()
    expect(page.get_by_text("ICD-10 M17.11")).to_be_visible()
    assert_accessible(page)

    # Change a dosage on the live program: the history shows before and after.
    page.get_by_role("link", name="Change program").click()
    expect(page.locator("#items-0-sets")).to_have_value("3")
    assert_accessible(page)
    page.locator("#items-0-sets").fill("2")
    page.locator("#items-0-rest_seconds").fill("60")
    page.get_by_label("Reason for the change (optional)").fill("Knee sore after last week")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("was told the program changed")).to_be_visible()
    history = page.locator("table").filter(has_text="Knee sore after last week")
    expect(history).to_contain_text(first_name)
    expect(history).to_contain_text("3 sets of")
    expect(history).to_contain_text("2 sets of")
    assert_accessible(page)
    screenshot(page, f"program-page-{size}")
    db.expire_all()
    assert [v for v in db.exec(select(ProgramItemVersion)).all() if v.before]

    # The handout: steps, dosage and a QR code to Today.
    page.get_by_role("link", name="Printable handout").click()
    expect(page.get_by_role("heading", name="Your exercises")).to_be_visible()
    expect(page.locator("svg.qr")).to_be_visible()
    assert_accessible(page)
    screenshot(page, f"program-handout-{size}")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button", name="Print this handout")).to_be_hidden()
    page.emulate_media(media="screen")

    if size == "pixel":
        box = page.get_by_role("button", name="Print this handout").bounding_box()
        assert box["height"] >= 44


def test_contraindicated_exercise_needs_a_reason_in_the_browser(live_server, db, people, desktop):
    with live_server.app_context():
        sync_catalogue(db, utcnow(), load_catalogue())
    db.commit()
    therapist = people.clinic()
    patient = people.patient(therapist, conditions=["acute_fracture"])
    base = live_server.live_url
    sign_in(desktop, base, therapist.login, "/patients")
    desktop.goto(f"{base}/patients/{patient.id}/programs/new?start=blank")
    desktop.get_by_label("Find an exercise to add").fill("squat")
    result = desktop.locator(".search-result.item-flagged").first
    expect(result).to_contain_text("Not advised with acute fracture")
    assert_accessible(desktop)
    result.get_by_role("button", name="Add anyway").click()
    expect(desktop.locator("#items")).to_contain_text("was not added")
    expect(desktop.locator("#items .item-card")).to_have_count(0)
    result.get_by_label("Why are you giving it anyway?").fill(
        "Fracture healed; cleared by surgeon."
    )
    result.get_by_role("button", name="Add anyway").click()
    expect(desktop.locator("#items .item-card")).to_have_count(1)
    expect(desktop.locator("#items-0-contraindication_override")).to_have_value(
        "Fracture healed; cleared by surgeon."
    )
    assert_accessible(desktop)
    screenshot(desktop, "program-contraindication-desktop")
