"""Ratings and reviews (SPEC §18): once, within 30 days of a completed consultation, 1–5 with a
comment of at most 1,000 characters; comments published only after an admin approves them (with a
reason, audited); rating and count computed from the rows; "by rating" uses a Bayesian average."""

import re
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from core.actor import SYSTEM
from core.booking.completion import complete
from core.db import unit_of_work
from core.doctors.directory import SearchFilters, get_doctor, search_doctors
from core.errors import Forbidden, InvalidTransition, NotFound, TimeWindow, ValidationFailed
from core.models import Appointment, AuditEvent, OutboxMessage, Rating
from core.ratings import reviews
from core.ratings.rules import bayesian_average
from tests.integration.scheduling.conftest import paris

# The visit fixture's consultation ends (and is completed) at 09:30 Paris. In UTC: 30 days are
# 30 × 24 real hours, across the change to summer time on 29 March.
DONE = paris(2, 9, 30).astimezone(UTC)


def test_rate_once_within_30_days_of_completion(visit, clock_at):
    v = visit("completed")
    clock_at(DONE + timedelta(days=30))  # exactly 30 days: still open
    given = reviews.rate_consultation(v.patient.actor, v.appointment_id, 4)
    assert (given.stars, given.comment_status) == (4, "none")
    with pytest.raises(InvalidTransition, match="already rated"):
        reviews.rate_consultation(v.patient.actor, v.appointment_id, 5)


def test_a_rating_one_second_after_30_days_is_refused(visit, clock_at):
    v = visit("completed")
    clock_at(DONE + timedelta(days=30, seconds=1))
    with pytest.raises(TimeWindow):
        reviews.rate_consultation(v.patient.actor, v.appointment_id, 5)
    assert reviews.rating_prompts(v.patient.actor) == []


@pytest.mark.parametrize("status", ["confirmed", "cancelled", "no_show"])
def test_only_a_completed_consultation_can_be_rated(visit, status):
    v = visit(status)
    with pytest.raises(InvalidTransition):
        reviews.rate_consultation(v.patient.actor, v.appointment_id, 5)


@pytest.mark.parametrize(("stars", "comment", "ok"), [
    (0, None, False), (6, None, False), (True, None, False), (1, None, True), (5, "x" * 1000, True),
    (5, "x" * 1001, False), (3, "   ", True),
])
def test_stars_and_comment_at_their_edges(visit, stars, comment, ok):
    v = visit("completed")
    if ok:
        given = reviews.rate_consultation(v.patient.actor, v.appointment_id, stars, comment)
        assert given.comment_status == ("pending" if comment and comment.strip() else "none")
    else:
        with pytest.raises(ValidationFailed):
            reviews.rate_consultation(v.patient.actor, v.appointment_id, stars, comment)


def test_only_the_patient_of_the_consultation_rates_it(visit, make_user):
    v = visit("completed")
    with pytest.raises(NotFound):
        reviews.rate_consultation(make_user("patient").actor, v.appointment_id, 1)
    with pytest.raises(Forbidden):
        reviews.rate_consultation(v.doctor.actor, v.appointment_id, 5)


def test_a_comment_is_published_only_after_an_admin_approves_it(visit, make_user):
    v = visit("completed")
    given = reviews.rate_consultation(v.patient.actor, v.appointment_id, 5, "Clear and kind.")
    assert reviews.doctor_reviews(v.doctor.doctor.id) == []
    admin = make_user("admin")
    assert [r.comment for r in reviews.moderation_queue(admin.actor)] == ["Clear and kind."]
    with pytest.raises(ValidationFailed):
        reviews.moderate_review(admin.actor, given.id, approve=True, reason=" ")
    with pytest.raises(Forbidden):
        reviews.moderate_review(v.doctor.actor, given.id, approve=True, reason="Looks fine")
    assert reviews.moderate_review(admin.actor, given.id, approve=True, reason="Respectful, no health data") == \
        "approved"
    [review] = reviews.doctor_reviews(v.doctor.doctor.id)
    assert (review.stars, review.comment, review.reviewer) == (5, "Clear and kind.", "Chloé B.")
    assert reviews.moderation_queue(admin.actor) == []
    reviews.moderate_review(admin.actor, given.id, approve=False, reason="Names another patient")
    assert reviews.doctor_reviews(v.doctor.doctor.id) == []
    with unit_of_work(SYSTEM) as uow:
        decisions = uow.session.execute(select(AuditEvent.action, AuditEvent.details["reason"].astext)
                                        .where(AuditEvent.subject_id == str(given.id))
                                        .order_by(AuditEvent.occurred_at, AuditEvent.action)).all()
    assert sorted(decisions) == [("review.approved", "Respectful, no health data"),
                                 ("review.hidden", "Names another patient")]


def test_a_patient_cannot_publish_or_change_their_own_rating(visit):
    v = visit("completed")
    given = reviews.rate_consultation(v.patient.actor, v.appointment_id, 2, "Late.")
    with unit_of_work(v.patient.actor) as uow:  # RLS: no update for patients once given
        changed = uow.session.execute(text("UPDATE ratings SET stars = 5, comment_status = 'approved' "
                                           "WHERE id = :id"), {"id": given.id}).rowcount
    assert changed == 0
    with pytest.raises(Exception, match="only staff may publish"), unit_of_work(v.patient.actor) as uow:
        uow.session.execute(text("INSERT INTO ratings (appointment_id, patient_id, doctor_id, stars, comment, "
                                 "comment_status) SELECT id, patient_id, doctor_id, 5, 'Self-published', 'approved' "
                                 "FROM appointments WHERE id = :a"), {"a": v.appointment_id})


def test_rating_and_count_are_computed_from_the_rows(visit, make_user):
    doctor = make_user("doctor", full_name="Dr. Computed")
    for stars in (5, 4, 4):
        v = visit("completed", doctor=doctor, patient=make_user("patient", full_name="Some One"))
        reviews.rate_consultation(v.patient.actor, v.appointment_id, stars)
    profile = get_doctor(SYSTEM, doctor.doctor.id)
    assert (float(profile.rating), profile.rating_count) == (4.33, 3)


def _ratings(doctor, patient, stars: list[int], start):
    with unit_of_work(SYSTEM) as uow:
        for i, n in enumerate(stars):
            a = Appointment(doctor_id=doctor.doctor.id, patient_id=patient.patient.id,
                            start_at=start - timedelta(days=1 + i), end_at=start - timedelta(days=1 + i, minutes=-30),
                            status="completed", completed_at=start - timedelta(days=1 + i, minutes=-30))
            uow.session.add(a)
            uow.session.flush()
            uow.session.add(Rating(appointment_id=a.id, patient_id=patient.patient.id, doctor_id=doctor.doctor.id,
                                   stars=n))


def test_by_rating_sorting_uses_a_bayesian_average_not_the_raw_mean(make_user, clock_at):
    now = clock_at(paris(2, 9))
    patient = make_user("patient")
    one_five = make_user("doctor", full_name="Dr. Bayes One")  # a single 5★: raw mean 5.0
    many = make_user("doctor", full_name="Dr. Bayes Many")  # forty ratings, mean 4.9
    low = make_user("doctor", full_name="Dr. Bayes Low")  # twenty 3★ pull the prior down
    _ratings(one_five, patient, [5], now)
    _ratings(many, patient, [5] * 36 + [4] * 4, now)
    _ratings(low, patient, [3] * 20, now)
    found = search_doctors(SYSTEM, SearchFilters(name="Dr. Bayes"), zone=ZoneInfo("Europe/Paris"))
    assert [d.name for d in found.doctors] == ["Dr. Bayes Many", "Dr. Bayes One", "Dr. Bayes Low"]
    assert float(found.doctors[1].rating) == 5.0 > float(found.doctors[0].rating) == 4.9


def test_on_a_tie_more_ratings_come_first(make_user, clock_at):
    """Issue 24: when every rating is 5★ the Bayesian averages tie at 5.0; one 5★ must not outrank
    twenty (the doctor created first would win on the tie-break by number otherwise)."""
    now = clock_at(paris(2, 9))
    patient = make_user("patient")
    one = make_user("doctor", full_name="Dr. Tie One")  # created first: the lower number
    many = make_user("doctor", full_name="Dr. Tie Many")
    _ratings(one, patient, [5], now)
    _ratings(many, patient, [5] * 20, now)
    with unit_of_work(SYSTEM) as uow:  # only these ratings count here: the prior is 5.0 too
        assert uow.session.execute(text("SELECT avg(stars) FROM ratings")).scalar() == 5
    found = search_doctors(SYSTEM, SearchFilters(name="Dr. Tie"), zone=ZoneInfo("Europe/Paris"))
    assert [(d.name, d.rating_count) for d in found.doctors] == [("Dr. Tie Many", 20), ("Dr. Tie One", 1)]


def test_the_bayesian_rule():
    assert bayesian_average([], 4.5) is None
    assert bayesian_average([5], 4.0, weight=10) == pytest.approx(4.0909, abs=1e-4)
    assert bayesian_average([5] * 90, 4.0, weight=10) == pytest.approx(4.9)


def test_completion_asks_for_a_rating_by_email_and_the_dashboard_prompts(visit, client, login, clock_at):
    v = visit("confirmed")
    complete(v.doctor.actor, v.appointment_id)
    with unit_of_work(SYSTEM) as uow:
        mail = uow.session.scalar(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"rate:{v.appointment_id}:patient:email"))
    assert mail.recipient == v.patient.email and "/dashboard#rate" in mail.body_text
    login(v.patient.email)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Rate your consultation with Dr. Camille Martin" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post(f"/dashboard/appointments/{v.appointment_id}/rate",
                       data={"stars": "5", "comment": "Very clear.", "csrf_token": token})
    assert done.status_code == 302
    assert "Rate your consultation" not in client.get("/dashboard").get_data(as_text=True)
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(Rating.comment_status).where(Rating.appointment_id == v.appointment_id)) \
            == "pending"


def test_approved_reviews_show_on_the_profile_with_first_name_and_initial(visit, make_user, client):
    v = visit("completed")
    given = reviews.rate_consultation(v.patient.actor, v.appointment_id, 5, "Listened carefully.")
    page = client.get(f"/doctors/{v.doctor.doctor.id}").get_data(as_text=True)
    assert "Listened carefully." not in page
    reviews.moderate_review(make_user("admin").actor, given.id, approve=True, reason="Fine")
    page = client.get(f"/doctors/{v.doctor.doctor.id}").get_data(as_text=True)
    assert "Listened carefully." in page and "Chloé B." in page and "Bernard" not in page


