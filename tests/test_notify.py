"""notify(): the inbox entry point is idempotent on its dedupe key."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from hep.models import Notification
from hep.notifications.service import notify
from hep.timeutil import utcnow


def test_same_dedupe_key_is_stored_once(people, db):
    patient = people.clinic_with_patient().patient
    first = notify(
        db,
        utcnow(),
        patient.id,
        "session_reminder",
        "reminder:1:2026-11-24",
        "Time for your exercises",
    )
    again = notify(
        db,
        utcnow(),
        patient.id,
        "session_reminder",
        "reminder:1:2026-11-24",
        "Time for your exercises",
    )
    db.commit()
    assert first is not None and again is None
    assert db.exec(select(func.count()).select_from(Notification)).one() == 1


def test_unknown_kind_is_a_programming_error(people, db):
    patient = people.clinic_with_patient().patient
    with pytest.raises(ValueError):
        notify(db, utcnow(), patient.id, "diagnosis", "k", "x")


def test_a_rolled_back_transaction_leaves_no_notification(people, db):
    """notify() is often the first write of a transaction: its savepoint must not commit it."""
    patient = people.clinic_with_patient().patient
    notify(db, utcnow(), patient.id, "session_reminder", "reminder:rollback", "Time")
    db.rollback()
    assert db.exec(select(func.count()).select_from(Notification)).one() == 0
