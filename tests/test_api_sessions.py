"""POST /api/v1/sessions: what the offline outbox replays. A session is stored once whatever
the number of replays, keeps the phone's time, and bad input is a 4xx with field locations."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import func, select

from hep import create_app
from hep.models import SessionLog
from hep.timeutil import utcnow
from tests.conftest import PASSWORD
from tests.test_patient import make_program, submission

URL = "/api/v1/sessions"


@pytest.fixture
def clinic_program(people, db):
    clinic = people.clinic_with_patient()
    program, items = make_program(
        db, clinic.therapist, clinic.patient, start=date.today() - timedelta(days=7)
    )
    return clinic, program, items


def body_for(program, items, **fields) -> dict:
    now = utcnow()
    return submission(program, items, now - timedelta(hours=2), now=now, **fields).model_dump(
        mode="json"
    )


def stored(db, patient_id: int) -> int:
    db.expire_all()
    return db.exec(
        select(func.count()).select_from(SessionLog).where(SessionLog.patient_id == patient_id)
    ).one()


def test_a_session_is_stored_with_the_phones_time_and_a_replay_answers_200(
    client, auth, db, clinic_program
):
    clinic, program, items = clinic_program
    auth.login(clinic.patient)
    body = body_for(program, items)

    first = client.post(URL, json=body)
    assert first.status_code == 201, first.json
    assert first.json["created"] is True
    assert first.json["client_uuid"] == body["client_uuid"]

    replay = client.post(URL, json=body)
    assert replay.status_code == 200
    assert replay.json == {**first.json, "created": False}

    assert stored(db, clinic.patient.id) == 1
    log = db.get(SessionLog, first.json["id"])
    assert log.performed_at == datetime.fromisoformat(body["performed_at"])
    assert log.received_at - log.performed_at > timedelta(hours=1)


def test_the_same_outbox_replayed_three_times_stores_one_session(client, auth, db, clinic_program):
    clinic, program, items = clinic_program
    auth.login(clinic.patient)
    outbox = [body_for(program, items), body_for(program, items, pain=4)]
    answers = [client.post(URL, json=body).status_code for _ in range(3) for body in outbox]
    assert answers == [201, 201, 200, 200, 200, 200]
    assert stored(db, clinic.patient.id) == 2


def test_concurrent_duplicates_store_one_row(app, people, db, clinic_program):
    clinic, program, items = clinic_program
    body = body_for(program, items)
    clients = []
    for _ in range(6):
        c = app.test_client()
        c.post("/login", data={"login": clinic.patient.login, "password": PASSWORD})
        clients.append(c)
    start = threading.Barrier(len(clients))
    statuses: list[int] = []
    ids: set[int] = set()

    def send(c):
        start.wait()
        response = c.post(URL, json=body)
        statuses.append(response.status_code)
        ids.add(response.json["id"])

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(statuses) == [200] * 5 + [201]
    assert len(ids) == 1
    assert stored(db, clinic.patient.id) == 1


@pytest.mark.parametrize(
    ("change", "location"),
    [
        (lambda b: b["exercises"][0].update(pain_during=11), ["exercises", 0, "pain_during"]),
        (lambda b: b.pop("client_uuid"), ["client_uuid"]),
        (lambda b: b.update(client_uuid="not-a-uuid"), ["client_uuid"]),
        (lambda b: b.update(performed_at="2020-01-01T10:00:00Z"), ["performed_at"]),
        (lambda b: b.update(performed_at="2030-01-01T10:00:00"), ["performed_at"]),
        (lambda b: b.update(red_flags=["nonsense"]), ["red_flags", 0]),
        (lambda b: b.update(surprise=True), ["surprise"]),
    ],
)
def test_invalid_sessions_are_422_with_field_locations(
    client, auth, db, clinic_program, change, location
):
    clinic, program, items = clinic_program
    auth.login(clinic.patient)
    body = body_for(program, items)
    change(body)
    response = client.post(URL, json=body)
    assert response.status_code == 422
    assert location in [error["loc"] for error in response.json["detail"]]
    assert all(error["msg"] for error in response.json["detail"])
    assert stored(db, clinic.patient.id) == 0


def test_a_body_that_is_not_a_json_object_is_422(client, auth, clinic_program):
    auth.login(clinic_program[0].patient)
    for data, kind in (("[1, 2]", "application/json"), ("{", "application/json"), ("x", None)):
        response = client.post(URL, data=data, content_type=kind)
        assert response.status_code == 422
        assert response.json["detail"][0]["loc"] == ["body"]


def test_reps_over_the_limit_point_at_that_exercise(client, auth, db, clinic_program):
    clinic, program, items = clinic_program
    auth.login(clinic.patient)
    body = body_for(program, items)
    body["exercises"][0]["sets_done"] = [501, 10]
    response = client.post(URL, json=body)
    assert response.status_code == 422
    assert response.json["detail"][0]["loc"] == ["exercises", 0, "sets_done"]
    assert stored(db, clinic.patient.id) == 0


def test_another_patients_program_or_exercise_is_refused(client, auth, people, db, clinic_program):
    clinic, program, items = clinic_program
    other = people.patient(clinic.therapist, name="Olga Other", email="olga@example.com")
    other_program, other_items = make_program(
        db, clinic.therapist, other, start=date.today() - timedelta(days=7)
    )
    auth.login(clinic.patient)

    theirs = body_for(other_program, other_items)
    response = client.post(URL, json=theirs)
    assert response.status_code == 404
    assert response.json == {"error": "Not Found", "status": 404}

    mixed = body_for(program, items)
    mixed["exercises"][0]["program_item_id"] = other_items[0].id
    response = client.post(URL, json=mixed)
    assert response.status_code == 422
    assert response.json["detail"][0]["loc"] == ["exercises"]

    assert stored(db, clinic.patient.id) == 0
    assert stored(db, other.id) == 0


def test_therapists_get_403_and_signed_out_callers_401(client, auth, db, clinic_program):
    clinic, program, items = clinic_program
    body = body_for(program, items)

    signed_out = client.post(URL, json={"not": "even valid"})
    assert signed_out.status_code == 401
    assert signed_out.json == {"error": "Unauthorized", "status": 401}

    auth.login(clinic.therapist)
    response = client.post(URL, json=body)
    assert response.status_code == 403
    assert response.json["status"] == 403
    assert stored(db, clinic.patient.id) == 0


def test_writes_need_the_csrf_token_from_the_api(app_config, people, db):
    clinic = people.clinic_with_patient()
    program, items = make_program(
        db, clinic.therapist, clinic.patient, start=date.today() - timedelta(days=7)
    )
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    login_token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login",
        data={"login": clinic.patient.login, "password": PASSWORD, "csrf_token": login_token},
    )
    body = body_for(program, items)

    refused = client.post(URL, json=body)
    assert refused.status_code == 400
    assert refused.is_json and refused.json["status"] == 400

    token = client.get("/api/v1/csrf").json
    assert token["user_id"] == clinic.patient.id
    response = client.post(URL, json=body, headers={"X-CSRFToken": token["csrf_token"]})
    assert response.status_code == 201
    assert stored(db, clinic.patient.id) == 1
    app.extensions["hep.engine"].dispose()


def test_openapi_describes_sessions_from_the_validating_model(client):
    doc = client.get("/api/v1/openapi.json").json
    operation = doc["paths"]["/api/v1/sessions"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/SessionSubmission")
    for status in ("201", "200"):
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/SessionOut")
    assert {"401", "403", "404", "422", "400"} <= set(operation["responses"])
    submission_schema = doc["components"]["schemas"]["SessionSubmission"]
    assert {"client_uuid", "program_id", "performed_at"} <= set(submission_schema["required"])
    assert submission_schema["properties"]["client_uuid"]["format"] == "uuid"
