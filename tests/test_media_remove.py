"""Removing a clinic's photo or video from an exercise takes a confirm step: a "Remove this
video?" page without JavaScript (or the same question in place with htmx), and a POST that
removes nothing unless it says confirm=yes."""

from __future__ import annotations

from sqlmodel import select

from hep.models import ExerciseMedia
from tests.test_library import (  # noqa: F401 (fixtures)
    MP4,
    PNG,
    clinics,
    library,
    login,
    media_files_on_disk,
    upload,
)


def uploaded(app, db, library, clinics, content=MP4, name="clip.mp4", mimetype="video/mp4"):  # noqa: F811
    a, b = clinics
    exercise = next(iter(library.values()))
    client = login(app, a.therapist)
    response = upload(client, exercise.id, content, name, mimetype, "Side view")
    assert response.status_code == 302
    media = db.exec(select(ExerciseMedia)).one()
    return client, exercise, media, b


def still_there(app, db) -> bool:
    db.expire_all()
    return len(db.exec(select(ExerciseMedia)).all()) == 1 and len(media_files_on_disk(app)) == 1


def test_the_exercise_page_links_to_the_confirm_page(app, db, library, clinics):  # noqa: F811
    client, exercise, media, _b = uploaded(app, db, library, clinics)
    html = client.get(f"/library/exercises/{exercise.id}").get_data(as_text=True)
    url = f"/library/media/{media.id}/delete"
    # A plain link (works without JavaScript) that htmx opens in place; no form posts from here.
    assert f'href="{url}"' in html and f'hx-get="{url}"' in html
    assert f'action="{url}"' not in html
    assert "hx-confirm" not in html


def test_the_confirm_page_asks_and_removes_nothing(app, db, library, clinics):  # noqa: F811
    client, exercise, media, _b = uploaded(app, db, library, clinics)
    response = client.get(f"/library/media/{media.id}/delete")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1" in html and "Remove this video?" in html
    assert "Patients on programs with this exercise will no longer see it." in html
    assert "Side view" in html
    assert 'name="confirm" value="yes"' in html
    assert "Keep it" in html and f'href="/library/exercises/{exercise.id}#media"' in html
    assert still_there(app, db)


def test_htmx_gets_the_question_in_place(app, db, library, clinics):  # noqa: F811
    client, _exercise, media, _b = uploaded(app, db, library, clinics)
    response = client.get(f"/library/media/{media.id}/delete", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and "<h3" in html and "Remove this video?" in html
    assert 'name="confirm" value="yes"' in html and "data-autofocus" in html
    assert still_there(app, db)


def test_keep_it_in_place_puts_the_line_back(app, db, library, clinics):  # noqa: F811
    client, exercise, media, _b = uploaded(app, db, library, clinics)
    url = f"/library/media/{media.id}/delete"
    html = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'hx-get="{url}?keep=1"' in html
    assert f'href="/library/exercises/{exercise.id}#media"' in html  # and without htmx
    line = client.get(f"{url}?keep=1", headers={"HX-Request": "true"})
    html = line.get_data(as_text=True)
    assert line.status_code == 200 and "<html" not in html
    assert "Side view" in html and f'href="{url}"' in html and "data-autofocus" in html
    # The confirm page itself (no htmx) has no in-place "Keep it".
    assert "keep=1" not in client.get(url).get_data(as_text=True)
    assert still_there(app, db)


def test_a_photo_is_asked_about_as_a_photo(app, db, library, clinics):  # noqa: F811
    client, _exercise, media, _b = uploaded(
        app, db, library, clinics, PNG, "photo.png", "image/png"
    )
    html = client.get(f"/library/media/{media.id}/delete").get_data(as_text=True)
    assert "Remove this photo?" in html and "Remove this video?" not in html


def test_removing_without_confirming_does_nothing(app, db, library, clinics):  # noqa: F811
    client, _exercise, media, _b = uploaded(app, db, library, clinics)
    url = f"/library/media/{media.id}/delete"
    for data in ({}, {"confirm": ""}, {"confirm": "no"}, {"confirm": "YES please"}):
        response = client.post(url, data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == 422, data
        assert "There is a problem" in html
        assert "Choose “Remove” to take it off, or “Keep it”." in html
        assert 'name="confirm" value="yes"' in html  # the question is asked again
        assert still_there(app, db)


def test_removing_with_confirmation_removes_the_file_and_the_row(app, db, library, clinics):  # noqa: F811
    client, exercise, media, _b = uploaded(app, db, library, clinics)
    url = f"/library/media/{media.id}/delete"
    response = client.post(url, data={"confirm": "yes"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/library/exercises/{exercise.id}#media")
    db.expire_all()
    assert db.exec(select(ExerciseMedia)).all() == [] and media_files_on_disk(app) == []
    page = client.get(f"/library/exercises/{exercise.id}").get_data(as_text=True)
    assert "The video is removed." in page and "Side view" not in page
    # Gone: asking again is a 404, not an error.
    assert client.get(url).status_code == 404
    assert client.post(url, data={"confirm": "yes"}).status_code == 404


def test_another_clinic_gets_404_and_removes_nothing(app, db, library, clinics):  # noqa: F811
    _client, _exercise, media, b = uploaded(app, db, library, clinics)
    url = f"/library/media/{media.id}/delete"
    other = login(app, b.therapist)
    assert other.get(url).status_code == 404
    assert other.post(url, data={"confirm": "yes"}).status_code == 404
    patient = login(app, b.patient)
    assert patient.get(url).status_code in (403, 404)
    assert patient.post(url, data={"confirm": "yes"}).status_code in (403, 404)
    assert still_there(app, db)
