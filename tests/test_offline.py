"""The server's side of the offline app: versioned static URLs cached for a year, a service
worker whose bytes change with every deploy, and pages that say whose they are and whether a
phone may keep them."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from hep.offline import (
    APP_SHELL,
    BACKGROUND_HEADER,
    IMMUTABLE,
    WORKER_PARTS,
    static_versions,
    worker_prelude,
)

STATIC = Path(__file__).resolve().parents[1] / "static"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def test_static_urls_carry_a_hash_of_the_files_content(app):
    with app.test_request_context():
        from flask import url_for

        url = url_for("static", filename="css/app.css")
    assert url == f"/static/css/app.css?v={digest(STATIC / 'css' / 'app.css')}"


def test_the_current_version_of_a_file_is_cached_for_a_year(client, app):
    with app.test_request_context():
        current = static_versions().of("js/outbox.js")
    versioned = client.get(f"/static/js/outbox.js?v={current}")
    assert versioned.status_code == 200
    assert versioned.headers["Cache-Control"] == IMMUTABLE
    assert "Expires" not in versioned.headers
    for url in ("/static/js/outbox.js", "/static/js/outbox.js?v=000000000000"):
        response = client.get(url)
        assert "immutable" not in response.headers.get("Cache-Control", "")


def test_pages_name_their_owner_and_only_patient_pages_may_be_kept(client, auth, people):
    clinic = people.clinic_with_patient()

    login = client.get("/login")
    assert login.headers["X-HEP-User"] == ""
    assert "X-HEP-Offline" not in login.headers

    auth.login(clinic.patient)
    today = client.get("/today")
    assert today.headers["X-HEP-User"] == str(clinic.patient.id)
    assert today.headers["X-HEP-Offline"] == "keep"
    assert today.headers["Cache-Control"] == "private, no-cache"
    checkin = client.get("/checkin")  # a form that must reach the server: not kept
    assert "X-HEP-Offline" not in checkin.headers
    assert checkin.headers["Cache-Control"] == "no-store"
    api = client.get("/api/v1/me")
    assert "X-HEP-User" not in api.headers
    auth.logout()

    auth.login(clinic.therapist)
    caseload = client.get("/patients")
    assert caseload.status_code == 200
    assert caseload.headers["Cache-Control"] == "no-store"
    assert caseload.headers["X-HEP-User"] == str(clinic.therapist.id)
    assert "X-HEP-Offline" not in caseload.headers


def test_a_background_copy_leaves_the_message_for_the_page_the_patient_sees(client, auth, people):
    clinic = people.clinic_with_patient()
    auth.login(clinic.patient)
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "Your check-in is saved.")]

    background = client.get("/today", headers={BACKGROUND_HEADER: "keep"})
    assert background.status_code == 200
    assert "Your check-in is saved." not in background.get_data(as_text=True)

    seen = client.get("/today")
    assert "Your check-in is saved." in seen.get_data(as_text=True)
    assert "Your check-in is saved." not in client.get("/today").get_data(as_text=True)


def test_the_offline_page_names_nobody_and_holds_no_form(client, auth, people):
    clinic = people.clinic_with_patient()
    auth.login(clinic.patient)
    response = client.get("/offline")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    page = response.get_data(as_text=True)
    assert "No internet connection" in page
    assert "Pat" not in page and "<form" not in page and "csrf" not in page


def test_the_worker_knows_this_deploys_version_and_app_shell(app):
    with app.test_request_context():
        prelude = worker_prelude()
        version = static_versions().version
    assert prelude.startswith('"use strict";\nvar HEP = {')
    assert f'"version":"{version}"' in prelude
    assert '"/offline"' in prelude
    assert re.search(r'"/static/vendor/htmx-2\.0\.11\.min\.js\?v=[0-9a-f]{12}"', prelude)
    assert "make_icons.py" not in prelude and "/static/sw.js" not in prelude
    assert "dashboard.js" not in prelude  # therapists' files are kept when first used
    for name in APP_SHELL:
        assert (STATIC / name).is_file(), f"the app shell lists a missing file: {name}"


def test_changing_any_static_file_changes_the_version(app, tmp_path):
    folder = tmp_path / "static"
    shutil.copytree(STATIC, folder)
    app.static_folder = str(folder)
    with app.test_request_context():
        before = static_versions().version
        prelude = worker_prelude()
    (folder / "icons" / "icon.svg").write_text("<svg/>")
    app.extensions.pop("hep.static_versions")  # a new deploy starts a new app
    with app.test_request_context():
        after = static_versions().version
        assert worker_prelude() != prelude
    assert before != after


def test_sw_js_is_this_deploys_worker(client, app):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"
    script = response.get_data(as_text=True)
    with app.test_request_context():
        assert script.startswith(worker_prelude())
    # One script: the offline half is in it, not fetched with importScripts (a navigation's
    # update check would revalidate each imported file).
    assert "importScripts" not in script
    for name in WORKER_PARTS:
        assert (STATIC / name).read_text(encoding="utf-8") in script
    # A new version waits for the patient's "Update now" (SKIP_WAITING), never skips by itself.
    assert [line.strip() for line in script.splitlines() if "skipWaiting" in line] == [
        'if (type === "SKIP_WAITING") self.skipWaiting();'
    ]
    assert 'addEventListener("push"' in script


def test_an_unchanged_worker_answers_304(client):
    first = client.get("/sw.js")
    etag = first.headers["ETag"]
    again = client.get("/sw.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert client.get("/sw.js", headers={"If-None-Match": '"older"'}).status_code == 200
