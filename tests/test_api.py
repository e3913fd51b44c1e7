"""The JSON API: 401 instead of redirects, and an OpenAPI 3.1 document from the models."""

from __future__ import annotations

from hep import create_app


def test_api_answers_401_json_when_signed_out(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json == {"error": "Unauthorized", "status": 401}


def test_me_describes_the_signed_in_user(client, auth, people):
    patient = people.clinic_with_patient().patient
    auth.login(patient)
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json == {
        "id": patient.id,
        "name": "Pat Patient",
        "role": "patient",
        "timezone": "America/New_York",
        "locale": "en",
    }


def test_csrf_token_from_the_api_authorises_a_write(app_config, people):
    people.clinic_with_patient()
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    login_token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login",
        data={
            "login": "pat.tess@example.com",
            "password": "correct horse battery",
            "csrf_token": login_token,
        },
    )
    token = client.get("/api/v1/csrf").json["csrf_token"]
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", headers={"X-CSRFToken": token}).status_code == 302


def test_openapi_document_is_3_1_and_lists_the_endpoints(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    assert "/api/v1/me" in doc["paths"]
    me = doc["paths"]["/api/v1/me"]["get"]
    assert me["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] == (
        "#/components/schemas/MeOut"
    )
    assert set(doc["components"]["schemas"]["MeOut"]["required"]) >= {"id", "name", "role"}
    assert "401" in me["responses"]
