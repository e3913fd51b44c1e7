"""Clinics, sign-in and invite links: the account rules, free of Flask request state."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from hep import totp
from hep.accounts.schemas import NewPatient, NewTherapist, SignUp  # noqa: F401 - re-exported
from hep.models import Clinic, Invite, PatientProfile, PatientRollup, User
from hep.timeutil import local_date

# Checked against when the login is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def sign_up(db: Session, now: datetime, form: SignUp) -> User | None:
    """Create a clinic and its first therapist, its admin. None if the email is taken."""
    if db.exec(select(User.id).where(User.login == form.email)).first() is not None:
        return None
    clinic = Clinic(name=form.clinic_name, timezone=form.timezone, created_at=now)
    db.add(clinic)
    db.flush()
    user = User(
        clinic_id=clinic.id,
        role="therapist",
        name=form.name,
        login=form.email,
        email=form.email,
        password_hash=generate_password_hash(form.password),
        is_admin=True,
        timezone=form.timezone,
        created_at=now,
    )
    db.add(user)
    db.flush()
    return user


def authenticate(
    db: Session, now: datetime, login: str, password: str, lockout_after: int, lockout: timedelta
) -> tuple[User | None, str | None]:
    """Check a sign-in. Returns the user, or None and why ("wrong" or "locked").

    A therapist with two-step sign-in is not through yet (see needs_second_step): the failed
    count stays until check_sign_in_code accepts their code, so wrong codes add up with it.
    """
    user = db.exec(select(User).where(User.login == login.strip().lower())).first()
    if user is None or user.password_hash is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None, "wrong"
    if _is_locked(user, now):
        return None, "locked"
    if not check_password_hash(user.password_hash, password):
        return None, _count_failure(db, now, user, lockout_after, lockout)
    if not needs_second_step(user):
        _signed_in(db, now, user)
    return user, None


def _is_locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def _count_failure(
    db: Session, now: datetime, user: User, lockout_after: int, lockout: timedelta
) -> str:
    """One more wrong password or code: "wrong", or "locked" when that was one too many."""
    user.failed_logins += 1
    if user.failed_logins >= lockout_after:
        user.locked_until = now + lockout
        user.failed_logins = 0
    db.add(user)
    return "locked" if _is_locked(user, now) else "wrong"


def _signed_in(db: Session, now: datetime, user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.add(user)


# --- Two-step sign-in (TOTP) for therapists -------------------------------------------------


def needs_second_step(user: User) -> bool:
    """Therapists who turned on two-step sign-in type a code after their password."""
    return (
        user.role == "therapist"
        and user.totp_secret is not None
        and user.totp_enabled_at is not None
    )


def must_set_up_two_step(db: Session, user: User) -> bool:
    """The therapist's clinic asks for two-step sign-in and they have not turned it on."""
    if user.role != "therapist" or needs_second_step(user):
        return False
    clinic = db.get(Clinic, user.clinic_id)
    return clinic is not None and clinic.require_two_step


def _spend_step(db: Session, user: User, step: int) -> bool:
    """Mark the code's time step used; False if it (or a later one) was used already.

    One conditional UPDATE, so two requests racing with the same code cannot both pass.
    """
    result = db.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    user.totp_last_step = step
    return True


def _check_code(
    db: Session, now: datetime, user: User, code: str, lockout_after: int, lockout: timedelta
) -> str | None:
    """None if the code is right and unused; else "wrong", "reused" or "locked" (each counts
    as a failed sign-in)."""
    step = totp.matching_step(user.totp_secret or "", code, now)
    if step is None:
        return _count_failure(db, now, user, lockout_after, lockout)
    if not _spend_step(db, user, step):
        problem = _count_failure(db, now, user, lockout_after, lockout)
        return "reused" if problem == "wrong" else problem
    return None


def check_sign_in_code(
    db: Session,
    now: datetime,
    user_id: int,
    session_version: int,
    code: str,
    lockout_after: int,
    lockout: timedelta,
) -> tuple[User | None, str | None]:
    """The second step of a therapist's sign-in, after their password was right.

    Returns the user, or None and why: "expired" (the pending sign-in no longer fits the
    account), "locked", "wrong" or "reused".
    """
    user = db.get(User, user_id)
    if (
        user is None
        or not user.active
        or user.session_version != session_version
        or not needs_second_step(user)
    ):
        return None, "expired"
    if _is_locked(user, now):
        return None, "locked"
    problem = _check_code(db, now, user, code, lockout_after, lockout)
    if problem is not None:
        return None, problem
    _signed_in(db, now, user)
    return user, None


def start_two_step(db: Session, user: User) -> str:
    """A new key for the therapist's authenticator app; it counts once confirmed with a code."""
    if needs_second_step(user):
        raise ValueError("two-step sign-in is already on")
    user.totp_secret = totp.new_secret()
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.add(user)
    return user.totp_secret


def pending_two_step_secret(user: User) -> str | None:
    """The key being set up (shown as a QR code), if a set-up is in progress."""
    if user.totp_secret is None or user.totp_enabled_at is not None:
        return None
    return user.totp_secret


def confirm_two_step(db: Session, now: datetime, user: User, code: str) -> bool:
    """Turn two-step sign-in on once the app shows a right code.

    Other devices signed in with the password alone are signed out (session_version).
    """
    secret = pending_two_step_secret(user)
    step = totp.matching_step(secret, code, now) if secret else None
    if step is None:
        return False
    user.totp_enabled_at = now
    user.totp_last_step = step
    user.session_version += 1
    db.add(user)
    return True


def turn_off_two_step(
    db: Session,
    now: datetime,
    user: User,
    password: str,
    code: str,
    lockout_after: int,
    lockout: timedelta,
) -> tuple[str, str] | None:
    """Turn two-step sign-in off with the password and a current code.

    None when done; else (field, problem) with problem "wrong", "reused" or "locked". Wrong
    tries count toward the same lockout as sign-in.
    """
    if _is_locked(user, now):
        return "password", "locked"
    if user.password_hash is None or not check_password_hash(user.password_hash, password):
        return "password", _count_failure(db, now, user, lockout_after, lockout)
    problem = _check_code(db, now, user, code, lockout_after, lockout)
    if problem is not None:
        return "code", problem
    _clear_two_step(db, user)
    user.failed_logins = 0
    return None


def _clear_two_step(db: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.add(user)


def reset_two_step(db: Session, member: User) -> None:
    """A clinic admin turns a therapist's two-step sign-in off (a lost phone)."""
    _clear_two_step(db, member)


def require_two_step(db: Session, clinic: Clinic, required: bool) -> None:
    clinic.require_two_step = required
    db.add(clinic)


def _patient_handle(db: Session, name: str) -> str:
    """A short sign-in name for a patient without email, like "maria-4821"."""
    first = unicodedata.normalize("NFKD", name.split()[0]).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z]", "", first.lower())[:16] or "patient"
    while True:
        handle = f"{base}-{secrets.randbelow(9000) + 1000}"
        if db.exec(select(User.id).where(User.login == handle)).first() is None:
            return handle


def email_taken(db: Session, email: str | None) -> bool:
    return (
        email is not None
        and db.exec(select(User.id).where(User.login == email)).first() is not None
    )


def add_patient(
    db: Session, now: datetime, therapist: User, form: NewPatient, ttl: timedelta
) -> tuple[User, str]:
    """Create a patient of the therapist's clinic and their first invite link."""
    patient = User(
        clinic_id=therapist.clinic_id,
        role="patient",
        name=form.name,
        login=form.email or _patient_handle(db, form.name),
        email=form.email,
        timezone=form.timezone,
        locale=form.locale,
        created_at=now,
    )
    db.add(patient)
    db.flush()
    db.add(
        PatientProfile(
            user_id=patient.id,
            therapist_id=therapist.id,
            phone=form.phone,
            conditions=form.conditions,
            baseline_pain=form.baseline_pain,
        )
    )
    db.add(PatientRollup(patient_id=patient.id, clinic_id=patient.clinic_id, updated_at=now))
    token = issue_invite(db, now, patient, created_by=therapist, ttl=ttl)
    return patient, token


def set_locale(db: Session, user: User, locale: str) -> None:
    """Show HEP to this person in `locale` (already checked against config LANGUAGES)."""
    user.locale = locale
    db.add(user)


def invite_therapist(
    db: Session, now: datetime, admin: User, form: NewTherapist, ttl: timedelta
) -> tuple[User, str]:
    therapist = User(
        clinic_id=admin.clinic_id,
        role="therapist",
        name=form.name,
        login=form.email,
        email=form.email,
        timezone=admin.timezone,
        created_at=now,
    )
    db.add(therapist)
    db.flush()
    return therapist, issue_invite(db, now, therapist, created_by=admin, ttl=ttl)


def issue_invite(db: Session, now: datetime, user: User, created_by: User, ttl: timedelta) -> str:
    """A new single-use link for the user; earlier unused links stop working.

    Re-issuing is also how a forgotten password is reset.
    """
    for old in db.exec(
        select(Invite).where(
            Invite.user_id == user.id, Invite.used_at.is_(None), Invite.revoked_at.is_(None)
        )
    ):
        old.revoked_at = now
        db.add(old)
    raw = secrets.token_urlsafe(24)
    db.add(
        Invite(
            clinic_id=user.clinic_id,
            user_id=user.id,
            kind=user.role,
            email=user.email,
            token_hash=hash_token(raw),
            created_by_id=created_by.id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return raw


def find_invite(db: Session, now: datetime, raw: str) -> tuple[Invite | None, str | None]:
    """The invite for a link, or why it cannot be used: "unknown", "used" or "expired"."""
    invite = db.exec(select(Invite).where(Invite.token_hash == hash_token(raw))).first()
    if invite is None:
        return None, "unknown"
    if invite.used_at is not None or invite.revoked_at is not None:
        return invite, "used"
    if invite.expires_at <= now:
        return invite, "expired"
    return invite, None


def accept_invite(db: Session, now: datetime, invite: Invite, password: str) -> User:
    """Set the password, spend the link and sign the user out of any older session."""
    user = db.get(User, invite.user_id)
    assert user is not None
    user.password_hash = generate_password_hash(password)
    user.session_version += 1
    user.failed_logins = 0
    user.locked_until = None
    invite.used_at = now
    db.add_all([user, invite])
    profile = db.get(PatientProfile, user.id)
    if profile is not None and profile.monitoring_started_on is None:
        profile.monitoring_started_on = local_date(now, user.timezone)
        db.add(profile)
    return user
