"""The onboarding pages (SPEC §19): the invitation link sets the password and signs the doctor in;
the profile, photo, weekly hours and submission forms; clear errors for a bad RPPS, a too-big file,
a non-image; an EXIF-bearing JPEG is stored without its metadata; a used or expired link says so."""

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.doctors import onboarding
from core.models import Doctor, DoctorPhoto
from tests.integration.doctor_portal.test_doctor_onboarding import BASE, PASSWORD, RPPS
from tests.unit.doctors.test_photos_and_rpps import exif_jpeg, image_bytes


def csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(path).get_data(as_text=True)
                     ).group(1)


@pytest.fixture
def joined(client, make_user, clock_at):
    """An invited doctor who chose a password through the link page (signed in)."""
    admin = make_user("admin")
    _view, token = onboarding.invite_doctor(admin.actor, "page@tests.doktu.eu", base_url=BASE)
    page = client.get(f"/join/{token}")
    assert page.status_code == 200 and "page@tests.doktu.eu" in page.get_data(as_text=True)
    response = client.post(f"/join/{token}", data={"full_name": "Dr. Page Turner", "password": PASSWORD,
                                                    "confirm": PASSWORD, "csrf_token": csrf(client, f"/join/{token}")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/doctor-onboarding")
    return token


def doctor_row() -> Doctor:
    with unit_of_work(SYSTEM) as uow:
        return uow.session.scalar(select(Doctor).where(Doctor.display_name.like("Dr. Page%")))


def test_the_link_works_once(client, joined):
    again = client.get(f"/join/{joined}")
    assert again.status_code == 410 and "no longer works" in again.get_data(as_text=True)
    assert client.get("/join/not-a-token").status_code == 410


def test_profile_hours_and_submit_through_the_page(client, joined):
    page = client.get("/doctor-onboarding").get_data(as_text=True)
    assert 'value="1"' in page and "Steps done" in page
    form = {"action": "profile", "name": "Dr. Page Turner", "specialty": "Neurology", "rpps": "10003123452",
            "languages": ["fr", "en"], "price": "40", "timezone": "Europe/Paris", "bio": "", "education": "",
            "expertise": "", "philosophy": ""}
    refused = client.post("/doctor-onboarding", data={**form, "csrf_token": csrf(client, "/doctor-onboarding")})
    assert refused.status_code == 422 and "check key" in refused.get_data(as_text=True)
    assert 'value="10003123452"' in refused.get_data(as_text=True)  # what was typed stays
    saved = client.post("/doctor-onboarding", data={**form, "rpps": RPPS,
                                                    "csrf_token": csrf(client, "/doctor-onboarding")})
    assert saved.status_code == 302
    hours = {f"hours-{k}": "" for k in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    bad = client.post("/doctor-onboarding", data={**hours, "hours-mon": "9-5", "action": "hours",
                                                  "csrf_token": csrf(client, "/doctor-onboarding")})
    assert bad.status_code == 422 and "Monday" in bad.get_data(as_text=True)
    good = client.post("/doctor-onboarding", data={**hours, "hours-mon": "09:00-12:00", "action": "hours",
                                                   "csrf_token": csrf(client, "/doctor-onboarding")})
    assert good.status_code == 302
    client.post("/doctor-onboarding", data={"action": "submit", "csrf_token": csrf(client, "/doctor-onboarding")})
    row = doctor_row()
    assert (row.rpps, row.specialty, row.price_cents, row.status) == (RPPS, "Neurology", 4000, "pending")
    assert row.submitted_at is not None and row.weekly_hours["mon"] == [["09:00", "12:00"]]
    assert "Submitted for review" in client.get("/doctor-onboarding").get_data(as_text=True)


def upload(client, data: bytes, name="me.jpg", mimetype="image/jpeg"):
    return client.post("/doctor-onboarding/photo", content_type="multipart/form-data", data={
        "csrf_token": csrf(client, "/doctor-onboarding"), "photo": (io.BytesIO(data), name, mimetype)})


def test_photo_upload_errors_and_exif(client, joined):
    too_big = upload(client, image_bytes("PNG", size=(10, 10)) + b"\0" * (2 * 1024 * 1024))
    assert too_big.status_code == 413 and "limit is 2 MB" in too_big.get_data(as_text=True)
    not_image = upload(client, b"MZ\x90\x00 definitely an executable", name="me.jpg")
    assert not_image.status_code == 422 and "not an image" in not_image.get_data(as_text=True)
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(DoctorPhoto, doctor_row().id) is None  # nothing half-written
    assert upload(client, exif_jpeg()).status_code == 302
    row = doctor_row()
    with unit_of_work(SYSTEM) as uow:
        stored = uow.session.get(DoctorPhoto, row.id)
        assert stored is not None
        assert b"PhoneMaker" not in stored.jpeg and b"PhoneMaker" not in stored.webp
    served = client.get(f"/doctors/{row.id}/photo.jpg")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.size == (400, 400) and len(image.getexif()) == 0
    assert client.get(f"/doctors/{row.id}/photo.gif").status_code == 404


def test_a_pending_doctors_photo_is_not_public(client, app, joined):
    assert upload(client, image_bytes("PNG")).status_code == 302
    row = doctor_row()
    assert client.get(f"/doctors/{row.id}/photo.webp").status_code == 200  # the doctor sees their own
    client.get("/logout")
    with app.test_client() as anonymous:
        assert anonymous.get(f"/doctors/{row.id}/photo.webp").status_code == 404
        with unit_of_work(SYSTEM) as uow:
            uow.session.get(Doctor, row.id).status = "approved"
        assert anonymous.get(f"/doctors/{row.id}/photo.webp").status_code == 200


def test_the_portal_tells_a_pending_doctor_to_complete_the_profile(joined):
    from core.doctors.onboarding import review_status
    from portals.doctor.dash_app import review_banner

    row = doctor_row()
    with unit_of_work(SYSTEM) as uow:
        user_id = uow.session.get(Doctor, row.id).user_id
    from core.actor import Actor

    status = review_status(Actor(user_id, "doctor"))
    assert status == "pending"
    [banner] = review_banner(status)
    assert "/doctor-onboarding" in str(banner.to_plotly_json())
    assert review_banner("approved") == []
