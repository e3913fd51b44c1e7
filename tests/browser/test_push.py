"""Turning reminders on from a tap, and the inbox filling when the scheduler's jobs run.

Chromium cannot reach a real push service here, so the page's PushManager is stubbed: it hands
out a subscription whose endpoint is the local push service (tests/pushserver.py) with keys
made in the test, so the server still decrypts and verifies what HEP sends.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from hep.models import Program, PushSubscription
from hep.notifications.delivery import deliver_pending
from hep.notifications.due import enqueue_due
from hep.notifications.service import notify
from hep.push import vapid_public_key
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.pushserver import PushServer, Subscription

STUB = """
(() => {
  const stored = "hep-test-subscribed";
  const data = %(data)s;
  const subscription = () => ({
    endpoint: data.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true },
    toJSON: () => ({ endpoint: data.endpoint, expirationTime: null, keys: data.keys }),
    unsubscribe: () => { localStorage.removeItem(stored); return Promise.resolve(true); },
  });
  PushManager.prototype.subscribe = function (options) {
    localStorage.setItem("hep-test-key-length", options.applicationServerKey.byteLength);
    localStorage.setItem(stored, "1");
    return Promise.resolve(subscription());
  };
  PushManager.prototype.getSubscription = function () {
    return Promise.resolve(localStorage.getItem(stored) ? subscription() : null);
  };
  Notification.requestPermission = () => Promise.resolve(%(answer)s);
  Object.defineProperty(Notification, "permission", {
    configurable: true,
    get: () => %(permission)s,
  });
})();
"""


def stub_push(page: Page, sub: Subscription | None, answer: str = "granted", denied=False):
    data = {"endpoint": sub.endpoint, "keys": sub.info["keys"]} if sub else {}
    permission = '"denied"' if denied else '(localStorage.getItem(stored) ? "granted" : "default")'
    page.add_init_script(
        STUB % {"data": json.dumps(data), "answer": json.dumps(answer), "permission": permission}
    )


@pytest.fixture
def push(live_server):
    with PushServer(expected_vapid_key=vapid_public_key(live_server)) as server:
        yield server


def test_patient_turns_reminders_on_and_the_inbox_fills_when_the_jobs_run(
    live_server, people, db, pixel, push
):
    base = live_server.live_url
    therapist = people.clinic()
    patient = people.patient(therapist, "Rosa Diaz", timezone="America/New_York")
    now = datetime.now(UTC)
    local = now.astimezone(ZoneInfo("America/New_York"))
    db.add(
        Program(
            clinic_id=patient.clinic_id,
            patient_id=patient.id,
            created_by_id=therapist.id,
            title="Knee strength",
            days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            start_date=local.date() - timedelta(days=1),
            reminder_time=time(local.hour, local.minute),  # due this minute
            diagnosis="Left knee osteoarthritis",
            created_at=now - timedelta(days=2),
        )
    )
    db.commit()
    phone_sub = push.subscription()
    stub_push(pixel, phone_sub)

    sign_in(pixel, base, patient.login)
    expect(pixel).to_have_url(f"{base}/today")
    pixel.get_by_role("link", name="Reminders").click()
    turn_on = pixel.get_by_role("button", name="Turn on reminders")
    expect(turn_on).to_be_visible()
    assert turn_on.bounding_box()["height"] >= 44
    assert_accessible(pixel)

    turn_on.click()
    expect(pixel.get_by_text("Reminders are on for this device.")).to_be_visible()
    expect(pixel.get_by_text("This device gets your reminders.")).to_be_visible()
    expect(pixel.locator(".device-name")).to_contain_text("Android phone · Chrome")
    expect(pixel.locator("[data-this-device]")).to_be_visible()
    # The page subscribed with the app's VAPID public key (a 65-byte P-256 point).
    assert pixel.evaluate("localStorage.getItem('hep-test-key-length')") == "65"
    assert_accessible(pixel)
    screenshot(pixel, "reminders-on-phone")
    db.commit()  # a fresh read of what the server committed
    (stored,) = db.exec(select(PushSubscription)).all()
    assert stored.endpoint == phone_sub.endpoint and stored.user_id == patient.id

    # No message yet; then the scheduler's two jobs run.
    expect(pixel.get_by_role("link", name="Messages", exact=True)).to_be_visible()
    with live_server.app_context(), Session(live_server.extensions["hep.engine"]) as jobs_db:
        assert enqueue_due(jobs_db, now) == 1
        jobs_db.commit()
        assert deliver_pending(jobs_db, now)["pushes"] == 1
    (message,) = push.messages_for(phone_sub)
    assert message.payload["title"] == "Time for your exercises"
    assert push.problems == []

    pixel.goto(f"{base}/today")
    messages = pixel.get_by_role("link", name="Messages 1 unread")
    expect(messages).to_be_visible()
    messages.click()
    expect(pixel.get_by_role("heading", name="Your messages")).to_be_visible()
    item = pixel.get_by_role("link", name="New Time for your exercises")
    expect(item).to_be_visible()
    assert_accessible(pixel)
    screenshot(pixel, "inbox-phone")

    # The push's link opens the message: it is read, and the patient lands on Today.
    pixel.goto(f"{base}{message.payload['url']}")
    expect(pixel).to_have_url(f"{base}/today")
    expect(pixel.get_by_role("link", name="Messages", exact=True)).to_be_visible()

    # Signing out ends this phone's subscription.
    pixel.get_by_role("button", name="Sign out").click()
    expect(pixel).to_have_url(f"{base}/login")
    db.commit()
    assert db.exec(select(PushSubscription)).all() == []


def test_iphone_in_safari_is_told_to_add_to_home_screen_first(live_server, people, browser):
    patient = people.patient(people.clinic(), "Ivy Phone")
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        user_agent=(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
        ),
        is_mobile=True,
        has_touch=True,
        device_scale_factor=3,
    )
    page = context.new_page()
    sign_in(page, live_server.live_url, patient.login)
    page.goto(f"{live_server.live_url}/settings/notifications")
    expect(page.get_by_text("add HEP to your Home Screen first")).to_be_visible()
    expect(
        page.get_by_text("Scroll down, tap “Add to Home Screen”, then tap “Add”.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Turn on reminders")).to_be_hidden()
    assert_accessible(page)
    screenshot(page, "reminders-iphone")
    context.close()


def test_blocked_notifications_explain_how_to_allow_them(live_server, people, pixel):
    patient = people.patient(people.clinic(), "Bea Blocked")
    stub_push(pixel, None, answer="denied", denied=True)
    sign_in(pixel, live_server.live_url, patient.login)
    pixel.goto(f"{live_server.live_url}/settings/notifications")
    expect(pixel.get_by_text("This browser was told not to show notifications")).to_be_visible()
    expect(pixel.get_by_text("tap Notifications and choose Allow")).to_be_visible()
    assert_accessible(pixel)
    screenshot(pixel, "reminders-blocked-phone")


def test_therapist_turns_notifications_on_and_gets_a_red_flag(
    live_server, people, db, desktop, push
):
    clinic = people.clinic_with_patient()
    desk_sub = push.subscription()
    stub_push(desktop, desk_sub)
    sign_in(desktop, live_server.live_url, clinic.therapist.login)
    desktop.get_by_role("link", name="Notifications").click()
    desktop.get_by_role("button", name="Turn on notifications").click()
    expect(desktop.get_by_text("This device gets your notifications.")).to_be_visible()
    assert_accessible(desktop)
    screenshot(desktop, "notifications-on-desktop")

    now = datetime.now(UTC)
    with live_server.app_context(), Session(live_server.extensions["hep.engine"]) as jobs_db:
        title = "A patient needs your attention"
        notify(jobs_db, now, clinic.therapist.id, "red_flag", "rf:1", title, url="/patients")
        jobs_db.commit()
        deliver_pending(jobs_db, now)
    (message,) = push.messages_for(desk_sub)
    assert message.urgency == "high" and clinic.patient.name not in json.dumps(message.payload)
    desktop.reload()
    expect(desktop.get_by_role("link", name="Messages 1 unread")).to_be_visible()


def test_a_subscription_the_browser_renews_keeps_the_reminders_coming(
    live_server, people, db, pixel, push
):
    """pushsubscriptionchange: the worker sends the new subscription with the one it replaces.
    Chromium cannot be made to fire the event here, so the test calls the worker's handler
    function inside the real service worker, with a subscription on the local push server."""
    base = live_server.live_url
    patient = people.patient(people.clinic(), "Rene Renewed")
    old_sub, new_sub = push.subscription(), push.subscription()
    stub_push(pixel, old_sub)
    sign_in(pixel, base, patient.login, "/today")
    pixel.get_by_role("link", name="Reminders").click()
    pixel.get_by_role("button", name="Turn on reminders").click()
    expect(pixel.get_by_text("This device gets your reminders.")).to_be_visible()
    pixel.wait_for_function("() => navigator.serviceWorker.controller !== null")
    [worker] = [w for w in pixel.context.service_workers if w.url.endswith("/sw.js")]

    renewed = {"endpoint": new_sub.endpoint, "keys": new_sub.info["keys"]}
    status = worker.evaluate(
        """([old, renewed]) => renewSubscription(
             { endpoint: old }, { toJSON: () => renewed }
           ).then((response) => response.status)""",
        [old_sub.endpoint, renewed],
    )
    assert status == 201
    db.commit()  # a fresh read of what the server committed
    (stored,) = db.exec(select(PushSubscription)).all()
    assert stored.endpoint == new_sub.endpoint and stored.user_id == patient.id

    now = datetime.now(UTC)
    with live_server.app_context(), Session(live_server.extensions["hep.engine"]) as jobs_db:
        notify(
            jobs_db, now, patient.id, "session_reminder", "r:1", "Time for your exercises", url="/"
        )
        jobs_db.commit()
        assert deliver_pending(jobs_db, now)["pushes"] == 1
    assert [m.payload["title"] for m in push.messages_for(new_sub)] == ["Time for your exercises"]
    assert push.messages_for(old_sub) == [] and push.problems == []
    # Renewed in the background: no "Reminders are on" message waiting for the next page.
    pixel.goto(f"{base}/today")
    expect(pixel.get_by_role("heading", name="Hello")).to_be_visible()
    expect(pixel.get_by_text("for this device")).to_have_count(0)
