"""A therapist removes a photo from an exercise: with htmx the question opens in place ("Keep
it" leaves it alone). Without JavaScript the same question is a page of its own
(tests/test_media_remove.py)."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlmodel import select

from hep.models import Exercise, ExerciseMedia
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.test_library import PNG


def add_photo(page: Page, base: str, db) -> str:
    exercise_id = db.exec(select(Exercise.id).order_by(Exercise.id)).first()
    db.rollback()  # no read transaction left open while the server writes (SQLite locks)
    url = f"{base}/library/exercises/{exercise_id}"
    page.goto(url)
    page.get_by_role("link", name="Add a photo or video").click()
    page.get_by_label("Photo or video").set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": PNG}]
    )
    page.get_by_label("What it shows (optional)").fill("Side view")
    page.get_by_role("button", name="Upload").click()
    expect(page).to_have_url(url + "#media")
    return url


def media_count(db) -> int:
    db.expire_all()
    count = len(db.exec(select(ExerciseMedia)).all())
    db.rollback()
    return count


def test_remove_a_photo_in_place_on_a_phone(live_server, library_clinic, db, pixel):
    page, base = pixel, live_server.live_url
    sign_in(page, base, library_clinic.therapist.login, "/patients")
    url = add_photo(page, base, db)
    item = page.locator(".media-list li").first

    item.get_by_role("link", name="Remove Side view").click()
    question = item.get_by_role("heading", name="Remove this photo?")
    expect(question).to_be_focused()
    expect(item).to_contain_text("Patients on programs with this exercise will no longer see it.")
    expect(page).to_have_url(url + "#media")  # in place: no page load
    assert_accessible(page)
    question.scroll_into_view_if_needed()
    screenshot(page, "media-remove-inline-pixel")

    item.get_by_role("link", name="Keep it").click()
    expect(page.get_by_role("link", name="Remove Side view")).to_be_focused()
    expect(item.get_by_role("heading", name="Remove this photo?")).to_have_count(0)
    assert media_count(db) == 1

    page.get_by_role("link", name="Remove Side view").click()
    page.get_by_role("button", name="Remove Side view").click()
    expect(page.locator(".flash")).to_contain_text("The photo is removed.")
    expect(page.locator(".media-list")).to_have_count(0)
    assert media_count(db) == 0
