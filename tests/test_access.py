"""Clinic and role scoping: every route that takes an id refuses other clinics and patients.

The test walks the app's URL map, so a new route with an id is checked as soon as it exists;
`owned_by_clinic_a` says which row of clinic A each kind of id names.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from werkzeug.routing import Rule

from hep.models import (
    Alert,
    Exercise,
    ExerciseMedia,
    Notification,
    Program,
    ProgramItem,
    ProgramTemplate,
    ProgressionSuggestion,
    PushSubscription,
    SessionLog,
)
from tests.conftest import PASSWORD


@pytest.fixture
def owned_by_clinic_a(people, db):
    """Clinic A's rows, by the name of the URL argument that carries their id."""
    clinic = people.clinic_with_patient("Clinic A", "a@example.com")
    program = Program(
        clinic_id=clinic.therapist.clinic_id,
        patient_id=clinic.patient.id,
        created_by_id=clinic.therapist.id,
        title="Knee plan",
        days=["mon"],
        start_date=date(2026, 11, 2),
    )
    db.add(program)
    exercise = Exercise(
        clinic_id=clinic.therapist.clinic_id,
        slug="clinic-a-sit-to-stand",
        name="Sit to stand",
        category="functional",
        cpt_code="97530",
        body_region="knee",
        position="sitting",
    )
    db.add(exercise)
    db.flush()
    media = ExerciseMedia(
        exercise_id=exercise.id,
        clinic_id=clinic.therapist.clinic_id,
        kind="image",
        content_type="image/png",
        storage_name="clinic-a.png",
        size_bytes=1,
    )
    template = ProgramTemplate(
        clinic_id=clinic.therapist.clinic_id,
        slug="clinic-a-knee",
        name="Knee plan",
        items=[{"exercise": exercise.slug}],
    )
    db.add_all([media, template])
    alert = Alert(
        clinic_id=clinic.therapist.clinic_id,
        patient_id=clinic.patient.id,
        kind="red_flag",
        severity="immediate",
    )
    db.add(alert)
    notification = Notification(
        user_id=clinic.patient.id, kind="session_reminder", dedupe_key="a:1", title="Time"
    )
    device = PushSubscription(
        user_id=clinic.patient.id, endpoint="https://push.example/a", p256dh="k", auth="a"
    )
    db.add_all([notification, device])
    # The exercise is on patient A's program, and patient A logged a session with it.
    item = ProgramItem(program_id=program.id, exercise_id=exercise.id, reps=10)
    db.add(item)
    db.flush()
    suggestion = ProgressionSuggestion(
        clinic_id=clinic.therapist.clinic_id,
        patient_id=clinic.patient.id,
        program_item_id=item.id,
        decision="advance",
        rule="two-for-two",
        reason="Twice in a row.",
        from_dosage={"reps": 10},
        to_dosage={"reps": 12},
    )
    db.add(suggestion)
    session_log = SessionLog(
        client_uuid=uuid.uuid4(),
        patient_id=clinic.patient.id,
        program_id=program.id,
        performed_at=datetime(2026, 11, 2, 15, 0, tzinfo=UTC),
        local_date=date(2026, 11, 2),
        counted=True,
    )
    db.add(session_log)
    db.commit()
    ids = {
        "exercise_id": exercise.id,
        "media_id": media.id,
        "template_id": template.id,
        "patient_id": clinic.patient.id,
        "program_id": program.id,
        "alert_id": alert.id,
        "notification_id": notification.id,
        "subscription_id": device.id,
        "session_id": session_log.id,
        "suggestion_id": suggestion.id,
        "user_id": clinic.therapist.id,  # a therapist of clinic A (team admin routes)
    }
    return clinic, ids


def id_routes(app) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        and any(conv.__class__.__name__ == "IntegerConverter" for conv in rule._converters.values())
    ]


def _urls(app, ids):
    for rule in id_routes(app):
        missing = set(rule.arguments) - set(ids)
        assert not missing, f"{rule.rule}: add {missing} to owned_by_clinic_a"
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", str(ids[name]))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


def _refused(client, urls):
    allowed = []
    for method, path in urls:
        response = client.open(path, method=method, data={})
        if response.status_code not in (403, 404):
            allowed.append((method, path, response.status_code))
    return allowed


def test_there_are_id_routes_to_check(app):
    assert len(id_routes(app)) >= 2


def test_another_clinics_therapist_is_refused_everywhere(app, people, owned_by_clinic_a):
    _clinic, ids = owned_by_clinic_a
    people.clinic("Clinic B", "b@example.com")
    client = app.test_client()
    client.post("/login", data={"login": "b@example.com", "password": PASSWORD})
    assert _refused(client, _urls(app, ids)) == []


def test_another_patient_of_the_same_clinic_is_refused_everywhere(app, people, owned_by_clinic_a):
    clinic, ids = owned_by_clinic_a
    other = people.patient(clinic.therapist, name="Other Patient", email="other@example.com")
    client = app.test_client()
    client.post("/login", data={"login": other.login, "password": PASSWORD})
    assert _refused(client, _urls(app, ids)) == []


def test_own_clinic_therapist_is_allowed(app, owned_by_clinic_a):
    _clinic, ids = owned_by_clinic_a
    client = app.test_client()
    client.post("/login", data={"login": "a@example.com", "password": PASSWORD})
    response = client.get(f"/patients/{ids['patient_id']}")
    assert response.status_code == 200
