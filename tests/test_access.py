"""Clinic and role scoping: every route that takes an id refuses other clinics and patients.

The test walks the app's URL map, so a new route with an id is checked as soon as it exists;
`owned_by_clinic_a` says which row of clinic A each kind of id names.
"""

from __future__ import annotations

from datetime import date

import pytest
from werkzeug.routing import Rule

from hep.models import Program
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
    db.commit()
    ids = {
        "patient_id": clinic.patient.id,
        "program_id": program.id,
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
