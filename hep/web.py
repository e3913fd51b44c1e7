"""Request plumbing shared by every blueprint: page-or-partial rendering, locale, headers."""

from __future__ import annotations

from typing import Any

from flask import (
    Flask,
    Response,
    current_app,
    has_request_context,
    make_response,
    render_template,
    request,
)
from flask_babel import get_locale, gettext
from flask_login import current_user

from hep.content.text import exercise_words

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'; manifest-src 'self'; "
    "worker-src 'self'"
)


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def render(page: str, partial: str | None = None, status: int = 200, **context: Any) -> Response:
    """Render the full page, or only its partial when htmx asked for it."""
    template = partial if partial and is_htmx() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def select_locale() -> str:
    if not has_request_context():  # CLI and scheduler jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated:
        return current_user.locale
    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "en"


def select_timezone() -> str | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.timezone
    return None


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
    if current_app.config["SECURE_COOKIES"] or request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if current_user and current_user.is_authenticated and response.mimetype == "text/html":
        # Pages with someone's data are never stored by shared caches or the back button.
        # (The patient pages a phone may keep offline say otherwise first: hep/offline.py.)
        headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.after_request(_security_headers)
    app.jinja_env.globals["is_htmx"] = is_htmx
    app.jinja_env.globals["get_locale"] = get_locale  # <html lang> in templates/base.html
    # {% set words = exercise_words(exercise) %}: an exercise's text in the reader's language.
    app.jinja_env.globals["exercise_words"] = exercise_words
    # Text stored in English (notification titles) shown in the reader's language. Unlike the
    # templates' _(), which always %-formats, a stored "%" cannot break the page.
    app.jinja_env.filters["translated"] = gettext
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
