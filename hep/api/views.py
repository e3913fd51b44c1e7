"""JSON API v1: what the offline outbox (static/js/outbox.js) and other clients talk to."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from flask import Blueprint, jsonify
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from pydantic import BaseModel

from hep.access import own_program_or_404, role_required
from hep.api.framework import ErrorOut, endpoint, openapi_document, unprocessable
from hep.db import get_session
from hep.patient import service as patient_service
from hep.patient.schemas import SessionSubmission
from hep.timeutil import utcnow

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class MeOut(BaseModel):
    id: int
    name: str
    role: str
    timezone: str
    locale: str


class CsrfOut(BaseModel):
    """A fresh CSRF token to send as the X-CSRFToken header of the next write, and whose
    session it belongs to (the outbox sends only that person's saved sessions)."""

    csrf_token: str
    user_id: int


class SessionOut(BaseModel):
    """A stored session. `created` is false when this client UUID was already stored (a
    replay): the answer is then the first one's, with status 200 instead of 201."""

    id: int
    client_uuid: UUID
    received_at: datetime
    created: bool


def signed_in(view):
    """Any signed-in user; the API answers 401 JSON instead of redirecting to sign-in."""
    return role_required(None)(view)


@bp.errorhandler(CSRFError)
def csrf_error(exc: CSRFError):
    # JSON, not the HTML error page: the outbox fetches a new token and tries again.
    return {"error": exc.description, "status": 400}, 400


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document("HEP API", "1"))


@endpoint(bp, "/me", "GET", summary="The signed-in user", responses={200: MeOut}, tags=("me",))
@signed_in
def me():
    return MeOut(
        id=current_user.id,
        name=current_user.name,
        role=current_user.role,
        timezone=current_user.timezone,
        locale=current_user.locale,
    )


@endpoint(
    bp,
    "/csrf",
    "GET",
    summary="A CSRF token for the next write",
    responses={200: CsrfOut},
    tags=("me",),
)
@signed_in
def csrf():
    return CsrfOut(csrf_token=generate_csrf(), user_id=current_user.id)


@endpoint(
    bp,
    "/sessions",
    "POST",
    summary="Store a logged session once (replays of the same client_uuid answer 200)",
    body=SessionSubmission,
    responses={201: SessionOut, 200: SessionOut, 404: ErrorOut},
    tags=("sessions",),
    role="patient",
)
def create_session(body: SessionSubmission):
    db = get_session()
    own_program_or_404(db, body.program_id)
    try:
        log, created = patient_service.record_session(db, utcnow(), current_user.row, body)
    except patient_service.InvalidSubmission as refused:
        db.rollback()
        return unprocessable(_error_locations(body, refused.errors))
    db.commit()
    out = SessionOut(
        id=log.id, client_uuid=log.client_uuid, received_at=log.received_at, created=created
    )
    return out, 201 if created else 200


def _error_locations(body: SessionSubmission, errors: dict[str, str]) -> list[dict]:
    """The service names form fields ("i12-set", "__all__"); the API names JSON locations."""
    index = {f"i{entry.program_item_id}-set": n for n, entry in enumerate(body.exercises)}
    detail = []
    for name, message in errors.items():
        loc: list[str | int] = (
            ["exercises", index[name], "sets_done"] if name in index else ["exercises"]
        )
        detail.append({"loc": loc, "msg": _(message), "type": "value_error"})
    return detail
