"""Append-only audit trail of therapists' reads and writes of patient data (SPEC §7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import request
from flask_login import current_user
from sqlmodel import Session

from hep.models import AuditEvent


def record(
    db: Session, now: datetime, action: str, patient_id: int | None, target: str = "", **detail: Any
) -> None:
    """Add an audit event for the signed-in user; it commits with the caller's transaction."""
    db.add(
        AuditEvent(
            at=now,
            actor_id=current_user.id if current_user.is_authenticated else None,
            clinic_id=current_user.clinic_id if current_user.is_authenticated else None,
            patient_id=patient_id,
            action=action,
            target=target,
            ip=request.remote_addr,
            detail=detail,
        )
    )
