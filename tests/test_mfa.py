"""Two-step sign-in (TOTP) for therapists: the RFC vectors, turning it on and off, signing in
with a code, wrong, reused and drifted codes, the pending step's expiry, the shared lockout,
the clinic policy, and patients left alone."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from hep import create_app, totp
from hep.accounts import service as accounts
from hep.models import AuditEvent, Clinic, User
from hep.timeutil import utcnow
from tests.conftest import PASSWORD

RFC_KEY = b"12345678901234567890"
LOCKOUT = (5, timedelta(minutes=15))


# --- The algorithm -------------------------------------------------------------------------


def test_hotp_matches_rfc4226_appendix_d():
    expected = [
        "755224",
        "287082",
        "359152",
        "969429",
        "338314",
        "254676",
        "287922",
        "162583",
        "399871",
        "520489",
    ]
    assert [totp.hotp(RFC_KEY, counter) for counter in range(10)] == expected


@pytest.mark.parametrize(
    ("unix_time", "eight_digits"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_totp_matches_rfc6238_appendix_b_sha1(unix_time, eight_digits):
    secret = totp.base64.b32encode(RFC_KEY).decode()
    assert totp.code_at(secret, unix_time, digits=8) == eight_digits
    # Six digits are the same number modulo 10^6: the last six of the RFC's eight.
    assert totp.code_at(secret, unix_time) == eight_digits[-6:]
    moment = datetime.fromtimestamp(unix_time, UTC)
    assert totp.matching_step(secret, eight_digits[-6:], moment) == unix_time // 30


def test_one_step_of_drift_is_accepted_two_are_not():
    secret = totp.new_secret()
    now = datetime(2026, 11, 24, 12, 0, 15, tzinfo=UTC)
    step = totp.time_step(now)
    for offset in (-1, 0, 1):
        code = totp.code_at(secret, now + timedelta(seconds=30 * offset))
        assert totp.matching_step(secret, code, now) == step + offset
    for offset in (-2, 2):
        code = totp.code_at(secret, now + timedelta(seconds=30 * offset))
        assert totp.matching_step(secret, code, now) is None
    # A used step and the ones before it never count again.
    code = totp.code_at(secret, now)
    assert totp.matching_step(secret, code, now, after_step=step) is None
    assert totp.matching_step(secret, code, now, after_step=step - 1) == step


def test_typed_codes_may_have_spaces_but_not_letters():
    secret = totp.new_secret()
    now = utcnow()
    code = totp.code_at(secret, now)
    assert totp.matching_step(secret, f" {code[:3]} {code[3:]} ", now) is not None
    assert totp.matching_step(secret, f"{code[:3]}-{code[3:]}", now) is not None
    assert totp.matching_step(secret, code[:5], now) is None
    assert totp.matching_step(secret, "12345a", now) is None


def test_secret_and_its_presentation():
    secret = totp.new_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)  # 160 bits of base32
    assert totp.grouped(secret).split() == re.findall(".{4}", secret)
    assert totp._key(totp.grouped(secret).lower()) == totp._key(secret)
    uri = totp.provisioning_uri(secret, "tess@example.com", "HEP")
    assert uri == (
        f"otpauth://totp/HEP:tess@example.com?secret={secret}&issuer=HEP"
        "&algorithm=SHA1&digits=6&period=30"
    )


# --- Helpers -------------------------------------------------------------------------------


def fresh_code(db, user: User) -> str:
    """A code the server will take now: the current step, or the next one when the current
    step was used already (as a person would wait for the next code)."""
    db.refresh(user)
    now = time.time()
    current = int(now // 30)
    step = current if user.totp_last_step is None else max(current, user.totp_last_step + 1)
    if step > current + 1:  # cannot happen in these tests; wait rather than guess
        time.sleep((step - 1) * 30 - now + 0.1)
    return totp.hotp(totp._key(user.totp_secret), step)


def turn_on(client, db, user: User) -> str:
    """Sign in and turn on two-step sign-in through the pages; returns the key."""
    client.post("/login", data={"login": user.login, "password": PASSWORD})
    assert client.post("/account/two-step/start").status_code == 302
    page = client.get("/account/two-step").get_data(as_text=True)
    secret = re.search(r'id="totp-key"><strong>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    response = client.post("/account/two-step", data={"code": totp.code_at(secret, time.time())})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.refresh(user)
    assert user.totp_enabled_at is not None
    return secret


def password_step(client, user: User, next_path: str | None = None):
    url = "/login" + (f"?next={next_path}" if next_path else "")
    return client.post(url, data={"login": user.login, "password": PASSWORD})


@pytest.fixture
def two_step_therapist(db, people):
    """A therapist who turned on two-step sign-in a few minutes ago (so every code from now
    on is unused), signed out, and their key."""
    therapist = people.clinic()
    secret = accounts.start_two_step(db, therapist)
    earlier = utcnow() - timedelta(minutes=3)
    assert accounts.confirm_two_step(db, earlier, therapist, totp.code_at(secret, earlier))
    db.commit()
    return therapist, secret


# --- Turning it on -------------------------------------------------------------------------


def test_therapist_turns_on_two_step_with_a_code_from_the_qr(client, auth, db, people):
    therapist = people.clinic()
    auth.login(therapist)
    page = client.get("/account").get_data(as_text=True)
    assert "Two-step sign-in: off" in page

    response = client.post("/account/two-step/start")
    assert response.headers["Location"] == "/account/two-step"
    db.refresh(therapist)
    secret = therapist.totp_secret
    assert secret and therapist.totp_enabled_at is None  # set up, not on yet
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "<svg" in page and 'class="qr"' in page
    assert 'href="otpauth://totp/HEP:tess@example.com?secret=' in page
    assert totp.grouped(secret) in page  # the key in groups of four, to type by hand
    assert client.get("/account").status_code == 200

    code = totp.code_at(secret, time.time())
    response = client.post("/account/two-step", data={"code": code})
    assert response.status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert "Two-step sign-in: on" in page
    db.refresh(therapist)
    assert therapist.totp_enabled_at is not None and therapist.totp_secret == secret
    assert therapist.totp_last_step is not None


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "Enter the 6-digit code"),
        ("12ab56", "Enter the 6-digit code from your authenticator app"),
        ("1234567", "Enter the 6-digit code from your authenticator app"),
        ("x" * 300, "must be 20 characters or fewer"),
        ("WRONG", "Enter the 6-digit code from your authenticator app"),
        (None, "That code is not right"),
    ],
)
def test_bad_code_at_set_up_is_422_and_leaves_it_off(client, auth, db, people, code, message):
    therapist = people.clinic()
    auth.login(therapist)
    client.post("/account/two-step/start")
    db.refresh(therapist)
    if code is None:  # six digits, but not the app's
        right = totp.matching_step(therapist.totp_secret, "000000", utcnow())
        code = "000000" if right is None else "999999"
    response = client.post("/account/two-step", data={"code": code})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'id="code-error"' in page and "There is a problem" in page
    db.refresh(therapist)
    assert therapist.totp_enabled_at is None and therapist.session_version == 1
    assert "<svg" in page  # the QR code is still there to try again


def test_turning_on_signs_out_other_devices_but_not_this_one(app, db, people):
    therapist = people.clinic()
    laptop, tablet = app.test_client(), app.test_client()
    password_step(tablet, therapist)
    assert tablet.get("/patients").status_code == 200
    turn_on(laptop, db, therapist)
    assert laptop.get("/patients").status_code == 200
    assert tablet.get("/patients").status_code == 302


def test_set_up_page_without_a_started_set_up_goes_back_to_account(client, auth, people):
    auth.login(people.clinic())
    assert client.get("/account/two-step").headers["Location"] == "/account"
    assert client.post("/account/two-step", data={"code": "123456"}).status_code == 302


# --- Signing in ----------------------------------------------------------------------------


def test_right_password_then_right_code_signs_in(app, db, two_step_therapist):
    therapist, _secret = two_step_therapist
    client = app.test_client()
    response = password_step(client, therapist)
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    assert client.get("/patients").status_code == 302  # not signed in yet
    page = client.get("/login/code").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    response = client.post("/login/code", data={"code": fresh_code(db, therapist)})
    assert response.status_code == 302 and response.headers["Location"] == "/patients"
    assert client.get("/patients").status_code == 200
    db.refresh(therapist)
    assert therapist.last_login_at is not None and therapist.failed_logins == 0


def test_the_page_asked_for_is_kept_through_the_code_step(app, db, two_step_therapist):
    therapist, _secret = two_step_therapist
    client = app.test_client()
    password_step(client, therapist, next_path="/library")
    response = client.post("/login/code", data={"code": fresh_code(db, therapist)})
    assert response.headers["Location"] == "/library"


def test_wrong_code_is_422_and_counts_as_a_failed_sign_in(app, db, two_step_therapist):
    therapist, secret = two_step_therapist
    client = app.test_client()
    password_step(client, therapist)
    wrong = totp.code_at(secret, time.time() + 120)  # the app's code, but 4 steps ahead
    response = client.post("/login/code", data={"code": wrong})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "That code is not right" in page and 'id="code-error"' in page
    assert client.get("/patients").status_code == 302
    db.refresh(therapist)
    assert therapist.failed_logins == 1
    # The sign-in is still waiting: the right code now works.
    response = client.post("/login/code", data={"code": fresh_code(db, therapist)})
    assert response.headers["Location"] == "/patients"
    db.refresh(therapist)
    assert therapist.failed_logins == 0


def test_badly_typed_code_is_422_and_not_counted(app, db, two_step_therapist):
    therapist, _secret = two_step_therapist
    client = app.test_client()
    password_step(client, therapist)
    for typed in ("", "12 34", "abcdef"):
        response = client.post("/login/code", data={"code": typed})
        assert response.status_code == 422
        assert "Enter the 6-digit code" in response.get_data(as_text=True)
    db.refresh(therapist)
    assert therapist.failed_logins == 0


def test_a_code_works_once(app, db, two_step_therapist):
    therapist, _secret = two_step_therapist
    first = app.test_client()
    password_step(first, therapist)
    code = fresh_code(db, therapist)
    assert first.post("/login/code", data={"code": code}).status_code == 302
    second = app.test_client()
    password_step(second, therapist)
    response = second.post("/login/code", data={"code": code})
    assert response.status_code == 422
    assert "used already" in response.get_data(as_text=True)
    assert second.get("/patients").status_code == 302
    db.refresh(therapist)
    assert therapist.failed_logins == 1


def test_the_code_used_to_turn_it_on_cannot_sign_in(app, db, people):
    therapist = people.clinic()
    client = app.test_client()
    client.post("/login", data={"login": therapist.login, "password": PASSWORD})
    client.post("/account/two-step/start")
    db.refresh(therapist)
    code = totp.code_at(therapist.totp_secret, time.time())
    client.post("/account/two-step", data={"code": code})
    other = app.test_client()
    password_step(other, therapist)
    assert other.post("/login/code", data={"code": code}).status_code == 422


def test_a_phone_clock_one_step_ahead_is_accepted_two_are_not(app, db, two_step_therapist):
    therapist, secret = two_step_therapist
    client = app.test_client()
    password_step(client, therapist)
    refused = client.post("/login/code", data={"code": totp.code_at(secret, time.time() - 65)})
    assert refused.status_code == 422
    ahead = totp.code_at(secret, time.time() + 30)
    assert client.post("/login/code", data={"code": ahead}).status_code == 302


def test_drift_and_reuse_in_the_service(db, people):
    """Exact moments, no clock: one step either side is fine, a step used once is spent."""
    therapist = people.clinic()
    secret = accounts.start_two_step(db, therapist)
    t0 = datetime(2026, 11, 24, 9, 0, 10, tzinfo=UTC)
    assert accounts.confirm_two_step(db, t0, therapist, totp.code_at(secret, t0))
    db.commit()
    version = therapist.session_version

    def sign_in(at: datetime, code_at: datetime):
        code = totp.code_at(secret, code_at)
        result = accounts.check_sign_in_code(db, at, therapist.id, version, code, *LOCKOUT)
        db.commit()
        return result

    t1 = t0 + timedelta(minutes=10)
    assert sign_in(t1, t1 - timedelta(seconds=30)) == (therapist, None)  # phone 30 s behind
    assert sign_in(t1, t1)[0] is therapist
    assert sign_in(t1, t1) == (None, "reused")
    assert sign_in(t1, t1 - timedelta(seconds=30)) == (None, "reused")  # older than the last
    assert sign_in(t1, t1 + timedelta(seconds=30))[0] is therapist  # phone 30 s ahead
    t2 = t1 + timedelta(minutes=5)
    assert sign_in(t2, t2 + timedelta(seconds=60)) == (None, "wrong")
    assert sign_in(t2, t2 - timedelta(seconds=60)) == (None, "wrong")


def test_the_code_page_waits_five_minutes_only(app, db, two_step_therapist):
    therapist, _secret = two_step_therapist
    client = app.test_client()
    password_step(client, therapist)
    with client.session_transaction() as session:
        pending = session["two_step"]
        assert pending["user"] == therapist.id
        assert 290 < pending["until"] - time.time() <= 300
        pending["until"] = time.time() - 1
        session["two_step"] = pending
    response = client.post("/login/code", data={"code": fresh_code(db, therapist)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "took too long" in client.get("/login").get_data(as_text=True)
    assert client.get("/patients").status_code == 302
    db.refresh(therapist)
    assert therapist.totp_last_step is not None and therapist.failed_logins == 0


def test_the_code_page_without_a_password_first_goes_to_sign_in(client):
    assert client.get("/login/code").headers["Location"] == "/login"
    assert client.post("/login/code", data={"code": "123456"}).headers["Location"] == "/login"


def test_a_password_reset_meanwhile_ends_the_waiting_sign_in(app, db, two_step_therapist):
    therapist, _secret = two_step_therapist
    client = app.test_client()
    password_step(client, therapist)
    therapist.session_version += 1  # as accepting a new sign-in link does
    db.add(therapist)
    db.commit()
    response = client.post("/login/code", data={"code": fresh_code(db, therapist)})
    assert response.headers["Location"] == "/login"
    assert client.get("/patients").status_code == 302


def test_wrong_codes_and_passwords_share_one_lockout(app, db, two_step_therapist):
    therapist, secret = two_step_therapist
    client = app.test_client()
    for _ in range(2):
        client.post("/login", data={"login": therapist.login, "password": "wrong password"})
    password_step(client, therapist)  # a right password does not wipe the count
    db.refresh(therapist)
    assert therapist.failed_logins == 2
    for _ in range(2):
        response = client.post(
            "/login/code", data={"code": totp.code_at(secret, time.time() + 200)}
        )
        assert response.status_code == 422
    response = client.post("/login/code", data={"code": totp.code_at(secret, time.time() + 200)})
    assert response.headers["Location"] == "/login"  # the fifth wrong try locks
    assert "Too many wrong tries" in client.get("/login").get_data(as_text=True)
    db.refresh(therapist)
    assert therapist.locked_until is not None
    response = password_step(client, therapist)
    assert response.status_code == 422
    assert "Too many wrong passwords" in response.get_data(as_text=True)


def test_locked_account_refuses_even_a_right_code(db, people):
    therapist = people.clinic()
    secret = accounts.start_two_step(db, therapist)
    now = utcnow()
    assert accounts.confirm_two_step(db, now - timedelta(minutes=1), therapist, "x") is False
    assert accounts.confirm_two_step(
        db, now - timedelta(minutes=2), therapist, totp.code_at(secret, now - timedelta(minutes=2))
    )
    therapist.locked_until = now + timedelta(minutes=10)
    db.commit()
    code = totp.code_at(secret, now)
    result = accounts.check_sign_in_code(
        db, now, therapist.id, therapist.session_version, code, *LOCKOUT
    )
    assert result == (None, "locked")


def test_password_and_code_tries_share_the_rate_limit(app_config, db, people):
    therapist = people.clinic()
    secret = accounts.start_two_step(db, therapist)
    accounts.confirm_two_step(db, utcnow(), therapist, totp.code_at(secret, utcnow()))
    db.commit()
    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    statuses = [password_step(client, therapist).status_code]
    for _ in range(3):
        statuses.append(client.post("/login/code", data={"code": "000000"}).status_code)
    assert statuses[0] == 302 and statuses[-1] == 429


def test_code_page_needs_a_csrf_token(app_config, db, two_step_therapist):
    therapist, _secret = two_step_therapist
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login", data={"login": therapist.login, "password": PASSWORD, "csrf_token": token}
    )
    assert client.post("/login/code", data={"code": fresh_code(db, therapist)}).status_code == 400
    page = client.get("/login/code").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login/code", data={"code": fresh_code(db, therapist), "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/patients"


def test_a_new_sign_in_link_still_asks_for_the_code(app, db, people, two_step_therapist):
    therapist, _secret = two_step_therapist
    token = accounts.issue_invite(db, utcnow(), therapist, therapist, timedelta(hours=1))
    db.commit()
    client = app.test_client()
    response = client.post(
        f"/invite/{token}", data={"password": "a new password", "confirm": "a new password"}
    )
    assert response.headers["Location"] == "/login/code"
    assert client.get("/patients").status_code == 302
    response = client.post("/login/code", data={"code": fresh_code(db, therapist)})
    assert response.headers["Location"] == "/patients"


# --- Cross-user ----------------------------------------------------------------------------


def test_one_therapists_code_does_not_finish_anothers_sign_in(app, db, people):
    tess = people.clinic()
    theo = people.clinic("Other Physio", "theo@example.com")
    tess_secret = turn_on(app.test_client(), db, tess)
    turn_on(app.test_client(), db, theo)
    client = app.test_client()
    password_step(client, theo)
    response = client.post("/login/code", data={"code": totp.code_at(tess_secret, time.time())})
    assert response.status_code == 422
    assert client.get("/patients").status_code == 302


def test_a_pending_sign_in_cannot_be_pointed_at_someone_else(app, db, people):
    """The pending step lives in the signed session cookie: edited by hand, it is refused."""
    tess = people.clinic()
    turn_on(app.test_client(), db, tess)
    client = app.test_client()
    password_step(client, tess)
    cookie = client.get_cookie("session")
    client.set_cookie("session", cookie.value[:-4] + "AAAA")
    response = client.post("/login/code", data={"code": fresh_code(db, tess)})
    assert response.headers["Location"] == "/login"
    assert client.get("/patients").status_code == 302


def test_account_page_is_for_therapists_and_shows_only_their_own(app, db, people):
    clinic = people.clinic_with_patient()
    colleague_client = app.test_client()
    turn_on(colleague_client, db, clinic.therapist)
    other = people.clinic("Other Physio", "theo@example.com")
    client = app.test_client()
    password_step(client, other)
    assert "Two-step sign-in: off" in client.get("/account").get_data(as_text=True)
    patient = app.test_client()
    password_step(patient, clinic.patient)
    for method, path in [
        ("GET", "/account"),
        ("POST", "/account/two-step/start"),
        ("GET", "/account/two-step"),
        ("POST", "/account/two-step/off"),
    ]:
        assert patient.open(path, method=method).status_code == 403


# --- Patients ------------------------------------------------------------------------------


def test_patients_never_get_a_code_step(app, db, people):
    patient = people.clinic_with_patient().patient
    # Even with a key stored against them, a patient signs in with the password alone.
    patient.totp_secret = totp.new_secret()
    patient.totp_enabled_at = utcnow()
    db.add(patient)
    db.commit()
    client = app.test_client()
    response = password_step(client, patient)
    assert response.headers["Location"] == "/today"
    assert client.get("/today").status_code == 200
    assert client.get_cookie("remember_token") is not None


# --- Turning it off ------------------------------------------------------------------------


def _signed_in_with_code(app, db, therapist):
    client = app.test_client()
    password_step(client, therapist)
    client.post("/login/code", data={"code": fresh_code(db, therapist)})
    assert client.get("/patients").status_code == 200
    return client


def test_therapist_turns_it_off_with_password_and_code(app, db, two_step_therapist):
    therapist, _secret = two_step_therapist
    client = _signed_in_with_code(app, db, therapist)
    page = client.get("/account").get_data(as_text=True)
    assert "Two-step sign-in: on" in page and "Turn off two-step sign-in" in page
    response = client.post(
        "/account/two-step/off", data={"password": PASSWORD, "code": fresh_code(db, therapist)}
    )
    assert response.status_code == 302
    assert "Two-step sign-in: off" in client.get("/account").get_data(as_text=True)
    db.refresh(therapist)
    assert therapist.totp_secret is None and therapist.totp_enabled_at is None
    fresh = app.test_client()
    assert password_step(fresh, therapist).headers["Location"] == "/patients"


@pytest.mark.parametrize(
    ("password", "code", "field", "message", "counted"),
    [
        ("wrong password", "right", "password", "That password is not right", 1),
        (PASSWORD, "wrong", "code", "That code is not right", 1),
        (PASSWORD, "", "code", "Enter the 6-digit code", 0),
        ("", "right", "password", "Enter password", 0),
    ],
)
def test_turning_off_refuses_bad_input(
    app, db, two_step_therapist, password, code, field, message, counted
):
    therapist, secret = two_step_therapist
    client = _signed_in_with_code(app, db, therapist)
    if code == "right":
        code = fresh_code(db, therapist)
    elif code == "wrong":
        code = totp.code_at(secret, time.time() + 300)
    response = client.post("/account/two-step/off", data={"password": password, "code": code})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and f'id="{field}-error"' in page
    db.refresh(therapist)
    assert therapist.totp_enabled_at is not None
    assert therapist.failed_logins == counted


# --- Clinic policy and the admin's reset ---------------------------------------------------


def _colleague(db, admin: User, email: str = "theo@example.com") -> User:
    theo, _token = accounts.invite_therapist(
        db, utcnow(), admin, accounts.NewTherapist(name="Theo", email=email), timedelta(hours=1)
    )
    theo.password_hash = admin.password_hash
    db.add(theo)
    db.commit()
    return theo


def test_clinic_can_require_two_step_sign_in(app, db, auth, people):
    admin = people.clinic()
    theo = _colleague(db, admin)
    auth.login(admin)
    page = auth.client.get("/team").get_data(as_text=True)
    assert "Two-step sign-in for the clinic" in page
    assert auth.client.post("/team/two-step", data={"required": "true"}).status_code == 302
    assert db.get(Clinic, admin.clinic_id).require_two_step is True
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "clinic.two_step")).one()

    client = app.test_client()
    response = password_step(client, theo)
    assert response.headers["Location"] == "/account"
    assert client.get("/patients").headers["Location"] == "/account"
    assert client.get("/api/v1/me").status_code == 403
    page = client.get("/account").get_data(as_text=True)
    assert "Your clinic asks every therapist" in page
    client.post("/account/two-step/start")
    db.refresh(theo)
    code = totp.code_at(theo.totp_secret, time.time())
    assert client.post("/account/two-step", data={"code": code}).status_code == 302
    assert client.get("/patients").status_code == 200
    # It cannot be turned off while the clinic requires it.
    page = client.get("/account").get_data(as_text=True)
    assert "cannot turn it off" in page and "Turn off two-step sign-in" not in page
    code = totp.code_at(theo.totp_secret, time.time() + 30)
    client.post("/account/two-step/off", data={"password": PASSWORD, "code": code})
    db.refresh(theo)
    assert theo.totp_enabled_at is not None

    assert auth.client.post("/team/two-step", data={}).status_code == 302
    assert db.get(Clinic, admin.clinic_id).require_two_step is False


def test_clinic_policy_bad_input_is_422(auth, db, people):
    admin = people.clinic()
    auth.login(admin)
    assert auth.client.post("/team/two-step", data={"required": "perhaps"}).status_code == 422
    db.expire_all()
    assert db.get(Clinic, admin.clinic_id).require_two_step is False


def test_admin_turns_off_a_colleagues_two_step_after_a_lost_phone(app, db, auth, people):
    admin = people.clinic()
    theo = _colleague(db, admin)
    turn_on(app.test_client(), db, theo)
    auth.login(admin)
    page = auth.client.get("/team").get_data(as_text=True)
    assert "Turn off (lost phone)" in page
    response = auth.client.post(f"/team/{theo.id}/two-step/reset")
    assert response.status_code == 302
    db.refresh(theo)
    assert theo.totp_enabled_at is None and theo.totp_secret is None
    assert password_step(app.test_client(), theo).headers["Location"] == "/patients"


def test_only_an_admin_of_the_same_clinic_can_reset(app, db, people):
    clinic = people.clinic_with_patient()
    theo = _colleague(db, clinic.therapist)
    other_admin = people.clinic("Other Physio", "olga@example.com")
    client = app.test_client()
    password_step(client, other_admin)
    assert client.post(f"/team/{clinic.therapist.id}/two-step/reset").status_code == 404
    colleague = app.test_client()
    password_step(colleague, theo)
    assert colleague.post(f"/team/{clinic.therapist.id}/two-step/reset").status_code == 403
    admin = app.test_client()
    password_step(admin, clinic.therapist)
    assert admin.post(f"/team/{clinic.patient.id}/two-step/reset").status_code == 404
