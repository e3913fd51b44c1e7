"""Site-wide routes: the front door and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from hep.accounts.views import home_for
from hep.db import get_session
from hep.extensions import csrf

bp = Blueprint("site", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("accounts.login"))


@bp.get("/healthz")
@csrf.exempt
def healthz():
    try:
        get_session().exec(text("SELECT 1")).one()
    except Exception as exc:  # noqa: BLE001 - any database failure makes the node unhealthy
        return jsonify(status="error", database="unreachable", error=type(exc).__name__), 503
    return jsonify(status="ok", database="ok")
