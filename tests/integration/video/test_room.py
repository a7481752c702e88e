"""The consultation room with VIDEO_PROVIDER=webrtc (SPEC §16): the page at any time, presence in
`visit_events`, joining (window, device test, TURN credentials), signalling (participants only,
order and cursor, 16 KiB, 200 messages, one tab per person) — against PostgreSQL and Redis."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import VisitEvent
from core.video import signalling
from tests.conftest import TEST_PASSWORD
from tests.integration.video.conftest import START

TAB_A, TAB_B = "tab-aaaaaaaa", "tab-bbbbbbbb"


@pytest.fixture
def browser_of(app, db):
    """A second (third…) signed-in browser: its own test client and cookies."""

    def open_as(email: str):
        other = app.test_client()
        page = other.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        other.post("/login", data={"email": email, "password": TEST_PASSWORD, "csrf_token": token})
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', other.get("/devices").get_data(as_text=True))
        other.csrf = {"X-CSRFToken": csrf.group(1)} if csrf else {}
        return other

    return open_as


@pytest.fixture
def pair(consultation, doctor, browser_of, clock_at):
    """A confirmed consultation at START and two signed-in browsers, each with a passed device test."""
    patient, appointment = consultation()
    clock_at(START - timedelta(minutes=30))
    p, d = browser_of(patient.email), browser_of(doctor.email)
    for who in (p, d):
        from tests.integration.video.conftest import GOOD_DETAILS
        r = who.post("/api/video-test/result", json={"appointmentId": str(appointment), "passed": True,
                                                     "details": GOOD_DETAILS}, headers=who.csrf)
        assert r.status_code == 201, r.get_json()
    return patient, appointment, p, d


def events(appointment) -> list[tuple[str, str]]:
    with unit_of_work(SYSTEM) as uow:
        return [(e.role, e.kind) for e in uow.session.scalars(
            select(VisitEvent).where(VisitEvent.appointment_id == appointment).order_by(VisitEvent.occurred_at))]


def test_arriving_early_shows_the_waiting_room_not_an_error(pair):
    _patient, appointment, p, _d = pair
    page = p.get(f"/visit/{appointment}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Waiting room" in html and 'data-phase="waiting"' in html and "js/room.js" in html
    assert "Consultation with Dr Paris" in html and "No video call on this server" not in html
    assert "zoom.us" not in html and "data-dk-signature" not in html  # no JWT on show


def test_the_waiting_event_is_written_on_the_transition_only(pair, clock_at):
    _patient, appointment, p, d = pair
    first = p.post(f"/api/visits/{appointment}/waiting", headers=p.csrf)
    assert first.status_code == 200 and first.get_json()["phase"] == "waiting"
    clock_at(START - timedelta(minutes=29))
    p.post(f"/api/visits/{appointment}/waiting", headers=p.csrf)
    assert events(appointment) == [("patient", "waiting")]
    seen = d.get(f"/api/visits/{appointment}").get_json()
    assert seen["peerState"] == "waiting" and seen["peerHere"] is True and seen["peerName"] == "Test Person"
    assert seen["peerSince"].startswith("2026-03-03T12:30:00")


def test_join_before_the_window_is_refused_and_in_it_accepted_with_no_ice_servers_by_default(pair, clock_at):
    _patient, appointment, p, _d = pair
    clock_at(START - timedelta(minutes=5, seconds=1))
    early = p.post(f"/api/visits/{appointment}/join", json={"tab": TAB_A}, headers=p.csrf)
    assert early.status_code == 422 and early.get_json()["error"]["code"] == "ERR_TIME_WINDOW"
    clock_at(START - timedelta(minutes=5))
    joined = p.post(f"/api/visits/{appointment}/join", json={"tab": TAB_A}, headers=p.csrf)
    assert joined.status_code == 200, joined.get_json()
    body = joined.get_json()
    assert body == {"role": "patient", "cursor": 0, "iceServers": [], "closesAt": body["closesAt"], "rejoined": False}
    assert body["closesAt"].startswith("2026-03-03T13:30:00")


def test_join_issues_turn_credentials_coturn_accepts(pair, app, monkeypatch, clock_at):
    state = app.extensions["doktu"]
    turned = dataclasses.replace(state.settings, stun_urls=("stun:turn.doktu.test:3478",),
                                 turn_urls=("turn:turn.doktu.test:3478?transport=udp",), turn_secret="s3cret")
    monkeypatch.setattr(state, "settings", turned)
    _patient, appointment, p, _d = pair
    clock_at(START)
    servers = p.post(f"/api/visits/{appointment}/join", json={"tab": TAB_A}, headers=p.csrf).get_json()["iceServers"]
    assert servers[0] == {"urls": ["stun:turn.doktu.test:3478"], "username": None, "credential": None}
    turn = servers[1]
    expiry, user = turn["username"].split(":")
    assert int(expiry) == int((START + timedelta(hours=2)).timestamp())
    assert user == str(_patient.user.id)
    expected = base64.b64encode(hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected


def test_join_needs_a_fresh_device_test(consultation, browser_of, clock_at):
    patient, appointment = consultation()
    clock_at(START)
    p = browser_of(patient.email)
    refused = p.post(f"/api/visits/{appointment}/join", json={"tab": TAB_A}, headers=p.csrf)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "ERR_VIDEO_TEST_REQUIRED"
    html = p.get(f"/visit/{appointment}").get_data(as_text=True)
    assert "Test my devices" in html and 'data-can-join="no"' in html


def test_signals_reach_the_other_side_in_order_from_a_cursor(pair, clock_at):
    _patient, appointment, p, d = pair
    clock_at(START)
    assert p.post(f"/api/visits/{appointment}/join", json={"tab": TAB_A}, headers=p.csrf).status_code == 200
    assert d.post(f"/api/visits/{appointment}/join", json={"tab": TAB_B}, headers=d.csrf).status_code == 200
    for n, kind in enumerate(("offer", "candidate", "candidate")):
        sent = d.post(f"/api/visits/{appointment}/signals", json={"tab": TAB_B, "kind": kind, "payload": {"n": n}},
                      headers=d.csrf)
        assert sent.status_code == 201 and sent.get_json() == {"sent": n + 1}, sent.get_json()
    first = p.get(f"/api/visits/{appointment}/signals?tab={TAB_A}&cursor=0").get_json()
    assert [(m["kind"], m["from"], m["payload"]["n"]) for m in first["messages"]] == [
        ("offer", "doctor", 0), ("candidate", "doctor", 1), ("candidate", "doctor", 2)]
    assert first["cursor"] == 3 and first["peerHere"] is True
    again = p.get(f"/api/visits/{appointment}/signals?tab={TAB_A}&cursor=3").get_json()
    assert again["messages"] == [] and again["cursor"] == 3
    mine = d.get(f"/api/visits/{appointment}/signals?tab={TAB_B}&cursor=0").get_json()
    assert mine["messages"] == []  # nobody hears their own messages
    assert events(appointment) == [("patient", "joined"), ("doctor", "joined")]


def test_a_message_over_16_kib_is_413_and_the_201st_is_429(pair, clock_at, app):
    _patient, appointment, p, _d = pair
    clock_at(START)
    p.post(f"/api/visits/{appointment}/join", json={"tab": TAB_A}, headers=p.csrf)
    big = p.post(f"/api/visits/{appointment}/signals", json={"tab": TAB_A, "kind": "offer", "payload": "x" * 16_400},
                 headers=p.csrf)
    assert big.status_code == 413 and big.get_json()["error"]["code"] == "ERR_PAYLOAD_TOO_LARGE"
    fits = p.post(f"/api/visits/{appointment}/signals", json={"tab": TAB_A, "kind": "offer", "payload": "x" * 16_000},
                  headers=p.csrf)
    assert fits.status_code == 201
    redis = app.extensions["doktu"].redis
    redis.set(f"visit:{appointment}:sent:patient", signalling.MAX_MESSAGES_PER_PARTICIPANT - 1)
    last = p.post(f"/api/visits/{appointment}/signals", json={"tab": TAB_A, "kind": "candidate"}, headers=p.csrf)
    assert last.status_code == 201 and last.get_json() == {"sent": 200}
    over = p.post(f"/api/visits/{appointment}/signals", json={"tab": TAB_A, "kind": "candidate"}, headers=p.csrf)
    assert over.status_code == 429 and over.get_json()["error"]["code"] == "ERR_SIGNAL_LIMIT"
    assert redis.ttl(f"visit:{appointment}:inbox:doctor") > 0  # nothing kept forever
    bad = p.post(f"/api/visits/{appointment}/signals", json={"tab": TAB_A, "kind": "shout"}, headers=p.csrf)
    assert bad.status_code == 422


def test_a_newer_tab_takes_over_and_the_older_one_is_told(pair, clock_at):
    _patient, appointment, p, _d = pair
    clock_at(START)
    p.post(f"/api/visits/{appointment}/join", json={"tab": TAB_A}, headers=p.csrf)
    clock_at(START + timedelta(minutes=1))
    again = p.post(f"/api/visits/{appointment}/join", json={"tab": TAB_B}, headers=p.csrf).get_json()
    assert again["rejoined"] is True
    old = p.get(f"/api/visits/{appointment}/signals?tab={TAB_A}&cursor=0")
    assert old.status_code == 409 and old.get_json()["error"]["code"] == "ERR_ROOM_TAKEN_OVER"
    assert p.get(f"/api/visits/{appointment}/signals?tab={TAB_B}&cursor=0").status_code == 200
    assert events(appointment) == [("patient", "joined"), ("patient", "reconnected")]


def test_a_stranger_and_an_admin_are_refused(pair, onboarded, make_user, browser_of, clock_at):
    _patient, appointment, _p, _d = pair
    clock_at(START)
    stranger = browser_of(onboarded().email)
    assert stranger.get(f"/visit/{appointment}").status_code == 404
    assert stranger.post(f"/api/visits/{appointment}/join", json={"tab": TAB_A},
                         headers=stranger.csrf).status_code == 404
    assert stranger.get(f"/api/visits/{appointment}/signals?tab={TAB_A}").status_code == 404
    admin = browser_of(make_user("admin").email)
    assert admin.get(f"/api/visits/{appointment}").status_code == 403
    assert admin.post(f"/api/visits/{appointment}/signals", json={"tab": TAB_A, "kind": "offer"},
                      headers=admin.csrf).status_code == 403


def test_the_funnel_joined_step_is_written_once_and_leaving_says_bye(pair, clock_at):
    _patient, appointment, p, d = pair
    clock_at(START)
    p.post(f"/api/visits/{appointment}/join", json={"tab": TAB_A}, headers=p.csrf)
    d.post(f"/api/visits/{appointment}/join", json={"tab": TAB_B}, headers=d.csrf)
    clock_at(START + timedelta(minutes=2))
    assert p.post(f"/api/visits/{appointment}/leave", json={"tab": TAB_A}, headers=p.csrf).status_code == 204
    bye = d.get(f"/api/visits/{appointment}/signals?tab={TAB_B}&cursor=0").get_json()
    assert [m["kind"] for m in bye["messages"]] == ["bye"] and bye["peerHere"] is False
    clock_at(START + timedelta(minutes=3))
    p.post(f"/api/visits/{appointment}/join", json={"tab": TAB_A}, headers=p.csrf)
    with unit_of_work(SYSTEM) as uow:
        joined = uow.session.execute(text("SELECT count(*) FROM funnel_events WHERE step = 'joined' "
                                          "AND appointment_id = :a"), {"a": appointment}).scalar()
    assert joined == 1
    assert events(appointment) == [("patient", "joined"), ("doctor", "joined"), ("patient", "left"),
                                   ("patient", "reconnected")]


def test_the_window_closed_page_closes_politely(pair, clock_at):
    _patient, appointment, p, _d = pair
    clock_at(START + timedelta(minutes=31))
    html = p.get(f"/visit/{appointment}").get_data(as_text=True)
    assert 'data-phase="closed"' in html and "The consultation time is over" in html


def test_the_doctors_list_shows_the_patient_waiting_and_ready(pair, doctor, clock_at):
    from core.booking.doctor_agenda import doctor_upcoming

    _patient, appointment, p, _d = pair
    clock_at(START - timedelta(minutes=8))
    [before] = [i for i in doctor_upcoming(doctor.actor) if i.id == appointment]
    assert before.patient_presence == "away" and before.patient_readiness == "ready"
    p.post(f"/api/visits/{appointment}/waiting", headers=p.csrf)
    [item] = [i for i in doctor_upcoming(doctor.actor) if i.id == appointment]
    assert (item.patient_presence, item.patient_since, item.patient_readiness) == (
        "waiting", START - timedelta(minutes=8), "ready")
    clock_at(START)
    p.post(f"/api/visits/{appointment}/join", json={"tab": TAB_A}, headers=p.csrf)
    [item] = [i for i in doctor_upcoming(doctor.actor) if i.id == appointment]
    assert item.patient_presence == "in_room" and item.patient_since == START - timedelta(minutes=8)
