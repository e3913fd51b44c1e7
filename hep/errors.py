"""Error pages that work for full pages and for htmx requests alike."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from hep.web import render

bp = Blueprint("errors", __name__)


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Something in the request was wrong"), _("Go back and try again.")),
        401: (_("Please sign in"), _("Sign in to see this page.")),
        403: (_("You cannot open this page"), _("Your account does not have access to it.")),
        404: (_("Page not found"), _("Check the address, or go back to your home page.")),
        405: (_("That did not work"), _("Go back and try again.")),
        410: (_("This link has expired"), _("Ask for a new one.")),
        413: (_("That file is too big"), _("Choose a smaller file and try again.")),
        429: (_("Too many tries"), _("Wait a minute, then try again.")),
        500: (_("Sorry, something went wrong on our side"), _("Try again in a moment.")),
    }


def _render_error(status: int, title: str | None = None, detail: str | None = None):
    default_title, default_detail = _messages().get(status, _messages()[400])
    return render(
        "errors/error.html",
        partial="errors/_error.html",
        status=status,
        code=status,
        title=title or default_title,
        detail=detail or default_detail,
    )


@bp.app_errorhandler(CSRFError)
def csrf_error(_exc: CSRFError):
    return _render_error(
        400,
        _("This page was open too long"),
        _("Go back, reload the page and send it again. Nothing was saved."),
    )


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    if request.path.startswith("/api/"):
        return {"error": exc.name, "status": exc.code}, exc.code
    return _render_error(exc.code or 500)


@bp.app_errorhandler(Exception)
def server_error(exc: Exception):
    current_app.logger.exception("Unhandled error", exc_info=exc)
    return _render_error(500)
