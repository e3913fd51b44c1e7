"""The data model of the whole product (SPEC §4): SQLModel tables, one family per entity.

Timestamps are timezone-aware UTC (SQLModel stores them through its UTCDateTime type);
a patient's local date is computed in their time zone and stored beside the timestamp.
"""

from __future__ import annotations

import uuid as uuid_lib
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from hep.timeutil import utcnow


def json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def json_dict(nullable: bool = False) -> Any:
    if nullable:
        # none_as_null: a Python None is SQL NULL, so `IS NULL` finds it.
        return Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --- Clinics and people -------------------------------------------------------------------


class Clinic(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    timezone: str = Field(default="America/New_York", max_length=64)
    emergency_number: str = Field(default="911", max_length=20)
    # Every therapist of the clinic must use two-step sign-in (set by a clinic admin).
    require_two_step: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class User(SQLModel, table=True):
    """A therapist (clinic admins are therapists with is_admin) or a patient."""

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", index=True)
    role: str = Field(max_length=16)  # "therapist" | "patient"
    name: str = Field(max_length=120)
    # What the person types to sign in: a therapist's email, or a patient's email or handle.
    login: str | None = Field(default=None, max_length=254, unique=True)
    email: str | None = Field(default=None, max_length=254)
    password_hash: str | None = Field(default=None, max_length=255)
    is_admin: bool = False
    timezone: str = Field(default="America/New_York", max_length=64)
    locale: str = Field(default="en", max_length=8)
    # Bumped to sign a user out everywhere (password set, link re-issued).
    session_version: int = 1
    failed_logins: int = 0
    locked_until: datetime | None = None
    # Two-step sign-in (therapists): the authenticator key, when it was turned on (a key
    # without that is a set-up in progress) and the last 30-second step used (no code twice).
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_enabled_at: datetime | None = None
    totp_last_step: int | None = None
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    notification_optouts: list[str] = json_list()
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None


class PatientProfile(SQLModel, table=True):
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    therapist_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    phone: str | None = Field(default=None, max_length=32)
    # Contraindication tags (hep.rules.safety.CONTRAINDICATIONS) the patient has.
    conditions: list[str] = json_list()
    baseline_pain: int | None = None
    date_of_birth: date | None = None
    monitoring_started_on: date | None = None


class Invite(SQLModel, table=True):
    """A single-use, expiring link that lets a patient or a therapist set a password."""

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    kind: str = Field(max_length=16)  # "patient" | "therapist"
    email: str | None = Field(default=None, max_length=254)
    token_hash: str = Field(max_length=64, unique=True)
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


# --- Exercise library ---------------------------------------------------------------------


class Exercise(SQLModel, table=True):
    """A library exercise (clinic_id is None) or one a clinic wrote for itself."""

    __table_args__ = (Index("ix_exercise_clinic_archived", "clinic_id", "archived_at"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int | None = Field(default=None, foreign_key="clinic.id", index=True)
    slug: str = Field(max_length=80, unique=True)
    name: str = Field(max_length=120)
    summary: str = Field(default="", max_length=300)
    category: str = Field(max_length=32, index=True)
    cpt_code: str = Field(max_length=8)
    body_region: str = Field(max_length=32, index=True)
    position: str = Field(max_length=32)
    equipment: list[str] = json_list()
    steps: list[str] = json_list()
    cues: list[str] = json_list()
    mistakes: list[str] = json_list()
    precautions: list[str] = json_list()
    contraindications: list[str] = json_list()
    dosage_kind: str = Field(default="reps", max_length=8)  # reps | hold | timed
    sets: int = 2
    reps: int | None = None
    hold_seconds: int | None = None
    duration_seconds: int | None = None
    rest_seconds: int = 30
    per_day: int = 1
    days_per_week: int = 3
    load_text: str | None = Field(default=None, max_length=80)
    ceiling_reps: int = 15
    progression_slug: str | None = Field(default=None, max_length=80)
    regression_slug: str | None = Field(default=None, max_length=80)
    search_text: str = Field(default="", max_length=4000)
    # Shipped exercises only: {"es": {"name", "summary", "steps", "cues", "mistakes",
    # "precautions"}} from hep/content/library/es/; {} for clinic exercises (English only).
    translations: dict[str, Any] = json_dict()
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    archived_at: datetime | None = None


class ExerciseMedia(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    exercise_id: int = Field(foreign_key="exercise.id", index=True)
    clinic_id: int | None = Field(default=None, foreign_key="clinic.id", index=True)
    kind: str = Field(max_length=8)  # image | video
    content_type: str = Field(max_length=64)
    storage_name: str = Field(max_length=80, unique=True)
    size_bytes: int
    caption: str = Field(default="", max_length=200)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class ProgramTemplate(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int | None = Field(default=None, foreign_key="clinic.id", index=True)
    slug: str = Field(max_length=80, unique=True)
    name: str = Field(max_length=120)
    condition: str = Field(default="", max_length=120)
    description: str = Field(default="", max_length=1000)
    days: list[str] = json_list()
    times_per_day: int = 1
    weeks: int = 6
    precautions: list[str] = json_list()
    # [{"exercise": slug, **dosage overrides}] in order
    items: list[dict] = json_list()
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


# --- Programs -----------------------------------------------------------------------------


class Program(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("patient_id", "form_token", name="uq_program_patient_form_token"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", index=True)
    patient_id: int = Field(foreign_key="user.id", index=True)
    created_by_id: int = Field(foreign_key="user.id")
    template_id: int | None = Field(default=None, foreign_key="programtemplate.id")
    title: str = Field(max_length=120)
    status: str = Field(default="active", max_length=16)  # active | ended
    days: list[str] = json_list()
    times_per_day: int = 1
    start_date: date
    end_date: date | None = None
    reminder_time: time | None = None
    diagnosis: str = Field(default="", max_length=300)
    icd10: str | None = Field(default=None, max_length=8)
    precautions: str = Field(default="", max_length=1000)
    auto_apply_progressions: bool = False
    # The builder form's one-time token: a second POST of the same form finds this program.
    form_token: uuid_lib.UUID | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ProgramItem(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    exercise_id: int = Field(foreign_key="exercise.id", index=True)
    position: int = 0
    dosage_kind: str = Field(default="reps", max_length=8)
    sets: int = 2
    reps: int | None = None
    hold_seconds: int | None = None
    duration_seconds: int | None = None
    rest_seconds: int = 30
    load_value: float | None = None
    load_unit: str | None = Field(default=None, max_length=8)  # kg | lb
    load_text: str | None = Field(default=None, max_length=80)
    side: str = Field(default="both", max_length=8)  # both | left | right | each
    ceiling_reps: int = 15
    notes: str = Field(default="", max_length=500)
    contraindication_override: str | None = Field(default=None, max_length=500)
    removed_at: datetime | None = None


class ProgramItemVersion(SQLModel, table=True):
    """One dosage change of a program item: who, when, from what, to what, and why."""

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="programitem.id", index=True)
    changed_by_id: int | None = Field(default=None, foreign_key="user.id")
    changed_at: datetime = Field(default_factory=utcnow)
    before: dict | None = json_dict(nullable=True)
    after: dict = json_dict()
    reason: str = Field(default="", max_length=200)


class Goal(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    text: str = Field(max_length=300)
    target_date: date | None = None
    met_at: datetime | None = None


# --- Patient logging ----------------------------------------------------------------------


class SessionLog(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("patient_id", "client_uuid", name="uq_sessionlog_patient_uuid"),
        Index("ix_sessionlog_patient_date", "patient_id", "local_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_uuid: uuid_lib.UUID
    patient_id: int = Field(foreign_key="user.id")
    program_id: int = Field(foreign_key="program.id", index=True)
    performed_at: datetime
    received_at: datetime = Field(default_factory=utcnow)
    local_date: date
    warmup_soreness: str = Field(default="none", max_length=12)  # none | gone | continues
    pain_overall: int | None = None
    effort_overall: int | None = None
    red_flags: list[str] = json_list()
    notes: str = Field(default="", max_length=2000)
    stopped: bool = False
    stop_reason: str | None = Field(default=None, max_length=32)
    counted: bool = False  # at least one exercise performed (SPEC §5)


class ExerciseLog(SQLModel, table=True):
    """What was prescribed beside what was done, so adherence survives program edits."""

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessionlog.id", index=True)
    program_item_id: int = Field(foreign_key="programitem.id", index=True)
    exercise_id: int = Field(foreign_key="exercise.id")
    position: int = 0
    dosage_kind: str = Field(max_length=8)
    target_sets: int
    target_reps: int | None = None
    target_seconds: int | None = None
    target_load: float | None = None
    # Reps (or seconds) done in each set, in order.
    sets_done: list[int] = json_list()
    actual_load: float | None = None
    pain_during: int | None = None
    effort: int | None = None
    skipped_reason: str | None = Field(default=None, max_length=200)


class MorningCheckin(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="user.id", index=True)
    session_id: int = Field(foreign_key="sessionlog.id", unique=True)
    soreness_lasted: bool
    pain_now: int
    answered_at: datetime = Field(default_factory=utcnow)


# --- Notifications ------------------------------------------------------------------------


class PushSubscription(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    endpoint: str = Field(max_length=1000, unique=True)
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=64)
    device_label: str = Field(default="", max_length=120)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)  # last (re-)subscribe from the device
    last_success_at: datetime | None = None
    failures: int = 0


class Notification(SQLModel, table=True):
    """One message to one person: always in their inbox, pushed to their devices when due.

    Push delivery: status pending → sent | skipped (opted out, too late) | failed (gave up).
    A deliverer claims a row by moving next_attempt_at past a lease and stamping claim_token.
    """

    __table_args__ = (
        Index("ix_notification_user_read", "user_id", "read_at"),
        Index("ix_notification_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    kind: str = Field(max_length=32)
    dedupe_key: str = Field(max_length=200, unique=True)
    title: str = Field(max_length=120)
    body: str = Field(default="", max_length=300)
    url: str = Field(default="/", max_length=300)
    scheduled_for: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    read_at: datetime | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=300)
    channel_results: dict = json_dict()
    status: str = Field(default="pending", max_length=12)  # pending | sent | skipped | failed
    # After this a push is pointless ("Time for your exercises" at midnight): it is skipped.
    expires_at: datetime | None = None
    claim_token: str | None = Field(default=None, max_length=36)


# --- Clinical follow-up -------------------------------------------------------------------


class ProgressionSuggestion(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", index=True)
    patient_id: int = Field(foreign_key="user.id", index=True)
    program_item_id: int = Field(foreign_key="programitem.id", index=True)
    decision: str = Field(max_length=8)  # advance | hold | regress
    rule: str = Field(max_length=40)
    reason: str = Field(max_length=300)
    from_dosage: dict = json_dict()
    to_dosage: dict | None = json_dict(nullable=True)
    rest_days: int = 0
    status: str = Field(default="pending", max_length=12)  # pending|accepted|dismissed|applied
    created_at: datetime = Field(default_factory=utcnow)
    decided_by_id: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = None


class Alert(SQLModel, table=True):
    __table_args__ = (Index("ix_alert_clinic_open", "clinic_id", "acknowledged_at"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id")
    patient_id: int = Field(foreign_key="user.id", index=True)
    session_id: int | None = Field(default=None, foreign_key="sessionlog.id")
    # hep.rules.safety.alerts_for's vocabulary, raised by hep.alerts:
    kind: str = Field(max_length=24)  # red_flag | severe_pain | pain_over_5_twice | worsening
    severity: str = Field(max_length=12)  # immediate | routine
    detail: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    acknowledged_by_id: int | None = Field(default=None, foreign_key="user.id")
    acknowledged_at: datetime | None = None
    acknowledge_note: str = Field(default="", max_length=1000)


class PatientNote(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="user.id", index=True)
    author_id: int = Field(foreign_key="user.id")
    body: str = Field(max_length=4000)
    created_at: datetime = Field(default_factory=utcnow)


class OutcomeMeasure(SQLModel, table=True):
    """A Patient-Specific Functional Scale: up to five activities rated 0-10."""

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(default="psfs", max_length=16)
    items: list[dict] = json_list()  # [{"activity": str, "score": int}]
    score: float
    recorded_at: datetime = Field(default_factory=utcnow)


class TimeEntry(SQLModel, table=True):
    """Therapist management minutes for remote therapeutic monitoring (RTM)."""

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", index=True)
    patient_id: int = Field(foreign_key="user.id", index=True)
    therapist_id: int = Field(foreign_key="user.id")
    on_date: date
    minutes: int
    interactive: bool = False
    note: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class PatientRollup(SQLModel, table=True):
    """Per-patient figures for the caseload, kept current in the log's own transaction."""

    patient_id: int = Field(foreign_key="user.id", primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", index=True)
    computed_for: date | None = None
    adherence_7: float | None = None
    adherence_30: float | None = None
    adherence_all: float | None = None
    inactive: bool = False
    last_session_at: datetime | None = None
    last_pain: int | None = None
    open_alerts: int = 0
    urgent_alerts: int = 0
    pending_suggestions: int = 0
    worsening: bool = False
    sparkline: list[float] = json_list()
    updated_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Append-only record of therapists' reads and writes of patient data."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    clinic_id: int | None = Field(default=None, foreign_key="clinic.id", index=True)
    patient_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    action: str = Field(max_length=40)
    target: str = Field(default="", max_length=200)
    ip: str | None = Field(default=None, max_length=64)
    detail: dict = json_dict()
