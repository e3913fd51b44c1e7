"""What makes the patient's app work with no signal, on the server's side.

- Static files get versioned URLs (`url_for("static", ...)` adds `?v=<hash of the file>`), and a
  request for the current version may be cached for a year: a deploy changes the URL instead.
- The service worker (/sw.js, hep/pwa.py) is one script, `worker_script()`: `worker_prelude()`
  (the app's version, a hash of every static file computed once at start, and the app shell to
  precache), then static/sw.js, js/outbox.js and js/sw-offline.js. One script because the
  browser revalidates a worker's importScripts on every navigation's update check. A deploy
  that changes any static file changes the bytes of /sw.js, so phones install the new worker.
- The worker's background copies (header X-HEP-Background) leave flash messages for the page
  the person is looking at (`page_flashes`).
- Every HTML response says whose it is (`X-HEP-User`, empty when signed out): the worker empties
  its page cache when that changes, so it never shows one person's pages to another, nor to
  someone signed out.
- Cache policy for pages: authenticated HTML is `no-store` (hep/web.py) and never kept; the
  patient pages in OFFLINE_PAGES are `private, no-cache` plus `X-HEP-Offline: keep` instead, so
  the worker may keep the last good copy of them for that patient. Therapists' pages stay
  `no-store`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    get_flashed_messages,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_login import current_user

from hep.push import vapid_public_bytes

bp = Blueprint("offline", __name__)

# Patient pages a phone may keep for offline use (the last good copy, for that patient only):
# Today, the guided session (the program, step by step), each exercise, history, a session's
# summary. Anything with someone else's data, or a form that must reach the server (check-in,
# settings), is not on the list.
OFFLINE_PAGES = frozenset(
    {
        "patient.today",
        "patient.session",
        "patient.exercise",
        "patient.history",
        "patient.session_done",
    }
)
IMMUTABLE = "public, max-age=31536000, immutable"
# Sent by the service worker on the page copies it fetches in the background (sw-offline.js).
BACKGROUND_HEADER = "X-HEP-Background"
# What a patient's pages need with no signal, precached when the worker installs. Any other
# static file is kept the first time it is used (versioned URLs, so cache-first is safe).
APP_SHELL = (
    "css/app.css",
    "vendor/htmx-2.0.11.min.js",
    "js/app.js",
    "js/push.js",
    "js/outbox.js",
    "js/session.js",
    "icons/icon.svg",
    "icons/icon-192.png",
)


@dataclass
class StaticVersions:
    """A short content hash per static file and one version for all of them."""

    folder: Path
    hashes: dict[str, str] = field(default_factory=dict)
    mtimes: dict[str, float] = field(default_factory=dict)

    @classmethod
    def scan(cls, folder: Path) -> StaticVersions:
        versions = cls(folder)
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                versions._hash(path)
        return versions

    def _hash(self, path: Path) -> str:
        name = path.relative_to(self.folder).as_posix()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        self.hashes[name] = digest
        self.mtimes[name] = path.stat().st_mtime
        return digest

    def of(self, filename: str, recheck: bool = False) -> str | None:
        """The file's hash; with `recheck` (debug runs), rehashed when the file changed."""
        if recheck:
            path = self.folder / filename
            try:
                mtime = path.stat().st_mtime
            except OSError:
                return None
            if self.mtimes.get(filename) != mtime:
                return self._hash(path)
        return self.hashes.get(filename)

    @property
    def version(self) -> str:
        listing = "\n".join(f"{name} {digest}" for name, digest in sorted(self.hashes.items()))
        return hashlib.sha256(listing.encode()).hexdigest()[:12]


def static_versions(app: Flask | None = None) -> StaticVersions:
    """The versions of this app's static files, hashed once (again if the folder changes)."""
    app = app or current_app
    folder = Path(app.static_folder or "")
    versions = app.extensions.get("hep.static_versions")
    if versions is None or versions.folder != folder:
        versions = StaticVersions.scan(folder)
        app.extensions["hep.static_versions"] = versions
    return versions


def worker_prelude() -> str:
    """The first lines of /sw.js: this deploy's version, its app shell and the push settings."""
    versions = static_versions()
    settings = {
        "version": versions.version,
        "shell": [url_for("static", filename=name) for name in APP_SHELL]
        + [url_for("offline.page")],
        "offlinePage": url_for("offline.page"),
        # Renewing the push subscription when the browser replaces it (static/sw.js).
        "push": {
            "key": list(vapid_public_bytes(current_app)),
            "subscribe": url_for("notifications.subscribe"),
            "csrf": url_for("api.csrf"),
        },
    }
    # The script's first statement, so static/sw.js's own "use strict" is repeated here.
    return f'"use strict";\nvar HEP = {json.dumps(settings, separators=(",", ":"))};\n'


# The files /sw.js is made of, after the prelude, in this order (static/sw.js says where the
# offline half starts).
WORKER_PARTS = ("sw.js", "js/outbox.js", "js/sw-offline.js")


def worker_script() -> str:
    """/sw.js as served: this deploy's settings (worker_prelude), then WORKER_PARTS.

    Built once per static version (and URL root); debug runs rebuild it on every request so an
    edited file shows at once."""
    versions = static_versions()
    key = (versions.version, request.script_root)
    built = current_app.extensions.get("hep.worker_script")
    if built and built[0] == key and not current_app.debug:
        return built[1]
    folder = Path(current_app.static_folder or "")
    parts = [worker_prelude()]
    for name in WORKER_PARTS:
        source = (folder / name).read_text(encoding="utf-8")
        parts.append(f"\n/* --- static/{name} --- */\n{source}")
    script = "".join(parts)
    current_app.extensions["hep.worker_script"] = (key, script)
    return script


@bp.record_once
def _hash_static_files_at_start(state) -> None:
    static_versions(state.app)


@bp.app_template_global()
def page_flashes() -> list[str]:
    """The messages for the page being shown ("Your check-in is saved"). A copy the worker
    fetches in the background gets none: they stay for the page the person is looking at."""
    if request.headers.get(BACKGROUND_HEADER):
        return []
    return get_flashed_messages()


@bp.get("/offline")
def page():
    """Shown by the service worker for a page that is not on the phone. It names nobody."""
    page = render_template("offline.html", lang=str(get_locale() or "en"))
    response = current_app.response_class(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.app_url_defaults
def _versioned_static(endpoint: str, values: dict) -> None:
    if endpoint != "static" or "v" in values or "filename" not in values:
        return
    digest = static_versions().of(values["filename"], recheck=current_app.debug)
    if digest:
        values["v"] = digest


@bp.after_app_request
def _offline_headers(response: Response) -> Response:
    if request.endpoint == "static":
        filename = (request.view_args or {}).get("filename", "")
        wanted = request.args.get("v")
        if (
            wanted
            and response.status_code in (200, 304)
            and wanted == static_versions().of(filename)
        ):
            response.headers["Cache-Control"] = IMMUTABLE
            response.headers.pop("Expires", None)
        return response
    if response.mimetype != "text/html":
        return response
    signed_in = bool(current_user and current_user.is_authenticated)
    response.headers["X-HEP-User"] = str(current_user.id) if signed_in else ""
    if (
        signed_in
        and current_user.is_patient
        and request.method == "GET"
        and request.endpoint in OFFLINE_PAGES
        and response.status_code == 200
    ):
        # Runs before hep.web's security headers, whose default for signed-in pages is no-store.
        response.headers["Cache-Control"] = "private, no-cache"
        response.headers["X-HEP-Offline"] = "keep"
    return response
