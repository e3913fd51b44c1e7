"""The patient's app with no signal, in Chromium at phone size: installable, pages kept after one
visit, sessions queued in the phone's outbox and sent once when the signal comes back (with or
without Background Sync), sign-out that leaves nothing behind, and a deploy that updates the
service worker."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect
from sqlmodel import func, select
from werkzeug.serving import make_server

from hep import create_app
from hep.models import PushSubscription, SessionLog, User
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    assert_accessible,
    choose,
    next_step,
    screenshot,
    sign_in,
)
from tests.conftest import PASSWORD, _empty_all_tables
from tests.test_patient import make_program

NO_BACKGROUND_SYNC = """
delete window.SyncManager;
delete ServiceWorkerRegistration.prototype.sync;
"""


# --- Fixtures -------------------------------------------------------------------------------


def _phone_context(browser: Browser, playwright: Playwright, name: str) -> BrowserContext:
    device = dict(playwright.devices[name])
    device.pop("default_browser_type", None)
    context = browser.new_context(**device)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def android(browser: Browser, playwright: Playwright) -> Iterator[BrowserContext]:
    """A Pixel 7 sized context: pages of it share the service worker and storage."""
    context = _phone_context(browser, playwright, "Pixel 7")
    # Shown with a failing test's output: what the pages and the worker said.
    context.on("console", lambda message: print("console:", message.type, message.text))
    context.on("weberror", lambda error: print("page error:", error.error))
    yield context
    context.close()


@pytest.fixture
def patient(people, db):
    clinic = people.clinic_with_patient()
    program, items = make_program(
        db,
        clinic.therapist,
        clinic.patient,
        start=date.today() - timedelta(days=7),
        items=(("reps", 2, 10), ("hold", 2, 5)),
    )
    return clinic, program, items


# --- Helpers -------------------------------------------------------------------------------


def wait_for_worker(page: Page) -> None:
    """The service worker is active and controls this page."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)


KEPT = """async () => {
  if (!(await caches.has("hep-pages"))) return [];
  const cache = await caches.open("hep-pages");
  return (await cache.keys()).map(request => new URL(request.url).pathname);
}"""


def kept_pages(page: Page) -> list[str]:
    return page.evaluate(KEPT)


def eventually(page: Page, script: str, arg=None, timeout: float = 15.0) -> None:
    """Wait until an async script in the page gives a true value (wait_for_function would
    take the promise itself for true)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script, arg):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {script}"
        page.wait_for_timeout(100)


def wait_until_kept(page: Page, paths: list[str]) -> None:
    eventually(
        page,
        """async (paths) => {
          if (!(await caches.has("hep-pages"))) return false;
          const cache = await caches.open("hep-pages");
          const kept = (await cache.keys()).map(r => new URL(r.url).pathname);
          return paths.every(path => kept.includes(path));
        }""",
        paths,
    )


def do_a_session(page: Page, exercises: int = 2, start: str = "Start") -> None:
    """From Today: the whole guided session, ending with "Finish and save"."""
    page.get_by_role("link", name=start).click()
    choose(page, "How do your muscles and joints feel now?", "Not sore")
    next_step(page)
    for _ in range(exercises):
        next_step(page)
        choose(page, "How much did it hurt?", "A little pain")
        choose(page, "How hard was it?", "Fairly easy")
        next_step(page)
    choose(page, "How much pain do you have now?", "A little pain")
    choose(page, "Overall, how hard was the session?", "Fairly easy")
    next_step(page)
    for group in page.locator("fieldset.yes-no").all():
        group.get_by_text("No", exact=True).click()
    next_step(page)
    page.get_by_role("button", name="Finish and save").click()


def sessions_of(db, patient_id: int) -> int:
    db.expire_all()
    return db.exec(
        select(func.count()).select_from(SessionLog).where(SessionLog.patient_id == patient_id)
    ).one()


def outbox_size(page: Page) -> int:
    return page.evaluate("hepOutbox.entries().then(list => list.length)")


def visit_online(page: Page, base: str, login: str) -> None:
    """One online visit: sign in, Today, and wait until Today and its links are kept."""
    sign_in(page, base, login, "/today")
    wait_for_worker(page)
    page.reload()  # the worker controls Today now; it keeps it and the pages it links to
    wait_until_kept(page, ["/", "/today", "/session"])


def api_unavailable(app) -> threading.Event:
    """From now until the returned event is cleared, the API answers 503 (a server down)."""
    down = threading.Event()
    down.set()
    inner = app.wsgi_app

    def wsgi_app(environ, start_response):
        if down.is_set() and environ["PATH_INFO"].startswith("/api/"):
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down"]
        return inner(environ, start_response)

    app.wsgi_app = wsgi_app
    return down


def wait_until_quiet(page: Page) -> None:
    """The worker has finished keeping the page's links (it answers once nothing is in flight;
    the same question the page asks before signing out)."""
    page.evaluate(
        """() => navigator.serviceWorker.ready.then((reg) => new Promise((resolve) => {
          const channel = new MessageChannel();
          channel.port1.onmessage = () => resolve(true);
          reg.active.postMessage({ type: "hep:signing-out" }, [channel.port2]);
        }))"""
    )


def slow_once(app, path: str, seconds: float) -> None:
    """The next request for `path` waits `seconds` before the app answers (a weak signal)."""
    inner = app.wsgi_app
    pending = threading.Event()
    pending.set()

    def wsgi_app(environ, start_response):
        if environ["PATH_INFO"] == path and pending.is_set():
            pending.clear()
            time.sleep(seconds)
        return inner(environ, start_response)

    app.wsgi_app = wsgi_app


def sign_out_everywhere(db, user) -> None:
    """The server forgets the sign-in (as when it runs out): the cookies stay, and fail."""
    row = db.get(User, user.id)
    row.session_version += 1
    db.commit()


def status_line(page: Page):
    return page.locator("[data-sync-status]")


# --- Installable ----------------------------------------------------------------------------


def test_the_app_meets_chromiums_install_criteria(live_server, playwright, patient, tmp_path):
    clinic, _program, _items = patient
    # A real profile: Chromium never offers to install from an incognito-like context.
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    profile = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, **device
    )
    profile.set_default_timeout(10_000)
    page, base = profile.new_page(), live_server.live_url
    sign_in(page, base, clinic.patient.login, "/today")
    wait_for_worker(page)

    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"].endswith("/manifest.webmanifest")
    assert manifest["errors"] == []
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []

    # The app shell is on the phone: the versioned files and the offline page.
    shell = page.evaluate(
        """async () => {
          const names = (await caches.keys()).filter(n => n.startsWith("hep-static-"));
          const cache = await caches.open(names[0]);
          return {names, urls: (await cache.keys()).map(r => r.url.replace(location.origin, ""))};
        }"""
    )
    assert len(shell["names"]) == 1
    assert "/offline" in shell["urls"]
    assert any(url.startswith("/static/css/app.css?v=") for url in shell["urls"])
    assert any(url.startswith("/static/vendor/htmx-2.0.11.min.js?v=") for url in shell["urls"])
    profile.close()


def test_install_hint_on_an_iphone_explains_add_to_home_screen(
    live_server, browser, playwright, patient
):
    clinic, _program, _items = patient
    context = _phone_context(browser, playwright, "iPhone 13")
    page, base = context.new_page(), live_server.live_url
    sign_in(page, base, clinic.patient.login, "/today")
    hint = page.locator("[data-install-hint]")
    expect(hint).to_be_visible()
    expect(hint.get_by_text("Scroll down and tap “Add to Home Screen”.")).to_be_visible()
    expect(hint.get_by_role("button", name="Add to home screen")).to_be_hidden()
    assert_accessible(page)
    screenshot(page, "offline-install-hint-iphone")
    hint.get_by_role("button", name="Not now").click()
    expect(hint).to_be_hidden()
    page.reload()
    expect(hint).to_be_hidden()
    context.close()


def test_the_browsers_install_offer_becomes_a_button(live_server, android, patient):
    clinic, _program, _items = patient
    page, base = android.new_page(), live_server.live_url
    sign_in(page, base, clinic.patient.login, "/today")
    hint = page.locator("[data-install-hint]")
    page.wait_for_load_state("load")
    expect(hint).to_be_hidden()
    page.evaluate(
        """() => {
          const offer = new Event("beforeinstallprompt", {cancelable: true});
          offer.prompt = () => { window.prompted = true; return Promise.resolve(); };
          offer.userChoice = Promise.resolve({outcome: "accepted"});
          window.dispatchEvent(offer);
        }"""
    )
    button = hint.get_by_role("button", name="Add to home screen")
    expect(button).to_be_visible()
    button.click()
    assert page.evaluate("window.prompted") is True
    expect(hint).to_be_hidden()


# --- Offline logging --------------------------------------------------------------------------


def test_a_session_done_offline_is_queued_then_sent_once(
    live_server, android, patient, db, browser
):
    clinic, _program, items = patient
    page, base = android.new_page(), live_server.live_url
    visit_online(page, base, clinic.patient.login)
    for item in items:
        wait_until_kept(page, [f"/exercises/{item.exercise_id}"])

    android.set_offline(True)
    page.goto(f"{base}/today")  # from the phone: Today, the session and the exercises open
    expect(page.get_by_role("link", name="Start")).to_be_visible()
    expect(status_line(page)).to_contain_text("No internet connection")
    page.goto(f"{base}/exercises/{items[0].exercise_id}")
    expect(page.get_by_role("heading", name="Reps exercise 1")).to_be_visible()
    page.goto(f"{base}/")  # where the installed app starts
    expect(page.get_by_role("link", name="Start")).to_be_visible()
    do_a_session(page)

    saved = page.locator("[data-outbox-saved]")
    expect(saved.get_by_role("heading", name="Saved on this phone")).to_be_visible()
    expect(saved.get_by_text("It will be sent when you are back online.")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "offline-session-saved-phone")
    assert outbox_size(page) == 1
    assert sessions_of(db, clinic.patient.id) == 0

    saved.get_by_role("link", name="Back to Today").click()
    expect(status_line(page)).to_contain_text(
        "1 session is saved on this phone. It will be sent, and counted, when you are back online."
    )
    # Today counts the saved session: done, no "Start" to do it again.
    expect(page.get_by_text("Done for today")).to_be_visible()
    expect(page.get_by_text("Your session is saved on this phone")).to_be_visible()
    expect(page.get_by_role("link", name="Start")).to_be_hidden()
    expect(page.get_by_role("link", name="Do an extra session")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "offline-today-waiting-phone")

    android.set_offline(False)  # the page hears "online" and sends it
    expect(status_line(page)).to_contain_text("All sent", timeout=15_000)
    expect(page.get_by_text("Done for today")).to_be_visible()  # Today, loaded again
    screenshot(page, "offline-today-all-sent-phone")
    assert outbox_size(page) == 0
    assert sessions_of(db, clinic.patient.id) == 1
    log = db.exec(select(SessionLog).where(SessionLog.patient_id == clinic.patient.id)).one()
    assert log.received_at - log.performed_at > timedelta(seconds=0)

    # The therapist sees it once.
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    therapist = desk.new_page()
    sign_in(therapist, base, clinic.therapist.login, "/patients")
    therapist.goto(f"{base}/patients/{clinic.patient.id}")
    expect(therapist.get_by_text("1 session in all, newest first.")).to_be_visible()
    desk.close()


def test_the_same_outbox_replayed_three_times_stores_one_session(live_server, android, patient, db):
    clinic, _program, _items = patient
    page, base = android.new_page(), live_server.live_url
    visit_online(page, base, clinic.patient.login)
    android.set_offline(True)
    page.goto(f"{base}/today")
    do_a_session(page)
    expect(page.get_by_role("heading", name="Saved on this phone")).to_be_visible()
    page.get_by_role("link", name="Back to Today").click()
    outbox = page.evaluate("hepOutbox.entries()")
    assert len(outbox) == 1

    android.set_offline(False)  # the first send: the page hears "online"
    expect(status_line(page)).to_contain_text("All sent", timeout=15_000)
    replays = page.evaluate(
        """async (outbox) => {
          const answers = [];
          for (let i = 0; i < 3; i++) {
            for (const entry of outbox) await hepOutbox.save(entry);
            const result = await hepOutbox.replay();
            answers.push(...Object.values(result.outcomes));
          }
          return answers;
        }""",
        outbox,
    )
    assert [answer["status"] for answer in replays] == [200, 200, 200]
    assert len({answer["out"]["id"] for answer in replays}) == 1
    assert sessions_of(db, clinic.patient.id) == 1


def test_without_background_sync_it_still_sends_on_reconnect(live_server, android, patient, db):
    clinic, _program, _items = patient
    android.add_init_script(NO_BACKGROUND_SYNC)  # as on an iPhone
    page, base = android.new_page(), live_server.live_url
    visit_online(page, base, clinic.patient.login)
    has_sync = "'SyncManager' in window || 'sync' in ServiceWorkerRegistration.prototype"
    assert page.evaluate(has_sync) is False
    android.set_offline(True)
    page.goto(f"{base}/today")
    do_a_session(page)
    expect(page.get_by_role("heading", name="Saved on this phone")).to_be_visible()
    page.get_by_role("link", name="Back to Today").click()
    expect(status_line(page)).to_contain_text("1 session is saved on this phone")
    android.set_offline(False)
    expect(status_line(page)).to_contain_text("All sent", timeout=15_000)
    assert sessions_of(db, clinic.patient.id) == 1


def test_a_queued_session_survives_closing_and_reopening_the_app(live_server, android, patient, db):
    clinic, _program, _items = patient
    page, base = android.new_page(), live_server.live_url
    visit_online(page, base, clinic.patient.login)
    android.set_offline(True)
    page.goto(f"{base}/today")
    do_a_session(page)
    expect(page.get_by_role("heading", name="Saved on this phone")).to_be_visible()
    page.close()

    reopened = android.new_page()  # still no signal
    reopened.goto(f"{base}/today")
    expect(status_line(reopened)).to_contain_text("1 session is saved on this phone")
    assert outbox_size(reopened) == 1
    android.set_offline(False)
    expect(status_line(reopened)).to_contain_text("All sent", timeout=15_000)
    assert sessions_of(db, clinic.patient.id) == 1


def test_two_sessions_from_the_kept_page_are_two_sessions(live_server, android, patient, db):
    """The kept session page carries one session id; each session done from it gets its own."""
    clinic, _program, _items = patient
    page, base = android.new_page(), live_server.live_url
    visit_online(page, base, clinic.patient.login)
    android.set_offline(True)
    for start in ("Start", "Do an extra session"):  # the first one is today's, saved here
        page.goto(f"{base}/today")
        do_a_session(page, start=start)
        expect(page.get_by_role("heading", name="Saved on this phone")).to_be_visible()
    page.goto(f"{base}/today")
    expect(status_line(page)).to_contain_text("2 sessions are saved on this phone")
    android.set_offline(False)
    expect(status_line(page)).to_contain_text("All sent", timeout=15_000)
    assert sessions_of(db, clinic.patient.id) == 2


def test_a_red_flag_offline_still_says_what_to_do_now(live_server, android, patient, db):
    clinic, _program, _items = patient
    page, base = android.new_page(), live_server.live_url
    visit_online(page, base, clinic.patient.login)
    android.set_offline(True)
    page.goto(f"{base}/today")
    page.get_by_role("link", name="Start").click()
    choose(page, "How do your muscles and joints feel now?", "Not sore")
    next_step(page)
    for _ in range(2):
        next_step(page)
        choose(page, "How much did it hurt?", "Some pain")
        choose(page, "How hard was it?", "Medium")
        next_step(page)
    next_step(page)
    groups = page.locator("fieldset.yes-no").all()
    for group in groups[1:]:
        group.get_by_text("No", exact=True).click()
    groups[0].get_by_text("Yes", exact=True).click()  # chest pain
    next_step(page)

    saved = page.locator("[data-outbox-saved]")
    expect(saved.get_by_role("heading", name="Saved on this phone")).to_be_visible()
    expect(saved.get_by_text("Your therapist has not been told yet, because")).to_be_visible()
    expect(saved.get_by_role("link", name="Call 911 now")).to_have_attribute("href", "tel:911")
    assert_accessible(page)
    screenshot(page, "offline-red-flag-saved-phone")
    body = page.evaluate("hepOutbox.entries()")[0]["body"]
    assert body["red_flags"] == ["chest_pain"]
    # Today, from the phone, says to stop too: no "Start", no "Done for today".
    today = android.new_page()
    today.goto(f"{base}/today")
    expect(
        today.get_by_text("Do not exercise until you have spoken to your therapist.")
    ).to_be_visible()
    expect(today.get_by_role("link", name="Start")).to_be_hidden()
    expect(today.get_by_text("Done for today")).to_be_hidden()
    expect(today.get_by_role("link", name="Do an extra session")).to_be_hidden()
    assert_accessible(today)
    today.close()

    android.set_offline(False)  # sent: the screen becomes the server's result
    expect(page.get_by_text("We have told your therapist.")).to_be_visible(timeout=15_000)
    log = db.exec(select(SessionLog).where(SessionLog.patient_id == clinic.patient.id)).one()
    assert log.stop_reason == "red_flag"


def test_an_expired_sign_in_keeps_the_queue_until_the_patient_signs_in(
    live_server, android, patient, db
):
    clinic, _program, _items = patient
    page, base = android.new_page(), live_server.live_url
    visit_online(page, base, clinic.patient.login)
    android.set_offline(True)
    page.goto(f"{base}/today")
    do_a_session(page)
    expect(page.get_by_role("heading", name="Saved on this phone")).to_be_visible()

    sign_out_everywhere(db, clinic.patient)  # the sign-in ran out while the phone was offline
    android.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    saved = page.locator("[data-outbox-saved]")
    expect(saved.get_by_text("To send it to your therapist, sign in again.")).to_be_visible(
        timeout=15_000
    )
    assert_accessible(page)
    screenshot(page, "offline-sign-in-to-send-phone")
    assert outbox_size(page) == 1
    assert sessions_of(db, clinic.patient.id) == 0

    saved.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email or sign-in name").fill(clinic.patient.login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/today")
    expect(status_line(page)).to_contain_text("All sent", timeout=15_000)
    assert sessions_of(db, clinic.patient.id) == 1


# --- Sign-out ----------------------------------------------------------------------------------


def test_sign_out_warns_about_unsent_sessions_then_clears_the_phone(
    live_server, android, patient, db
):
    clinic, _program, _items = patient
    page, base = android.new_page(), live_server.live_url
    visit_online(page, base, clinic.patient.login)
    android.set_offline(True)
    page.goto(f"{base}/today")
    do_a_session(page)
    page.get_by_role("link", name="Back to Today").click()
    # Back online, but the API is down: nothing gets through, from the page or the worker.
    api_down = api_unavailable(live_server)
    android.set_offline(False)

    page.get_by_role("button", name="Sign out").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("1 session on this phone has not been sent")
    expect(dialog).to_contain_text("If you sign out now, it will be deleted")
    assert_accessible(page)
    screenshot(page, "offline-sign-out-warning-phone")
    dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(f"{base}/today")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("dialog").get_by_role("button", name="Sign out and delete").click()
    expect(page).to_have_url(f"{base}/login")
    api_down.clear()
    left = page.evaluate(
        """async () => {
          const names = await caches.keys();
          let pages = 0;
          for (const name of names) {
            const cache = await caches.open(name);
            for (const request of await cache.keys()) {
              if (!new URL(request.url).pathname.startsWith("/static/")
                  && !request.url.endsWith("/offline")) pages++;
            }
          }
          const outbox = await new Promise((resolve, reject) => {
            const open = indexedDB.open("hep-offline", 1);
            open.onsuccess = () => {
              const count = open.result.transaction("outbox").objectStore("outbox").count();
              count.onsuccess = () => resolve(count.result);
              count.onerror = reject;
            };
            open.onerror = reject;
          });
          return {names, pages, outbox};
        }"""
    )
    assert "hep-pages" not in left["names"]
    assert left["pages"] == 0
    assert left["outbox"] == 0
    assert sessions_of(db, clinic.patient.id) == 0

    # Offline now, Today is not shown to whoever holds the phone.
    android.set_offline(True)
    page.goto(f"{base}/today")
    expect(page.get_by_role("heading", name="No internet connection")).to_be_visible()
    expect(page.get_by_text("Hello")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "offline-page-phone")


def test_sign_out_with_nothing_waiting_needs_no_confirmation(live_server, android, patient):
    clinic, _program, _items = patient
    page, base = android.new_page(), live_server.live_url
    visit_online(page, base, clinic.patient.login)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/login")
    assert page.evaluate("caches.has('hep-pages')") is False


PUSH_STUB = """
PushManager.prototype.getSubscription = function () {
  if (localStorage.getItem("unsubscribed")) return Promise.resolve(null);
  return Promise.resolve({
    endpoint: "https://push.example/device-1",
    unsubscribe: () => { localStorage.setItem("unsubscribed", "1"); return Promise.resolve(true); },
  });
};
"""


def test_sign_out_ends_this_devices_push_subscription(live_server, android, patient, db):
    clinic, _program, _items = patient
    endpoint = "https://push.example/device-1"
    db.add(PushSubscription(user_id=clinic.patient.id, endpoint=endpoint, p256dh="k", auth="a"))
    db.commit()
    android.add_init_script(PUSH_STUB)
    page, base = android.new_page(), live_server.live_url
    visit_online(page, base, clinic.patient.login)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/login")
    assert page.evaluate("localStorage.getItem('unsubscribed')") == "1"
    db.expire_all()
    assert db.exec(select(PushSubscription)).all() == []


def test_a_kept_page_shown_on_a_slow_network_goes_when_the_server_says_signed_out(
    live_server, android, patient, db
):
    clinic, _program, _items = patient
    page, base = android.new_page(), live_server.live_url
    visit_online(page, base, clinic.patient.login)
    wait_until_quiet(page)

    # The sign-in ran out, and the network is slow: after a few seconds the worker shows the
    # copy of Today kept on the phone...
    sign_out_everywhere(db, clinic.patient)
    slow_once(live_server, "/today", 12)
    kept = page.goto(f"{base}/today", timeout=20_000)
    assert kept is not None and kept.from_service_worker and kept.status == 200
    assert "Hello, Pat" in kept.text()
    # ...and when the server's answer arrives (sign in again), the kept pages go and the page
    # loads again from the network.
    expect(page).to_have_url(f"{base}/login?next=/today", timeout=20_000)
    eventually(page, "async () => !(await caches.has('hep-pages'))")
    android.set_offline(True)
    page.goto(f"{base}/today")
    expect(page.get_by_role("heading", name="No internet connection")).to_be_visible()


# --- A new deploy -------------------------------------------------------------------------------


class Deployments:
    """One address, whichever app is deployed now: a deploy swaps the app behind it."""

    def __init__(self, first) -> None:
        self.app = first

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture
def deployments(app_config, tmp_path) -> Iterator[tuple[str, Deployments, Path]]:
    static = tmp_path / "static"
    shutil.copytree(Path(__file__).resolve().parents[2] / "static", static)
    first = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    first.static_folder = str(static)
    site = Deployments(first)
    server = make_server("127.0.0.1", 0, site, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", site, static
    server.shutdown()
    thread.join(timeout=5)
    _empty_all_tables(first)
    first.extensions["hep.engine"].dispose()


def test_a_new_deploy_updates_the_worker_and_signed_out_pages_are_never_served(
    deployments, app_config, android, patient, db
):
    base, site, static = deployments
    clinic, _program, _items = patient
    page = android.new_page()
    visit_online(page, base, clinic.patient.login)
    old = page.evaluate("caches.keys()")
    old_static = [name for name in old if name.startswith("hep-static-")]

    # Deploy: one static file changes, so the version and /sw.js change.
    css = static / "css" / "app.css"
    css.write_text(css.read_text() + "\n/* deploy 2 */\n")
    second = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    second.static_folder = str(static)
    site.app = second

    page.reload()
    bar = page.locator("[data-update]")
    expect(bar).to_be_visible(timeout=15_000)
    expect(bar).to_contain_text("A new version of HEP is ready.")
    assert_accessible(page)
    screenshot(page, "offline-update-available-phone")
    with page.expect_event("load"):
        bar.get_by_role("button", name="Update now").click()
    eventually(
        page,
        """async (old) => {
          const names = (await caches.keys()).filter(n => n.startsWith("hep-static-"));
          return names.length === 1 && !old.includes(names[0]);
        }""",
        old_static,
    )
    expect(bar).to_be_hidden()
    href = page.locator("link[rel=stylesheet]").get_attribute("href")
    assert page.evaluate("async (href) => !!(await caches.match(href))", href), (
        "the new version's files are precached"
    )

    # Signed out on the server (the sign-in ran out): the worker forgets the pages it kept,
    # and with no signal Today is not shown.
    sign_out_everywhere(db, clinic.patient)
    page.goto(f"{base}/today")
    expect(page).to_have_url(f"{base}/login?next=/today")
    eventually(page, "async () => !(await caches.has('hep-pages'))")
    android.set_offline(True)
    page.goto(f"{base}/today")
    expect(page.get_by_role("heading", name="No internet connection")).to_be_visible()
    expect(page.get_by_text("Hello")).to_have_count(0)
    second.extensions["hep.engine"].dispose()
