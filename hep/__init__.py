"""HEP: home exercise programs that patients follow on their phones and therapists can see."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints; nothing else."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "HEP_INSTANCE_PATH", str(ROOT / "instance")
    )
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
    )
    from hep import config

    app.config.from_object(config.Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("HEP")
    if test_config:
        app.config.update(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.load_secret_key(app.instance_path)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'hep.sqlite3'}"
    if app.config["SECURE_COOKIES"]:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)

    from hep import access, db, scheduler, web
    from hep.extensions import babel, csrf, limiter, login_manager

    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale, timezone_selector=web.select_timezone)
    access.init_app(app, login_manager)
    web.init_app(app)
    scheduler.init_app(app)

    from hep.accounts.views import bp as accounts_bp
    from hep.api.views import bp as api_bp
    from hep.dashboard.views import bp as dashboard_bp
    from hep.errors import bp as errors_bp
    from hep.library.views import bp as library_bp
    from hep.notifications.views import bp as notifications_bp
    from hep.offline import bp as offline_bp
    from hep.patient.views import bp as patient_bp
    from hep.programs.views import bp as programs_bp
    from hep.pwa import bp as pwa_bp
    from hep.site import bp as site_bp
    from hep.suggestions.views import bp as suggestions_bp

    for blueprint in (
        site_bp,
        errors_bp,
        accounts_bp,
        dashboard_bp,
        patient_bp,
        api_bp,
        library_bp,
        programs_bp,
        notifications_bp,
        pwa_bp,
        offline_bp,
        suggestions_bp,
    ):
        app.register_blueprint(blueprint)

    from hep import cli

    cli.init_app(app)
    return app
