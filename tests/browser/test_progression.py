"""A therapist accepts a progression suggestion; the patient's Today shows the new dose."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.test_progression import clinic as clinic  # noqa: F401 - the fixture
from tests.test_progression import give_program, log, pending, reps_exercise


def test_accepted_suggestion_shows_on_the_patients_today(live_server, desktop, pixel, clinic, db):
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [12, 12, 12])
    log(db, clinic, program, item, 2, [12, 12, 12])
    [suggestion] = pending(db, item)
    base = live_server.live_url

    sign_in(pixel, base, clinic.patient.login, "/today")
    expect(pixel.locator(".exercise-dose").first).to_contain_text("3 sets of 10")

    sign_in(desktop, base, clinic.therapist.login, "/patients")
    desktop.goto(f"{base}/patients/{clinic.patient.id}#suggestions")
    card = desktop.locator(f"#suggestion-{suggestion.id}")
    expect(card).to_contain_text("Advance")
    expect(card).to_contain_text("two-for-two")
    expect(card).to_contain_text("3 sets of 12")
    assert_accessible(desktop)
    screenshot(desktop, "progression-suggestion-desktop")
    card.get_by_role("button", name="Accept").click()
    expect(desktop.locator(f"#suggestion-{suggestion.id}")).to_contain_text("Accepted")

    pixel.reload()
    expect(pixel.locator(".exercise-dose").first).to_contain_text("3 sets of 12")
    assert_accessible(pixel)
    screenshot(pixel, "today-after-progression-phone")
