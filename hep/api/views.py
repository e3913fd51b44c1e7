"""JSON API v1: what the offline outbox and other clients talk to."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from pydantic import BaseModel

from hep.access import role_required
from hep.api.framework import endpoint, openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class MeOut(BaseModel):
    id: int
    name: str
    role: str
    timezone: str
    locale: str


class CsrfOut(BaseModel):
    """A fresh CSRF token to send as the X-CSRFToken header of the next write."""

    csrf_token: str


def signed_in(view):
    """Any signed-in user; the API answers 401 JSON instead of redirecting to sign-in."""
    return role_required(None)(view)


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
    return CsrfOut(csrf_token=generate_csrf())
