"""The public booking journey on the server (SPEC §7): home grid, search, profile, /book, checkout."""

import re
import uuid
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from core.actor import SYSTEM
from core.booking.pending import create_pending
from core.db import unit_of_work
from core.models import Appointment, Doctor
from tests.integration.scheduling.conftest import paris

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def token(client, path="/logout") -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def pill_starts(html: str) -> list[datetime]:
    return [datetime.fromisoformat(v) for v in re.findall(r'name="start" value="([^"]+)"', html)]


def test_home_grid_shows_each_doctor_with_the_next_two_free_times(client, doctor, app):
    html = client.get("/").get_data(as_text=True)
    card = html[html.index("Dr Paris"):]
    card = card[:card.index("</li>\n", card.index("dk-doctor__slots"))]
    # 08:00 Monday in Paris: 60 min notice, template from 10:00 → 10:00 and 10:15 are the next two.
    assert pill_starts(card)[:2] == [paris(2, 10), paris(2, 10, 45)]
    assert "Book Monday 2 March 2026 at 10:00 (Europe/Paris) with Dr Paris" in card
    assert f'<a href="/doctors/{doctor.doctor.id}">Dr Paris</a>' in html


def test_times_follow_the_visitors_zone_cookie(client, doctor):
    client.set_cookie("doktu_tz", "Europe/London")
    html = client.get(f"/doctors/{doctor.doctor.id}").get_data(as_text=True)
    assert ">09:00</time>" in html and "(Europe/London)" in html  # 10:00 in Paris
    client.set_cookie("doktu_tz", "Not/AZone")
    assert ">10:00</time>" in client.get(f"/doctors/{doctor.doctor.id}").get_data(as_text=True)


def test_search_filters_by_name_specialty_language_and_day(client, make_user, clock_at):
    cardio = make_user("doctor", full_name="Dr Zoé Martin", specialty="Cardiology", languages=["fr", "en"])
    make_user("doctor", full_name="Dr Hans Weber", specialty="Dermatology", languages=["de"])
    away = make_user("doctor", full_name="Dr Away Offline", specialty="Cardiology", languages=["fr"], online=False)

    def names(**query) -> str:
        response = client.get("/doctors", query_string=query)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert "Dr Zoé Martin" in names(q="zoé") and "Dr Hans Weber" not in names(q="zoé")
    assert "Dr Hans Weber" not in names(specialty="Cardiology")
    assert "Dr Zoé Martin" not in names(language="de")
    on_tuesday = names(specialty="Cardiology", date="2026-03-03")
    assert "Dr Zoé Martin" in on_tuesday and away.user.full_name not in on_tuesday  # offline: no free time
    assert "1 doctor found" in on_tuesday
    assert "No doctor matches" in names(q="%_\\")  # LIKE wildcards are plain text
    bad = names(date="03/03/2026")
    assert "Dates look like 2026-03-02." in bad and "Dr Zoé Martin" in bad  # readable, not a 500
    assert "Dr Zoé Martin" in names(page="abc")
    assert cardio.doctor.id


def test_search_is_paginated_with_shareable_urls(client, make_user, clock_at):
    for i in range(14):
        make_user("doctor", full_name=f"Dr Page {i:02d}", specialty="Pagination")
    first = client.get("/doctors?specialty=Pagination").get_data(as_text=True)
    assert "14 doctors found — page 1 of 2" in first and first.count('class="dk-doctor__name"') == 12
    assert 'href="/doctors?page=2&amp;specialty=Pagination"' in first
    second = client.get("/doctors?specialty=Pagination&page=2").get_data(as_text=True)
    assert second.count('class="dk-doctor__name"') == 2
    assert "page 2 of 2" in client.get("/doctors?specialty=Pagination&page=99").get_data(as_text=True)


def test_profile_has_the_details_and_a_seven_day_booking_card(client, doctor):
    with unit_of_work(SYSTEM) as uow:
        row = uow.session.get(Doctor, doctor.doctor.id)
        row.bio, row.expertise, row.faqs = "Twenty years of family medicine.", ["Asthma"], [
            {"q": "Do you prescribe?", "a": "Yes, e-prescriptions."}]
        number = row.number
    html = client.get(f"/doctors/{doctor.doctor.id}").get_data(as_text=True)
    for text in ("Twenty years of family medicine.", "Asthma", "Do you prescribe?", f"RPPS 10003{number}789",
                 "Professional details", "Book a video consultation"):
        assert text in html
    assert len(re.findall(r'data-dk-day="2026-03-0\d"', html)) == 7
    assert 'data-dk-day="2026-03-02" aria-current="date"' in html
    # Monday from 10:00 to 20:30: 15 starts 45 minutes apart; 4 pills first, the rest behind "See all".
    assert "See all 15 times" in html and len(pill_starts(html)) == 15
    tuesday = client.get(f"/doctors/{doctor.doctor.id}?day=2026-03-04").get_data(as_text=True)
    assert 'data-dk-day="2026-03-04" aria-current="date"' in tuesday
    assert pill_starts(tuesday)[0] == paris(4, 10)
    later = client.get(f"/doctors/{doctor.doctor.id}?from=2026-03-09").get_data(as_text=True)
    assert 'aria-label="Previous 7 days"' in later and 'data-dk-day="2026-03-15"' in later
    for junk in ("?from=yesterday", "?day=31-02-2026", "?from=1999-01-01", "?from=2030-01-01"):
        assert client.get(f"/doctors/{doctor.doctor.id}{junk}").status_code == 200
    missing = client.get(f"/doctors/{uuid.uuid4()}")
    assert missing.status_code == 404 and "text/html" in missing.content_type


def test_a_guest_chooses_a_time_signs_up_and_lands_on_checkout(client, doctor, clock_at):
    start = paris(3, 14).isoformat()
    response = client.post(f"/book/{doctor.doctor.id}", data={"start": start, "csrf_token": token(client)})
    assert response.status_code == 302
    book_url = response.headers["Location"]
    assert urlsplit(book_url).path == f"/book/{doctor.doctor.id}"
    page = client.get(book_url).get_data(as_text=True)
    assert "Tuesday 3 March 2026 at 14:00 (Europe/Paris)" in page
    signup_link = re.search(r'href="(/signup\?next=[^"]+)"', page).group(1).replace("&amp;", "&")
    next_url = parse_qs(urlsplit(signup_link).query)["next"][0]
    assert parse_qs(urlsplit(next_url).query)["start"] == [start]
    # The remembered choice survives without the query string too (15 minutes).
    assert "Tuesday 3 March 2026 at 14:00" in client.get(f"/book/{doctor.doctor.id}").get_data(as_text=True)
    signup = client.post(signup_link, data={"accept_terms": "y", "email": f"guest-{uuid.uuid4().hex[:6]}@tests.doktu.eu",
                                            "password": "Correct-Horse-42!", "full_name": "Guest Person",
                                            "csrf_token": token(client, "/signup")})
    assert signup.status_code == 302
    assert signup.headers["Location"] == next_url  # straight back to the booking, no profile first
    page = client.get(next_url).get_data(as_text=True)
    assert "data-dk-autosubmit" in page  # the page holds the time without asking again
    held = client.post(f"/book/{doctor.doctor.id}", data={"start": start, "csrf_token": token(client, next_url)})
    checkout = held.headers["Location"]
    assert checkout.startswith("/checkout/")
    summary = client.get(checkout).get_data(as_text=True)
    assert "Tuesday 3 March 2026 at 14:00" in summary and "€35" in summary and "held for you until" in summary
    # The health profile is asked on the checkout page, before the first payment, then it is done.
    assert "Your health profile" in summary and 'name="date_of_birth"' in summary
    saved = client.post(f"/onboarding?next={checkout}", data={"date_of_birth": "1990-05-04", "gender": "female",
                                                            "csrf_token": token(client, checkout)})
    assert saved.headers["Location"] == checkout
    assert 'name="date_of_birth"' not in client.get(checkout).get_data(as_text=True)


def test_a_time_taken_meanwhile_comes_back_with_fresh_times(client, doctor, onboarded, login):
    rival, patient = onboarded(), onboarded()
    create_pending(rival.actor, doctor.doctor.id, paris(3, 14))
    login(patient.email)
    response = client.post(f"/book/{doctor.doctor.id}", data={"start": paris(3, 14).isoformat(),
                                                              "csrf_token": token(client)})
    assert response.headers["Location"] == f"/book/{doctor.doctor.id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "that time was just taken" in page
    assert len(pill_starts(page)) == 6 and paris(3, 14) not in pill_starts(page)
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalars(select(Appointment).where(
            Appointment.patient_id == patient.patient.id)).all() == []


def test_bad_book_requests_get_readable_answers(client, doctor, login):
    assert client.post(f"/book/{doctor.doctor.id}", data={"start": paris(3, 14).isoformat()}).status_code == 400
    no_time = client.post(f"/book/{doctor.doctor.id}", data={"start": "tomorrow", "csrf_token": token(client)})
    assert no_time.headers["Location"] == f"/book/{doctor.doctor.id}"
    assert "Please pick a time" in client.get(no_time.headers["Location"]).get_data(as_text=True)
    assert client.get(f"/book/{uuid.uuid4()}").status_code == 404
    login(doctor.email)
    as_doctor = client.post(f"/book/{doctor.doctor.id}", data={"start": paris(3, 14).isoformat(),
                                                               "csrf_token": token(client)})
    assert "patient account" in client.get(as_doctor.headers["Location"]).get_data(as_text=True)


def test_checkout_is_only_for_its_patient_and_only_while_pending(client, doctor, onboarded, login, clock_at):
    owner, stranger = onboarded(), onboarded()
    pending = create_pending(owner.actor, doctor.doctor.id, paris(3, 14))
    login(stranger.email)
    assert client.get(f"/checkout/{pending.id}").status_code == 404
    client.post("/logout", data={"csrf_token": token(client)})
    login(owner.email)
    assert client.get(f"/checkout/{pending.id}").status_code == 200
    clock_at(paris(2, 8) + timedelta(minutes=16))
    from core.scheduling.holds import unlock_stale_slots

    unlock_stale_slots()
    gone = client.get(f"/checkout/{pending.id}")
    assert gone.status_code == 302 and gone.headers["Location"] == "/dashboard"


def test_assets_are_compressed_and_cache_busted(client):
    html = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert html.headers.get("Content-Encoding") == "gzip"
    css = re.search(r'href="(/static/css/doktu\.css\?v=[0-9a-f]{12})"', client.get("/").get_data(as_text=True))
    assert css, "the stylesheet URL carries its content hash"
    asset = client.get(css.group(1), headers={"Accept-Encoding": "br"})
    assert asset.headers["Content-Encoding"] == "br"
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get(css.group(1), headers={"Accept-Encoding": "gzip"}).headers["Content-Encoding"] == "gzip"
    assert "immutable" not in client.get("/static/css/doktu.css").headers.get("Cache-Control", "")
