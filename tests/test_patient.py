"""The patient's side: Today, the guided session and what a log keeps, check-in, history."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, time, timedelta
from itertools import count as counter

import pytest
from pydantic import ValidationError
from sqlmodel import Session, func, select
from werkzeug.datastructures import MultiDict

from hep import charts
from hep.models import (
    Alert,
    Clinic,
    Exercise,
    ExerciseLog,
    MorningCheckin,
    Notification,
    PatientProfile,
    Program,
    ProgramItem,
    SessionLog,
)
from hep.patient import service
from hep.patient.schemas import SessionSubmission, parse_session_form
from hep.rules.safety import RED_FLAGS
from hep.timeutil import utcnow
from tests.conftest import PASSWORD

_slugs = counter(1)


# --- Builders shared with test_rollup and the browser test -------------------------------


def make_program(
    db: Session,
    therapist,
    patient,
    start: date,
    days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
    times_per_day: int = 1,
    items=(("reps", 2, 10), ("hold", 3, 30)),
    end: date | None = None,
    reminder_time: time | None = None,
    load: float | None = None,
) -> tuple[Program, list[ProgramItem]]:
    """A program built row by row: items are (kind, sets, reps-or-seconds)."""
    program = Program(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        created_by_id=therapist.id,
        title="Knee plan",
        days=list(days),
        times_per_day=times_per_day,
        start_date=start,
        end_date=end,
        reminder_time=reminder_time,
    )
    db.add(program)
    db.flush()
    rows = []
    for position, (kind, sets, amount) in enumerate(items):
        exercise = Exercise(
            clinic_id=patient.clinic_id,
            slug=f"test-exercise-{next(_slugs)}",
            name=f"{kind.title()} exercise {position + 1}",
            category="strength",
            cpt_code="97110",
            body_region="knee",
            position="sitting",
            steps=["Sit up tall.", "Straighten your knee slowly."],
            dosage_kind=kind,
        )
        db.add(exercise)
        db.flush()
        item = ProgramItem(
            program_id=program.id,
            exercise_id=exercise.id,
            position=position,
            dosage_kind=kind,
            sets=sets,
            reps=amount if kind == "reps" else None,
            hold_seconds=amount if kind == "hold" else None,
            duration_seconds=amount if kind == "timed" else None,
            load_value=load if kind == "reps" else None,
            load_unit="kg" if load and kind == "reps" else None,
        )
        db.add(item)
        rows.append(item)
    db.commit()
    return program, rows


def per_set(item: ProgramItem) -> int:
    return item.reps or item.hold_seconds or item.duration_seconds or 0


def submission(
    program: Program,
    items: list[ProgramItem],
    performed_at: datetime,
    now: datetime | None = None,
    pain: int = 2,
    effort: int = 4,
    client_uuid: uuid.UUID | None = None,
    **fields,
) -> SessionSubmission:
    data = {
        "client_uuid": str(client_uuid or uuid.uuid4()),
        "program_id": program.id,
        "performed_at": performed_at.isoformat(),
        "exercises": [
            {
                "program_item_id": item.id,
                "sets_done": [per_set(item)] * item.sets,
                "pain_during": pain,
                "effort": effort,
            }
            for item in items
        ],
        "pain_overall": pain,
        "effort_overall": effort,
        **fields,
    }
    return SessionSubmission.model_validate(data, context={"now": now or performed_at})


def session_form(program, items, client_uuid=None, pain="2", effort="3", flags=(), **extra):
    """The guided session's form as a browser without JavaScript sends it."""
    form = MultiDict(
        {
            "client_uuid": str(client_uuid or uuid.uuid4()),
            "program_id": str(program.id),
            "performed_at": utcnow().isoformat(),
            "warmup_soreness": "none",
            "pain_overall": pain,
            "effort_overall": effort,
            "notes": "Felt fine",
        }
    )
    for item in items:
        form.add("item", str(item.id))
        for _ in range(item.sets):
            form.add(f"i{item.id}-set", str(per_set(item)))
        form[f"i{item.id}-pain"] = pain
        form[f"i{item.id}-effort"] = effort
        form[f"i{item.id}-skip"] = ""
    for flag in RED_FLAGS:
        form[f"flag-{flag.key}"] = "yes" if flag.key in flags else "no"
    for key, value in extra.items():
        form.setlist(key, value if isinstance(value, list) else [value])
    return form


def sessions_count(db) -> int:
    return db.exec(select(func.count()).select_from(SessionLog)).one()


@pytest.fixture
def setup(people, db):
    """A clinic, a signed-up patient and a daily program that started two weeks ago."""
    clinic = people.clinic_with_patient()
    program, items = make_program(
        db,
        clinic.therapist,
        clinic.patient,
        start=date.today() - timedelta(days=14),
        reminder_time=time(18, 0),
    )
    return clinic, program, items


@pytest.fixture
def patient_client(app, setup):
    clinic, _program, _items = setup
    client = app.test_client()
    response = client.post("/login", data={"login": clinic.patient.login, "password": PASSWORD})
    assert response.status_code == 302
    return client


# --- The submission model ----------------------------------------------------------------


NOW = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)


def _payload(**changes):
    exercise = {"program_item_id": 1, "sets_done": [10, 10], "pain_during": 2, "effort": 4}
    exercise.update(changes.pop("exercise", {}))
    data = {
        "client_uuid": str(uuid.uuid4()),
        "program_id": 1,
        "performed_at": NOW.isoformat(),
        "exercises": [exercise],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "changes",
    [
        {"exercise": {"pain_during": 11}},
        {"exercise": {"effort": -1}},
        {"exercise": {"sets_done": [10, -2]}},
        {"exercise": {"sets_done": [3601]}},
        {"exercise": {"sets_done": [5] * 11}},
        {"exercise": {"load": -1}},
        {"exercise": {"skipped_reason": "because"}},
        {"exercise": {"sets_done": []}},
        {"exercise": {"pain_during": None}},
        {"pain_overall": 11},
        {"performed_at": (NOW + timedelta(minutes=11)).isoformat()},
        {"performed_at": (NOW + timedelta(days=3 * 365)).isoformat()},
        {"performed_at": (NOW - timedelta(days=31)).isoformat()},
        {"performed_at": "2026-11-10T15:00:00"},  # no time zone
        {"client_uuid": "not-a-uuid"},
        {"red_flags": ["headache"]},
        {"warmup_soreness": "continues"},  # soreness that goes on leaves nothing done
        {"notes": "x" * 2001},
        {"unexpected": 1},
    ],
)
def test_session_submission_refuses_what_is_out_of_range(changes):
    with pytest.raises(ValidationError):
        SessionSubmission.model_validate(_payload(**changes), context={"now": NOW})


def test_session_submission_accepts_a_normal_session_and_a_skip():
    data = SessionSubmission.model_validate(
        _payload(performed_at=(NOW + timedelta(minutes=9)).isoformat()), context={"now": NOW}
    )
    assert data.counted and data.stop_reason is None
    skipped = SessionSubmission.model_validate(
        _payload(exercise={"skipped_reason": "tired", "sets_done": [], "pain_during": None}),
        context={"now": NOW},
    )
    assert not skipped.counted


def test_session_submission_json_schema_carries_the_limits():
    schema = SessionSubmission.model_json_schema()
    entry = schema["$defs"]["ExerciseEntry"]["properties"]
    assert entry["sets_done"]["maxItems"] == 10
    assert entry["sets_done"]["items"] == {"maximum": 3600, "minimum": 0, "type": "integer"}
    pain = entry["pain_during"]["anyOf"][0]
    assert (pain["minimum"], pain["maximum"]) == (0, 10)
    assert schema["properties"]["client_uuid"]["format"] == "uuid"
    assert set(schema["properties"]["red_flags"]["items"]["enum"]) == {f.key for f in RED_FLAGS}


# --- What a log keeps --------------------------------------------------------------------


def test_a_log_keeps_target_beside_actual_times_and_local_date(setup, db):
    clinic, program, items = setup
    reps, hold = items
    performed = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)  # 22:30 the day before in New York
    now = performed + timedelta(minutes=5)
    data = submission(program, items, performed, now)
    data.exercises[0].sets_done = [12, 9]
    data.exercises[0].load = 2.5
    log, created = service.record_session(db, now, clinic.patient, data)
    db.commit()
    assert created
    assert log.performed_at == performed and log.received_at == now
    assert log.local_date == date(2026, 11, 19)
    assert log.counted and not log.stopped
    rows = db.exec(select(ExerciseLog).order_by(ExerciseLog.position)).all()
    assert [(r.target_sets, r.target_reps, r.target_seconds) for r in rows] == [
        (2, 10, None),
        (3, None, 30),
    ]
    assert rows[0].sets_done == [12, 9] and rows[0].actual_load == 2.5
    assert rows[1].sets_done == [30, 30, 30] and rows[1].dosage_kind == "hold"
    # A later change to the prescription leaves the stored target alone.
    reps.reps = 14
    db.add(reps)
    db.commit()
    db.refresh(rows[0])
    assert rows[0].target_reps == 10


def test_a_timed_exercise_logs_minutes_in_seconds(setup, db):
    clinic, _program, _items = setup
    program, items = make_program(
        db, clinic.therapist, clinic.patient, start=date.today(), items=(("timed", 1, 1200),)
    )
    now = utcnow()
    log, created = service.record_session(db, now, clinic.patient, submission(program, items, now))
    db.commit()
    assert created and db.exec(select(ExerciseLog.sets_done)).one() == [1200]


def test_replayed_log_is_stored_once(setup, db):
    clinic, program, items = setup
    now = utcnow()
    data = submission(program, items, now)
    first, created = service.record_session(db, now, clinic.patient, data)
    db.commit()
    again, created_again = service.record_session(db, now, clinic.patient, data)
    db.commit()
    assert created and not created_again and first.id == again.id
    assert sessions_count(db) == 1
    assert db.exec(select(func.count()).select_from(ExerciseLog)).one() == 2


def test_double_submitted_form_is_stored_once_and_lands_on_the_same_page(patient_client, setup, db):
    _clinic, program, items = setup
    form = session_form(program, items)
    first = patient_client.post("/session", data=form)
    second = patient_client.post("/session", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert sessions_count(db) == 1


def test_concurrent_duplicates_store_one_row(app, setup):
    """Two requests with one client UUID at the same moment, each on its own connection."""
    clinic, program, items = setup
    engine = app.extensions["hep.engine"]
    now = utcnow()
    data = submission(program, items, now)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def submit():
        try:
            with Session(engine, expire_on_commit=False) as db:
                patient = db.get(type(clinic.patient), clinic.patient.id)
                barrier.wait(timeout=10)
                log, created = service.record_session(db, now, patient, data)
                db.commit()
                results.append((log.id, created))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert sorted(created for _id, created in results) == [False, True]
    assert len({log_id for log_id, _created in results}) == 1
    with Session(engine) as db:
        assert sessions_count(db) == 1


def test_program_item_of_another_patient_is_refused(people, setup, db):
    clinic, program, _items = setup
    other = people.patient(clinic.therapist, name="Other", email="other@example.com")
    other_program, other_items = make_program(db, clinic.therapist, other, start=date.today())
    now = utcnow()
    with pytest.raises(service.InvalidSubmission):
        service.record_session(db, now, clinic.patient, submission(program, other_items, now))
    with pytest.raises(service.InvalidSubmission):
        service.record_session(db, now, clinic.patient, submission(other_program, [], now))
    db.rollback()
    assert sessions_count(db) == 0


@pytest.mark.parametrize(
    "case",
    [
        "pain 11",
        "negative reps",
        "501 reps",
        "another patient's item",
        "years ahead",
        "no red-flag answer",
    ],
)
def test_invalid_values_get_a_clear_422_and_nothing_is_stored(
    case, people, patient_client, setup, db
):
    clinic, program, items = setup
    form = session_form(program, items)
    reps = items[0]
    if case == "pain 11":
        form[f"i{reps.id}-pain"] = "11"
        message = "must be 10 or less"
    elif case == "negative reps":
        form.setlist(f"i{reps.id}-set", ["10", "-3"])
        message = "must be 0 or more"
    elif case == "501 reps":
        form.setlist(f"i{reps.id}-set", ["10", "501"])
        message = "500 reps or fewer"
    elif case == "another patient's item":
        other = people.patient(clinic.therapist, name="Other", email="other@example.com")
        _p, other_items = make_program(db, clinic.therapist, other, start=date.today())
        form.add("item", str(other_items[0].id))
        form.setlist(f"i{other_items[0].id}-set", ["10", "10"])
        form[f"i{other_items[0].id}-pain"] = "1"
        form[f"i{other_items[0].id}-effort"] = "1"
        message = "not on your program"
    elif case == "years ahead":
        form["performed_at"] = (utcnow() + timedelta(days=3 * 365)).isoformat()
        message = "in the future"
    else:
        del form[f"flag-{RED_FLAGS[0].key}"]
        message = "Choose yes or no"
    response = patient_client.post("/session", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and message in page
    assert sessions_count(db) == 0


def test_a_page_sent_back_keeps_what_was_entered(patient_client, setup):
    _clinic, program, items = setup
    form = session_form(program, items, effort="7")
    form.setlist(f"i{items[0].id}-set", ["8", "6"])
    form[f"i{items[0].id}-pain"] = "11"
    page = patient_client.post("/session", data=form).get_data(as_text=True)
    assert f'name="client_uuid" value="{form["client_uuid"]}"' in page
    assert f'id="i{items[0].id}-set-2" name="i{items[0].id}-set" value="6"' in page
    assert f'id="i{items[0].id}-effort-7" name="i{items[0].id}-effort" value="7" checked' in page


# --- The guided session ------------------------------------------------------------------


def test_session_page_is_one_form_with_a_step_per_exercise(patient_client, setup):
    _clinic, _program, items = setup
    response = patient_client.get("/session")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('<form method="post" action="/session"') == 1
    assert page.count('data-step="do"') == 2 and page.count('data-step="feel"') == 2
    assert 'name="client_uuid" value="' in page
    # The target is filled in: a normal session needs no typing.
    assert f'name="i{items[0].id}-set" value="10"' in page
    assert f'name="i{items[1].id}-set" value="30"' in page
    assert "Straighten your knee slowly." in page  # the library's steps partial
    assert "js/session.js" in page
    for flag in RED_FLAGS:
        assert f'name="flag-{flag.key}"' in page


def test_a_normal_session_is_saved_and_today_says_done(patient_client, setup, db):
    clinic, _program, items = setup
    before = patient_client.get("/today").get_data(as_text=True)
    assert "1 session to do today" in before and 'href="/session"' in before
    response = patient_client.post("/session", data=session_form(setup[1], items))
    assert response.status_code == 303
    done = patient_client.get(response.headers["Location"])
    assert done.status_code == 200 and "Done for today" in done.get_data(as_text=True)
    log = db.exec(select(SessionLog)).one()
    assert log.counted and log.notes == "Felt fine" and log.red_flags == []
    today = patient_client.get("/today").get_data(as_text=True)
    assert "Done for today" in today and "1 day in a row" in today
    assert db.exec(select(Alert)).all() == []


def test_a_skipped_exercise_keeps_its_reason(patient_client, setup, db):
    _clinic, program, items = setup
    form = session_form(program, items)
    form[f"i{items[1].id}-skip"] = "tired"
    del form[f"i{items[1].id}-pain"]
    assert patient_client.post("/session", data=form).status_code == 303
    rows = db.exec(select(ExerciseLog).order_by(ExerciseLog.position)).all()
    assert rows[1].skipped_reason == "tired" and rows[1].sets_done == []
    assert rows[0].sets_done == [10, 10]


def test_soreness_that_goes_on_stops_the_session_with_the_rules_advice(patient_client, setup, db):
    _clinic, program, items = setup
    form = session_form(program, items, warmup_soreness="continues")
    response = patient_client.post("/session", data=form, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Stop for today" in page and "rest for 2 days" in page
    log = db.exec(select(SessionLog)).one()
    assert log.stopped and log.stop_reason == "soreness" and not log.counted
    assert db.exec(select(ExerciseLog)).all() == []
    today = patient_client.get("/today").get_data(as_text=True)
    assert "You stopped today's session" in today and "rest for 2 days" in today
    assert ">Start<" not in today


def test_an_emergency_red_flag_ends_with_a_call_button_and_alerts_the_therapist(
    patient_client, setup, db
):
    clinic, program, items = setup
    form = session_form(program, items, flags=("chest_pain",))
    response = patient_client.post("/session", data=form, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert 'href="tel:911"' in page and "Call 911 now" in page
    log = db.exec(select(SessionLog)).one()
    assert log.red_flags == ["chest_pain"] and log.stop_reason == "red_flag"
    alert = db.exec(select(Alert)).one()
    assert (alert.kind, alert.severity, alert.session_id) == ("red_flag", "immediate", log.id)
    note = db.exec(select(Notification)).one()
    assert (note.user_id, note.kind) == (clinic.therapist.id, "red_flag")
    assert "chest" not in (note.title + note.body).lower()  # no health data on a lock screen


def test_the_clinics_emergency_number_is_used(patient_client, setup, db):
    clinic, program, items = setup
    row = db.get(Clinic, clinic.patient.clinic_id)
    row.emergency_number = "112"
    db.add(row)
    db.commit()
    form = session_form(program, items, flags=("stroke_signs",))
    page = patient_client.post("/session", data=form, follow_redirects=True).get_data(as_text=True)
    assert 'href="tel:112"' in page and "Call 112 now" in page


def test_a_contact_red_flag_says_to_contact_the_therapist(patient_client, setup, db):
    _clinic, program, items = setup
    form = session_form(program, items, flags=("sharp_or_rising_pain",))
    page = patient_client.post("/session", data=form, follow_redirects=True).get_data(as_text=True)
    assert "Contact your therapist before you exercise again." in page
    assert "tel:" not in page
    assert db.exec(select(Alert.kind)).all() == ["red_flag"]


def test_pain_alerts_follow_the_rules(setup, db):
    clinic, program, items = setup
    profile = db.get(PatientProfile, clinic.patient.id)
    profile.baseline_pain = 2
    db.add(profile)
    db.commit()
    start = utcnow() - timedelta(days=3)

    def log(day: int, pain: int):
        at = start + timedelta(days=day)
        service.record_session(db, at, clinic.patient, submission(program, items, at, pain=pain))
        db.commit()
        return sorted(db.exec(select(Alert.kind)).all())

    assert log(0, 6) == ["worsening"]
    assert log(1, 6) == ["pain_over_5_twice", "worsening"]  # worsening is still open
    assert log(2, 8) == ["pain_over_5_twice", "severe_pain", "worsening"]
    kinds = db.exec(select(Notification.kind).where(Notification.kind != "progression_ready"))
    assert sorted(kinds.all()) == ["pain_alert"] * 3


# --- Today ---------------------------------------------------------------------------------


def test_today_shows_week_streak_and_next_reminder(setup, db):
    clinic, program, items = setup
    now = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # Wednesday, 9:00 in New York
    program.start_date = date(2026, 11, 16)
    program.days = ["mon", "wed", "fri"]
    db.add(program)
    db.commit()
    for day in (date(2026, 11, 20), date(2026, 11, 23)):  # Friday, Monday
        at = datetime.combine(day, time(15, 0), tzinfo=UTC)
        service.record_session(db, at, clinic.patient, submission(program, items, at))
    db.commit()
    view = service.today_view(db, now, clinic.patient)
    assert view.scheduled_today and view.due_today == 1 and view.done_today == 0
    assert (view.week_done, view.week_due) == (1, 3)
    assert view.streak == 2
    assert view.next_reminder == datetime(2026, 11, 25, 23, 0, tzinfo=UTC)  # 18:00 local
    at = now + timedelta(minutes=30)
    service.record_session(db, at, clinic.patient, submission(program, items, at))
    db.commit()
    view = service.today_view(db, at, clinic.patient)
    assert view.done_for_today and view.streak == 3 and view.week_done == 2
    assert view.next_reminder == datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # Friday


def test_today_without_a_program_says_so(app, people):
    clinic = people.clinic_with_patient()
    client = app.test_client()
    client.post("/login", data={"login": clinic.patient.login, "password": PASSWORD})
    page = client.get("/today").get_data(as_text=True)
    assert "has not given you exercises yet" in page
    assert client.get("/session").status_code == 302


# --- Morning check-in --------------------------------------------------------------------


def _yesterdays_session(setup, db):
    clinic, program, items = setup
    at = utcnow() - timedelta(days=1)
    log, _ = service.record_session(db, at, clinic.patient, submission(program, items, at))
    db.commit()
    return log


def test_checkin_is_stored_against_the_previous_session_once(patient_client, setup, db):
    log = _yesterdays_session(setup, db)
    page = patient_client.get("/checkin").get_data(as_text=True)
    assert "Has the soreness from your exercises gone?" in page
    assert f'name="session_id" value="{log.id}"' in page
    assert "How do you feel this morning?" in patient_client.get("/today").get_data(as_text=True)
    form = {"session_id": log.id, "soreness_gone": "no", "pain_now": "3"}
    assert patient_client.post("/checkin", data=form).status_code == 303
    assert patient_client.post("/checkin", data=form).status_code == 303
    checkin = db.exec(select(MorningCheckin)).one()
    assert (checkin.session_id, checkin.soreness_lasted, checkin.pain_now) == (log.id, True, 3)
    page = patient_client.get("/checkin").get_data(as_text=True)
    assert "Rest for 1 day" in page  # soreness rules: sore the next day
    assert "How do you feel this morning?" not in patient_client.get("/today").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "form",
    [
        {"soreness_gone": "yes", "pain_now": "11"},
        {"soreness_gone": "maybe", "pain_now": "2"},
        {"pain_now": "2"},
        {"soreness_gone": "yes"},
    ],
)
def test_checkin_refuses_bad_answers(form, patient_client, setup, db):
    log = _yesterdays_session(setup, db)
    response = patient_client.post("/checkin", data={"session_id": log.id, **form})
    assert response.status_code == 422
    assert "There is a problem" in response.get_data(as_text=True)
    assert db.exec(select(MorningCheckin)).all() == []


def test_severe_pain_in_the_morning_alerts_the_therapist(patient_client, setup, db):
    log = _yesterdays_session(setup, db)
    patient_client.post(
        "/checkin", data={"session_id": log.id, "soreness_gone": "yes", "pain_now": "8"}
    )
    assert db.exec(select(Alert.kind)).all() == ["severe_pain"]


def test_checkin_without_a_recent_session(patient_client):
    page = patient_client.get("/checkin").get_data(as_text=True)
    assert "nothing to check in about" in page


# --- History and the exercise page ---------------------------------------------------------


def test_history_has_a_calendar_in_words_and_charts_with_text(patient_client, setup, db):
    clinic, program, items = setup
    now = utcnow()
    for days_ago, pain in ((3, 4), (2, 3), (0, 2)):
        at = now - timedelta(days=days_ago)
        service.record_session(db, at, clinic.patient, submission(program, items, at, pain=pain))
    db.commit()
    page = patient_client.get("/history").get_data(as_text=True)
    assert '<table class="calendar">' in page
    assert '<span class="visually-hidden">Done</span>' in page
    assert '<span class="visually-hidden">Missed</span>' in page
    assert 'role="img" aria-labelledby="pain-effort-title pain-effort-desc"' in page
    assert '<title id="pain-effort-title">' in page and "<desc id=" in page
    assert "Show the numbers" in page and '<th scope="col">Pain</th>' in page
    assert page.count('class="chart"') == 1 + len(items)
    earlier = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert patient_client.get(f"/history?month={earlier}").status_code == 200
    assert patient_client.get("/history?month=nonsense").status_code == 200


def test_exercise_page_only_for_exercises_on_the_program(patient_client, people, setup, db):
    clinic, _program, items = setup
    response = patient_client.get(f"/exercises/{items[0].exercise_id}")
    assert response.status_code == 200
    assert "Straighten your knee slowly." in response.get_data(as_text=True)
    other = people.patient(clinic.therapist, name="Other", email="other@example.com")
    _p, other_items = make_program(db, clinic.therapist, other, start=date.today())
    assert patient_client.get(f"/exercises/{other_items[0].exercise_id}").status_code == 404


def test_another_patients_session_page_is_not_found(app, people, setup, db):
    clinic, program, items = setup
    log = _yesterdays_session(setup, db)
    other = people.patient(clinic.therapist, name="Other", email="other@example.com")
    client = app.test_client()
    client.post("/login", data={"login": other.login, "password": PASSWORD})
    assert client.get(f"/sessions/{log.id}").status_code == 404


# --- Charts --------------------------------------------------------------------------------


def test_line_chart_has_title_desc_gaps_and_a_table():
    chart = charts.line_chart(
        "c1",
        "Pain <and> effort",
        "Pain and effort per session.",
        ["Nov 1", "Nov 2", "Nov 3", "Nov 4"],
        [charts.Series("Pain", [2, None, 4, 3]), charts.Series("Effort", [5, 6, 7, 7])],
    )
    svg = str(chart.svg)
    assert '<title id="c1-title">Pain &lt;and&gt; effort</title>' in svg
    assert svg.count("<polyline") == 1 + 1  # the pain line breaks at the gap
    assert 'stroke-dasharray="7 5"' in svg  # effort differs by pattern, not colour alone
    assert chart.rows[:2] == [["Nov 1", "2", "5"], ["Nov 2", "—", "6"]]
    figure = str(chart.figure())
    assert "<details" in figure and '<th scope="row">Nov 2</th>' in figure
    assert "style=" not in figure  # the CSP allows no inline style


def test_bar_chart_and_sparkline():
    chart = charts.bar_chart("b", "Done", "Reps done.", ["a", "b"], [20, 15], 20, "Reps", target=20)
    assert str(chart.svg).count("<rect") == 2 and chart.columns == ["Date", "Reps", "Target"]
    spark = str(charts.sparkline([0.5, 1.0], "Adherence 50 % then 100 %"))
    assert 'aria-label="Adherence 50 % then 100 %"' in spark


def test_parse_session_form_without_warmup_answer():
    result = parse_session_form(MultiDict({"client_uuid": str(uuid.uuid4())}))
    assert not result.ok and "warmup_soreness" in result.errors
