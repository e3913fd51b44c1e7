"""The app factory, configuration, health check and security headers."""

from __future__ import annotations

from pathlib import Path

from hep import create_app


def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_unreachable_database(app_config):
    app = create_app({**app_config, "DATABASE_URL": "sqlite:////nonexistent-dir/x/hep.db"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"


def test_config_layers_defaults_instance_file_then_environment(app_config, tmp_path, monkeypatch):
    instance = tmp_path / "layered"
    instance.mkdir()
    (instance / "config.py").write_text("INVITE_TTL_HOURS = 12\nSIGNUP_ENABLED = False\n")
    monkeypatch.setenv("HEP_INVITE_TTL_HOURS", "24")
    config = {k: v for k, v in app_config.items() if k != "SECRET_KEY"}
    app = create_app({**config, "INSTANCE_PATH": str(instance)})
    assert app.config["INVITE_TTL_HOURS"] == 24  # environment beats the instance file
    assert app.config["SIGNUP_ENABLED"] is False  # instance file beats the defaults
    assert app.config["THERAPIST_IDLE_MINUTES"] == 30  # default


def test_secret_key_generated_once_into_instance(app_config, tmp_path):
    instance = tmp_path / "fresh"
    config = {k: v for k, v in app_config.items() if k != "SECRET_KEY"}
    first = create_app({**config, "INSTANCE_PATH": str(instance)}).config["SECRET_KEY"]
    second = create_app({**config, "INSTANCE_PATH": str(instance)}).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (Path(instance) / "secret_key").stat().st_mode & 0o077 == 0


def test_default_database_is_sqlite_in_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("HEP_DATABASE_URL", raising=False)
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'hep.sqlite3'}"


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    with app.extensions["hep.engine"].connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_when_cookies_are_secure(app_config):
    app = create_app({**app_config, "SECURE_COOKIES": True})
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"Page not found" in response.data
    assert b"<html" in response.data


def test_htmx_request_gets_the_error_partial_alone(client):
    response = client.get("/no-such-page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert b"Page not found" in response.data
    assert b"<html" not in response.data
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_is_vendored_with_its_version_in_the_name(client):
    response = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert response.status_code == 200
    assert b'version:"2.0.11"' in response.data.replace(b" ", b"")
