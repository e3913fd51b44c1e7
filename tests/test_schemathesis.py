"""schemathesis fuzzes the JSON API from /api/v1/openapi.json, as a signed-in patient with a
program: no 500s, and every answer matches the document (status codes, content types,
response schemas), for data that fits the schema and data that does not. Examples are bounded
so the whole run stays well under a minute."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from hep.timeutil import utcnow
from tests.conftest import PASSWORD
from tests.test_patient import make_program

EXAMPLES = 100


@pytest.fixture
def patient_session(app, people, db) -> tuple[str, int]:
    """A signed-in patient's session cookie value, and their program's id."""
    clinic = people.clinic_with_patient()
    program, _items = make_program(
        db, clinic.therapist, clinic.patient, start=date.today() - timedelta(days=7)
    )
    client = app.test_client()
    response = client.post("/login", data={"login": clinic.patient.login, "password": PASSWORD})
    assert response.status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value, program.id


# Every check of schemathesis but one: a body that fits the schema may still be refused with
# a 422 (documented, with field locations) for rules a JSON schema cannot say: a session
# performed_at more than 30 days ago or in the future, an exercise listed twice, an exercise
# not on the patient's program.
EXCLUDED = [positive_data_acceptance]


def aimed(program_id: int):
    """Point some generated sessions at the patient's real program and a recent time, so the
    fuzzing also reaches the service (and stores sessions), not only validation."""

    def aim(pair):
        case, aim_it = pair
        if aim_it and isinstance(case.body, dict):
            case.body["program_id"] = program_id
            case.body["performed_at"] = (utcnow() - timedelta(hours=1)).isoformat()
        return case

    return aim


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_openapi_document(app, patient_session, mode):
    cookie, program_id = patient_session
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/me", "/api/v1/csrf", "/api/v1/sessions"}
    seen: set[tuple[str, int]] = set()
    for operation in operations:
        inputs = len(operation.body) + len(operation.query) + len(operation.path_parameters)
        if mode is GenerationMode.NEGATIVE and not inputs:
            continue  # nothing to send wrong (the session cookie is kept valid on purpose)
        strategy = operation.as_strategy(generation_mode=mode, cookies={"session": cookie})

        # Negative cases stay as generated: aiming could mend what was made wrong on purpose.
        aim = st.booleans() if mode is GenerationMode.POSITIVE else st.just(False)

        @given(case=st.tuples(strategy, aim).map(aimed(program_id)))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            response = case.call_and_validate(excluded_checks=EXCLUDED)
            seen.add((case.operation.path, response.status_code))

        check()
    # The fuzzing reached past validation: stored sessions on the fitting side, 422s on both.
    assert ("/api/v1/sessions", 422) in seen
    if mode is GenerationMode.POSITIVE:
        assert ("/api/v1/sessions", 201) in seen
