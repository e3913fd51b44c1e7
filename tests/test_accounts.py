"""Sign-up, sign-in, lockout, invite links, idle logoff and CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from hep import create_app
from hep.accounts import service as accounts
from hep.models import Clinic, Invite, PatientProfile, User
from hep.timeutil import utcnow
from tests.conftest import PASSWORD

SIGNUP = {
    "clinic_name": "Hillside PT",
    "name": "Hana Admin",
    "email": "Hana@Example.com",
    "timezone": "America/Chicago",
    "password": "long enough pw",
    "confirm": "long enough pw",
}


def count(db, model) -> int:
    return db.exec(select(func.count()).select_from(model)).one()


def test_signup_creates_clinic_and_admin_and_signs_in(client, db):
    response = client.post("/signup", data=SIGNUP)
    assert response.status_code == 302
    assert response.headers["Location"] == "/patients"
    user = db.exec(select(User)).one()
    assert user.is_admin and user.role == "therapist" and user.login == "hana@example.com"
    assert user.password_hash != SIGNUP["password"] and user.password_hash.startswith("scrypt")
    assert db.get(Clinic, user.clinic_id).name == "Hillside PT"
    assert client.get("/patients").status_code == 200


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("clinic_name", "", "Enter clinic name"),
        ("name", "x" * 121, "Full name must be 120 characters or fewer"),
        ("email", "not-an-email", "Enter an email address like name@example.com"),
        ("timezone", "Mars/Olympus", "Choose a time zone from the list"),
        ("password", "short", "Password must be at least 8 characters"),
        ("confirm", "different pw", "The two passwords are not the same"),
    ],
)
def test_signup_bad_input_keeps_values_and_writes_nothing(client, db, field, value, message):
    response = client.post("/signup", data={**SIGNUP, field: value})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "There is a problem" in page
    assert 'value="Hillside PT"' in page or field == "clinic_name"
    assert count(db, User) == 0 and count(db, Clinic) == 0


def test_signup_with_taken_email_is_refused(client, db, people):
    people.clinic(email="hana@example.com")
    response = client.post("/signup", data=SIGNUP)
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert count(db, Clinic) == 1


def test_signup_can_be_turned_off(app_config):
    app = create_app({**app_config, "SIGNUP_ENABLED": False})
    assert app.test_client().get("/signup").status_code == 404


def test_wrong_password_is_refused_without_saying_which_part(auth, people):
    therapist = people.clinic()
    response = auth.login(therapist, "wrong password")
    assert response.status_code == 422
    assert "do not match" in response.get_data(as_text=True)
    assert auth.login("nobody@example.com", "whatever").status_code == 422


def test_login_keeps_typed_name(auth, people):
    people.clinic()
    page = auth.login("tess@example.com", "nope").get_data(as_text=True)
    assert 'value="tess@example.com"' in page


def test_five_wrong_passwords_lock_the_account(auth, people, db):
    therapist = people.clinic()
    for _ in range(5):
        auth.login(therapist, "wrong password")
    response = auth.login(therapist, PASSWORD)
    assert response.status_code == 422
    assert "Too many wrong passwords" in response.get_data(as_text=True)
    db.refresh(therapist)
    assert therapist.locked_until is not None


def test_lock_expires(db, people):
    therapist = people.clinic()
    for _ in range(5):
        accounts.authenticate(db, utcnow(), therapist.login, "bad", 5, timedelta(minutes=15))
    later = utcnow() + timedelta(minutes=16)
    user, problem = accounts.authenticate(
        db, later, therapist.login, PASSWORD, 5, timedelta(minutes=15)
    )
    assert user is not None and problem is None


def test_login_rate_limit(app_config, people):
    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    statuses = [
        client.post("/login", data={"login": "a@b.co", "password": "x"}).status_code
        for _ in range(4)
    ]
    assert statuses == [422, 422, 422, 429]
    assert "Too many tries" in client.post("/login", data={}).get_data(as_text=True)


def test_open_redirect_after_login_is_ignored(auth, people, client):
    therapist = people.clinic()
    response = client.post(
        "/login?next=//evil.example/x", data={"login": therapist.login, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/patients"


def test_therapist_adds_patient_and_gets_single_use_link(client, auth, people, db):
    therapist = people.clinic()
    auth.login(therapist)
    response = client.post(
        "/patients/new",
        data={
            "name": "María José Núñez",
            "timezone": "America/Los_Angeles",
            "conditions": ["severe_osteoporosis"],
            "baseline_pain": "4",
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<svg" in page and "/invite/" in page
    patient = db.exec(select(User).where(User.role == "patient")).one()
    assert patient.login.startswith("maria-")
    profile = db.get(PatientProfile, patient.id)
    assert profile.conditions == ["severe_osteoporosis"] and profile.baseline_pain == 4
    # The link is shown once; reloading the page does not show it again.
    assert "/invite/" not in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "timezone": "America/New_York"}, "Enter full name"),
        ({"name": "Al", "timezone": "Nowhere"}, "Choose a time zone from the list"),
        (
            {"name": "Al", "timezone": "America/New_York", "baseline_pain": "11"},
            "must be 10 or less",
        ),
        (
            {"name": "Al", "timezone": "America/New_York", "baseline_pain": "lots"},
            "must be a whole number",
        ),
        (
            {"name": "Al", "timezone": "America/New_York", "conditions": ["bogus"]},
            "Choose conditions from the list",
        ),
        ({"name": "Al", "timezone": "America/New_York", "email": "al@"}, "Enter an email"),
    ],
)
def test_add_patient_bad_input_writes_nothing(client, auth, people, db, data, message):
    auth.login(people.clinic())
    response = client.post("/patients/new", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(db, User) == 1 and count(db, Invite) == 0


def test_patient_sets_password_from_link_and_stays_signed_in(app, people, db):
    therapist = people.clinic()
    patient = people.patient(therapist, signed_up=False)
    client = app.test_client()
    page = client.get(f"/invite/{people.tokens[patient.id]}").get_data(as_text=True)
    assert patient.login in page
    response = client.post(
        f"/invite/{people.tokens[patient.id]}",
        data={"password": "my new pass", "confirm": "my new pass"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/today"
    cookie = client.get_cookie("remember_token")
    assert cookie is not None and cookie.expires is not None  # a lasting remember cookie
    assert client.get("/today").status_code == 200
    # A second use of the same link is refused.
    again = app.test_client().get(f"/invite/{people.tokens[patient.id]}")
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)


def test_expired_link_is_refused(app, people, db):
    therapist = people.clinic()
    patient = people.patient(therapist, signed_up=False)
    invite = db.exec(select(Invite).where(Invite.user_id == patient.id)).one()
    invite.expires_at = utcnow() - timedelta(minutes=1)
    db.add(invite)
    db.commit()
    response = app.test_client().post(
        f"/invite/{people.tokens[patient.id]}",
        data={"password": "my new pass", "confirm": "my new pass"},
    )
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    db.refresh(patient)
    assert patient.password_hash is None


def test_unknown_link_is_404(client):
    assert client.get("/invite/not-a-token").status_code == 404


def test_invite_password_mismatch_keeps_link_usable(app, people, db):
    patient = people.patient(people.clinic(), signed_up=False)
    client = app.test_client()
    response = client.post(
        f"/invite/{people.tokens[patient.id]}", data={"password": "my new pass", "confirm": "other"}
    )
    assert response.status_code == 422
    assert "not the same" in response.get_data(as_text=True)
    assert client.get(f"/invite/{people.tokens[patient.id]}").status_code == 200


def test_reissued_link_resets_password_and_signs_out_old_sessions(app, people, db, auth):
    therapist = people.clinic()
    patient = people.patient(therapist)
    phone = app.test_client()
    phone.post("/login", data={"login": patient.login, "password": PASSWORD})
    assert phone.get("/today").status_code == 200
    old_token = people.tokens[patient.id]
    auth.login(therapist)
    response = auth.client.post(f"/patients/{patient.id}/invite")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[-3000:]
    new_token = page.split("/invite/")[1].split('"')[0]
    assert app.test_client().get(f"/invite/{old_token}").status_code == 410
    app.test_client().post(
        f"/invite/{new_token}", data={"password": "brand new pw", "confirm": "brand new pw"}
    )
    assert phone.get("/today").status_code == 302  # the old session ended
    fresh = app.test_client()
    fresh.post("/login", data={"login": patient.login, "password": "brand new pw"})
    assert fresh.get("/today").status_code == 200


def test_admin_invites_a_therapist_who_joins_the_clinic(app, people, auth, db):
    admin = people.clinic()
    auth.login(admin)
    page = auth.client.post("/team", data={"name": "Theo", "email": "theo@example.com"})
    assert page.status_code == 200
    token = page.get_data(as_text=True).split("/invite/")[1].split('"')[0]
    theo = app.test_client()
    theo.post(f"/invite/{token}", data={"password": "theo's pass", "confirm": "theo's pass"})
    assert theo.get("/patients").status_code == 200
    joined = db.exec(select(User).where(User.login == "theo@example.com")).one()
    assert joined.clinic_id == admin.clinic_id and not joined.is_admin


def test_team_page_is_for_admins_only(app, people, auth, db):
    admin = people.clinic()
    therapist, _token = accounts.invite_therapist(
        db,
        utcnow(),
        admin,
        accounts.NewTherapist(name="T", email="t@example.com"),
        timedelta(hours=1),
    )
    therapist.password_hash = admin.password_hash
    db.add(therapist)
    db.commit()
    auth.login("t@example.com")
    assert auth.client.get("/team").status_code == 403
    assert (
        auth.client.post("/team", data={"name": "X", "email": "x@example.com"}).status_code == 403
    )


def test_patient_cannot_open_therapist_pages(auth, people):
    clinic = people.clinic_with_patient()
    auth.login(clinic.patient)
    assert auth.client.get("/patients").status_code == 403
    assert auth.client.get("/patients/new").status_code == 403


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get("/patients")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_therapist_is_signed_out_after_30_idle_minutes(app, auth, people, monkeypatch):
    auth.login(people.clinic())
    assert auth.client.get("/patients").status_code == 200
    with auth.client.session_transaction() as session:
        session["seen"] -= 31 * 60
    response = auth.client.get("/patients")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert auth.client.get("/patients").status_code == 302


def test_patient_is_not_signed_out_when_idle(auth, people):
    auth.login(people.clinic_with_patient().patient)
    with auth.client.session_transaction() as session:
        session["seen"] = 0
    assert auth.client.get("/today").status_code == 200


def test_state_changing_requests_need_a_csrf_token(app_config, people):
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    response = client.post("/login", data={"login": "x", "password": "y"})
    assert response.status_code == 400
    assert "open too long" in response.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/login", data={"login": "x", "password": "y", "csrf_token": token})
    assert response.status_code == 422
    # htmx sends the token in a header
    response = client.post(
        "/login", data={"login": "x", "password": "y"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 422
