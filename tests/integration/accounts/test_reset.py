"""Forgotten password (SPEC §6): same answer for every email, a single-use link valid 60 minutes."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import OutboxMessage
from tests.conftest import TEST_PASSWORD

NEW = "Zebra-Quartz-91"


def last_link(email: str) -> str:
    with unit_of_work(SYSTEM) as uow:
        body = uow.session.scalars(select(OutboxMessage.body_text).where(OutboxMessage.recipient == email)
                                   .order_by(OutboxMessage.created_at.desc())).first()
    return re.search(r"(/reset/[\w-]+)", body).group(1)


def test_forgot_answers_the_same_for_known_and_unknown_emails(client, make_user):
    known = make_user("patient")
    a = client.post("/api/auth/forgot", json={"email": known.email})
    b = client.post("/api/auth/forgot", json={"email": "nobody@tests.doktu.eu"})
    assert a.status_code == b.status_code == 202
    assert a.get_json() == b.get_json()
    with unit_of_work(SYSTEM) as uow:
        recipients = uow.session.scalars(select(OutboxMessage.recipient)).all()
    assert known.email in recipients and "nobody@tests.doktu.eu" not in recipients


def test_the_link_sets_a_new_password_signs_in_and_signs_out_other_sessions(app, client, make_user, login):
    user = make_user("patient")
    other = app.test_client()
    login(user.email)  # the shared client's session, to be signed out by the reset
    client.post("/api/auth/forgot", json={"email": user.email})
    link = last_link(user.email)
    fresh = other
    page = fresh.get(link).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = fresh.post(link, data={"password": NEW, "confirm": NEW, "csrf_token": token})
    assert response.status_code == 302
    assert fresh.get("/api/patient/profile").status_code == 200        # the resetter is signed in
    assert client.get("/api/patient/profile").status_code == 401       # the old session is not
    assert fresh.get(link).status_code == 410                           # single use
    assert client.post("/api/auth/token", json={"email": user.email, "password": TEST_PASSWORD}).status_code == 401
    assert client.post("/api/auth/token", json={"email": user.email, "password": NEW}).status_code == 200


@pytest.mark.parametrize(("minutes", "status"), [(59, 200), (61, 410)])
def test_the_link_is_valid_for_60_minutes(client, make_user, time_machine, minutes, status):
    time_machine.move_to("2026-03-02 08:00:00+00:00", tick=False)
    user = make_user("patient")
    client.post("/api/auth/forgot", json={"email": user.email})
    link = last_link(user.email)
    time_machine.shift(timedelta(minutes=minutes))
    response = client.get(link)
    assert response.status_code == status
    if status == 410:
        assert "Send a new link" in response.get_data(as_text=True)


def test_a_made_up_link_gets_a_clear_page(client):
    response = client.get("/reset/not-a-real-token")
    assert response.status_code == 410 and "no longer works" in response.get_data(as_text=True)


def test_the_new_password_must_follow_the_policy(client, make_user):
    user = make_user("patient")
    client.post("/api/auth/forgot", json={"email": user.email})
    link = last_link(user.email)
    page = client.get(link).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(link, data={"password": "Password123!", "confirm": "Password123!", "csrf_token": token})
    assert response.status_code == 422 and "too easy to guess" in response.get_data(as_text=True)
    assert client.get(link).status_code == 200  # not used up by a refused attempt
