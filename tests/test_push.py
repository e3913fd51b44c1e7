"""Web Push delivery against a local push service that decrypts every message with the
subscription's keys and verifies the VAPID signature (tests/pushserver.py)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import Session, select

from hep.models import Alert, PushSubscription, User
from hep.notifications import delivery
from hep.notifications.delivery import backoff, claim, deliver_pending
from hep.notifications.due import enqueue_due
from hep.notifications.service import notify, save_subscription
from hep.push import vapid_public_key
from tests.pushserver import PushServer, Subscription
from tests.test_notifications import add_program, add_session, rows, utc

# Words that would give away health data on a lock screen.
HEALTH_WORDS = (
    "knee",
    "osteoarthritis",
    "diagnosis",
    "pain",
    "sore",
    "red flag",
    "chest",
    "squat",
    "bridge",
    "exercise log",
    "strength",
)


@pytest.fixture
def push(app):
    with PushServer(expected_vapid_key=vapid_public_key(app)) as server:
        yield server


@pytest.fixture
def clinic(people, db):
    clinic = people.clinic_with_patient()
    clinic.therapist.notification_optouts = ["daily_digest"]  # tested on its own
    db.add(clinic.therapist)
    db.commit()
    return clinic


def device(db: Session, user: User, push: PushServer) -> Subscription:
    """A browser of this person subscribed at the local push service."""
    sub = push.subscription()
    save_subscription(db, datetime.now(UTC), user.id, sub.endpoint, sub.p256dh, sub.auth, "Phone")
    db.commit()
    return sub


def run(app, db: Session, now: datetime):
    """One scheduler round: enqueue what is due, then deliver."""
    with app.app_context():
        enqueue_due(db, now)
        db.commit()
        return deliver_pending(db, now)


def deliver(app, db: Session, now: datetime):
    with app.app_context():
        return deliver_pending(db, now)


def assert_clean(push: PushServer) -> None:
    """Every push decrypted and carried a valid VAPID signature; payloads hold no health data."""
    assert push.problems == []
    for message in push.messages:
        assert set(message.payload) == {"title", "body", "url", "tag"}
        text = " ".join(str(v) for v in message.payload.values()).lower()
        for word in HEALTH_WORDS:
            assert word not in text, f"{word!r} in a push payload: {message.payload}"


def test_reminder_reaches_each_patient_at_8_local_decrypted_and_signed(
    app, db, people, clinic, push
):
    madrid = people.patient(clinic.therapist, "Marta Madrid", timezone="Europe/Madrid")
    la = people.patient(clinic.therapist, "Luis Angeles", timezone="America/Los_Angeles")
    add_program(db, madrid, clinic.therapist, start=date(2026, 11, 10))
    add_program(db, la, clinic.therapist, start=date(2026, 11, 10))
    madrid_phone, madrid_laptop = device(db, madrid, push), device(db, madrid, push)
    la_phone = device(db, la, push)

    run(app, db, utc(2026, 11, 10, 6, 59))
    assert push.messages == []
    report = run(app, db, utc(2026, 11, 10, 7, 0))
    assert report["pushes"] == 2
    assert len(push.messages_for(madrid_phone)) == len(push.messages_for(madrid_laptop)) == 1
    assert push.messages_for(la_phone) == []
    run(app, db, utc(2026, 11, 10, 16, 0))
    (message,) = push.messages_for(la_phone)

    (row,) = rows(db, la)
    assert row.status == "sent" and row.sent_at == utc(2026, 11, 10, 16, 0)
    assert message.payload == {
        "title": "Time for your exercises",
        "body": "Your exercises for today are ready. Tap to start.",
        "url": f"/inbox/{row.id}",
        "tag": "hep-exercise",
    }
    assert message.ttl == 2 * 3600 and message.urgency == "normal"
    assert message.claims["aud"] == push.origin and message.claims["sub"].startswith("mailto:")
    assert row.channel_results["push"] == {str(s.id): "sent" for s in _subs(db, la)}
    assert_clean(push)


def _subs(db: Session, user: User) -> list[PushSubscription]:
    db.commit()  # see what the deliverer committed
    return list(db.exec(select(PushSubscription).where(PushSubscription.user_id == user.id)))


def test_push_follows_the_daylight_saving_change(app, db, clinic, push):
    add_program(db, clinic.patient, clinic.therapist, start=date(2026, 10, 31))
    phone = device(db, clinic.patient, push)
    run(app, db, utc(2026, 10, 31, 12, 0))  # 08:00 EDT
    run(app, db, utc(2026, 11, 1, 12, 0))  # 07:00 EST: not yet
    assert len(push.messages_for(phone)) == 1
    run(app, db, utc(2026, 11, 1, 13, 0))  # 08:00 EST
    assert len(push.messages_for(phone)) == 2
    assert_clean(push)


def test_a_day_already_done_gets_no_push(app, db, clinic, push):
    program = add_program(db, clinic.patient, clinic.therapist)
    phone = device(db, clinic.patient, push)
    add_session(db, program, date(2026, 11, 10))
    run(app, db, utc(2026, 11, 10, 13, 0))
    assert push.messages_for(phone) == []


def test_running_the_jobs_twice_sends_once(app, db, clinic, push):
    add_program(db, clinic.patient, clinic.therapist, start=date(2026, 11, 10))
    phone = device(db, clinic.patient, push)
    for _ in range(2):
        run(app, db, utc(2026, 11, 10, 13, 0))
    run(app, db, utc(2026, 11, 10, 13, 1))
    assert len(push.messages_for(phone)) == 1


def test_two_deliverers_at_once_send_each_notification_once(app, db, people, clinic, push):
    now = utc(2026, 11, 10, 13, 0)
    patients = [people.patient(clinic.therapist, f"Patient {n}") for n in range(6)]
    for patient in patients:
        device(db, patient, push)
        for day in range(5):
            notify(db, now, patient.id, "program_updated", f"upd:{patient.id}:{day}", "News")
    db.commit()
    reports = []

    def deliverer() -> None:
        with Session(app.extensions["hep.engine"], expire_on_commit=False) as own:
            reports.append(deliver(app, own, now))

    threads = [threading.Thread(target=deliverer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(push.messages) == 30
    assert len({m.payload["url"] for m in push.messages}) == 30
    assert sum(r["sent"] for r in reports) == 30
    assert all(n.status == "sent" for n in rows(db))
    assert_clean(push)


def test_a_crash_after_claiming_sends_nothing_twice_and_loses_nothing(app, db, clinic, push):
    now = utc(2026, 11, 10, 13, 0)
    phone = device(db, clinic.patient, push)
    notify(db, now, clinic.patient.id, "program_updated", "upd:1", "News")
    db.commit()
    assert len(claim(db, now)) == 1  # a deliverer claims it, then its process dies
    deliver(app, db, now + timedelta(minutes=1))
    assert push.messages_for(phone) == []  # still leased to the dead deliverer
    deliver(app, db, now + delivery.LEASE)
    deliver(app, db, now + delivery.LEASE + timedelta(minutes=1))
    assert len(push.messages_for(phone)) == 1


def test_gone_subscriptions_are_removed_and_the_others_still_get_it(app, db, clinic, push):
    add_program(db, clinic.patient, clinic.therapist, start=date(2026, 11, 10))
    kept, unsubscribed, unknown = (device(db, clinic.patient, push) for _ in range(3))
    push.answer(unsubscribed, 410)
    push.answer(unknown, 404)
    report = run(app, db, utc(2026, 11, 10, 13, 0))
    assert report["devices_removed"] == 2
    assert [s.endpoint for s in _subs(db, clinic.patient)] == [kept.endpoint]
    assert len(push.messages_for(kept)) == 1
    (row,) = rows(db)
    assert row.status == "sent" and row.last_error is None


def test_a_failing_push_service_is_retried_with_backoff(app, db, clinic, push):
    now = utc(2026, 11, 10, 13, 0)
    good, flaky = device(db, clinic.patient, push), device(db, clinic.patient, push)
    push.answer(flaky, 500)
    notify(db, now, clinic.patient.id, "program_updated", "upd:1", "Your exercises changed")
    db.commit()

    report = deliver(app, db, now)
    (row,) = rows(db)
    assert report["retrying"] == 1
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at == now + timedelta(minutes=1)
    assert row.last_error == "HTTP 500 from the push service"
    assert len(push.messages_for(good)) == 1

    deliver(app, db, now + timedelta(seconds=30))  # not yet
    deliver(app, db, now + timedelta(minutes=1))  # fails again: 2 minutes now
    (row,) = rows(db)
    assert row.attempts == 2 and row.next_attempt_at == now + timedelta(minutes=3)
    assert backoff(3) == timedelta(minutes=4) and backoff(20) == timedelta(hours=1)

    push.answer(flaky, 201)
    deliver(app, db, now + timedelta(minutes=3))
    (row,) = rows(db)
    assert row.status == "sent"
    assert len(push.messages_for(flaky)) == 1
    assert len(push.messages_for(good)) == 1  # the device that had it is not sent it again
    assert_clean(push)


def test_after_too_many_failures_it_gives_up_and_the_admin_sees_it(
    app, client, auth, db, clinic, push
):
    now = utc(2026, 11, 10, 13, 0)
    flaky = device(db, clinic.patient, push)
    push.answer(flaky, 503)
    notify(db, now, clinic.patient.id, "program_updated", "upd:1", "Your exercises changed")
    db.commit()
    at = now
    for _ in range(delivery.MAX_ATTEMPTS):
        deliver(app, db, at)
        at += delivery.BACKOFF_MAX
    (row,) = rows(db)
    assert row.status == "failed" and row.attempts == delivery.MAX_ATTEMPTS
    auth.login(clinic.therapist)  # the clinic admin
    page = client.get("/admin/notifications").get_data(as_text=True)
    assert "Gave up" in page and "HTTP 503 from the push service" in page


def test_quiet_hours_postpone_the_push_until_they_end(app, db, clinic, push):
    clinic.patient.quiet_hours_start, clinic.patient.quiet_hours_end = time(21, 0), time(9, 0)
    db.add(clinic.patient)
    db.commit()
    add_program(db, clinic.patient, clinic.therapist, start=date(2026, 11, 10))
    phone = device(db, clinic.patient, push)
    report = run(app, db, utc(2026, 11, 10, 13, 0))  # 08:00 in New York
    assert report["postponed"] == 1 and push.messages == []
    (row,) = rows(db)
    assert row.next_attempt_at == utc(2026, 11, 10, 14, 0)  # 09:00 local
    run(app, db, utc(2026, 11, 10, 13, 59))
    assert push.messages == []
    run(app, db, utc(2026, 11, 10, 14, 0))
    assert len(push.messages_for(phone)) == 1


def test_an_opted_out_kind_is_not_pushed_but_stays_in_the_inbox(app, db, clinic, push):
    clinic.patient.notification_optouts = ["program_updated"]
    db.add(clinic.patient)
    db.commit()
    device(db, clinic.patient, push)
    now = utc(2026, 11, 10, 13, 0)
    notify(db, now, clinic.patient.id, "program_updated", "upd:1", "Your exercises changed")
    db.commit()
    report = deliver(app, db, now)
    assert report["skipped"] == 1 and push.messages == []
    (row,) = rows(db)
    assert row.status == "skipped" and row.channel_results == {"skipped": "opted out"}


def test_a_scheduler_back_after_an_outage_catches_up_without_a_flood(app, db, people, clinic, push):
    early = people.patient(clinic.therapist, "Early Bird")  # reminder 08:00 New York
    late = people.patient(clinic.therapist, "Late Riser")
    add_program(db, early, clinic.therapist, start=date(2026, 11, 10))
    add_program(db, late, clinic.therapist, start=date(2026, 11, 10), reminder=time(10, 30))
    early_phone, late_phone = device(db, early, push), device(db, late, push)
    # The scheduler was down from before 08:00 until 11:00 local.
    report = run(app, db, utc(2026, 11, 10, 16, 0))
    assert report["expired"] == 1  # 08:00 is 3 hours late: in the inbox, not pushed
    assert push.messages_for(early_phone) == []
    assert len(push.messages_for(late_phone)) == 1  # 10:30 is 30 minutes late: still sent
    assert rows(db, early)[0].status == "skipped"


def test_red_flags_reach_the_therapist_at_once_with_high_urgency(app, db, clinic, push):
    desk = device(db, clinic.therapist, push)
    now = utc(2026, 11, 10, 13, 0)
    notify(db, now, clinic.therapist.id, "red_flag", "redflag:1", "A patient needs your attention",
           "Open HEP to see who.", url="/alerts")  # fmt: skip
    db.commit()
    deliver(app, db, now)
    (message,) = push.messages_for(desk)
    assert message.urgency == "high" and message.payload["tag"] == "hep-attention"
    assert clinic.patient.name.split()[0] not in str(message.payload)
    assert_clean(push)


def test_no_push_payload_holds_health_data(app, db, clinic, push):
    therapist = clinic.therapist
    therapist.notification_optouts = []
    db.add(therapist)
    db.commit()
    program = add_program(db, clinic.patient, therapist, start=date(2026, 11, 2), reminder=time(9))
    log = add_session(db, program, date(2026, 11, 2))  # then Tuesday and Wednesday missed
    db.add(Alert(clinic_id=program.clinic_id, patient_id=clinic.patient.id, session_id=log.id,
                 kind="pain_high", severity="urgent", detail="Knee pain 8/10"))  # fmt: skip
    db.commit()
    device(db, clinic.patient, push)
    device(db, therapist, push)
    run(app, db, utc(2026, 11, 4, 14, 0))  # Wednesday: reminder
    run(app, db, utc(2026, 11, 3, 13, 0))  # Tuesday 08:00: check-in after Monday's session
    run(app, db, utc(2026, 11, 5, 14, 0))  # Thursday: nudge, and the therapist's digest
    kinds = {n.kind for n in rows(db) if n.status == "sent"}
    assert {"session_reminder", "morning_checkin", "missed_sessions", "daily_digest"} <= kinds
    assert len(push.messages) >= 4
    assert_clean(push)


def test_each_push_service_gets_its_own_vapid_audience(app, db, clinic, push):
    """pywebpush writes aud into the claims it is given: a shared dict would carry the first
    service's origin to the second, which would refuse it."""
    with PushServer(expected_vapid_key=vapid_public_key(app)) as other_service:
        here, there = device(db, clinic.patient, push), device(db, clinic.patient, other_service)
        now = utc(2026, 11, 10, 13, 0)
        for n in range(3):
            notify(db, now, clinic.patient.id, "program_updated", f"upd:{n}", "News")
        db.commit()
        deliver(app, db, now)
        assert len(push.messages_for(here)) == len(other_service.messages_for(there)) == 3
        assert_clean(push)
        assert_clean(other_service)


def test_the_scheduler_job_delivers_with_the_apps_own_vapid_key(app, db, clinic, push):
    from hep import jobs

    phone = device(db, clinic.patient, push)
    notify(db, datetime.now(UTC), clinic.patient.id, "program_updated", "upd:1", "News")
    db.commit()
    assert {job.func.__name__ for job in jobs.SCHEDULE} >= {
        "enqueue_due",
        "deliver_pending",
        "prune_subscriptions",
    }
    jobs.run(app, jobs.deliver_pending)
    assert len(push.messages_for(phone)) == 1
    assert_clean(push)


def test_a_red_flag_wakes_the_embedded_deliverer_at_once(app, db, clinic):
    from sqlalchemy import event
    from sqlalchemy.orm import Session as OrmSession

    from hep import scheduler

    embedded = scheduler.start_embedded(app)
    try:
        embedded.pause()  # nothing runs; we only look at when the deliverer would run next
        job = embedded.get_job("deliver_pending")
        later = datetime.now(UTC) + timedelta(hours=1)
        job.modify(next_run_time=later)
        notify(db, datetime.now(UTC), clinic.patient.id, "program_updated", "u:1", "News")
        db.commit()
        assert embedded.get_job("deliver_pending").next_run_time >= later  # not urgent
        notify(db, datetime.now(UTC), clinic.therapist.id, "red_flag", "rf:1", "Attention")
        db.commit()
        soon = embedded.get_job("deliver_pending").next_run_time
        assert soon <= datetime.now(UTC) + timedelta(seconds=1)
    finally:
        event.remove(OrmSession, "after_commit", app.extensions["hep.scheduler_listener"])
        embedded.shutdown(wait=False)
        app.extensions["hep.scheduler_lock"].close()


def test_a_deliverer_whose_lease_ran_out_does_not_overwrite_the_new_owner(app, db, clinic, push):
    from collections import Counter

    from hep.notifications.delivery import _prepare, _record

    phone = device(db, clinic.patient, push)
    now = utc(2026, 11, 10, 13, 0)
    notify(db, now, clinic.patient.id, "program_updated", "upd:1", "News")
    db.commit()
    slow = _prepare(db, now, claim(db, now), Counter())  # claims, then stalls
    deliver(app, db, now + delivery.LEASE)  # the lease ran out: another deliverer sends it
    (row,) = rows(db)
    assert row.status == "sent" and row.sent_at == now + delivery.LEASE
    _record(db, now, slow, Counter())  # the slow one wakes up and writes its (empty) results
    (row,) = rows(db)
    assert row.sent_at == now + delivery.LEASE
    assert len(push.messages_for(phone)) == 1


def test_a_misconfigured_sender_is_retried_and_shown_not_crashed(app, db, clinic, push):
    from hep.push import load_vapid

    device(db, clinic.patient, push)
    now = utc(2026, 11, 10, 13, 0)
    notify(db, now, clinic.patient.id, "program_updated", "upd:1", "News")
    db.commit()
    broken = delivery.PushSender(load_vapid(app), subject="not a contact address")
    with app.app_context():
        report = deliver_pending(db, now, sender=broken)
    (row,) = rows(db)
    assert report["retrying"] == 1 and push.messages == []
    assert row.status == "pending" and "VapidException" in row.last_error
