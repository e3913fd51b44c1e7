"""Who gets which notification when (in their own time zone), the inbox, settings and devices.

Delivery through Web Push, with a local push service that decrypts, is in test_push.py.
"""

from __future__ import annotations

import base64
import re
import threading
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import Session, func, select

from hep import create_app
from hep.models import (
    Alert,
    MorningCheckin,
    Notification,
    Program,
    PushSubscription,
    SessionLog,
    User,
)
from hep.notifications import service
from hep.notifications.due import enqueue_due, nudge_day
from hep.notifications.service import notify, quiet_until
from hep.rules.adherence import Schedule
from tests.conftest import PASSWORD

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def add_program(
    db: Session,
    patient: User,
    therapist: User,
    days: list[str] | None = None,
    reminder: time | None = time(8, 0),
    start: date = date(2026, 10, 1),
    end: date | None = None,
    status: str = "active",
    times_per_day: int = 1,
) -> Program:
    program = Program(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        created_by_id=therapist.id,
        title="Knee strength",
        days=days or EVERY_DAY,
        times_per_day=times_per_day,
        start_date=start,
        end_date=end,
        reminder_time=reminder,
        diagnosis="Left knee osteoarthritis",
        status=status,
        created_at=LONG_AGO,
        updated_at=LONG_AGO,
    )
    db.add(program)
    db.commit()
    return program


def add_session(
    db: Session, program: Program, day: date, counted: bool = True, at: datetime | None = None
) -> SessionLog:
    log = SessionLog(
        client_uuid=uuid.uuid4(),
        patient_id=program.patient_id,
        program_id=program.id,
        performed_at=at or datetime.combine(day, time(12), tzinfo=UTC),
        local_date=day,
        counted=counted,
        pain_overall=6,
    )
    db.add(log)
    db.commit()
    return log


def run_enqueue(app, db: Session, now: datetime) -> int:
    with app.app_context():
        added = enqueue_due(db, now)
        db.commit()
    return added


def reload(db: Session, row) -> None:
    """Read a row as it is now. The test's session ends its transaction first: on SQLite (and
    PostgreSQL's repeatable read) an open transaction keeps seeing its own snapshot."""
    db.commit()
    db.refresh(row)


def rows(db: Session, user: User | None = None, kind: str | None = None) -> list[Notification]:
    db.commit()  # see what other sessions (requests, jobs) committed
    query = select(Notification).order_by(Notification.id)
    if user is not None:
        query = query.where(Notification.user_id == user.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list(db.exec(query.execution_options(populate_existing=True)).all())


def all_devices(db: Session) -> list[PushSubscription]:
    db.commit()
    return list(db.exec(select(PushSubscription).order_by(PushSubscription.id)).all())


def count(db: Session, model) -> int:
    db.commit()
    return db.exec(select(func.count()).select_from(model)).one()


def browser_keys() -> dict[str, str]:
    """Keys as a browser's PushSubscription would carry them."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return {"p256dh": b64(raw), "auth": b64(uuid.uuid4().bytes)}


@pytest.fixture
def clinic(people, db):
    """A therapist and a patient (America/New_York). The therapist's daily digest is off
    here, so it does not mix into other kinds' counts; it has its own test."""
    clinic = people.clinic_with_patient()
    clinic.therapist.notification_optouts = ["daily_digest"]
    db.add(clinic.therapist)
    db.commit()
    return clinic


# --- Reminders at the patient's local time ---------------------------------------------------


def test_reminders_follow_each_patients_time_zone(app, db, people, clinic):
    therapist = clinic.therapist
    madrid = people.patient(therapist, "Marta Madrid", timezone="Europe/Madrid")
    la = people.patient(therapist, "Luis Angeles", timezone="America/Los_Angeles")
    madrid_program = add_program(db, madrid, therapist, start=date(2026, 11, 10))
    la_program = add_program(db, la, therapist, start=date(2026, 11, 10))

    # 2026-11-10: Madrid is UTC+1, Los Angeles UTC-8. Both remind at 08:00 local.
    assert run_enqueue(app, db, utc(2026, 11, 10, 6, 59)) == 0
    assert run_enqueue(app, db, utc(2026, 11, 10, 7, 0)) == 1
    (first,) = rows(db)
    assert first.user_id == madrid.id and first.kind == "session_reminder"
    assert first.dedupe_key == f"reminder:{madrid_program.id}:2026-11-10"
    assert first.scheduled_for == utc(2026, 11, 10, 7, 0)
    assert first.title == "Time for your exercises" and first.url == "/today"

    assert run_enqueue(app, db, utc(2026, 11, 10, 15, 59)) == 0
    assert run_enqueue(app, db, utc(2026, 11, 10, 16, 0)) == 1
    second = rows(db, la)[0]
    assert second.dedupe_key == f"reminder:{la_program.id}:2026-11-10"
    assert second.scheduled_for == utc(2026, 11, 10, 16, 0)
    assert rows(db, clinic.patient) == []  # no program, no reminder


def test_reminder_stays_at_8_local_across_the_end_of_daylight_saving(app, db, clinic):
    program = add_program(db, clinic.patient, clinic.therapist)  # America/New_York, 08:00
    # Saturday 2026-10-31 is still EDT (UTC-4): 08:00 local is 12:00 UTC.
    assert run_enqueue(app, db, utc(2026, 10, 31, 11, 59)) == 0
    assert run_enqueue(app, db, utc(2026, 10, 31, 12, 0)) == 1
    # Sunday 2026-11-01 02:00 the clocks go back to EST (UTC-5): 08:00 local is 13:00 UTC.
    assert run_enqueue(app, db, utc(2026, 11, 1, 12, 0)) == 0
    assert run_enqueue(app, db, utc(2026, 11, 1, 12, 59)) == 0
    assert run_enqueue(app, db, utc(2026, 11, 1, 13, 0)) == 1
    assert [(n.dedupe_key, n.scheduled_for) for n in rows(db)] == [
        (f"reminder:{program.id}:2026-10-31", utc(2026, 10, 31, 12, 0)),
        (f"reminder:{program.id}:2026-11-01", utc(2026, 11, 1, 13, 0)),
    ]


def test_no_reminder_when_todays_session_is_already_done(app, db, clinic):
    program = add_program(db, clinic.patient, clinic.therapist)
    add_session(db, program, date(2026, 11, 10))
    assert run_enqueue(app, db, utc(2026, 11, 10, 14, 0)) == 0
    assert rows(db, kind="session_reminder") == []


def test_a_session_with_everything_skipped_does_not_count_as_done(app, db, clinic):
    program = add_program(db, clinic.patient, clinic.therapist)
    add_session(db, program, date(2026, 11, 10), counted=False)
    add_session(db, program, date(2026, 11, 9))  # yesterday's does not count for today
    run_enqueue(app, db, utc(2026, 11, 10, 14, 0))
    assert len(rows(db, kind="session_reminder")) == 1


def test_twice_a_day_program_is_reminded_until_both_are_done(app, db, clinic):
    program = add_program(db, clinic.patient, clinic.therapist, times_per_day=2)
    add_session(db, program, date(2026, 11, 10))
    run_enqueue(app, db, utc(2026, 11, 10, 14, 0))
    assert len(rows(db, kind="session_reminder")) == 1


@pytest.mark.parametrize(
    ("days", "start", "end", "status"),
    [
        (["mon", "wed"], date(2026, 10, 1), None, "active"),  # 2026-11-10 is a Tuesday
        (EVERY_DAY, date(2026, 11, 11), None, "active"),  # not started yet
        (EVERY_DAY, date(2026, 10, 1), date(2026, 11, 9), "active"),  # over
        (EVERY_DAY, date(2026, 10, 1), None, "ended"),
    ],
)
def test_no_reminder_on_a_day_without_exercises(app, db, clinic, days, start, end, status):
    add_program(db, clinic.patient, clinic.therapist, days, start=start, end=end, status=status)
    assert run_enqueue(app, db, utc(2026, 11, 10, 20, 0)) == 0


def test_no_reminder_without_a_reminder_time_or_when_opted_out(app, db, people, clinic):
    add_program(db, clinic.patient, clinic.therapist, reminder=None)
    opted = people.patient(clinic.therapist, "Olga Optout")
    opted.notification_optouts = ["session_reminder"]
    db.add(opted)
    db.commit()
    add_program(db, opted, clinic.therapist)
    assert run_enqueue(app, db, utc(2026, 11, 10, 20, 0)) == 0


def test_running_twice_or_in_two_schedulers_at_once_adds_each_reminder_once(
    app, db, people, clinic
):
    therapist = clinic.therapist
    for n in range(12):
        patient = people.patient(therapist, f"Patient {n}")
        add_program(db, patient, therapist)
    now = utc(2026, 11, 10, 14, 0)
    added: list[int] = []

    def scheduler() -> None:
        with Session(app.extensions["hep.engine"], expire_on_commit=False) as own:
            added.append(run_enqueue(app, own, now))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(added) == 12
    assert run_enqueue(app, db, now) == 0
    assert count(db, Notification) == 12


def test_a_program_made_after_todays_reminder_time_starts_tomorrow(app, db, clinic):
    program = add_program(db, clinic.patient, clinic.therapist)
    program.created_at = utc(2026, 11, 10, 15, 0)  # 10:00 in New York, after 08:00
    db.add(program)
    db.commit()
    assert run_enqueue(app, db, utc(2026, 11, 10, 16, 0)) == 0
    assert run_enqueue(app, db, utc(2026, 11, 11, 13, 0)) == 1


# --- The nudge after missed days, the morning check-in, the digest ---------------------------


def test_nudge_after_two_missed_scheduled_days_replaces_that_days_reminder(app, db, clinic):
    weekdays = ["mon", "tue", "wed", "thu", "fri"]
    program = add_program(
        db, clinic.patient, clinic.therapist, weekdays, reminder=time(9, 0), start=date(2026, 11, 2)
    )
    add_session(db, program, date(2026, 11, 2))  # Monday done; Tuesday and Wednesday missed
    run_enqueue(app, db, utc(2026, 11, 4, 15, 0))  # Wednesday: an ordinary reminder
    assert [n.kind for n in rows(db)] == ["session_reminder"]

    run_enqueue(app, db, utc(2026, 11, 5, 13, 59))  # Thursday 08:59 New York: not yet
    run_enqueue(app, db, utc(2026, 11, 5, 14, 0))
    thursday = rows(db)[1:]
    assert [(n.kind, n.dedupe_key) for n in thursday] == [
        ("missed_sessions", f"missed:{program.id}:2026-11-05")
    ]
    assert thursday[0].title == "Your exercises are waiting"

    run_enqueue(app, db, utc(2026, 11, 6, 14, 0))  # Friday: a third miss is not nudged again
    assert [n.kind for n in rows(db)[2:]] == ["session_reminder"]


def test_nudge_day_counts_scheduled_days_only():
    mon_wed_fri = Schedule(frozenset({0, 2, 4}), 1, date(2026, 11, 2))
    # Monday and Wednesday missed: the nudge is due Thursday, not on the weekend after Friday.
    assert nudge_day(mon_wed_fri, {}, date(2026, 11, 5)) == date(2026, 11, 5)
    assert nudge_day(mon_wed_fri, {}, date(2026, 11, 6)) is None
    assert nudge_day(mon_wed_fri, {}, date(2026, 11, 7)) is None
    # Done on Monday: the two misses are Wednesday and Friday, so Saturday.
    done_monday = {date(2026, 11, 2): 1}
    assert nudge_day(mon_wed_fri, done_monday, date(2026, 11, 5)) is None
    assert nudge_day(mon_wed_fri, done_monday, date(2026, 11, 7)) == date(2026, 11, 7)


def test_no_nudge_when_opted_out_but_the_reminder_still_comes(app, db, clinic):
    clinic.patient.notification_optouts = ["missed_sessions"]
    db.add(clinic.patient)
    db.commit()
    add_program(db, clinic.patient, clinic.therapist, start=date(2026, 11, 2))
    run_enqueue(app, db, utc(2026, 11, 4, 15, 0))  # Mon, Tue missed: Wednesday
    assert [n.kind for n in rows(db)] == ["session_reminder"]


def test_morning_checkin_the_morning_after_a_session(app, db, people, clinic):
    program = add_program(db, clinic.patient, clinic.therapist, reminder=None)
    log = add_session(db, program, date(2026, 11, 9))
    other = people.patient(clinic.therapist, "No Session")
    add_program(db, other, clinic.therapist, reminder=None)

    assert run_enqueue(app, db, utc(2026, 11, 10, 12, 59)) == 0  # 07:59 in New York
    assert run_enqueue(app, db, utc(2026, 11, 10, 13, 0)) == 1
    (checkin,) = rows(db)
    assert checkin.user_id == clinic.patient.id and checkin.kind == "morning_checkin"
    assert checkin.dedupe_key == f"checkin:{clinic.patient.id}:2026-11-09"
    assert checkin.url == "/checkin"

    # Answered already: nothing the next time (a new day would have its own key).
    db.add(MorningCheckin(patient_id=clinic.patient.id, session_id=log.id,
                          soreness_lasted=False, pain_now=1))  # fmt: skip
    db.commit()
    assert run_enqueue(app, db, utc(2026, 11, 10, 13, 5)) == 0


def test_no_morning_checkin_once_answered(app, db, clinic):
    program = add_program(db, clinic.patient, clinic.therapist, reminder=None)
    log = add_session(db, program, date(2026, 11, 9))
    db.add(MorningCheckin(patient_id=clinic.patient.id, session_id=log.id,
                          soreness_lasted=True, pain_now=3))  # fmt: skip
    db.commit()
    assert run_enqueue(app, db, utc(2026, 11, 10, 13, 0)) == 0


def test_daily_digest_has_counts_only_at_730_local(app, db, people, clinic):
    clinic.therapist.notification_optouts = []
    db.add(clinic.therapist)
    add_program(db, clinic.patient, clinic.therapist, reminder=None, start=date(2026, 11, 2))
    db.add(Alert(clinic_id=clinic.patient.clinic_id, patient_id=clinic.patient.id,
                 kind="red_flag", severity="urgent", detail="Chest pain"))  # fmt: skip
    db.commit()
    quiet_colleague = people.clinic("Other Clinic", "other@example.com")
    assert run_enqueue(app, db, utc(2026, 11, 10, 12, 29)) == 0
    run_enqueue(app, db, utc(2026, 11, 10, 12, 30))
    (digest,) = rows(db, kind="daily_digest")
    assert digest.user_id == clinic.therapist.id
    assert digest.title == "Your daily summary"
    # Program since Monday 2 Nov, nothing done: inactive (3 scheduled days missed).
    assert digest.body == "1 alert to review · 1 patient inactive"
    assert "Pat" not in digest.body and "Chest" not in digest.body
    assert rows(db, quiet_colleague) == []  # nothing to report, nothing sent


# --- Quiet hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (utc(2026, 11, 10, 4, 0), utc(2026, 11, 10, 12, 0)),  # 23:00 in New York → 07:00
        (utc(2026, 11, 10, 11, 0), utc(2026, 11, 10, 12, 0)),  # 06:00 → 07:00
        (utc(2026, 11, 10, 12, 0), None),  # 07:00: over
        (utc(2026, 11, 10, 20, 0), None),  # 15:00
    ],
)
def test_quiet_hours_run_past_midnight_in_local_time(now, until):
    assert quiet_until(now, "America/New_York", time(22, 0), time(7, 0)) == until


def test_no_quiet_hours_when_unset():
    assert quiet_until(utc(2026, 11, 10, 4), "America/New_York", None, None) is None


# --- The inbox ---------------------------------------------------------------------------------


def test_inbox_lists_notifications_and_opening_one_marks_it_read(app, client, auth, db, clinic):
    now = datetime.now(UTC)
    first = notify(db, now - timedelta(hours=2), clinic.patient.id, "session_reminder", "r:1",
                   "Time for your exercises", url="/today")  # fmt: skip
    notify(db, now - timedelta(hours=1), clinic.patient.id, "program_updated", "p:1",
           "Your exercises changed", url="/today")  # fmt: skip
    notify(db, now, clinic.patient.id, "session_reminder", "future", "Later",
           scheduled_for=now + timedelta(days=1))  # fmt: skip
    notify(db, now, clinic.therapist.id, "red_flag", "rf:1", "A patient needs your attention")
    db.commit()

    auth.login(clinic.patient)
    page = client.get("/inbox").get_data(as_text=True)
    assert "Time for your exercises" in page and "Your exercises changed" in page
    assert "Later" not in page and "needs your attention" not in page
    assert re.search(r'class="count-badge"[^>]*>2<', page)

    response = client.get(f"/inbox/{first.id}")
    assert response.status_code == 302 and response.headers["Location"] == "/today"
    reload(db, first)
    assert first.read_at is not None
    page = client.get("/inbox").get_data(as_text=True)
    assert re.search(r'class="count-badge"[^>]*>1<', page)

    assert client.post("/inbox/read").status_code == 302
    page = client.get("/inbox").get_data(as_text=True)
    assert "count-badge" not in page


def test_no_one_opens_another_persons_notification(app, client, auth, db, people, clinic):
    mine = notify(db, datetime.now(UTC), clinic.patient.id, "session_reminder", "r:1", "Time")
    db.commit()
    other = people.patient(clinic.therapist, "Other Person")
    auth.login(other)
    assert client.get(f"/inbox/{mine.id}").status_code == 404
    auth.logout()
    auth.login(clinic.therapist)
    assert client.get(f"/inbox/{mine.id}").status_code == 404
    reload(db, mine)
    assert mine.read_at is None


def test_opening_never_leaves_the_site(app, client, auth, db, clinic):
    odd = notify(db, datetime.now(UTC), clinic.patient.id, "program_updated", "x", "x",
                 url="https://evil.example/")  # fmt: skip
    db.commit()
    auth.login(clinic.patient)
    assert client.get(f"/inbox/{odd.id}").headers["Location"] == "/inbox"


def test_inbox_and_settings_need_sign_in(client):
    for path in ("/inbox", "/settings/notifications"):
        assert client.get(path).status_code == 302


# --- Settings: quiet hours and opt-outs ------------------------------------------------------


def test_settings_page_offers_the_patients_kinds_and_the_public_key(app, client, auth, clinic):
    auth.login(clinic.patient)
    page = client.get("/settings/notifications").get_data(as_text=True)
    key = re.search(r'data-vapid-key="([\w-]+)"', page)[1]
    assert len(key) == 87
    assert "Exercise reminders" in page and "Red flags" not in page
    assert "Add to Home Screen" in page and "Blocked notifications by mistake?" in page
    assert 'name="push_endpoint"' in page  # sign-out tells which device signs out


def test_saving_quiet_hours_and_opt_outs(app, client, auth, db, clinic):
    auth.login(clinic.patient)
    response = client.post(
        "/settings/notifications",
        data={
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:30",
            "kinds": ["session_reminder", "morning_checkin"],
        },
    )
    assert response.status_code == 302
    reload(db, clinic.patient)
    assert clinic.patient.quiet_hours_start == time(22, 0)
    assert clinic.patient.quiet_hours_end == time(7, 30)
    assert clinic.patient.notification_optouts == ["missed_sessions", "program_updated"]
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert 'value="22:00"' in page and "Your settings are saved." in page


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"quiet_hours_start": "25:99", "quiet_hours_end": "07:00"}, "quiet_hours_start",
         "Start of quiet hours must be a time like 08:30"),
        ({"quiet_hours_start": "22:00"}, "quiet_hours_end", "Enter both times"),
        ({"quiet_hours_start": "22:00", "quiet_hours_end": "22:00"}, "quiet_hours_end",
         "must end at a different time"),
        ({"kinds": ["red_flag"]}, "kinds", "Choose from the list"),
    ],
)  # fmt: skip
def test_bad_settings_are_refused_and_nothing_is_saved(
    app, client, auth, db, clinic, form, field, message
):
    auth.login(clinic.patient)
    response = client.post("/settings/notifications", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and message in page
    assert f'href="#{field}"' in page
    if "quiet_hours_start" in form:
        assert f'value="{form["quiet_hours_start"]}"' in page  # what was typed is kept
    reload(db, clinic.patient)
    assert clinic.patient.quiet_hours_start is None
    assert clinic.patient.notification_optouts == []


def test_therapist_chooses_therapist_kinds(app, client, auth, db, clinic):
    auth.login(clinic.therapist)
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert "Red flags" in page and "Exercise reminders" not in page
    client.post("/settings/notifications", data={"kinds": ["red_flag", "pain_alert"]})
    reload(db, clinic.therapist)
    assert clinic.therapist.notification_optouts == ["progression_ready", "daily_digest"]


# --- Devices -------------------------------------------------------------------------------


def subscription_json(endpoint: str = "https://fcm.googleapis.com/fcm/send/abc123") -> dict:
    return {"endpoint": endpoint, "expirationTime": None, "keys": browser_keys()}


PIXEL_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def test_subscribing_stores_the_device_and_subscribing_again_updates_it(
    app, client, auth, db, clinic
):
    auth.login(clinic.patient)
    first = subscription_json()
    response = client.post("/push/subscriptions", json=first, headers={"User-Agent": PIXEL_UA})
    assert response.status_code == 201
    assert response.json["device"] == "Android phone · Chrome"
    again = {**first, "keys": browser_keys()}
    assert client.post("/push/subscriptions", json=again).status_code == 201
    (device,) = all_devices(db)
    assert device.user_id == clinic.patient.id
    assert device.p256dh == again["keys"]["p256dh"] and device.auth == again["keys"]["auth"]
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert service.endpoint_hash(first["endpoint"]) in page
    assert first["endpoint"] not in page


def test_a_renewed_subscription_takes_over_from_the_one_it_replaces(
    app, client, auth, db, people, clinic
):
    other = people.patient(clinic.therapist, "Other Patient")
    old = subscription_json("https://fcm.googleapis.com/fcm/send/old")
    someone_elses = subscription_json("https://fcm.googleapis.com/fcm/send/theirs")
    auth.login(other)
    assert client.post("/push/subscriptions", json=someone_elses).status_code == 201
    auth.logout()
    auth.login(clinic.patient)
    assert client.post("/push/subscriptions", json=old).status_code == 201
    client.get("/today")  # the flash of turning it on is seen

    # What the service worker sends on pushsubscriptionchange, in the background.
    renewed = {**subscription_json("https://fcm.googleapis.com/fcm/send/new")}
    for replaces in (old["endpoint"], someone_elses["endpoint"]):
        response = client.post(
            "/push/subscriptions",
            json={**renewed, "replaces": replaces},
            headers={"X-HEP-Background": "push"},
        )
        assert response.status_code == 201
    devices = {device.endpoint: device.user_id for device in all_devices(db)}
    # Only this person's own old subscription goes; another person's is not theirs to end.
    assert devices == {renewed["endpoint"]: clinic.patient.id, someone_elses["endpoint"]: other.id}
    assert "for this device" not in client.get("/today").get_data(as_text=True)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {"endpoint": "https://fcm.googleapis.com/x"},
        {**subscription_json(), "keys": {"p256dh": "A" * 87, "auth": "short"}},
        {**subscription_json(), "keys": {"p256dh": "not base64 at all!" * 5, "auth": "A" * 22}},
        subscription_json("http://169.254.169.254/latest/meta-data"),
        subscription_json("https://internal.example/push"),
    ],
)
def test_bad_subscriptions_are_refused(app, client, auth, db, clinic, payload):
    app.config["PUSH_ALLOW_ANY_ENDPOINT"] = False  # as in production
    auth.login(clinic.patient)
    if payload is None:
        response = client.post("/push/subscriptions", data="nope")
    else:
        response = client.post("/push/subscriptions", json=payload)
    assert response.status_code == 422
    assert response.json["errors"]
    assert count(db, PushSubscription) == 0


def test_subscribing_needs_the_csrf_token_in_a_header(app_config, people, db):
    csrf_app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    clinic = people.clinic_with_patient()
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    client.post("/login", data={"login": clinic.patient.login, "password": PASSWORD,
                                "csrf_token": token})  # fmt: skip
    page = client.get("/settings/notifications").get_data(as_text=True)
    token = re.search(r'data-csrf="([^"]+)"', page)[1]
    assert client.post("/push/subscriptions", json=subscription_json()).status_code == 400
    response = client.post(
        "/push/subscriptions", json=subscription_json(), headers={"X-CSRFToken": token}
    )
    assert response.status_code == 201
    csrf_app.extensions["hep.engine"].dispose()


def test_removing_a_device_and_turning_off_this_one(app, client, auth, db, people, clinic):
    auth.login(clinic.patient)
    phone, tablet = (
        subscription_json("https://fcm.googleapis.com/a"),
        subscription_json("https://fcm.googleapis.com/b"),
    )
    client.post("/push/subscriptions", json=phone)
    client.post("/push/subscriptions", json=tablet)
    by_endpoint = {d.endpoint: d for d in all_devices(db)}
    response = client.post(
        f"/settings/notifications/devices/{by_endpoint[phone['endpoint']].id}/remove"
    )
    assert response.status_code == 302
    assert client.post("/push/subscriptions/remove", json={"endpoint": tablet["endpoint"]}).json
    assert count(db, PushSubscription) == 0


def test_another_persons_device_cannot_be_removed(app, client, auth, db, people, clinic):
    auth.login(clinic.patient)
    client.post("/push/subscriptions", json=subscription_json())
    auth.logout()
    device = all_devices(db)[0]
    auth.login(people.patient(clinic.therapist, "Other Person"))
    assert client.post(f"/settings/notifications/devices/{device.id}/remove").status_code == 404
    client.post("/push/subscriptions/remove", json={"endpoint": device.endpoint})
    assert count(db, PushSubscription) == 1


def test_signing_out_ends_this_devices_subscription_only(app, client, auth, db, people, clinic):
    auth.login(clinic.patient)
    here, there = (
        subscription_json("https://fcm.googleapis.com/here"),
        subscription_json("https://fcm.googleapis.com/there"),
    )
    client.post("/push/subscriptions", json=here)
    client.post("/push/subscriptions", json=there)
    response = client.post("/logout", data={"push_endpoint": here["endpoint"]})
    assert response.status_code == 302
    assert [d.endpoint for d in all_devices(db)] == [there["endpoint"]]
    # Signed out for real: the patient's remember-me cookie went too.
    assert client.get("/today").status_code == 302


# --- The clinic admin's page -----------------------------------------------------------------


def test_admin_sees_failed_pushes_of_their_own_clinic_only(app, client, auth, db, people, clinic):
    now = datetime.now(UTC)
    failing = notify(db, now, clinic.patient.id, "session_reminder", "r:1", "Time")
    failing.attempts, failing.last_error = 3, "HTTP 500 from the push service"
    other = people.clinic_with_patient("Other Clinic", "other@example.com")
    elsewhere = notify(db, now, other.patient.id, "session_reminder", "r:2", "Time")
    elsewhere.last_error = "HTTP 503 from the push service"
    db.add_all([failing, elsewhere])
    db.commit()
    auth.login(clinic.therapist)
    page = client.get("/admin/notifications").get_data(as_text=True)
    assert "HTTP 500 from the push service" in page and "Trying again" in page
    assert "HTTP 503" not in page
    auth.logout()
    auth.login(clinic.patient)
    assert client.get("/admin/notifications").status_code == 403


# --- The installable app ---------------------------------------------------------------------


def test_manifest_describes_an_installable_app(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.json
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["name"] and manifest["short_name"] == "HEP"
    assert manifest["theme_color"] and manifest["background_color"]
    icons = {(icon["sizes"], icon["purpose"]): icon["src"] for icon in manifest["icons"]}
    assert set(icons) == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for (sizes, _purpose), src in icons.items():
        png = client.get(src)
        assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = (
            int.from_bytes(png.data[16:20], "big"),
            int.from_bytes(png.data[20:24], "big"),
        )
        assert f"{width}x{height}" == sizes


def test_service_worker_is_served_at_the_root_and_never_cached(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    script = response.get_data(as_text=True)
    assert 'addEventListener("push"' in script and 'addEventListener("notificationclick"' in script
    assert client.get("/login").get_data(as_text=True).count('rel="manifest"') == 1
