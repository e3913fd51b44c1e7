"""A patient on a phone (390×844): Today, a whole guided session, check-in and history; then a
session that a red flag ends, which leaves an alert for the therapist."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time, timedelta

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect
from sqlmodel import select

from hep.models import Alert, ExerciseLog, MorningCheckin, SessionLog
from hep.patient import service
from hep.timeutil import utcnow
from tests.browser.conftest import assert_accessible, choose, next_step, screenshot, sign_in
from tests.test_patient import make_program, submission


@pytest.fixture
def iphone(browser: Browser, playwright: Playwright) -> Iterator[Page]:
    """A 390×844 phone (iPhone 13 profile): the size the screenshots are judged at."""
    device = dict(playwright.devices["iPhone 13"])
    device.pop("default_browser_type", None)
    context = browser.new_context(**device)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def patient_with_program(people, db):
    clinic = people.clinic_with_patient()
    program, items = make_program(
        db,
        clinic.therapist,
        clinic.patient,
        start=date.today() - timedelta(days=10),
        items=(("reps", 2, 10), ("hold", 2, 3)),
        reminder_time=time(18, 30),
    )
    # Yesterday's session, so the morning check-in is waiting.
    at = utcnow() - timedelta(days=1)
    service.record_session(db, at, clinic.patient, submission(program, items, at, pain=3))
    db.commit()
    return clinic, program, items


def assert_big(page: Page, locator) -> None:
    box = locator.bounding_box()
    assert box and box["height"] >= 44 and box["width"] >= 44, box


def test_a_whole_session_with_timer_and_counters(live_server, iphone, patient_with_program, db):
    clinic, _program, items = patient_with_program
    page, base = iphone, live_server.live_url
    sign_in(page, base, clinic.patient.login, "/today")

    # Today: one thing to do, one big Start button, and yesterday's check-in waiting.
    expect(page.get_by_text("1 session to do today")).to_be_visible()
    expect(page.get_by_text("How do you feel this morning?")).to_be_visible()
    assert_big(page, page.get_by_role("link", name="Start"))
    assert_accessible(page)
    screenshot(page, "patient-today-phone")

    page.get_by_role("link", name="Answer 2 questions").click()
    expect(page.get_by_role("heading", name="Morning check-in")).to_be_visible()
    assert_accessible(page)
    choose(
        page, "Has the soreness from your exercises gone?", "Yes, it has gone, or I was not sore"
    )
    choose(page, "How much pain do you have now?", "A little pain")
    screenshot(page, "patient-checkin-phone")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Thank you")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Back to Today").click()

    page.get_by_role("link", name="Start").click()
    expect(page.get_by_text("Step 1 of 8")).to_be_visible()
    assert_accessible(page)
    choose(page, "How do your muscles and joints feel now?", "Not sore")
    screenshot(page, "session-warmup-phone")
    next_step(page)

    # Exercise 1: reps. The rest timer runs; the counters start at the target.
    expect(page.get_by_role("heading", name="Reps exercise 1")).to_be_visible()
    expect(page.get_by_text("Step 2 of 8")).to_be_visible()
    reps = items[0]
    set_1, set_2 = page.locator(f"#i{reps.id}-set-1"), page.locator(f"#i{reps.id}-set-2")
    expect(set_1).to_have_value("10")
    more = page.get_by_role("button", name="More: Set 1: reps")
    less = page.get_by_role("button", name="Less: Set 2: reps")
    assert_big(page, more)
    more.click()
    less.click()
    less.click()
    expect(set_1).to_have_value("11")
    expect(set_2).to_have_value("8")
    timer = page.locator("[data-step]:visible [data-timer]")
    timer.get_by_role("button", name="Start timer").click()
    expect(timer.get_by_role("button", name="Pause")).to_be_visible()
    page.wait_for_timeout(1300)
    timer.get_by_role("button", name="Pause").click()
    assert timer.locator("[data-timer-display]").inner_text() in ("0:28", "0:29")
    assert_accessible(page)
    screenshot(page, "session-exercise-phone")
    next_step(page)

    # How it felt: an answer is needed before going on.
    next_step(page)
    expect(page.get_by_text("Choose an answer").first).to_be_visible()
    choose(page, "How much did it hurt?", "A little pain")
    choose(page, "How hard was it?", "Fairly easy")
    assert_accessible(page)
    screenshot(page, "session-feel-phone")
    next_step(page)

    # Exercise 2: a 3-second hold that runs out with sound and vibration.
    expect(page.get_by_role("heading", name="Hold exercise 2")).to_be_visible()
    timer = page.locator("[data-step]:visible [data-timer]")
    timer.get_by_role("button", name="Start timer").click()
    expect(timer.get_by_role("button", name="Time is up")).to_be_visible(timeout=6000)
    expect(timer.locator("[data-timer-display]")).to_have_text("0:00")
    next_step(page)
    choose(page, "How much did it hurt?", "No pain")
    choose(page, "How hard was it?", "Easy")
    next_step(page)

    choose(page, "How much pain do you have now?", "A little pain")
    choose(page, "Overall, how hard was the session?", "Fairly easy")
    next_step(page)
    expect(page.get_by_role("heading", name="Safety check")).to_be_visible()
    for group in page.locator("fieldset.yes-no").all():
        group.get_by_text("No", exact=True).click()
    assert_accessible(page)
    screenshot(page, "session-safety-phone")
    next_step(page)
    expect(page.get_by_role("heading", name="Anything to tell your therapist?")).to_be_visible()
    page.get_by_role("button", name="Finish and save").click()

    expect(page.get_by_role("heading", name="Done for today")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "session-done-phone")

    log = db.exec(select(SessionLog).order_by(SessionLog.id.desc())).first()
    assert log.counted and log.pain_overall == 2 and log.effort_overall == 4
    rows = db.exec(select(ExerciseLog).where(ExerciseLog.session_id == log.id)).all()
    by_item = {row.program_item_id: row for row in rows}
    assert by_item[reps.id].sets_done == [11, 8] and by_item[reps.id].target_reps == 10
    assert (by_item[reps.id].pain_during, by_item[reps.id].effort) == (2, 4)
    assert by_item[items[1].id].sets_done == [3, 3]
    assert db.exec(select(MorningCheckin)).one().pain_now == 2

    page.get_by_role("link", name="Back to Today").click()
    expect(page.get_by_text("Done for today")).to_be_visible()
    expect(page.get_by_text("2 days in a row")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "patient-today-done-phone")

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="Your history")).to_be_visible()
    today_cell = page.locator("td.day-done").last
    expect(today_cell).to_contain_text(str(date.today().day))
    expect(page.locator("#pain-effort svg[role=img]")).to_be_visible()
    page.locator("#pain-effort summary").click()
    expect(page.locator("#pain-effort table")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "patient-history-phone")

    page.goto(f"{base}/exercises/{reps.exercise_id}")
    expect(page.get_by_role("heading", name="Reps exercise 1")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "patient-exercise-phone")


def test_a_red_flag_ends_the_session_with_guidance_and_alerts_the_therapist(
    live_server, iphone, patient_with_program, db
):
    clinic, _program, _items = patient_with_program
    page, base = iphone, live_server.live_url
    sign_in(page, base, clinic.patient.login, "/today")
    page.get_by_role("link", name="Start").click()
    choose(page, "How do your muscles and joints feel now?", "Not sore")
    next_step(page)
    for _exercise in range(2):
        next_step(page)
        choose(page, "How much did it hurt?", "Some pain")
        choose(page, "How hard was it?", "Medium")
        next_step(page)
    next_step(page)  # the whole session: no answer needed
    groups = page.locator("fieldset.yes-no").all()
    for group in groups[1:]:
        group.get_by_text("No", exact=True).click()
    groups[0].get_by_text("Yes", exact=True).click()  # chest pain
    call = page.locator("[data-guidance=emergency]").get_by_role("link", name="Call 911 now")
    expect(call).to_be_visible()
    assert call.get_attribute("href") == "tel:911"
    assert_accessible(page)
    screenshot(page, "session-red-flag-phone")
    next_step(page)

    expect(page.get_by_role("heading", name="Stop exercising now")).to_be_visible()
    expect(page.get_by_role("link", name="Call 911 now")).to_have_attribute("href", "tel:911")
    expect(page.get_by_text("We have told your therapist.")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "session-red-flag-result-phone")

    log = db.exec(select(SessionLog).order_by(SessionLog.id.desc())).first()
    assert log.red_flags == ["chest_pain"] and log.stop_reason == "red_flag"
    alert = db.exec(select(Alert).where(Alert.session_id == log.id)).one()
    assert (alert.kind, alert.severity, alert.patient_id) == (
        "red_flag",
        "immediate",
        clinic.patient.id,
    )
    assert alert.acknowledged_at is None


def test_soreness_that_goes_on_stops_at_the_warm_up(live_server, iphone, patient_with_program, db):
    clinic, _program, _items = patient_with_program
    page, base = iphone, live_server.live_url
    sign_in(page, base, clinic.patient.login, "/today")
    page.get_by_role("link", name="Start").click()
    choose(page, "How do your muscles and joints feel now?", "I am sore, and it is not going away")
    expect(page.get_by_text("rest for 2 days").first).to_be_visible()
    next_step(page)
    expect(page.get_by_role("heading", name="Stop for today")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "session-soreness-stop-phone")
    log = db.exec(select(SessionLog).order_by(SessionLog.id.desc())).first()
    assert log.stop_reason == "soreness" and not log.counted


def test_a_refused_session_reopens_at_the_answer_to_fix(
    live_server, iphone, patient_with_program, db
):
    clinic, _program, items = patient_with_program
    page, base = iphone, live_server.live_url
    sign_in(page, base, clinic.patient.login, "/today")
    before = db.exec(select(SessionLog)).all()
    page.get_by_role("link", name="Start").click()
    choose(page, "How do your muscles and joints feel now?", "Not sore")
    next_step(page)
    next_step(page)
    # A value no button offers (as a tampered or broken page might send).
    page.locator(f"#i{items[0].id}-pain-10").evaluate("input => { input.value = '11'; }")
    choose(page, "How much did it hurt?", "The worst pain you can imagine")
    choose(page, "How hard was it?", "Easy")
    next_step(page)
    next_step(page)
    choose(page, "How much did it hurt?", "No pain")
    choose(page, "How hard was it?", "Easy")
    next_step(page)
    next_step(page)
    for group in page.locator("fieldset.yes-no").all():
        group.get_by_text("No", exact=True).click()
    next_step(page)
    page.get_by_role("button", name="Finish and save").click()

    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.get_by_role("heading", name="How did Reps exercise 1 feel?")).to_be_visible()
    expect(page.locator(f"#i{items[0].id}-pain-error")).to_contain_text("10 or less")
    assert_accessible(page)
    assert len(db.exec(select(SessionLog)).all()) == len(before)
    page.get_by_role("group", name="How much did it hurt?").filter(visible=True).get_by_text(
        "A little pain", exact=True
    ).click()
    next_step(page)
    for _ in range(4):
        next_step(page)
    page.get_by_role("button", name="Finish and save").click()
    expect(page.get_by_role("heading", name="Done for today")).to_be_visible()
    assert len(db.exec(select(SessionLog)).all()) == len(before) + 1
