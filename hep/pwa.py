"""The installable-app pieces served at the site root: the web app manifest and /sw.js.

The service worker lives in static/sw.js but must be served from the root so its scope is the
whole site; it is never cached by HTTP (browsers check it for updates on every navigation).
It is served after a first line giving this deploy's version and app shell (hep/offline.py).
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, request, url_for
from flask_babel import gettext as _

from hep.offline import worker_script

bp = Blueprint("pwa", __name__)

THEME_COLOUR = "#005eb8"
BACKGROUND_COLOUR = "#f0f4f5"


def manifest_data() -> dict:
    def icon(name: str, size: int, purpose: str) -> dict:
        return {
            "src": url_for("static", filename=f"icons/{name}"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": purpose,
        }

    return {
        "id": "/",
        "name": _("HEP – home exercises"),
        "short_name": "HEP",
        "description": _("Your home exercise program, reminders and progress."),
        "lang": "en",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            icon("icon-192.png", 192, "any"),
            icon("icon-512.png", 512, "any"),
            icon("icon-maskable-512.png", 512, "maskable"),
        ],
    }


@bp.get("/manifest.webmanifest")
def manifest():
    response = current_app.response_class(
        json.dumps(manifest_data(), ensure_ascii=False), mimetype="application/manifest+json"
    )
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.get("/sw.js")
def service_worker():
    # This deploy's version and app shell first (hep/offline.py), so a deploy that changes
    # any static file changes these bytes and phones install the new worker.
    response = current_app.response_class(worker_script(), mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    # The browser checks /sw.js on navigations; an unchanged worker answers 304, no body.
    response.add_etag()
    return response.make_conditional(request)
