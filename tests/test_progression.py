"""The progression engine end to end: logs recorded through the patient service become
suggestions with the rule that fired; accepting one versions the dosage and tells the patient.

The pure decision table is tested row by row in tests/rules/; here each row is reached through
real logs and check-ins in the database.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from hep import progression
from hep.content.loader import load_catalogue
from hep.library.service import sync_catalogue
from hep.models import (
    Exercise,
    Notification,
    Program,
    ProgramItem,
    ProgramItemVersion,
    ProgressionSuggestion,
)
from hep.patient.schemas import CheckinSubmission, SessionSubmission
from hep.patient.service import record_checkin, record_session
from hep.programs.service import change_item_dosage, default_dosage
from tests.conftest import count_queries

START = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def clinic(people, db):
    sync_catalogue(db, START, load_catalogue())
    db.commit()
    return people.clinic_with_patient()


def reps_exercise(db) -> Exercise:
    """A library exercise dosed in reps, without a load, on a ladder both ways."""
    return db.exec(
        select(Exercise)
        .where(
            Exercise.dosage_kind == "reps",
            col(Exercise.progression_slug).is_not(None),
            col(Exercise.regression_slug).is_not(None),
            col(Exercise.clinic_id).is_(None),
        )
        .order_by(Exercise.slug)
    ).first()


def give_program(db, clinic, exercise: Exercise, auto_apply: bool = False, **dosage):
    program = Program(
        clinic_id=clinic.therapist.clinic_id,
        patient_id=clinic.patient.id,
        created_by_id=clinic.therapist.id,
        title="Home program",
        days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        start_date=date(2026, 11, 2),
        auto_apply_progressions=auto_apply,
        created_at=START,
    )
    db.add(program)
    db.flush()
    item = ProgramItem(
        program_id=program.id, exercise_id=exercise.id, **{**default_dosage(exercise), **dosage}
    )
    db.add(item)
    db.flush()
    change_item_dosage(db, START, item, {}, clinic.therapist, "new program", before=None)
    db.commit()
    return program, item


def log(
    db, clinic, program, item, day: int, sets_done, pain=1, effort=5, warmup="none", red_flags=()
):
    when = START + timedelta(days=day, hours=2)
    submission = SessionSubmission.model_validate(
        {
            "client_uuid": str(uuid.uuid4()),
            "program_id": program.id,
            "performed_at": when.isoformat(),
            "warmup_soreness": warmup,
            "exercises": []
            if warmup == "continues"
            else [
                {
                    "program_item_id": item.id,
                    "sets_done": list(sets_done),
                    "pain_during": pain,
                    "effort": effort,
                }
            ],
            "pain_overall": pain,
            "effort_overall": effort,
            "red_flags": list(red_flags),
        },
        context={"now": when},
    )
    session_log, _created = record_session(db, when, clinic.patient, submission)
    db.commit()
    return session_log


def checkin(db, clinic, session_log, day: int, soreness_gone: bool, pain_now: int = 2):
    when = START + timedelta(days=day, hours=-5)
    record_checkin(
        db,
        when,
        clinic.patient,
        CheckinSubmission(
            session_id=session_log.id, soreness_gone=soreness_gone, pain_now=pain_now
        ),
    )
    db.commit()


def pending(db, item) -> list[ProgressionSuggestion]:
    return list(
        db.exec(
            select(ProgressionSuggestion).where(
                ProgressionSuggestion.program_item_id == item.id,
                ProgressionSuggestion.status == "pending",
            )
        ).all()
    )


def test_two_sessions_with_reps_to_spare_suggest_advance_and_tell_the_therapist(clinic, db):
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [12, 12, 12])
    assert pending(db, item) == []  # one session is not enough (row 8)
    log(db, clinic, program, item, 3, [12, 12, 13])
    [suggestion] = pending(db, item)
    assert (suggestion.decision, suggestion.rule) == ("advance", "two-for-two")
    assert suggestion.to_dosage == {"reps": 12}
    assert suggestion.from_dosage["reps"] == 10
    assert "Twice in a row" in suggestion.reason
    note = db.exec(select(Notification).where(Notification.kind == "progression_ready")).one()
    assert note.user_id == clinic.therapist.id
    assert "pain" not in note.title.lower()


def test_easy_sessions_without_spare_reps_advance_by_low_effort(clinic, db):
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [10, 10, 10], effort=3)
    log(db, clinic, program, item, 2, [10, 10, 10], effort=4)
    [suggestion] = pending(db, item)
    assert (suggestion.decision, suggestion.rule) == ("advance", "low-effort")


def test_accepting_versions_the_dosage_and_tells_the_patient(clinic, db):
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [12, 12, 12])
    log(db, clinic, program, item, 2, [12, 12, 12])
    [suggestion] = pending(db, item)
    accepted_at = START + timedelta(days=2, hours=6)
    progression.apply(db, accepted_at, suggestion, clinic.therapist)
    db.commit()
    db.refresh(item)
    assert item.reps == 12
    version = db.exec(
        select(ProgramItemVersion)
        .where(ProgramItemVersion.item_id == item.id)
        .order_by(col(ProgramItemVersion.id).desc())
    ).first()
    assert version.before["reps"] == 10 and version.after["reps"] == 12
    assert version.reason == "advance: two-for-two"
    assert version.changed_by_id == clinic.therapist.id
    told = db.exec(select(Notification).where(Notification.kind == "program_updated")).one()
    assert told.user_id == clinic.patient.id
    with pytest.raises(progression.SuggestionNotPending):
        progression.apply(db, accepted_at, suggestion, clinic.therapist)


def test_logs_from_before_a_change_do_not_fire_again(clinic, db):
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [10, 10, 10], pain=6)
    [regress] = pending(db, item)
    assert (regress.decision, regress.rule, regress.to_dosage) == (
        "regress",
        "pain-over-5",
        {"reps": 8},
    )
    progression.apply(db, START + timedelta(days=1, hours=8), regress, clinic.therapist)
    db.commit()
    assert progression.evaluate_patient(db, START + timedelta(days=2), clinic.patient.id) == []
    assert pending(db, item) == []


def test_new_pain_supersedes_a_pending_advance(clinic, db):
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [12, 12, 12])
    log(db, clinic, program, item, 2, [12, 12, 12])
    [advance] = pending(db, item)
    log(db, clinic, program, item, 3, [10, 10, 10], pain=7)
    db.refresh(advance)
    assert advance.status == "superseded"
    [regress] = pending(db, item)
    assert regress.rule == "pain-over-5"


def test_the_same_evaluation_twice_keeps_one_suggestion(clinic, db):
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [12, 12, 12])
    log(db, clinic, program, item, 2, [12, 12, 12])
    progression.evaluate_all(db, START + timedelta(days=3))
    progression.evaluate_all(db, START + timedelta(days=4))
    db.commit()
    assert len(pending(db, item)) == 1


def test_each_further_item_costs_one_query(clinic, db, app):
    """What every item needs (red flags, dosage changes, pending suggestions) is gathered once
    per program; each item adds only the look-up of its own recent logs."""
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [12, 12, 12])
    log(db, clinic, program, item, 2, [12, 12, 12])
    now = START + timedelta(days=3)

    def statements() -> int:
        progression.evaluate_patient(db, now, clinic.patient.id)  # suggestions made; kept after
        db.commit()
        with count_queries(app) as seen:
            progression.evaluate_patient(db, now, clinic.patient.id)
        db.commit()
        return len(seen)

    one_item = statements()
    others = db.exec(
        select(Exercise)
        .where(Exercise.dosage_kind == "reps", col(Exercise.clinic_id).is_(None))
        .where(Exercise.id != item.exercise_id)
        .order_by(Exercise.slug)
        .limit(3)
    ).all()
    for position, exercise in enumerate(others, start=1):
        extra = ProgramItem(
            program_id=program.id,
            exercise_id=exercise.id,
            position=position,
            **default_dosage(exercise),
        )
        db.add(extra)
        db.flush()
        change_item_dosage(db, now, extra, {}, clinic.therapist, "added", before=None)
    db.commit()
    assert statements() == one_item + 3


@pytest.mark.parametrize(
    ("sessions", "checkins", "decision", "rule", "rest_days"),
    [
        # row 1: warm-up soreness that continues stops the session and regresses
        (
            [dict(sets_done=[12, 12, 12]), dict(sets_done=[], warmup="continues")],
            {},
            "regress",
            "soreness-continues",
            2,
        ),
        # row 3: sore into the next morning after both sessions
        (
            [dict(sets_done=[12, 12, 12]), dict(sets_done=[12, 12, 12])],
            {0: False, 1: False},
            "regress",
            "soreness-next-day-twice",
            1,
        ),
        # row 4: sore the next morning once
        (
            [dict(sets_done=[12, 12, 12]), dict(sets_done=[12, 12, 12])],
            {1: False},
            "hold",
            "soreness-next-day",
            0,
        ),
        # row 5: pain 3 to 5
        (
            [dict(sets_done=[12, 12, 12]), dict(sets_done=[12, 12, 12], pain=4)],
            {},
            "hold",
            "pain-3-to-5",
            0,
        ),
        # row 6: warm-up soreness that went away
        (
            [dict(sets_done=[12, 12, 12]), dict(sets_done=[12, 12, 12], warmup="gone")],
            {},
            "hold",
            "soreness-warm-up",
            0,
        ),
    ],
)
def test_each_row_is_reached_through_real_logs(
    clinic, db, sessions, checkins, decision, rule, rest_days
):
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    logs = []
    for day, session in enumerate(sessions):
        logs.append(log(db, clinic, program, item, 1 + 2 * day, **session))
        if day in checkins:
            checkin(db, clinic, logs[-1], 2 + 2 * day, soreness_gone=checkins[day])
    results = progression.recent_results(db, item)
    outcome = progression.decide(
        progression.rule_input(item, db.get(Exercise, item.exercise_id)), results
    )
    assert (outcome.decision, outcome.rule, outcome.rest_days) == (decision, rule, rest_days)
    stored = pending(db, item)
    if decision == "hold":
        assert stored == []
    else:
        assert [(s.decision, s.rule, s.rest_days) for s in stored] == [(decision, rule, rest_days)]


def test_top_of_the_ladder_moves_to_the_next_exercise(clinic, db):
    exercise = reps_exercise(db)
    successor = db.exec(select(Exercise).where(Exercise.slug == exercise.progression_slug)).one()
    program, item = give_program(db, clinic, exercise, sets=3, reps=exercise.ceiling_reps)
    full = [exercise.ceiling_reps] * 3
    log(db, clinic, program, item, 1, full, effort=2)
    log(db, clinic, program, item, 2, full, effort=2)
    [suggestion] = pending(db, item)
    assert suggestion.to_dosage == {"exercise": successor.slug, "dosage": "default"}
    new_item = progression.apply(db, START + timedelta(days=3), suggestion, clinic.therapist)
    db.commit()
    db.refresh(item)
    assert item.removed_at is not None
    assert new_item.exercise_id == successor.id and new_item.position == item.position
    assert new_item.sets == successor.sets


def test_auto_apply_changes_the_dosage_without_waiting(clinic, db):
    program, item = give_program(db, clinic, reps_exercise(db), auto_apply=True, sets=3, reps=10)
    log(db, clinic, program, item, 1, [12, 12, 12])
    log(db, clinic, program, item, 2, [12, 12, 12])
    db.refresh(item)
    assert item.reps == 12
    [applied] = db.exec(select(ProgressionSuggestion)).all()
    assert applied.status == "applied" and applied.decided_by_id is None
    assert db.exec(select(Notification).where(Notification.kind == "progression_ready")).all() == []


def test_dismissed_suggestion_changes_nothing(clinic, db):
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [12, 12, 12])
    log(db, clinic, program, item, 2, [12, 12, 12])
    [suggestion] = pending(db, item)
    progression.dismiss(db, START + timedelta(days=3), suggestion, clinic.therapist)
    db.commit()
    db.refresh(item)
    assert item.reps == 10 and suggestion.status == "dismissed"


def test_a_red_flag_holds_every_suggestion_for_the_therapist(clinic, db):
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [12, 12, 12])
    log(db, clinic, program, item, 2, [12, 12, 12])
    [advance] = pending(db, item)
    log(db, clinic, program, item, 3, [12, 12, 12], red_flags=("chest_pain",))
    db.refresh(advance)
    assert advance.status == "superseded"
    assert pending(db, item) == []


def ready_to_advance(db, clinic):
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [12, 12, 12])
    log(db, clinic, program, item, 2, [12, 12, 12])
    [suggestion] = pending(db, item)
    return item, suggestion


def test_therapist_accepts_over_http_with_an_edited_dose(clinic, db, auth):
    item, suggestion = ready_to_advance(db, clinic)
    auth.login(clinic.therapist)
    response = auth.client.post(
        f"/suggestions/{suggestion.id}/accept", data={"reps": "11"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "Accepted" in response.get_data(as_text=True)
    db.refresh(item)
    db.refresh(suggestion)
    assert item.reps == 11 and suggestion.status == "accepted"
    assert suggestion.to_dosage == {"reps": 11}
    # A second click changes nothing more.
    auth.client.post(f"/suggestions/{suggestion.id}/accept", data={"reps": "14"})
    db.refresh(item)
    assert item.reps == 11


def test_a_bad_edit_is_refused_and_changes_nothing(clinic, db, auth):
    item, suggestion = ready_to_advance(db, clinic)
    auth.login(clinic.therapist)
    response = auth.client.post(
        f"/suggestions/{suggestion.id}/accept",
        data={"reps": "lots"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Reps must be a whole number" in page and 'value="lots"' in page
    db.refresh(item)
    db.refresh(suggestion)
    assert item.reps == 10 and suggestion.status == "pending"


def test_therapist_dismisses_over_http(clinic, db, auth):
    item, suggestion = ready_to_advance(db, clinic)
    auth.login(clinic.therapist)
    response = auth.client.post(f"/suggestions/{suggestion.id}/dismiss")
    assert response.status_code == 302
    db.refresh(suggestion)
    assert suggestion.status == "dismissed"


def test_another_clinic_cannot_decide(clinic, db, people, app):
    _item, suggestion = ready_to_advance(db, clinic)
    people.clinic("Elsewhere", "else@example.com")
    other = app.test_client()
    other.post("/login", data={"login": "else@example.com", "password": "correct horse battery"})
    assert other.post(f"/suggestions/{suggestion.id}/accept").status_code == 404
    db.refresh(suggestion)
    assert suggestion.status == "pending"


def test_an_accepted_regress_with_rest_days_shows_on_today(clinic, db, auth, app):
    from hep.patient.service import today_view

    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [10, 10, 10], pain=2)
    stopped = log(db, clinic, program, item, 3, [], warmup="continues")
    assert stopped.stop_reason == "soreness"
    [regress] = pending(db, item)
    assert (regress.rule, regress.rest_days) == ("soreness-continues", 2)
    decided = START + timedelta(days=3, hours=3)
    progression.apply(db, decided, regress, clinic.therapist)
    db.commit()
    view = today_view(db, decided + timedelta(days=1), clinic.patient)
    assert view.rest_until == date(2026, 11, 8)
    assert today_view(db, decided + timedelta(days=3), clinic.patient).rest_until is None


def test_the_daily_job_evaluates_every_active_program(clinic, db, app):
    from hep.jobs import SCHEDULE, evaluate_progressions, run

    assert evaluate_progressions in [job.func for job in SCHEDULE]
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [12, 12, 12])
    log(db, clinic, program, item, 2, [12, 12, 12])
    [first] = pending(db, item)
    first.status = "superseded"  # e.g. the program changed underneath it
    db.add(first)
    db.commit()
    run(app, evaluate_progressions)
    db.expire_all()
    [again] = pending(db, item)
    assert again.id != first.id and again.rule == first.rule


def test_a_dismissed_suggestion_returns_only_after_new_sessions(clinic, db):
    program, item = give_program(db, clinic, reps_exercise(db), sets=3, reps=10)
    log(db, clinic, program, item, 1, [12, 12, 12])
    log(db, clinic, program, item, 2, [12, 12, 12])
    [suggestion] = pending(db, item)
    progression.dismiss(db, START + timedelta(days=2, hours=5), suggestion, clinic.therapist)
    db.commit()
    progression.evaluate_all(db, START + timedelta(days=3))
    assert pending(db, item) == []
    log(db, clinic, program, item, 4, [12, 12, 12])
    assert [s.rule for s in pending(db, item)] == ["two-for-two"]
